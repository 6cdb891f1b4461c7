"""Plain-language fault sentences used by the seed game day's drills."""

from drillbook.gherkin.steps import fault_phrase

# A leak in the application's own code: a restart releases it (and the leak drains the fresh pools again).
fault_phrase("a leaking worker exhausts the database connections", "connection-leak", share="0.1")
fault_phrase("a stuck batch job holds every database connection", "pool-exhaustion", mode="active")
fault_phrase(
    "a release that needs a missing secret is rolled out",
    "crashloop",
    mode="release",
    tag="1.5.1",
)
fault_phrase("a release without DATABASE_URL is rolled out", "crashloop", mode="missing-env", variable="DATABASE_URL")
fault_phrase("a release that cannot be pulled is rolled out", "crashloop", mode="bad-image")
fault_phrase("traffic spikes to 2 times the steady load", "load-spike", factor="2")
fault_phrase("traffic grows fivefold", "load-spike", factor="5")
fault_phrase("the index on users.email is dropped", "slow-query", index="idx_users_email")
fault_phrase("Redis goes down", "redis-outage", mode="stop")
fault_phrase("a release that fails 30% of requests is rolled out", "bad-release", tag="v1.2.3")
fault_phrase("PostgreSQL is cut off from the app by a network partition", "partition", dependency="postgres")
fault_phrase("every PostgreSQL reply is delayed by a second", "latency", dependency="postgres", latency_ms="1000")
fault_phrase("a release that leaks 10 MB of memory a second is rolled out", "memory-leak", mb_per_s="10")
