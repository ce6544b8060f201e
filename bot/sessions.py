"""Conversation state per contact, and the per-contact lock that keeps one person's turns in order.

State is always in the SQL database (survives restarts; the turn reads and writes it inside
its own transactions, bot/storage/turns.py). Locks are in-process by default (one server
process); with `REDIS_URL`, Redis locks shared by several processes. Earlier versions kept the
state in Redis with `REDIS_URL`: such a state is still read, once, until the turn writes it to
the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import delete, select

from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import SessionRecord, utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass
class ConversationState:
    language: str | None = None
    flow: str | None = None  # the active flow, None at the main menu
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # what the active flow has collected
    misunderstandings: int = 0  # in a row
    paused: dict[str, dict[str, Any]] = field(default_factory=dict)  # flow → {step, data}
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        # the fields by hand: dataclasses.asdict deep-copies everything first (a tenth of a
        # turn's CPU); the result is the same JSON
        values = {
            "language": self.language,
            "flow": self.flow,
            "step": self.step,
            "data": self.data,
            "misunderstandings": self.misunderstandings,
            "paused": self.paused,
            "extra": self.extra,
        }
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> ConversationState:
        if not raw:
            return cls()
        values = json.loads(raw)
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        if not isinstance(known.get("paused", {}), dict):
            known["paused"] = {}
        return cls(**known)

    def enter(self, flow: str | None, step: str | None = None) -> None:
        self.flow, self.step, self.data = flow, step, {}

    def pause(self) -> None:
        """Keep the active flow's progress so it can be resumed later, and leave it."""
        if self.flow and self.data:
            self.paused[self.flow] = {"step": self.step, "data": self.data}
        self.enter(None)


class SessionStore(Protocol):
    async def load(self, contact_id: int) -> ConversationState: ...
    async def save(self, contact_id: int, state: ConversationState) -> None: ...
    async def clear(self, contact_id: int) -> None: ...
    async def legacy_state(self, contact_id: int) -> str | None: ...  # kept elsewhere before
    def lock(self, contact_id: int) -> Any: ...  # async context manager
    async def close(self) -> None: ...


class _LocalLocks:
    """asyncio locks per contact, dropped when nobody holds or waits for them.

    asyncio.Lock wakes waiters first-come first-served, and the engine handles the stored
    inbox in arrival order under the lock, so a person's turns run in order.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, contact_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(contact_id, (asyncio.Lock(), 0))
        self._locks[contact_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[contact_id]
            if users <= 1:
                del self._locks[contact_id]
            else:
                self._locks[contact_id] = (lock, users - 1)


class SqlSessionStore:
    # The engine reads and writes this state inside the turn's own transactions
    # (bot/storage/turns.py); load and save serve everything else.
    in_database = True

    def __init__(self, db: Database) -> None:
        self._db = db
        self._locks = _LocalLocks()

    async def load(self, contact_id: int) -> ConversationState:
        async with self._db.session() as session:
            raw = await session.scalar(
                select(SessionRecord.state).where(SessionRecord.contact_id == contact_id)
            )
        if raw is None:
            raw = await self.legacy_state(contact_id)
        return ConversationState.from_json(raw)

    async def legacy_state(self, contact_id: int) -> str | None:
        """A state kept outside the database by an earlier version (none here)."""
        return None

    async def save(self, contact_id: int, state: ConversationState) -> None:
        async with self._db.session() as session, session.begin():
            record = await session.get(SessionRecord, contact_id)
            if record is None:
                session.add(SessionRecord(contact_id=contact_id, state=state.to_json()))
            else:
                record.state = state.to_json()
                record.updated_at = utcnow()

    async def clear(self, contact_id: int) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                delete(SessionRecord).where(SessionRecord.contact_id == contact_id)
            )

    def lock(self, contact_id: int) -> Any:
        return self._locks.hold(contact_id)

    async def close(self) -> None:
        return None


class RedisSessionStore(SqlSessionStore):
    """State in the database as SqlSessionStore keeps it; a Redis lock per contact, shared by
    every process. (State in Redis cost a turn two more round trips, measured.)"""

    def __init__(
        self,
        url: str,
        db: Database,
        *,
        prefix: str = "hotline",
        lock_timeout: float = 30.0,
    ) -> None:
        super().__init__(db)
        # imported here: an install without Redis never loads the client (7 MB a process)
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._lock_timeout = lock_timeout
        self._local = _LocalLocks()  # keeps this process's waiters in arrival order

    @property
    def redis(self) -> Redis:
        """The client (the console's sign-in throttle shares it)."""
        return self._redis

    def _key(self, contact_id: int) -> str:
        return f"{self._prefix}:session:{contact_id}"

    async def legacy_state(self, contact_id: int) -> str | None:
        """A state an earlier version kept in Redis (encrypted); it expires there by itself."""
        # the client decodes responses (decode_responses=True): a str, typed loosely by redis-py
        raw = cast("str | None", await self._redis.get(self._key(contact_id)))
        return crypto.decrypt(raw) if raw else None

    async def clear(self, contact_id: int) -> None:
        await super().clear(contact_id)
        await self._redis.delete(self._key(contact_id))

    @asynccontextmanager
    async def _hold(self, contact_id: int) -> AsyncIterator[None]:
        async with self._local.hold(contact_id):
            lock = self._redis.lock(
                f"{self._prefix}:lock:{contact_id}",
                timeout=self._lock_timeout,
                blocking_timeout=self._lock_timeout,
                sleep=0.01,
            )
            async with lock:
                # A long turn (a slow database, many waiting messages) must not outlive the
                # lock: a watchdog renews it until the holder is done.
                watchdog = asyncio.create_task(self._renew(lock))
                try:
                    yield
                finally:
                    watchdog.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watchdog

    async def _renew(self, lock: Any) -> None:
        while True:
            await asyncio.sleep(self._lock_timeout / 3)
            try:
                await lock.reacquire()
            except Exception:  # lost to expiry or Redis: the holder finds out when it releases
                log.warning("could not renew a contact lock")
                return

    def lock(self, contact_id: int) -> Any:
        return self._hold(contact_id)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
