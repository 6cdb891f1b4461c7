Feature: Phase 5 operations runbook (scenarios/phase5-todo/runbook.md)
  backend in namespace phase-5.

  Background:
    Given the "phase5-todo" system is running on the local platform
    And steady traffic of 10 users

  Scenario: PodCrashLooping is investigated and healed after a release that crashes soon after starting
    When the "bad-release" fault is injected with tag "v2.0.2"
    Then the SLOs of incident "PodCrashLooping" are breached within 30 seconds
    When the operator follows incident "PodCrashLooping"
    Then the SLOs are restored within the incident's time target
