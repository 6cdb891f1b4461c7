"""Stand-in for the official ``redis:7`` image (``python -m <this module>``).

Reads REDIS_MAXMEMORY, REDIS_MAXMEMORY_POLICY, REDIS_PASSWORD and binds ``$POD_IP:$REDIS_PORT`` (default
127.0.0.1:6379). Extra arguments are passed to redis-server, like the image's ``redis-server --foo`` cmd.
The process becomes redis-server (exec), so signals and the exit code are the server's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from drillbook.platform.local.datastores.redis_server import RedisConfig, redis_server_args


def command_from_env(env: Mapping[str, str], cwd: Path, extra: Sequence[str] = ()) -> list[str]:
    """The redis-server command line the official image would run for this environment."""
    config = RedisConfig(
        maxmemory=env.get("REDIS_MAXMEMORY") or None,
        maxmemory_policy=env.get("REDIS_MAXMEMORY_POLICY") or "noeviction",
        password=env.get("REDIS_PASSWORD") or None,
    )
    host = env.get("POD_IP") or "127.0.0.1"
    # Kubernetes injects REDIS_PORT=tcp://<ip>:6379 for a Service named "redis": only a bare number is a port.
    raw_port = env.get("REDIS_PORT") or ""
    port = int(raw_port) if raw_port.isdigit() else 6379
    args = redis_server_args(config, host, port, cwd)
    # The image is run as `redis-server [args]`: drop a leading "redis-server" the pod spec may repeat.
    rest = list(extra[1:] if extra and extra[0] == "redis-server" else extra)
    return args + rest


def main() -> int:
    """Replace this process with redis-server."""
    cmd = command_from_env(os.environ, Path.cwd(), sys.argv[1:])
    try:
        os.execv(cmd[0], cmd)
    except OSError as exc:
        print(f"redis entrypoint: error: could not run {cmd[0]}: {exc}. Hint: apt-get install redis-server.")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
