Feature: Phase 5 operations runbook (scenarios/phase5-todo/runbook.md)
  backend in namespace phase-5.

  Background:
    Given the "phase5-todo" system is running on the local platform
    And steady traffic of 10 users

  Scenario: PodCrashLooping is investigated and healed after a release that crashes soon after starting
    # The Resolution is prose ("Restart deployment if needed"); the runbook's own rollback lives in its
    # Maintenance section.
    Given the drill supplies `kubectl rollout undo deployment/backend -n phase-5` for step 2
    When the "bad-release" fault is injected with tag "v2.0.2"
    Then the SLOs of incident "PodCrashLooping" are breached within 30 seconds
    When the operator follows incident "PodCrashLooping"
    Then the SLOs are restored within the incident's time target

  Scenario: HighErrorRate is rolled back after a release that fails 30% of requests
    # The Resolution is prose ("Rollback if recent deployment caused issues"); the runbook's own rollback lives
    # in its Maintenance section.
    Given the drill supplies `kubectl rollout undo deployment/backend -n phase-5` for step 2
    When the "bad-release" fault is injected with tag "v2.0"
    Then the SLOs of incident "HighErrorRate" are breached within 30 seconds
    When the operator follows incident "HighErrorRate"
    Then the SLOs are restored within the incident's time target

  Scenario: DatabaseConnectionFailed when the database is cut off by a network partition
    When PostgreSQL is cut off from the app by a network partition
    Then the SLOs of incident "DatabaseConnectionFailed" are breached within 30 seconds
    When the operator follows incident "DatabaseConnectionFailed"
    Then the SLOs are restored within the incident's time target
