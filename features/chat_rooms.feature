Feature: Chat rooms operational runbook (scenarios/chat-rooms/runbook.md)
  chat-rooms-api in namespace production.

  Background:
    Given the "chat-rooms" system is running on the local platform
    And steady traffic of 10 users

  Scenario: The High Error Rate Alert procedure rolls back a bad release
    When a release that fails 30% of requests is rolled out
    Then the SLOs of incident "High Error Rate Alert" are breached within 30 seconds
    When the operator follows incident "High Error Rate Alert"
    Then the SLOs are restored within the incident's time target
