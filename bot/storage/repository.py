"""Reading and writing the records. The only module that builds queries for the core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import InboundMessage, OutboundMessage
from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Contact,
    Direction,
    Handoff,
    Message,
    MessageStatus,
    SessionRecord,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class ContactInfo:
    id: int
    channel: str
    address: str
    language: str | None
    role: str
    opted_out: bool


@dataclass(frozen=True, slots=True)
class StoredInbound:
    id: int
    contact_id: int
    text: str
    language_hint: str | None
    truncated: bool
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)  # as stored (hint, truncated, media)


def _info(contact: Contact) -> ContactInfo:
    return ContactInfo(
        id=contact.id,
        channel=contact.channel,
        address=contact.address,
        language=contact.language,
        role=contact.role,
        opted_out=contact.opted_out,
    )


EraseHook = Callable[[AsyncSession, int], Awaitable[dict[str, int]]]


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Other record kinds (registrations, …) add what erasing a contact must also delete.
        self.erase_hooks: list[EraseHook] = []

    # -- contacts ------------------------------------------------------------------------
    async def contact_for(self, channel: str, address: str) -> ContactInfo:
        """The contact for this sender, created on first contact (safe under races)."""
        address_hash = crypto.lookup_hash(channel, address)
        for _ in range(2):
            async with self.db.session() as session:
                contact = await session.scalar(
                    select(Contact).where(  # several hashes only while keys rotate
                        Contact.channel == channel,
                        Contact.address_hash.in_(crypto.lookup_hashes(channel, address)),
                    )
                )
                if contact is not None:
                    return _info(contact)
                contact = Contact(channel=channel, address_hash=address_hash, address=address)
                session.add(contact)
                try:
                    await session.commit()
                except IntegrityError:  # another request created it first
                    await session.rollback()
                    continue
                return _info(contact)
        raise RuntimeError("could not create contact")

    async def get_contact(self, contact_id: int) -> ContactInfo | None:
        async with self.db.session() as session:
            contact = await session.get(Contact, contact_id)
            return _info(contact) if contact else None

    async def set_contact_language(self, contact_id: int, language: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Contact).where(Contact.id == contact_id).values(language=language)
            )

    # -- the inbox -----------------------------------------------------------------------
    async def record_inbound(
        self, contact_id: int, inbound: InboundMessage, text: str, *, truncated: bool = False
    ) -> tuple[int, bool]:
        """Store a message as received. Returns (message id, whether it was a duplicate)."""
        payload: dict[str, object] = {}
        if inbound.language_hint:
            payload["language_hint"] = inbound.language_hint
        if truncated:
            payload["truncated"] = True
        if inbound.media:
            payload["media"] = len(inbound.media)  # how many; the URLs stay with the provider
        now = utcnow()
        async with self.db.session() as session:
            message = Message(
                contact_id=contact_id,
                channel=inbound.channel,
                direction=Direction.INBOUND,
                text=text,
                provider_message_id=inbound.provider_message_id,
                status=MessageStatus.RECEIVED,
                payload=payload,
            )
            session.add(message)
            try:
                await session.flush()
                await session.execute(
                    update(Contact)
                    .where(Contact.id == contact_id)
                    .values(last_seen_at=now, last_inbound_at=now)
                )
                await session.commit()
                return message.id, False
            except IntegrityError:
                await session.rollback()
        if inbound.provider_message_id is None:
            raise RuntimeError("inbound message could not be stored")
        async with self.db.session() as session:
            existing = await session.scalar(
                select(Message.id).where(
                    Message.channel == inbound.channel,
                    Message.direction == Direction.INBOUND,
                    Message.provider_message_id == inbound.provider_message_id,
                )
            )
        if existing is None:
            raise RuntimeError("duplicate message vanished")
        return existing, True

    async def pending_inbound(self, contact_id: int) -> list[StoredInbound]:
        """Received but not yet handled, oldest first."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Message)
                .where(
                    Message.contact_id == contact_id,
                    Message.direction == Direction.INBOUND,
                    Message.status == MessageStatus.RECEIVED,
                )
                .order_by(Message.id)
            )
            return [
                StoredInbound(
                    id=m.id,
                    contact_id=m.contact_id,
                    text=m.text,
                    language_hint=m.payload.get("language_hint"),
                    truncated=bool(m.payload.get("truncated")),
                    created_at=m.created_at,
                )
                for m in rows
            ]

    async def complete_turn(
        self,
        inbound_id: int,
        contact_id: int,
        channel: str,
        replies: Sequence[OutboundMessage],
        *,
        status: MessageStatus,
        language: str | None,
        inbound_status: MessageStatus = MessageStatus.PROCESSED,
        intent: str | None = None,
    ) -> list[int]:
        """Store the replies and mark the inbound message handled, in one transaction."""
        async with self.db.session() as session, session.begin():
            inbound = await session.get(Message, inbound_id)
            if inbound is None:
                raise LookupError(inbound_id)
            inbound.status = inbound_status
            inbound.processed_at = utcnow()
            inbound.language = language
            if intent:
                inbound.payload = {**inbound.payload, "intent": intent}
            rows = [
                Message(
                    contact_id=contact_id,
                    channel=channel,
                    direction=Direction.OUTBOUND,
                    text=reply.text,
                    language=reply.language,
                    status=status,
                    in_reply_to_id=inbound_id,
                    payload=reply.to_payload(),
                )
                for reply in replies
            ]
            session.add_all(rows)
            await session.flush()
            return [row.id for row in rows]

    async def replies_to(self, inbound_id: int) -> list[OutboundMessage]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Message)
                .where(
                    Message.in_reply_to_id == inbound_id, Message.direction == Direction.OUTBOUND
                )
                .order_by(Message.id)
            )
            return [
                OutboundMessage.from_stored(m.text, m.language, m.payload, m.id, m.operator_id)
                for m in rows
            ]

    # -- the outbox ----------------------------------------------------------------------
    async def enqueue(self, contact_id: int, channel: str, message: OutboundMessage) -> int:
        """A message that is not an answer to a request (operator reply, broadcast)."""
        async with self.db.session() as session, session.begin():
            row = Message.queued(contact_id, channel, message)
            session.add(row)
            await session.flush()
            return row.id

    async def take_queued(self, contact_id: int, limit: int = 50) -> list[OutboundMessage]:
        """Queued messages for a contact whose channel collects them (REST and web chat pull).

        Each is returned once: it is marked delivered in the same transaction."""
        async with self.db.session() as session, session.begin():
            query = (
                select(Message)
                .where(
                    Message.contact_id == contact_id,
                    Message.direction == Direction.OUTBOUND,
                    Message.status == MessageStatus.QUEUED,
                )
                .order_by(Message.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(await session.scalars(query))
            for row in rows:
                row.status = MessageStatus.DELIVERED
                row.attempts += 1
                row.processed_at = utcnow()
            return [
                OutboundMessage.from_stored(m.text, m.language, m.payload, m.id, m.operator_id)
                for m in rows
            ]

    async def transcript(
        self, contact_id: int, limit: int = 100
    ) -> list[tuple[str, str, datetime]]:
        """(direction, text, time), oldest first."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(Message.direction, Message.text, Message.created_at)
                .where(Message.contact_id == contact_id)
                .order_by(Message.id.desc())
                .limit(limit)
            )
            return [(d, t, c) for d, t, c in reversed(rows.all())]

    # -- handoffs ------------------------------------------------------------------------
    async def open_handoffs(self) -> list[Handoff]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Handoff).where(Handoff.status != "closed").order_by(Handoff.id)
            )
            return list(rows)

    # -- privacy -------------------------------------------------------------------------
    async def set_opted_out(self, contact_id: int, opted_out: bool) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Contact).where(Contact.id == contact_id).values(opted_out=opted_out)
            )

    async def erase_contact(self, contact_id: int) -> dict[str, int]:
        """Delete a person's personal data and records; keep only anonymous counts (audited)."""
        async with self.db.session() as session, session.begin():
            contact = await session.get(Contact, contact_id)
            if contact is None:
                return {}
            counts = {
                "messages": int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.contact_id == contact_id)
                    )
                    or 0
                ),
            }
            await session.execute(delete(Message).where(Message.contact_id == contact_id))
            await session.execute(delete(Handoff).where(Handoff.contact_id == contact_id))
            await session.execute(
                delete(SessionRecord).where(SessionRecord.contact_id == contact_id)
            )
            for hook in self.erase_hooks:
                counts.update(await hook(session, contact_id))
            session.add(
                AuditEvent(
                    actor="contact",
                    action="contact.erased",
                    subject=str(contact_id),  # the id only: the contact row itself goes
                    details={"channel": contact.channel, "language": contact.language, **counts},
                )
            )
            await session.delete(contact)
        await self.db.flush_deleted()  # no copy of the erased rows left in the SQLite WAL
        return counts

    async def set_role(self, contact_id: int, role: str, actor: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(update(Contact).where(Contact.id == contact_id).values(role=role))
            session.add(
                AuditEvent(
                    actor=actor,
                    action="contact.role",
                    subject=str(contact_id),
                    details={"role": role},
                )
            )
