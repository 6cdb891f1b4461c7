Feature: Azora operational runbook (scenarios/azora/runbook.md)
  The azora API gateway in namespace production, with PostgreSQL and Redis beside it.

  Background:
    Given the "azora" system is running on the local platform
    And steady traffic of 10 users

  Scenario: RB-007 restores the API after the database connection pool is exhausted
    When a leaking worker exhausts the database connections
    Then the SLOs of incident "RB-007" are breached within 30 seconds
    When the operator follows incident "RB-007"
    Then the SLOs are restored within the incident's time target

  Scenario: RB-003 heals pods that crash soon after a deploy
    When the "bad-release" fault is injected with tag "1.5.2"
    Then the SLOs of incident "RB-003" are breached within 30 seconds
    When the operator follows incident "RB-003"
    Then the SLOs are restored within the incident's time target

  Scenario: RB-006 brings latency back under a traffic spike
    When traffic grows fivefold
    Then the SLOs of incident "RB-006" are breached within 30 seconds
    When the operator follows incident "RB-006"
    Then the SLOs are restored within the incident's time target

  Scenario: RB-008 fixes slow queries after the users index is lost
    When the index on users.email is dropped
    Then the SLOs of incident "RB-008" are breached within 30 seconds
    When the operator follows incident "RB-008"
    Then the SLOs are restored within the incident's time target
