"""PostgreSQL and Redis as local processes, plus entrypoints that stand in for their container images."""

from __future__ import annotations

from pathlib import Path

from drillbook.platform.local.datastores._host import free_port
from drillbook.platform.local.datastores.postgres import PostgresConfig, PostgresInstance
from drillbook.platform.local.datastores.redis_server import RedisConfig, RedisInstance

#: Image map (``postgres:15``, ``redis:7`` …) → entrypoint commands, in the kubelet's image-map format.
IMAGES_FILE: Path = Path(__file__).with_name("images.yaml")

__all__ = ["IMAGES_FILE", "PostgresConfig", "PostgresInstance", "RedisConfig", "RedisInstance", "free_port"]
