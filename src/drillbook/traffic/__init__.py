"""Traffic: locust in a subprocess, every request streamed back as a record (locust is never imported here)."""

from drillbook.traffic.generator import LOCUSTFILE, LoadGenerator, NonLoopbackHost, require_loopback
from drillbook.traffic.profile import DEFAULT_PROFILE, Endpoint, TrafficProfile

__all__ = [
    "DEFAULT_PROFILE",
    "LOCUSTFILE",
    "Endpoint",
    "LoadGenerator",
    "NonLoopbackHost",
    "TrafficProfile",
    "require_loopback",
]
