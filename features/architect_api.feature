Feature: Architect API operational runbook (scenarios/architect-api/runbook.md)
  architect-api in namespace architect-production.

  Background:
    Given the "architect-api" system is running on the local platform
    And steady traffic of 10 users

  Scenario: Database Connection Exhaustion is fixed by killing idle connections
    When a leaking worker exhausts the database connections
    Then the SLOs of incident "Database Connection Exhaustion" are breached within 30 seconds
    When the operator follows incident "Database Connection Exhaustion"
    Then the SLOs are restored within the incident's time target

  Scenario: Pods Not Starting after a release that crashes soon after starting
    When the "bad-release" fault is injected with tag "v1.9.2"
    Then the SLOs of incident "Pods Not Starting" are breached within 30 seconds
    When the operator follows incident "Pods Not Starting"
    Then the SLOs are restored within the incident's time target

  Scenario: P3 High Latency under a traffic spike
    When traffic spikes to 8 times the steady load
    Then the SLOs of incident "P3" are breached within 30 seconds
    When the operator follows incident "P3"
    Then the SLOs are restored within the incident's time target
