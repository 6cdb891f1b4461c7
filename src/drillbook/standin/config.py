"""Stand-in configuration from environment variables (12-factor), in the runbooks' own names.

Read once, at start, from an explicit mapping (``os.environ`` in production, a dict in tests).

Variables every profile understands (besides the profile's pool-size variable and required ones):

========================================  ===============================================================
``POD_IP`` / ``PORT``                     address and port to bind (default 127.0.0.1 and the profile's)
``DATABASE_URL`` or ``DB_HOST`` …         PostgreSQL DSN; ``DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME``
``REDIS_URL`` or ``REDIS_HOST`` …         Redis URL; ``REDIS_HOST REDIS_PORT REDIS_PASSWORD``
``DB_ACQUIRE_TIMEOUT_MS``                 how long a request waits for a pool connection (default 1000)
``MAX_CONCURRENCY``                       requests one replica serves at once (default 8)
``SERVICE_TIME_MS``                       simulated work per request, no CPU (default 50)
``MAX_QUEUE``                             requests allowed to wait; beyond it 503 (default 64)
``RATE_LIMIT_ENABLED`` / ``RATE_LIMIT``   per-client fixed-window limit: ``RATE_LIMIT_REQUESTS`` per
                                          ``RATE_LIMIT_WINDOW`` s, or ``RATE_LIMIT`` per minute
``APP_VERSION``                           reported by ``app_info`` and ``/`` (image maps set it per tag)
``STANDIN_HEAP_LIMIT_MB``                 memory limit for ``nodejs_heap_used_percent`` (MiB or ``512Mi``)
``STANDIN_SEED_ROWS``                     rows seeded into the searchable table (default 200000)
``SLOW_QUERY_MS``                         queries slower than this log ``slow query`` (default 50)
========================================  ===============================================================

Opt-in failure modes (all off by default):

========================================  ===============================================================
``STANDIN_REQUIRED_ENV=A,B``              also require these at start (a bad release needing new config)
``STANDIN_ERROR_RATE=0.3``                that fraction of business requests fail with 500
``STANDIN_LEAK_CONNECTIONS=0.1``          that share of business requests keeps its pool connection (a code
                                          path that never releases it: the pool drains at a rate set by
                                          traffic; ``1`` = every request); a restart gives them back
``STANDIN_LEAK_KB_PER_REQUEST=512``       each business request retains that much memory
``STANDIN_MEMORY_GROWTH_MB_PER_S=20``     memory grows steadily in the background (towards OOMKilled);
                                          ``LEAK_MEMORY_MB_PER_S`` is an alias (the memory-leak fault's)
``STANDIN_CPU_MS_PER_REQUEST=20``         each business request burns that much CPU time (not wall time)
``STANDIN_SLOW_QUERIES=1``                do not create the runbook's index at start (searches scan)
``STANDIN_STARTUP_DELAY_MS=3000``         sleep before listening (slow boot)
``STANDIN_FAILURE_MODE=name``             apply that failure mode of the profile's ``standin.yaml`` (its
                                          variables, unless the pod's env sets them)
========================================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from drillbook.errors import UsageError
from drillbook.standin.profiles import Profile


class MissingConfigError(UsageError):
    """A variable the real application cannot start without is unset."""

    def __init__(self, name: str) -> None:
        self.variable = name
        super().__init__(f"Missing required environment variable {name}")


@dataclass(frozen=True)
class StandinConfig:
    """Resolved configuration of one replica; units are in the field names."""

    profile: Profile
    host: str
    port: int
    database_url: str
    redis_url: str
    pool_size: int
    acquire_timeout_ms: int = 1000
    #: Idle pooled connections are closed after this long (node-postgres' idleTimeoutMillis default), so the
    #: pool grows again under load and then needs new server connections, as a real app's pool does.
    idle_timeout_ms: int = 10000
    max_concurrency: int = 8
    service_time_ms: float = 50.0
    max_queue: int = 64
    rate_limit_per_window: int = 0
    rate_limit_window_s: float = 60.0
    seed_rows: int = 200_000
    error_rate: float = 0.0
    #: Share of business requests whose pool connection is never given back (0: none, 1: every one).
    leak_connections: float = 0.0
    leak_kb_per_request: int = 0
    memory_growth_mb_per_s: float = 0.0
    cpu_ms_per_request: float = 0.0
    slow_queries: bool = False
    startup_delay_ms: int = 0
    slow_query_ms: float = 50.0
    health_interval_s: float = 1.0
    heap_limit_mb: int = 512
    version: str = "unknown"

    @classmethod
    def from_env(cls, profile: Profile, env: Mapping[str, str]) -> StandinConfig:
        """Build the configuration the way the real service would.

        Raises:
            MissingConfigError: a required variable is unset (the caller logs it fatally and exits 1).
            UsageError: a variable is set to something unparsable.
        """
        env = _with_failure_mode(profile, env)
        extra = tuple(v.strip() for v in env.get("STANDIN_REQUIRED_ENV", "").split(",") if v.strip())
        for name in (*profile.required_env, *extra):
            if name == "DATABASE_URL" and _has_parts(env, "DB_HOST"):
                continue
            if name == "REDIS_URL" and _has_parts(env, "REDIS_HOST"):
                continue
            if not env.get(name):
                raise MissingConfigError(name)
        reader = _Reader(env)
        pool = sum(reader.integer(v, 0) for v in profile.pool_vars) or profile.default_pool
        rate_limit, window = _rate_limit(reader, env)
        database_url, redis_url = _database_url(profile, env), _redis_url(env)
        _check_url("DATABASE_URL", database_url, ("postgres", "postgresql"))
        _check_url("REDIS_URL", redis_url, ("redis", "rediss"))
        return cls(
            profile=profile,
            host=env.get("POD_IP") or "127.0.0.1",
            port=reader.integer("PORT", profile.port),
            database_url=database_url,
            redis_url=redis_url,
            pool_size=max(1, pool),
            acquire_timeout_ms=reader.integer("DB_ACQUIRE_TIMEOUT_MS", 1000),
            idle_timeout_ms=reader.integer("DB_IDLE_TIMEOUT_MS", 10000),
            max_concurrency=max(1, reader.integer("MAX_CONCURRENCY", 8)),
            service_time_ms=reader.number("SERVICE_TIME_MS", 50.0),
            max_queue=max(0, reader.integer("MAX_QUEUE", 64)),
            rate_limit_per_window=rate_limit,
            rate_limit_window_s=window,
            seed_rows=max(0, reader.integer("STANDIN_SEED_ROWS", 200_000)),
            error_rate=min(1.0, max(0.0, reader.number("STANDIN_ERROR_RATE", 0.0))),
            leak_connections=reader.share("STANDIN_LEAK_CONNECTIONS"),
            leak_kb_per_request=reader.integer("STANDIN_LEAK_KB_PER_REQUEST", 0),
            memory_growth_mb_per_s=reader.number(
                "STANDIN_MEMORY_GROWTH_MB_PER_S", reader.number("LEAK_MEMORY_MB_PER_S", 0.0)
            ),
            cpu_ms_per_request=reader.number("STANDIN_CPU_MS_PER_REQUEST", 0.0),
            slow_queries=reader.flag("STANDIN_SLOW_QUERIES"),
            startup_delay_ms=reader.integer("STANDIN_STARTUP_DELAY_MS", 0),
            slow_query_ms=reader.number("SLOW_QUERY_MS", 50.0),
            health_interval_s=reader.number("STANDIN_HEALTH_INTERVAL_S", 1.0),
            version=env.get("APP_VERSION") or "unknown",
            heap_limit_mb=max(1, reader.megabytes("STANDIN_HEAP_LIMIT_MB", 512)),
        )


class _Reader:
    """Parses numeric variables, naming the variable and value when one is malformed."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def integer(self, name: str, default: int) -> int:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f"{name} must be an integer, got {raw!r}; fix the Deployment's env") from None

    def number(self, name: str, default: float) -> float:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return float(raw)
        except ValueError:
            raise UsageError(f"{name} must be a number, got {raw!r}; fix the Deployment's env") from None

    def megabytes(self, name: str, default: int) -> int:
        """A size in MiB; also accepts a Kubernetes quantity (``512Mi``, ``1Gi``, bytes) from a resourceFieldRef."""
        raw = self._env.get(name, "").strip()
        if not raw or raw == "0":  # "0" is what a resourceFieldRef yields when no limit is set
            return default
        units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
        for suffix, factor in units.items():
            if raw.endswith(suffix) and raw[: -len(suffix)].isdigit():
                return max(1, int(int(raw[: -len(suffix)]) * factor))
        if raw.isdigit():
            value = int(raw)
            # A bare number this large is bytes (no divisor); otherwise it already is MiB (divisor 1Mi).
            return max(1, value // 2**20) if value >= 2**20 else value
        raise UsageError(f"{name} must be a size like 512 or 512Mi, got {raw!r}; fix the Deployment's env")

    def share(self, name: str) -> float:
        """A fraction in [0, 1]; a flag value (``true``, ``yes``, ``on``) means 1."""
        if self.flag(name):
            return 1.0
        return min(1.0, max(0.0, self.number(name, 0.0)))

    def flag(self, name: str) -> bool:
        return self._env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _with_failure_mode(profile: Profile, env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` over the defaults of the failure mode ``STANDIN_FAILURE_MODE`` names (none: ``env`` itself)."""
    name = env.get("STANDIN_FAILURE_MODE", "").strip()
    if not name:
        return env
    mode = profile.failure_modes.get(name)
    if mode is None:
        known = ", ".join(sorted(profile.failure_modes)) or "none"
        raise UsageError(
            f"STANDIN_FAILURE_MODE={name!r} is not a failure mode of {profile.name}; its standin.yaml declares: "
            f"{known}. Add it under failure_modes or fix the image map's env"
        )
    return {**mode.env, **env}


def _has_parts(env: Mapping[str, str], host_var: str) -> bool:
    return bool(env.get(host_var))


def _database_url(profile: Profile, env: Mapping[str, str]) -> str:
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    host = env.get("DB_HOST") or env.get("PGHOST") or "127.0.0.1"
    port = _port(env.get("DB_PORT") or env.get("PGPORT"), "5432")
    user = env.get("DB_USER") or env.get("PGUSER") or "postgres"
    password = env.get("DB_PASSWORD") or env.get("PGPASSWORD") or ""
    name = env.get("DB_NAME") or env.get("PGDATABASE") or profile.database
    auth = quote(user) + (f":{quote(password)}" if password else "")
    return f"postgresql://{auth}@{host}:{port}/{name}"


def _redis_url(env: Mapping[str, str]) -> str:
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    host = env.get("REDIS_HOST") or "127.0.0.1"
    port = _port(env.get("REDIS_PORT"), "6379")
    password = env.get("REDIS_PASSWORD")
    auth = f":{quote(password)}@" if password else ""
    return f"redis://{auth}{host}:{port}/0"


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    """Fail at start, like the real app's client library would, on a URL it cannot use."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a non-numeric port
    except ValueError as exc:
        raise UsageError(
            f"Invalid {name}: {exc}; expected {schemes[0]}://host:port/…. "
            "A literal $(VAR) means Kubernetes could not expand it: define VAR earlier in env, or create the "
            "Service before the pods."
        ) from None
    if parts.scheme not in schemes or not parts.hostname:
        raise UsageError(f"Invalid {name}: expected {schemes[0]}://host:port/…, got {url!r}")


def _port(value: str | None, default: str) -> str:
    # A Service named "redis" gives every pod REDIS_PORT=tcp://10.0.0.7:6379 (Docker-link style): take the port.
    if not value:
        return default
    return value.rsplit(":", 1)[-1] if value.startswith("tcp://") else value


def _rate_limit(reader: _Reader, env: Mapping[str, str]) -> tuple[int, float]:
    if reader.integer("RATE_LIMIT", 0) > 0:  # architect-api: requests per minute
        return reader.integer("RATE_LIMIT", 0), 60.0
    if reader.flag("RATE_LIMIT_ENABLED"):  # azora: requests per window seconds
        return reader.integer("RATE_LIMIT_REQUESTS", 100), float(reader.integer("RATE_LIMIT_WINDOW", 60))
    return 0, 60.0
