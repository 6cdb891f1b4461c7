"""The stand-in as a real subprocess against real PostgreSQL and Redis servers."""

from __future__ import annotations

import concurrent.futures
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from standin_promtext import parse, value

if TYPE_CHECKING:  # annotations only: importing "conftest" by name picks whichever folder's came first
    from conftest import Postgres, Redis, StandinFactory

UNREACHABLE = {"DATABASE_URL": "postgresql://app:app@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:2/0"}


def _messages(replica: Any) -> list[str]:
    return [line.get("message", "") for line in replica.logs()]


@pytest.mark.live
def test_missing_database_url_exits_1_with_a_fatal_log_line(standin: StandinFactory) -> None:
    replica = standin("zephyr-voting", {"REDIS_URL": "redis://127.0.0.1:2/0"}, wait=False)
    assert replica.proc.wait(30) == 1
    fatal = [line for line in replica.logs() if line["level"] == "fatal"]
    assert fatal
    assert fatal[0]["message"] == "Missing required environment variable DATABASE_URL"


@pytest.mark.slow
def test_health_and_readiness_report_unreachable_dependencies_while_liveness_holds(standin: StandinFactory) -> None:
    replica = standin("zephyr-voting", UNREACHABLE)
    status, health = replica.json("/api/health")
    assert status == 503
    assert health["status"] == "unhealthy"
    assert health["dependencies"]["database"]["status"] == "down"
    assert health["dependencies"]["redis"]["error"] == "Error: connect ECONNREFUSED 127.0.0.1:2"
    assert replica.request("/api/health/ready")[0] == 503
    assert replica.request("/api/health/live")[0] == 200
    status, text = replica.request("/metrics")
    _, samples = parse(text)
    assert value(samples, "redis_connected") == 0
    assert value(samples, "http_requests_total", route="/api/health/ready", status="503") == 1
    assert value(samples, "process_resident_memory_bytes") > 0


@pytest.mark.slow
def test_serves_polls_from_postgres_and_redis_and_exports_metrics(
    standin: StandinFactory, postgres: Postgres, database: str, redis_server: Redis
) -> None:
    replica = standin(
        "zephyr-voting", {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "100"}
    )
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    status, poll = replica.json(
        "/api/polls",
        method="POST",
        body={"question": "Test?", "options": ["A", "B"]},
        headers={"X-Request-ID": "abc123"},
    )
    assert status == 201
    code = poll["roomCode"]
    assert replica.json(f"/api/polls/{code}/vote", method="POST", body={"option": 1})[0] == 201
    status, read = replica.json(f"/api/polls/{code}")
    assert (status, read["question"], read["votes"]) == (200, "Test?", {"1": "1"})
    status, listed = replica.json("/api/polls")
    assert (status, listed["items"][0]["roomCode"], listed["items"][0]["votes"]) == (200, code, {"1": 1})
    index = "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_votes_poll_id'"
    assert "(poll_id)" in postgres.psql(database.rsplit("/", 1)[1], index), "the slow-query fault's default index"
    status, health = replica.json("/api/health")
    assert (status, health["dependencies"]["database"]["status"], health["dependencies"]["redis"]["status"]) == (
        200,
        "up",
        "up",
    )
    metrics_text = replica.request("/metrics")[1]
    assert "zephyr" in metrics_text, 'the runbook checks `curl …/metrics | grep "zephyr"`'
    _, samples = parse(metrics_text)
    assert value(samples, "http_requests_total", method="POST", route="/api/polls", status="201") == 1
    assert value(samples, "db_pool_connections", state="waiting") == 0
    assert value(samples, "redis_connected") == 1
    assert value(samples, "db_query_duration_seconds_count") >= 3
    correlated = [line for line in replica.logs() if line.get("correlationId") == "abc123"]
    assert correlated
    assert correlated[0]["message"] == "request completed"


