"""The outbox: sends stored outbound messages through their channel's sender.

Replies that cannot go back in an HTTP answer (Telegram, WhatsApp Cloud, operator replies,
broadcasts, messages after a call) are stored as QUEUED first; the outbox claims them, hands
them to the channel's `Sender` and records the outcome. Claiming sets status SENDING in one
transaction (with SKIP LOCKED on PostgreSQL), so several server processes can run outboxes
over the same database and each message is sent once. A person's messages go out in the order
they were stored: a contact with an earlier message still waiting is skipped until it is sent.
Channels without a sender (REST, web chat) keep their messages queued for the client to fetch.

WhatsApp outside the 24-hour window: the sender sends an approved template instead and says
so (`Delivery.held`); the message itself is then HELD, and so are the person's next messages
while that template is under 24 hours old (one template, not one per message). When the person
writes, the turn that handles their message puts the held ones back in the queue, in the
transaction that stores its replies (bot/storage/turns.py; after STOP they become
undeliverable instead), and they go out in their order, once. Marking a message held re-reads
the person's last message under a lock on their contact row, so a message that arrives
meanwhile is never missed: the message is queued again at once instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.channels.whatsapp_window import WINDOW
from bot.messages import OutboundMessage
from bot.storage.db import Database
from bot.storage.models import Contact, Direction, Message, MessageStatus, as_utc, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to, with what a sender needs to decide how."""

    contact_id: int
    channel: str
    address: str
    language: str | None
    last_inbound_at: datetime | None  # WhatsApp's 24-hour window counts from it


