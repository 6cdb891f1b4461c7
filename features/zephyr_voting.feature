Feature: Zephyr Voting operations runbook (scenarios/zephyr-voting/runbook.md)
  zephyr-backend in namespace default, with PostgreSQL and Redis beside it.

  Background:
    Given the "zephyr-voting" system is running on the local platform
    And steady traffic of 10 users

  Scenario: Incident 2 restores the API when a leaking worker exhausts the database connections
    When a leaking worker exhausts the database connections
    Then the SLOs of incident "Incident 2" are breached within 30 seconds
    When the operator follows incident "Incident 2"
    Then the SLOs are restored within the incident's time target

  Scenario: Incident 3 brings the API back after Redis goes down
    When Redis goes down
    Then the SLOs of incident "Incident 3" are breached within 30 seconds
    When the operator follows incident "Incident 3"
    Then the SLOs are restored within the incident's time target

  Scenario: Incident 5 rolls back a release whose pods crash soon after starting
    When the "bad-release" fault is injected with tag "2.3"
    Then the SLOs of incident "Incident 5" are breached within 30 seconds
    When the operator follows incident "Incident 5"
    Then the SLOs are restored within the incident's time target