@pytest.mark.slow
def test_leaked_connections_exhaust_the_pool_and_the_timeout_is_logged(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "DB_POOL_MAX": "2", "STANDIN_LEAK_CONNECTIONS": "1"}
    env |= {"DB_ACQUIRE_TIMEOUT_MS": "300", "STANDIN_SEED_ROWS": "0"}
    replica = standin("zephyr-voting", env)
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    statuses = [replica.request("/api/polls?host_id=x")[0] for _ in range(4)]
    assert statuses == [200, 200, 503, 503]
    assert any("timeout acquiring connection" in m for m in _messages(replica))
    assert replica.request("/api/health/ready")[0] == 503
    _, samples = parse(replica.request("/metrics")[1])
    assert value(samples, "db_pool_connections", state="active") == 2
    errors = [line for line in replica.logs() if line["level"] == "error" and "DB_POOL_MAX=2" in line["message"]]
    assert errors, "the pool timeout names the variable an operator would raise"


@pytest.mark.slow
def test_a_partial_leak_drains_the_pool_at_its_share_and_a_restart_gives_the_connections_back(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    env = {
        "DATABASE_URL": database,
        "REDIS_URL": redis_server.url,
        "DB_POOL_MAX": "2",
        "STANDIN_LEAK_CONNECTIONS": "0.25",
    }
    env |= {"DB_ACQUIRE_TIMEOUT_MS": "300", "STANDIN_SEED_ROWS": "0"}
    replica = standin("zephyr-voting", env)
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    # One checkout in four keeps its connection: the 4th and the 8th; after them the pool of 2 is gone.
    statuses = [replica.request("/api/polls?host_id=x")[0] for _ in range(10)]
    assert statuses == [200] * 8 + [503, 503]
    replica.stop()
    fresh = standin("zephyr-voting", env)
    fresh.wait_for(lambda: fresh.request("/api/health/ready")[0] == 200, "readiness after the restart")
    assert fresh.request("/api/polls?host_id=x")[0] == 200, "a new process has its connections back"


@pytest.mark.slow
def test_cpu_per_request_burns_real_cpu_time(standin: StandinFactory, database: str, redis_server: Redis) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0"}
    replica = standin("zephyr-voting", env | {"STANDIN_CPU_MS_PER_REQUEST": "40"})
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    before = value(parse(replica.request("/metrics")[1])[1], "process_cpu_seconds_total")
    for _ in range(10):
        assert replica.request("/api/polls?host_id=x")[0] == 200
    after = value(parse(replica.request("/metrics")[1])[1], "process_cpu_seconds_total")
    assert after - before >= 10 * 0.040, "ten requests at 40 ms of CPU each must cost at least 0.4 s of CPU"


@pytest.mark.slow
def test_redis_outage_fails_requests_and_the_service_recovers_by_itself(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    replica = standin(
        "zephyr-voting", {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0"}
    )
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    redis_server.stop()
    status, body = replica.json("/api/polls?host_id=x")
    assert status == 503
    assert body["error"] == f"Error: connect ECONNREFUSED 127.0.0.1:{redis_server.port}"
    replica.wait_for(lambda: any("Redis connection lost" in m for m in _messages(replica)), "the lost-connection log")
    redis_server.start()
    replica.wait_for(lambda: replica.request("/api/polls?host_id=x")[0] == 200, "requests to succeed again")
    assert replica.request("/api/health/ready")[0] == 200
    assert any(m.startswith("Redis connection restored") for m in _messages(replica))


@pytest.mark.slow
def test_search_scans_until_the_runbooks_create_index_then_uses_it(
    standin: StandinFactory, postgres: Postgres, database: str, redis_server: Redis
) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "JWT_SECRET": "s"}
    env |= {"STANDIN_SLOW_QUERIES": "1", "STANDIN_SEED_ROWS": "20000"}
    replica = standin("azora", env)
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness (schema seeded)")
    db = database.rsplit("/", 1)[1]

    def scans() -> tuple[int, int]:
        row = postgres.psql(
            db, "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'users'"
        )
        seq, idx = row.split("|")
        return int(seq), int(idx)

    def search(n: int) -> None:
        for _ in range(n):
            status, found = replica.json("/api/users?email=user77@example.com")
            assert (status, found["count"]) == (200, 1)

    # Statistics reach pg_stat_user_tables asynchronously (each backend flushes when idle), so poll for them.
    seq_0, _ = scans()
    search(2)
    replica.wait_for(lambda: scans()[0] >= seq_0 + 2, "two sequential scans: without the index every search scans")
    postgres.psql(db, "CREATE INDEX idx_users_email ON users(email);")  # RB-008 step 4, verbatim
    time.sleep(1.5)  # let the CREATE INDEX's own heap scan reach the statistics before taking the baseline
    seq_2, idx_2 = scans()
    search(3)
    replica.wait_for(lambda: scans()[1] >= idx_2 + 3, "three index scans once the index exists", timeout=30)
    assert scans()[0] == seq_2, "no more sequential scans once the index exists"


@pytest.mark.slow
def test_capacity_bound_queues_then_refuses_and_sigterm_finishes_in_flight_work(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0"}
    env |= {"MAX_CONCURRENCY": "2", "MAX_QUEUE": "2", "SERVICE_TIME_MS": "600"}
    replica = standin("architect-api", env)
    replica.wait_for(lambda: replica.request("/ready")[0] == 200, "readiness")
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(replica.request, "/api/projects?owner_id=x") for _ in range(6)]
        time.sleep(0.3)
        _, samples = parse(replica.request("/metrics")[1])
        assert value(samples, "standin_requests_in_service") == 2
        assert value(samples, "standin_requests_queued") == 2
        replica.proc.send_signal(signal.SIGTERM)
        statuses = sorted(f.result()[0] for f in futures)
    assert statuses == [200, 200, 200, 200, 503, 503]
    assert replica.proc.wait(15) == 0
    messages = _messages(replica)
    assert "SIGTERM received: shutting down gracefully" in messages
    assert messages[-1] == "shutdown complete"
    assert any(line["level"] == "ERROR" for line in replica.logs()), "architect-api logs ERROR for grep ERROR"


@pytest.mark.slow
def test_postgres_refusals_are_passed_through_word_for_word(
    standin: StandinFactory, postgres: Postgres, database: str, redis_server: Redis
) -> None:
    db = database.rsplit("/", 1)[1]
    role = f"limited_{db}"
    # Superusers bypass connection limits; a role with a limit of one gets PostgreSQL's refusal on the second.
    postgres.psql("postgres", f"CREATE ROLE {role} LOGIN PASSWORD 'x' CONNECTION LIMIT 1")
    postgres.psql("postgres", f"ALTER DATABASE {db} OWNER TO {role}")
    dsn = postgres.dsn(db, user=role, password="x")
    env = {"DATABASE_URL": dsn, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0", "DB_POOL_MAX": "5"}
    replica = standin("chat-rooms", env | {"STANDIN_LEAK_CONNECTIONS": "1"})
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    statuses = [replica.request("/api/rooms?owner_id=x")[0] for _ in range(3)]
    assert statuses[1:] == [503, 503], "the leaked connection is the role's only one"
    refusals = [line for line in replica.logs() if f'too many connections for role "{role}"' in line["message"]]
    assert refusals, "PostgreSQL's own refusal reaches the log"
    assert any(line["level"] == "ERROR" for line in refusals), "chat-rooms logs upper-case levels for `grep ERROR`"


@pytest.mark.slow
def test_a_bad_release_fails_exactly_its_error_rate_and_logs_each_failure(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0"}
    replica = standin("phase5-todo", env | {"STANDIN_ERROR_RATE": "0.25"})
    replica.wait_for(lambda: replica.request("/health/ready")[0] == 200, "readiness")
    statuses = [replica.request("/api/tasks?user_id=u&status=active")[0] for _ in range(20)]
    assert statuses.count(500) == 5
    assert statuses.count(200) == 15
    _, samples = parse(replica.request("/metrics")[1])
    assert value(samples, "http_errors_total", route="/api/tasks", status="500") == 5
    assert len([m for m in _messages(replica) if m.startswith("Unhandled error: TypeError")]) == 5


@pytest.mark.slow
def test_memory_growth_mode_really_grows_resident_memory(standin: StandinFactory) -> None:
    replica = standin("azora", UNREACHABLE | {"JWT_SECRET": "s", "STANDIN_MEMORY_GROWTH_MB_PER_S": "40"})

    def rss() -> float:
        return value(parse(replica.request("/metrics")[1])[1], "process_resident_memory_bytes")

    start = rss()
    replica.wait_for(lambda: rss() > start + 40 * 2**20, "resident memory to grow by 40 MiB")
    replica.wait_for(lambda: any("gc" in m for m in _messages(replica)), "a memory warning an operator can grep")


@pytest.mark.slow
def test_redis_at_maxmemory_refuses_writes_with_its_own_reply(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    replica = standin(
        "zephyr-voting", {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "0"}
    )
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    subprocess.run(
        ["redis-cli", "-h", redis_server.host, "-p", str(redis_server.port), "CONFIG", "SET", "maxmemory", "1"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    status, body = replica.json("/api/polls?host_id=x")
    assert status == 503
    assert body["error"].startswith("ReplyError: OOM command not allowed")
    assert replica.request("/api/health/ready")[0] == 200, "PING still answers: Redis is up, only full"


@pytest.mark.slow
def test_chat_rooms_lists_rooms_with_message_counts_and_reads_messages(
    standin: StandinFactory, database: str, redis_server: Redis
) -> None:
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "STANDIN_SEED_ROWS": "1000"}
    replica = standin("chat-rooms", env)
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    status, room = replica.json("/api/rooms", method="POST", body={"name": "drill-room", "owner_id": 1})
    assert status == 201
    for text in ("hello", "again"):
        path = f"/api/rooms/{room['id']}/messages"
        assert replica.json(path, method="POST", body={"user_id": "u1", "body": text})[0] == 201
    status, rooms = replica.json("/api/rooms?owner_id=1")
    assert (status, rooms["items"][0]["messagesCount"]) == (200, 2)
    status, messages = replica.json(f"/api/rooms/{room['id']}/messages")
    assert (status, [m["body"] for m in messages["items"]]) == (200, ["again", "hello"])
    assert replica.request("/api/rooms/nope/messages", method="POST", body={"body": "x"})[0] == 404


ORDERS_STANDIN = """\
service: orders-api
port: 8080
database: orders
required_env: [DATABASE_URL, REDIS_URL]
pool:
  size_vars: [ORDERS_DB_POOL_SIZE]
  timeout_message: "orders pool exhausted (ORDERS_DB_POOL_SIZE={size}, waited {timeout}ms)"
metrics:
  names: {db_pool_max: orders_db_pool_max, db_pool_active: orders_db_pool_active}
resource:
  path: orders
  table: orders
  fields: [customer_id]
  search: [customer_id]
  index_sql: CREATE INDEX IF NOT EXISTS idx_orders_customer ON orders(customer_id)
endpoints:
  - {method: GET, path: /api/orders/summary, status: 200, latency_ms: 50, uses: [postgres], body: {open: 3}}
"""


@pytest.mark.live
def test_a_system_described_only_by_its_standin_yaml_serves_its_endpoints_pool_and_metric_names(
    standin: StandinFactory, database: str, redis_server: Redis, tmp_path: Path
) -> None:
    profile = tmp_path / "orders" / "standin.yaml"
    profile.parent.mkdir()
    profile.write_text(ORDERS_STANDIN, encoding="utf-8")
    env = {"DATABASE_URL": database, "REDIS_URL": redis_server.url, "ORDERS_DB_POOL_SIZE": "1"}
    replica = standin(str(profile), env | {"DB_ACQUIRE_TIMEOUT_MS": "200", "STANDIN_SEED_ROWS": "10"})
    replica.wait_for(lambda: replica.request("/api/health/ready")[0] == 200, "readiness")
    assert replica.json("/api/orders/summary") == (200, {"open": 3})
    assert replica.json("/api/orders", method="POST", body={"customer_id": "c-1"})[0] == 201
    # One pool connection, held 50 ms per summary request: concurrent requests past the acquire timeout fail.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: replica.request("/api/orders/summary")[0], range(16)))
    assert 200 in statuses
    assert any(s >= 500 for s in statuses), f"a pool of 1 cannot serve 16 concurrent requests: {statuses}"
    assert any("orders pool exhausted (ORDERS_DB_POOL_SIZE=1" in m for m in _messages(replica))
    _, samples = parse(replica.request("/metrics")[1])
    assert value(samples, "orders_db_pool_max") == 1
    assert value(samples, "orders_db_pool_active") == value(samples, "db_pool_connections", state="active")
    assert value(samples, "db_pool_max") == 1, "the standard names stay"