def _wrote_since(last_inbound_at: datetime | None, moment: datetime | None) -> bool:
    """The person's last message is newer than `moment` (None: before anything)."""
    if last_inbound_at is None:
        return False
    return moment is None or as_utc(last_inbound_at) > as_utc(moment)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a sender reports: the provider's id and how far the message got. `held`: an
    approved template went instead of the message (WhatsApp outside the 24-hour window;
    `template` says which), and the message waits for the person to write."""

    provider_message_id: str | None
    status: MessageStatus = MessageStatus.SENT
    held: bool = False
    template: str | None = None


class SendError(Exception):
    """Sending failed. `retry` False: the provider refused for good (blocked, unknown user)."""

    def __init__(self, reason: str, *, retry: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.retry_after = retry_after


class Sender(Protocol):
    """One channel's way out. Raise `SendError` on failure."""

    channel: str

    async def send(self, recipient: Recipient, message: OutboundMessage) -> Delivery: ...


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this outbox holds: its lease is the claim time stored in next_attempt_at."""

    message_id: int
    recipient: Recipient
    message: OutboundMessage
    attempts: int
    lease: datetime
    # when the template for an earlier, still held message of this person went out
    held_since: datetime | None = None


@dataclass
class OutboxStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


class Outbox:
    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        batch_size: int = 50,
        poll_interval: float = 5.0,
        stale_after: float = 300.0,
    ) -> None:
        self.db = db
        self.senders: dict[str, Sender] = {}
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stale_after = stale_after  # a SENDING claim older than this was lost with a crash
        self.stats = OutboxStats()
        self._wake = asyncio.Event()
        # set in a web process whose outbox a worker process sends: tells the worker
        self.on_kick: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._drain_lock = asyncio.Lock()

    def register(self, sender: Sender) -> None:
        self.senders[sender.channel] = sender

    def sends(self, channel: str) -> bool:
        return channel in self.senders

    def kick(self) -> None:
        """Something was queued: send without waiting for the next poll."""
        self._wake.set()
        if self.on_kick is not None:
            self.on_kick()

    # -- the loop ------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None and self.senders:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain(self) -> int:
        """Send everything due now; returns how many were handed to senders."""
        total = 0
        async with self._drain_lock:
            while True:
                claimed = await self._claim()
                if not claimed:
                    return total
                for claim in claimed:
                    await self._send_one(claim)
                total += len(claimed)

    # -- claiming ------------------------------------------------------------------------
    async def _claim(self) -> list[Claim]:
        """The next due message of each person whose earlier messages are all sent.

        Due is decided in SQL, so a backlog of messages waiting for a retry never hides
        newer ones; a person with an earlier message still waiting or being sent (by any
        process) is skipped, so their messages leave in order."""
        if not self.senders:
            return []
        now = utcnow()
        channels = list(self.senders)
        async with self.db.session() as session, session.begin():
            # A claim left behind by a crashed process goes back to the queue. Being a write,
            # this also takes SQLite's write lock first, so two claims never read the same rows.
            await session.execute(
                update(Message)
                .where(
                    Message.direction == Direction.OUTBOUND,
                    Message.status == MessageStatus.SENDING,
                    Message.next_attempt_at < now - timedelta(seconds=self.stale_after),
                )
                .values(status=MessageStatus.QUEUED)
            )
            earlier, held = aliased(Message), aliased(Message)
            held_since = (
                select(func.max(held.sent_at))
                .where(
                    held.contact_id == Message.contact_id,
                    held.direction == Direction.OUTBOUND,
                    held.id < Message.id,
                    held.status == MessageStatus.HELD,
                )
                .correlate(Message)
                .scalar_subquery()
            )
            waiting_before = (
                select(earlier.id)
                .where(
                    earlier.contact_id == Message.contact_id,
                    earlier.direction == Direction.OUTBOUND,
                    earlier.id < Message.id,
                    earlier.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)),
                )
                .exists()
            )
            query = (
                select(Message, Contact, held_since)
                .join(Contact, Contact.id == Message.contact_id)
                .where(
                    Message.direction == Direction.OUTBOUND,
                    Message.status == MessageStatus.QUEUED,
                    Message.channel.in_(channels),
                    or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
                    ~waiting_before,
                )
                .order_by(Message.id)
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(of=Message, skip_locked=True)
            claims: list[Claim] = []
            for row, contact, template_at in (await session.execute(query)).all():
                row.status = MessageStatus.SENDING
                row.attempts += 1
                row.next_attempt_at = now  # the lease; renewed just before the send
                recipient = Recipient(
                    contact_id=contact.id,
                    channel=row.channel,
                    address=contact.address,
                    language=contact.language,
                    last_inbound_at=contact.last_inbound_at,
                )
                message = OutboundMessage.from_stored(row.text, row.language, row.payload, row.id)
                claims.append(
                    Claim(row.id, recipient, message, row.attempts, now, as_utc(template_at))
                )
            return claims

    async def _renew_lease(self, claim: Claim) -> datetime | None:
        """Take the lease again right before sending; None when another process took the
        message back after this one's lease ran out (it is theirs now)."""
        stamp = utcnow()
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(Message)
                .where(
                    Message.id == claim.message_id,
                    Message.status == MessageStatus.SENDING,
                    Message.next_attempt_at == claim.lease,
                )
                .values(next_attempt_at=stamp)
            )
            return stamp if result.rowcount == 1 else None  # type: ignore[attr-defined]

    async def _send_one(self, claim: Claim) -> None:
        lease = await self._renew_lease(claim)
        if lease is None:
            log.warning(
                "message %s was taken back from this outbox; not sent twice", claim.message_id
            )
            return
        message_id, recipient, message = claim.message_id, claim.recipient, claim.message
        attempts = claim.attempts
        sender = self.senders[recipient.channel]
        values: dict[str, object]
        held_note: dict[str, Any] | None = None
        try:
            if self._behind_a_template(claim):
                delivery = Delivery(provider_message_id=None, held=True)  # no second template
            else:
                delivery = await sender.send(recipient, message)
        except SendError as error:
            values = {"last_error": error.reason[:255]}
            if error.retry and attempts < self.max_attempts:
                if error.retry_after is not None:  # the provider said when
                    delay = min(self.max_delay, error.retry_after)
                else:
                    backoff = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
                    delay = backoff * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
                values |= {
                    "status": MessageStatus.QUEUED,
                    "next_attempt_at": utcnow() + timedelta(seconds=delay),
                }
                self.stats.retried += 1
                log.warning(
                    "send failed, retrying: message=%s channel=%s attempt=%s reason=%s",
                    message_id,
                    recipient.channel,
                    attempts,
                    error.reason,
                )
            else:
                values |= {"status": MessageStatus.UNDELIVERABLE, "next_attempt_at": None}
                self.stats.failed += 1
                log.warning(
                    "undeliverable: message=%s channel=%s reason=%s",
                    message_id,
                    recipient.channel,
                    error.reason,
                )
        except Exception as error:  # a bug in a sender must not stop the outbox
            log.exception("sender crashed: message=%s channel=%s", message_id, recipient.channel)
            retry = attempts < self.max_attempts
            values = {
                "status": MessageStatus.QUEUED if retry else MessageStatus.UNDELIVERABLE,
                "last_error": type(error).__name__,
                "next_attempt_at": utcnow() + timedelta(seconds=self.base_delay * attempts)
                if retry
                else None,
            }
        else:
            now = utcnow()
            values = {
                "status": MessageStatus.HELD if delivery.held else delivery.status,
                "provider_message_id": delivery.provider_message_id,
                # for a held message: when its template went (None: none went for it)
                "sent_at": now if delivery.provider_message_id or not delivery.held else None,
                "next_attempt_at": None,
                "last_error": None,
            }
            if delivery.status == MessageStatus.DELIVERED and not delivery.held:
                values["delivered_at"] = now
            if delivery.held:  # which template stood in (None: an earlier message's did)
                held_note = {"template": delivery.template, "at": now.isoformat()}
            self.stats.sent += 1
            self.stats.by_channel[recipient.channel] = (
                self.stats.by_channel.get(recipient.channel, 0) + 1
            )
        # only while this outbox still holds the lease
        owned = (
            Message.id == message_id,
            Message.status == MessageStatus.SENDING,
            Message.next_attempt_at == lease,
        )
        try:
            async with self.db.session() as session, session.begin():
                await self._record(session, claim, owned, values, held_note)
        except IntegrityError:
            # The provider reused an id we already hold: keep the outcome, drop the id, so the
            # message is not left claimed and sent again.
            log.error("provider id collision: message=%s channel=%s", message_id, recipient.channel)
            values.pop("provider_message_id", None)
            async with self.db.session() as session, session.begin():
                await self._record(session, claim, owned, values, held_note)

    @staticmethod
    def _behind_a_template(claim: Claim) -> bool:
        """An earlier message of this person is held behind a template under 24 hours old
        that they have not answered: this one waits too, without a template of its own."""
        if claim.held_since is None or _wrote_since(
            claim.recipient.last_inbound_at, claim.held_since
        ):
            return False
        return utcnow() - claim.held_since < WINDOW

    async def _record(
        self,
        session: AsyncSession,
        claim: Claim,
        owned: tuple[Any, ...],
        values: dict[str, Any],
        held_note: dict[str, Any] | None,
    ) -> None:
        """The send's outcome, while this outbox still holds the lease. A message just held is
        queued again if the person wrote meanwhile (their window is open after all)."""
        result = await session.execute(update(Message).where(*owned).values(**values))
        if values["status"] != MessageStatus.HELD or result.rowcount != 1:  # type: ignore[attr-defined]
            return
        # Written first, then read under the contact's lock: the turn storing a new message
        # updates the contact before it releases held messages, so one of the two sees the other.
        last_inbound = select(Contact.last_inbound_at).where(
            Contact.id == claim.recipient.contact_id
        )
        if not self.db.is_sqlite:
            last_inbound = last_inbound.with_for_update()
        # Not "is the window open by our clock": Meta's clock may say closed (131047), and
        # queueing again would send the template again and again.
        reopened = _wrote_since(await session.scalar(last_inbound), claim.recipient.last_inbound_at)
        row = await session.get(Message, claim.message_id)
        if row is None:
            return
        row.payload = {**(row.payload or {}), "held": held_note or {}}
        if reopened:
            row.status, row.attempts = MessageStatus.QUEUED, 0

    # -- provider reports ----------------------------------------------------------------
    async def record_status(
        self, channel: str, provider_message_id: str, status: MessageStatus, error: str | None
    ) -> bool:
        """A provider's delivery report. Never moves a message backwards (delivered stays)."""
        order = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERABLE]
        async with self.db.session() as session, session.begin():
            row = await session.scalar(
                select(Message).where(
                    Message.channel == channel,
                    Message.direction == Direction.OUTBOUND,
                    Message.provider_message_id == provider_message_id,
                )
            )
            if row is None:
                return False
            if row.status == MessageStatus.HELD:
                # a report on the template that stood in: the message itself is still to go
                if error:
                    row.last_error = f"template: {error}"[:255]
                return True
            current = row.status
            if current in order and order.index(MessageStatus(current)) > order.index(status):
                return True
            row.status = status
            if status == MessageStatus.DELIVERED:
                row.delivered_at = utcnow()
            if error:
                row.last_error = error[:255]
            return True
