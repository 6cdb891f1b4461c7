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

  Scenario: RB-002 rolls back a release with a high error rate
    When the "bad-release" fault is injected with tag "1.5.0"
    Then the SLOs of incident "RB-002" are breached within 30 seconds
    When the operator follows incident "RB-002"
    Then the SLOs are restored within the incident's time target

  Scenario: RB-004 brings API latency back when the database network is slow
    # The runbook's symptom "API response time > 100ms" sits too close to the sandbox's own p95 (about 70 ms on an
    # idle machine, 160-195 ms on a loaded 2-core one) for the baseline to hold reliably: the drill measures the
    # system's SLO, and the database network is slowed enough to break it with margin.
    Given the drill measures "p95 latency < 500ms"
    When every PostgreSQL reply is delayed by a second
    Then the SLOs of incident "RB-004" are breached within 30 seconds
    When the operator follows incident "RB-004"
    Then the SLOs are restored within the incident's time target

  Scenario: RB-005 handles a release that slowly leaks memory
    When a release that leaks 10 MB of memory a second is rolled out
    Then the SLOs of incident "RB-005" are breached within 90 seconds
    When the operator follows incident "RB-005"
    Then the SLOs are restored within the incident's time target
