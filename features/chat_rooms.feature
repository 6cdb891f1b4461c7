Feature: Chat rooms operational runbook (scenarios/chat-rooms/runbook.md)
  chat-rooms-api in namespace production.

  Background:
    Given the "chat-rooms" system is running on the local platform
    And steady traffic of 10 users

  Scenario: The High Error Rate Alert procedure rolls back a bad release
    # Step 5's `npm run health:db` is a connectivity check of the team's MongoDB app, which the sandbox (no app
    # repository, PostgreSQL) cannot rehearse; step 6 "Scale up if needed" is conditional and not needed after
    # the rollback. Neither decides whether the rollback restores service.
    Given step 5 is optional
    And step 6 is optional
    When a release that fails 30% of requests is rolled out
    Then the SLOs of incident "High Error Rate Alert" are breached within 30 seconds
    When the operator follows incident "High Error Rate Alert"
    Then the SLOs are restored within the incident's time target
