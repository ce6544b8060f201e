"""Live events for the console: new cases, new messages, someone typing.

Each process keeps its subscribers (server-sent event streams) in memory. With `REDIS_URL`
set, events are also published on a Redis channel and every process forwards what the others
publish, so a console connected to one server sees messages handled by another.
Events carry ids and small facts, never message text: the console fetches what it shows
through the authorised API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

REDIS_CHANNEL = "hotline:events"


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "handoff.opened", "handoff.updated", "handoff.closed", "message", "typing", …
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "data": self.data}, separators=(",", ":"))


class EventBus:
    def __init__(self, redis_url: str | None = None, queue_size: int = 256) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size
        self._redis_url = redis_url
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._origin = f"{os.getpid()}-{id(self)}"

    async def start(self) -> None:
        if self._redis_url and self._listener is None:
            from redis import asyncio as aioredis

            self._redis = aioredis.from_url(self._redis_url)
            ready = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(ready), name="events")
            await asyncio.wait_for(ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def publish(self, kind: str, **data: Any) -> None:
        event = Event(kind, data)
        self._deliver(event)
        if self._redis is not None:
            payload = json.dumps({"origin": self._origin, "kind": kind, "data": data})
            try:
                await self._redis.publish(REDIS_CHANNEL, payload)
            except Exception:  # live updates are a convenience; the records are in the database
                log.warning("could not publish event %s to redis", kind)

    def _deliver(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a slow console loses old events, not the server's memory
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    async def _listen(self, ready: asyncio.Event) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(REDIS_CHANNEL)
        ready.set()
        try:
            async for item in pubsub.listen():
                if item.get("type") != "message":
                    continue
                try:
                    payload = json.loads(item["data"])
                except (TypeError, ValueError):
                    continue
                if payload.get("origin") == self._origin:
                    continue
                self._deliver(Event(str(payload.get("kind")), dict(payload.get("data") or {})))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
