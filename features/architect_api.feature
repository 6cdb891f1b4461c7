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
    # Step 4 "Optimization: Scale up replica count" is prose; the runbook's Common Tasks section has the command.
    # Twice the steady load (100 requests a second) is a third more than 3 replicas serve (75 a second at 2 slots
    # of 80 ms each) and a fifth of what 20 serve; every replica, the proxies and the load generator share one
    # machine, and at 8x (400 a second) the 2 cores, not the system, decided whether latency came back.
    Given the drill supplies `kubectl scale deployment architect-api --replicas=20 -n architect-production` for step 4
    When traffic spikes to 2 times the steady load
    Then the SLOs of incident "P3" are breached within 30 seconds
    When the operator follows incident "P3"
    Then the SLOs are restored within the incident's time target

  Scenario: P2 High Error Rate after a release that fails 30% of requests
    # Step 4 offers "Scale up" or "Or restart": an on-call picks one; restarting is the cheaper try.
    Given step 4 follows "Or restart"
    When the "bad-release" fault is injected with tag "v1.9.0"
    Then the SLOs of incident "P2" are breached within 30 seconds
    When the operator follows incident "P2"
    Then the SLOs are restored within the incident's time target

  Scenario: P1 API Completely Down after a release that fails every request
    # "100% error rate" is the incident's symptom, not an objective: the drill measures the system's own SLO.
    # Step 4 offers three recovery options; after a bad release, Option 2 (rollout undo) is the one that fits.
    Given the drill measures "error rate < 1%"
    And step 4 follows "Option 2"
    When the "bad-release" fault is injected with tag "v1.9.3"
    Then the SLOs of incident "P1" are breached within 30 seconds
    When the operator follows incident "P1"
    Then the SLOs are restored within the incident's time target
