"""The Docker tier: a Docker engine drillbook may start and stop, images built locally, datastore containers.

Nothing here pulls from a registry (none is reachable where drillbook runs its own CI, and a drill must not depend
on one): the base image is made from Debian's packages with debootstrap and imported, and every container and
image drillbook creates carries the ``org.drillbook.managed`` label, so cleanup removes only what drillbook made.
"""

from __future__ import annotations

from drillbook.platform.docker.datastores import DatastoreContainer, start_postgres, start_redis
from drillbook.platform.docker.engine import DockerEngine, EngineHandle
from drillbook.platform.docker.images import IMAGES, BuiltImage, build_images

__all__ = [
    "IMAGES",
    "BuiltImage",
    "DatastoreContainer",
    "DockerEngine",
    "EngineHandle",
    "build_images",
    "start_postgres",
    "start_redis",
]
