Feature: Phase 5 operations runbook (scenarios/phase5-todo/runbook.md)
  backend in namespace phase-5.

  Background:
    Given the "phase5-todo" system is running on the local platform
    And steady traffic of 10 users

  Scenario: PodCrashLooping is investigated and healed after a release without DATABASE_URL
    When a release without DATABASE_URL is rolled out
    Then the SLOs of incident "PodCrashLooping" are breached within 45 seconds
    When the operator follows incident "PodCrashLooping"
    Then the SLOs are restored within the incident's time target
