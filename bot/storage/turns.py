"""The turn's storage: one read before the decision, one write after it (SQLAlchemy Core).

A turn goes down to the database twice: `open_turn` stores the message under the contact's
lock and reads everything the decision needs (contact, session, active case, the contact's
unhandled messages), and `finish_turn` writes everything the decision produced (session,
replies, processed mark, contact changes, the case's waiting mark) in one transaction.

SQLite: a synchronous connection in one dedicated thread, so a transaction is one thread hop
instead of one per statement (aiosqlite), and write transactions begin IMMEDIATE so two
writers queue on the busy timeout instead of failing on a lock upgrade. PostgreSQL: the async
engine's connection, the same functions run through `run_sync`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.handoffs import CaseInfo, person_wrote_update
from bot.messages import OutboundMessage
from bot.storage import crypto
from bot.storage.db import Database, _sqlite_pragmas, sync_url
from bot.storage.models import (
    ACTIVE_HANDOFF,
    Contact,
    Direction,
    Handoff,
    Message,
    MessageStatus,
    SessionRecord,
    utcnow,
)
from bot.storage.repository import ContactInfo, StoredInbound

T = TypeVar("T")

contacts = Contact.__table__
messages = Message.__table__
sessions = SessionRecord.__table__
handoffs = Handoff.__table__

_CONTACT_CACHE_SIZE = 50_000


@dataclass(slots=True)
class TurnContext:
    """What a turn reads, in one go, once its message is stored."""

    contact: ContactInfo
    message_id: int
    duplicate: bool
    pending: list[StoredInbound]  # received, not handled, oldest first (maybe this message)
    state_json: str | None  # the SQL session store's state (None: none yet, or Redis)
    case: CaseInfo | None  # the active handoff case


@dataclass(slots=True)
class TurnWrite:
    """What a turn decided, written in one transaction."""

    inbound_id: int
    contact_id: int
    channel: str
    replies: Sequence[OutboundMessage]
    status: MessageStatus  # of the replies: answered (in the HTTP answer) or queued
    inbound_status: MessageStatus
    language: str | None  # the message's detected language
    intent: str | None
    inbound_payload: dict[str, Any] = field(default_factory=dict)
    delivered: bool = False  # answered replies handed over for good (no later confirmation)
    state_json: str | None = None  # the SQL session store's new state
    contact_language: str | None = None
    opted_out: bool | None = None
    case_id: int | None = None  # the active case the message went to


class TurnStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._dialect = sqlite if db.is_sqlite else postgresql
        # (channel, address hash) → contact id: ids never change; an erased contact is noticed
        # when its row is read and forgotten here.
        self._contact_ids: OrderedDict[str, int] = OrderedDict()
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if db.is_sqlite:
            self._sync = create_engine(sync_url(db.url))
            event.listen(self._sync, "connect", _sqlite_autocommit)
            event.listen(self._sync, "begin", _begin_immediate)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotline-turns")

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        if self._sync is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._in_thread, work, args)
        async with self.db.engine.begin() as connection:
            return await connection.run_sync(work, *args)

    def _in_thread(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._sync is not None
        with self._sync.begin() as connection:
            return work(connection, *args)

    async def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()

    # -- contacts --------------------------------------------------------------------------
    async def contact_id(self, channel: str, address: str) -> int:
        """The contact for this sender, created on first contact (safe under races)."""
        key = crypto.lookup_hash(channel, address)
        known = self._contact_ids.get(key)
        if known is not None:
            self._contact_ids.move_to_end(key)
            return known
        contact_id = await self._run(self._find_or_create, channel, key, address)
        self._contact_ids[key] = contact_id
        if len(self._contact_ids) > _CONTACT_CACHE_SIZE:
            self._contact_ids.popitem(last=False)
        return contact_id

    def forget_contact(self, channel: str, address: str) -> None:
        self._contact_ids.pop(crypto.lookup_hash(channel, address), None)

    def _find_or_create(self, connection: Connection, channel: str, key: str, address: str) -> int:
        found = connection.scalar(
            select(contacts.c.id).where(
                contacts.c.channel == channel, contacts.c.address_hash == key
            )
        )
        if found is not None:
            return int(found)
        inserted = connection.scalar(
            self._dialect.insert(contacts)
            .values(channel=channel, address_hash=key, address=address)
            .on_conflict_do_nothing()
            .returning(contacts.c.id)
        )
        if inserted is not None:
            return int(inserted)
        found = connection.scalar(  # another process created it first
            select(contacts.c.id).where(
                contacts.c.channel == channel, contacts.c.address_hash == key
            )
        )
        if found is None:
            raise RuntimeError("could not create contact")
        return int(found)

    # -- transaction 1: store the message, read the turn's context ---------------------------
    async def open_turn(
        self,
        contact_id: int,
        channel: str,
        provider_message_id: str | None,
        text: str,
        payload: dict[str, Any],
        *,
        with_session: bool,
    ) -> TurnContext | None:
        """None when the contact no longer exists (erased meanwhile)."""
        return await self._run(
            self._open_turn, contact_id, channel, provider_message_id, text, payload, with_session
        )

    def _open_turn(
        self,
        connection: Connection,
        contact_id: int,
        channel: str,
        provider_message_id: str | None,
        text: str,
        payload: dict[str, Any],
        with_session: bool,
    ) -> TurnContext | None:
        row = connection.execute(
            select(
                contacts.c.id,
                contacts.c.channel,
                contacts.c.address,
                contacts.c.language,
                contacts.c.role,
                contacts.c.opted_out,
            ).where(contacts.c.id == contact_id)
        ).first()
        if row is None:
            return None
        contact = ContactInfo(
            id=row.id,
            channel=row.channel,
            address=row.address,
            language=row.language,
            role=row.role,
            opted_out=bool(row.opted_out),
        )
        now = utcnow()
        message_id = connection.scalar(
            self._dialect.insert(messages)
            .values(
                contact_id=contact_id,
                channel=channel,
                direction=Direction.INBOUND,
                text=text,
                provider_message_id=provider_message_id,
                status=MessageStatus.RECEIVED,
                payload=payload,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(messages.c.id)
        )
        duplicate = message_id is None
        if duplicate:
            if provider_message_id is None:
                raise RuntimeError("inbound message could not be stored")
            message_id = connection.scalar(
                select(messages.c.id).where(
                    messages.c.channel == channel,
                    messages.c.direction == Direction.INBOUND,
                    messages.c.provider_message_id == provider_message_id,
                )
            )
            if message_id is None:
                raise RuntimeError("duplicate message vanished")
        else:
            connection.execute(
                update(contacts)
                .where(contacts.c.id == contact_id)
                .values(last_seen_at=now, last_inbound_at=now)
            )
        pending = [
            StoredInbound(
                id=m.id,
                contact_id=contact_id,
                text=m.text,
                language_hint=(m.payload or {}).get("language_hint"),
                truncated=bool((m.payload or {}).get("truncated")),
                created_at=m.created_at,
                payload=dict(m.payload or {}),
            )
            for m in connection.execute(
                select(messages.c.id, messages.c.text, messages.c.payload, messages.c.created_at)
                .where(
                    messages.c.contact_id == contact_id,
                    messages.c.direction == Direction.INBOUND,
                    messages.c.status == MessageStatus.RECEIVED,
                )
                .order_by(messages.c.id)
            )
        ]
        state_json = (
            connection.scalar(select(sessions.c.state).where(sessions.c.contact_id == contact_id))
            if with_session
            else None
        )
        return TurnContext(
            contact=contact,
            message_id=int(message_id),
            duplicate=duplicate,
            pending=pending,
            state_json=state_json,
            case=self._active_case(connection, contact_id),
        )

    @staticmethod
    def _active_case(connection: Connection, contact_id: int) -> CaseInfo | None:
        row = connection.execute(
            select(
                handoffs.c.id,
                handoffs.c.contact_id,
                handoffs.c.status,
                handoffs.c.priority,
                handoffs.c.reason,
                handoffs.c.channel,
                handoffs.c.language,
                handoffs.c.assigned_to_id,
                handoffs.c.waiting_since,
                handoffs.c.created_at,
            )
            .where(handoffs.c.contact_id == contact_id, handoffs.c.status.in_(ACTIVE_HANDOFF))
            .order_by(handoffs.c.id.desc())
            .limit(1)
        ).first()
        return CaseInfo(**row._asdict()) if row is not None else None

    async def active_case(self, contact_id: int) -> CaseInfo | None:
        return await self._run(self._active_case, contact_id)

    # -- transaction 2: everything the turn decided -----------------------------------------
    async def finish_turn(self, write: TurnWrite) -> list[int]:
        """Store the replies, session and changes and mark the message handled; reply ids."""
        return await self._run(self._finish_turn, write)

    def _finish_turn(self, connection: Connection, write: TurnWrite) -> list[int]:
        now = utcnow()
        if write.state_json is not None:
            upsert = self._dialect.insert(sessions).values(
                contact_id=write.contact_id, state=write.state_json, updated_at=now
            )
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[sessions.c.contact_id],
                    set_={"state": upsert.excluded.state, "updated_at": now},
                )
            )
        payload = write.inbound_payload
        if write.intent:
            payload = {**payload, "intent": write.intent}
        connection.execute(
            update(messages)
            .where(messages.c.id == write.inbound_id)
            .values(
                status=write.inbound_status,
                processed_at=now,
                language=write.language,
                payload=payload,
            )
        )
        ids: list[int] = []
        if write.replies:
            rows = [
                {
                    "contact_id": write.contact_id,
                    "channel": write.channel,
                    "direction": Direction.OUTBOUND,
                    "text": reply.text,
                    "language": reply.language,
                    "status": write.status,
                    "in_reply_to_id": write.inbound_id,
                    "payload": reply.to_payload(),
                    "created_at": now,
                    "sent_at": now if write.delivered else None,
                }
                for reply in write.replies
            ]
            result = connection.execute(
                messages.insert().returning(messages.c.id, sort_by_parameter_order=True), rows
            )
            ids = [int(i) for i in result.scalars()]
        changes: dict[str, Any] = {}
        if write.contact_language is not None:
            changes["language"] = write.contact_language
        if write.opted_out is not None:
            changes["opted_out"] = write.opted_out
        if changes:
            connection.execute(
                update(contacts).where(contacts.c.id == write.contact_id).values(**changes)
            )
        if write.case_id is not None:
            connection.execute(person_wrote_update(write.case_id, now))
        return ids

    # -- a repeated delivery ----------------------------------------------------------------
    async def replay(self, inbound_id: int, *, delivered: bool) -> list[OutboundMessage]:
        """The replies to a message handled already that its sender has not had: answered in
        an HTTP answer nobody confirmed, or still queued (taken over here, so the outbox does
        not send them as well). Replies the outbox has claimed or sent are not repeated."""
        return await self._run(self._replay, inbound_id, delivered)

    def _replay(
        self, connection: Connection, inbound_id: int, delivered: bool
    ) -> list[OutboundMessage]:
        mine = (
            messages.c.in_reply_to_id == inbound_id,
            messages.c.direction == Direction.OUTBOUND,
        )
        connection.execute(
            update(messages)
            .where(*mine, messages.c.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.ANSWERED, sent_at=None)
        )
        rows = connection.execute(
            select(messages.c.id, messages.c.text, messages.c.language, messages.c.payload)
            .where(*mine, messages.c.status == MessageStatus.ANSWERED, messages.c.sent_at.is_(None))
            .order_by(messages.c.id)
        ).all()
        if delivered and rows:
            self._confirm(connection, [row.id for row in rows], utcnow())
        return [
            OutboundMessage.from_stored(row.text, row.language, row.payload or {}, row.id)
            for row in rows
        ]

    async def confirm(self, reply_ids: Sequence[int], when: datetime | None = None) -> None:
        """Answered replies whose HTTP answer went out: a later retry does not repeat them."""
        if reply_ids:
            await self._run(self._confirm, list(reply_ids), when or utcnow())

    @staticmethod
    def _confirm(connection: Connection, reply_ids: list[int], when: datetime) -> None:
        connection.execute(
            update(messages)
            .where(messages.c.id.in_(reply_ids), messages.c.sent_at.is_(None))
            .values(sent_at=when)
        )


def _sqlite_autocommit(dbapi_connection: Any, record: Any) -> None:
    # SQLAlchemy's recipe: let it emit BEGIN itself, so the transaction can be IMMEDIATE.
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
