"""The per-replica capacity model: a bounded number of requests in service, a bounded queue, then 503.

Service time is an ``asyncio.sleep`` so it costs no CPU: a replica's throughput is
``max_concurrency / service_time`` whatever the machine, a load spike really saturates two replicas,
and scaling out really restores latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Saturated(Exception):
    """The queue is full: the request is refused with 503 instead of waiting."""


class Capacity:
    """``MAX_CONCURRENCY`` slots, ``MAX_QUEUE`` waiters, ``SERVICE_TIME_MS`` of simulated work per request."""

    def __init__(self, max_concurrency: int, max_queue: int, service_time_ms: float) -> None:
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.service_time_s = service_time_ms / 1000
        self._slots = asyncio.Semaphore(max_concurrency)
        self.in_service = 0
        self.queued = 0
        self.rejected = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one service slot for the body, after the simulated work; raise :class:`Saturated` if full."""
        if self._slots.locked() and self.queued >= self.max_queue:
            self.rejected += 1
            raise Saturated(
                f"server busy: {self.in_service} requests in service and {self.queued} queued "
                f"(MAX_CONCURRENCY={self.max_concurrency}, MAX_QUEUE={self.max_queue})"
            )
        self.queued += 1
        try:
            await self._slots.acquire()
        finally:
            self.queued -= 1
        self.in_service += 1
        try:
            if self.service_time_s > 0:
                await asyncio.sleep(self.service_time_s)
            yield
        finally:
            self.in_service -= 1
            self._slots.release()
