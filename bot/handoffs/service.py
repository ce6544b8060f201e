"""Handoff cases: the conversations operators take over from the bot.

A case is active while OPEN (waiting for an operator), CLAIMED (an operator has it) or SNOOZED
(waiting for the person). While a contact has an active case the engine keeps the bot silent
and hands the person's messages to the case; operators' replies are queued in the outbox for
the person's channel. Closing a case hands the conversation back to the bot, which says so in
the person's language. Every change is published as an event for the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import ALERTED_PRIORITIES, EmergencyNumbers, OnCallAlerts
from bot.channels import NO_LATER_MESSAGES
from bot.delivery import Outbox
from bot.events import EventBus
from bot.hours import OpeningHours
from bot.i18n import Catalogs, isolate_in_rtl
from bot.messages import OutboundMessage
from bot.sessions import SessionStore
from bot.storage.db import Database, driver_integrity_errors
from bot.storage.models import (
    ACTIVE_HANDOFF,
    AuditEvent,
    Contact,
    Handoff,
    HandoffNote,
    HandoffPriority,
    HandoffStatus,
    Message,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:  # the turn store imports this module's CaseInfo
    from bot.storage.turns import TurnStore

log = logging.getLogger(__name__)

PRIORITY_RANK = {p.value: i for i, p in enumerate(HandoffPriority)}  # emergency first
# Channels where the person cannot receive a later message from the bot in the same session


class HandoffError(Exception):
    """The case cannot do that now (closed, not found)."""


class HandoffTaken(HandoffError):
    """Another operator holds the case; only a supervisor reassigns it."""


@dataclass(frozen=True, slots=True)
class CaseInfo:
    id: int
    contact_id: int
    status: str
    priority: str
    reason: str
    channel: str
    language: str | None
    assigned_to_id: int | None
    waiting_since: datetime | None
    created_at: datetime
    # for the "passed on" note while the case is open: when it was last sent, and whether an
    # operator has written (then the bot stays quiet)
    passed_on_at: datetime | None = None
    answered: bool = False


def _info(row: Handoff) -> CaseInfo:
    return CaseInfo(
        id=row.id,
        contact_id=row.contact_id,
        status=row.status,
        priority=row.priority,
        reason=row.reason,
        channel=row.channel,
        language=row.language,
        assigned_to_id=row.assigned_to_id,
        waiting_since=row.waiting_since,
        created_at=row.created_at,
        passed_on_at=row.passed_on_at,
        answered=row.first_response_at is not None,
    )


@asynccontextmanager
async def _no_lock(contact_id: int) -> AsyncIterator[None]:
    yield


class Handoffs:
    def __init__(
        self,
        db: Database,
        catalogs: Catalogs,
        outbox: Outbox,
        events: EventBus,
        hours: OpeningHours,
        *,
        escalate_after: timedelta = timedelta(minutes=15),
        snooze_default: timedelta = timedelta(hours=24),
        timer_interval: float = 30.0,
        contact_lock: Callable[[int], AbstractAsyncContextManager[Any]] | None = None,
        sessions: SessionStore | None = None,
        alerts: OnCallAlerts | None = None,
        passed_on_every: timedelta = timedelta(minutes=5),
        turns: TurnStore,
    ) -> None:
        self.db = db
        self.turns = turns  # the hot path's statements (the queue position)
        # Read when a case closes: the notice offers CONTINUE only when a flow waits.
        self.sessions = sessions
        # on-call alerts for danger cases nobody takes (bot/alerts.py); none: not configured
        self.alerts = alerts or OnCallAlerts(db, catalogs, outbox, hours, channel=None, oncall=[])
        self.numbers = EmergencyNumbers(db)
        self.passed_on_every = passed_on_every
        # The lock the engine holds for a person's turn (bot.sessions): closing takes it too,
        # so a message is either handled before the close (and is in the case) or after it
        # (and the bot answers it), never marked handled by a case that is closing.
        self.contact_lock = contact_lock or _no_lock
        self.catalogs = catalogs
        self.outbox = outbox
        self.events = events
        self.hours = hours
        self.escalate_after = escalate_after
        self.snooze_default = snooze_default
        self.timer_interval = timer_interval
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # a danger case opened: alert without waiting the interval

    # -- reading -------------------------------------------------------------------------
    async def get(self, handoff_id: int) -> CaseInfo | None:
        async with self.db.session() as session:
            row = await session.get(Handoff, handoff_id)
            return _info(row) if row is not None else None

    async def active_for(self, contact_id: int) -> CaseInfo | None:
        async with self.db.session() as session:
            row = await session.scalar(
                select(Handoff)
                .where(Handoff.contact_id == contact_id, Handoff.status.in_(ACTIVE_HANDOFF))
                .order_by(Handoff.id.desc())
                .limit(1)
            )
            return _info(row) if row is not None else None

    async def queue_position(self, handoff_id: int) -> int:
        """1 + the open cases an operator will take before this one (priority, then age);
        0 when it is not waiting."""
        return await self.turns.queue_position(handoff_id)

    # -- opening -------------------------------------------------------------------------
    async def open(
        self,
        contact_id: int,
        *,
        reason: str,
        priority: str = HandoffPriority.NORMAL,
        channel: str,
        language: str | None,
        opened_by: int | None = None,
        registration_id: int | None = None,
        call_id: int | None = None,
    ) -> tuple[int, bool]:
        """Open a case, or raise the priority of the active one. (id, newly opened). On the
        turns' connection: a case is opened inside a person's turn, on the hot path."""
        for attempt in range(3):
            try:
                handoff_id, created = await self.turns.open_case(
                    contact_id,
                    reason=reason,
                    priority=priority,
                    channel=channel,
                    language=language,
                    opened_by=opened_by,
                    registration_id=registration_id,
                    call_id=call_id,
                    now=utcnow(),
                )
                break
            except driver_integrity_errors():  # another process opened this person's case just now
                if attempt == 2:
                    raise
        else:
            raise AssertionError("unreachable")
        if priority in ALERTED_PRIORITIES:
            self._wake.set()
        kind = "handoff.opened" if created else "handoff.updated"
        await self.events.publish(kind, handoff_id=handoff_id, priority=priority)
        return handoff_id, created

    # -- the person writes ---------------------------------------------------------------
    async def person_wrote(self, handoff_id: int, message_id: int) -> None:
        """A message from the person reached their active case: it now waits for an answer."""
        async with self.db.session() as session, session.begin():
            row = await session.get(Handoff, handoff_id)
            if row is None:
                return
            if row.status == HandoffStatus.SNOOZED:
                row.status = self._awake_status(row)
                row.snoozed_until = None
            if row.waiting_since is None:
                row.waiting_since = utcnow()
                row.escalation_level = 0
        await self.events.publish("message", handoff_id=handoff_id, message_id=message_id)

    @staticmethod
    def _awake_status(row: Handoff) -> str:
        return HandoffStatus.CLAIMED if row.assigned_to_id else HandoffStatus.OPEN

    # -- operators -----------------------------------------------------------------------
    async def claim(self, handoff_id: int, operator_id: int) -> CaseInfo:
        """Take a case that nobody holds (or that one holds already). Two operators pressing
        Take together: the first gets it, the second is told (HandoffTaken)."""
        async with self.db.session() as session, session.begin():
            await self._active(session, handoff_id)
            result = await session.execute(
                update(Handoff)
                .where(
                    Handoff.id == handoff_id,
                    or_(Handoff.assigned_to_id.is_(None), Handoff.assigned_to_id == operator_id),
                )
                .values(assigned_to_id=operator_id)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise HandoffTaken("taken by another operator")
        return await self.assign(handoff_id, operator_id, by=operator_id)

    async def assign(self, handoff_id: int, operator_id: int | None, *, by: int) -> CaseInfo:
        """Give the case to an operator (None: back to the open queue)."""
        async with self.db.session() as session, session.begin():
            row = await self._active(session, handoff_id)
            row.assigned_to_id = operator_id
            if operator_id is None:
                row.status = (
                    HandoffStatus.SNOOZED
                    if row.status == HandoffStatus.SNOOZED
                    else HandoffStatus.OPEN
                )
            else:
                if row.status == HandoffStatus.OPEN:
                    row.status = HandoffStatus.CLAIMED
                row.claimed_at = row.claimed_at or utcnow()
            session.add(
                AuditEvent(
                    actor=f"operator:{by}",
                    action="handoff.assigned",
                    subject=str(handoff_id),
                    details={"to": operator_id},
                )
            )
            info = _info(row)
        await self.events.publish("handoff.updated", handoff_id=handoff_id)
        return info

    async def reply(self, handoff_id: int, operator_id: int, text: str) -> int:
        """An operator's message to the person, queued for their channel. Returns its id."""
        text = isolate_in_rtl(text.strip())  # "+218…" inside Arabic keeps its order
        if not text:
            raise HandoffError("empty reply")
        async with self.db.session() as session, session.begin():
            row = await self._active(session, handoff_id)
            if row.channel in NO_LATER_MESSAGES:
                raise HandoffError("this person called; call them back or send an SMS")
            language = row.language or ""
            now = utcnow()
            message = Message.queued(
                row.contact_id,
                row.channel,
                OutboundMessage(
                    text=text,
                    language=language,
                    direction=self.catalogs.direction(language),
                    from_operator=True,
                ),
                operator_id=operator_id,
            )
            session.add(message)
            if row.assigned_to_id is None:
                row.assigned_to_id = operator_id
                row.claimed_at = now
            if row.status != HandoffStatus.SNOOZED:
                row.status = HandoffStatus.CLAIMED
            row.first_response_at = row.first_response_at or now
            row.waiting_since = None
            row.escalation_level = 0
            await session.flush()
            message_id = message.id
        self.outbox.kick()
        await self.events.publish("message", handoff_id=handoff_id, message_id=message_id)
        return message_id

    async def note(self, handoff_id: int, operator_id: int, text: str) -> int:
        text = text.strip()
        if not text:
            raise HandoffError("empty note")
        async with self.db.session() as session, session.begin():
            await self._get(session, handoff_id)
            note = HandoffNote(handoff_id=handoff_id, operator_id=operator_id, text=text)
            session.add(note)
            await session.flush()
            note_id = note.id
        await self.events.publish("handoff.note", handoff_id=handoff_id)
        return note_id

    async def snooze(
        self, handoff_id: int, operator_id: int, until: datetime | None = None
    ) -> CaseInfo:
        """Wait for the person: the case leaves the queue until they write or `until` passes."""
        async with self.db.session() as session, session.begin():
            row = await self._active(session, handoff_id)
            row.status = HandoffStatus.SNOOZED
            # stored in UTC: SQLite keeps a datetime's wall time and drops its zone
            row.snoozed_until = until.astimezone(UTC) if until else utcnow() + self.snooze_default
            row.waiting_since = None
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="handoff.snoozed",
                    subject=str(handoff_id),
                )
            )
            info = _info(row)
        await self.events.publish("handoff.updated", handoff_id=handoff_id)
        return info

    async def close(self, handoff_id: int, operator_id: int | None, outcome: str) -> CaseInfo:
        """End the case with its outcome; the bot takes the conversation back and says so."""
        outcome = outcome.strip()
        if not outcome:
            raise HandoffError("an outcome is needed to close a case")
        async with self.db.session() as session:
            contact_id = (await self._get(session, handoff_id)).contact_id
        async with self.contact_lock(contact_id):
            resumable = self.sessions is not None and bool(
                (await self.sessions.load(contact_id)).paused
            )
            info, notify = await self._close(handoff_id, operator_id, outcome, resumable)
        if notify:
            self.outbox.kick()
        await self.events.publish("handoff.closed", handoff_id=handoff_id)
        return info

    async def _close(
        self, handoff_id: int, operator_id: int | None, outcome: str, resumable: bool = False
    ) -> tuple[CaseInfo, bool]:
        async with self.db.session() as session, session.begin():
            row = await self._active(session, handoff_id)
            row.status = HandoffStatus.CLOSED
            row.outcome = outcome[:64]
            row.closed_at = utcnow()
            row.closed_by_id = operator_id
            row.waiting_since = None
            contact = await session.get(Contact, row.contact_id)
            language = row.language or (contact.language if contact else None) or ""
            if language not in self.catalogs.languages:
                language = self.catalogs.languages[0]
            notify = (
                contact is not None
                and not contact.opted_out  # STOP means no more messages, this one too
                and row.channel not in NO_LATER_MESSAGES
            )
            if notify:
                text = self.catalogs.text(
                    language, "handoff.closed_resume" if resumable else "handoff.closed"
                )
                session.add(
                    Message.queued(
                        row.contact_id,
                        row.channel,
                        OutboundMessage(
                            text=text,
                            language=language,
                            direction=self.catalogs.direction(language),
                        ),
                    )
                )
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}" if operator_id else "system",
                    action="handoff.closed",
                    subject=str(handoff_id),
                    details={"outcome": row.outcome},
                )
            )
            info = _info(row)
        return info, notify

    async def _get(self, session: AsyncSession, handoff_id: int) -> Handoff:
        row = await session.get(Handoff, handoff_id)
        if row is None:
            raise HandoffError("no such case")
        return row

    async def _active(self, session: AsyncSession, handoff_id: int) -> Handoff:
        row = await self._get(session, handoff_id)
        if row.status not in ACTIVE_HANDOFF:
            raise HandoffError("this case is closed")
        return row

    # -- what the person is told ---------------------------------------------------------
    async def waiting_notice(self, handoff_id: int, language: str) -> list[str]:
        """Catalog texts for a person whose case just opened: place in queue, hours; for a
        danger case, honestly what happens next and the emergency numbers configured."""
        texts = []
        position = await self.queue_position(handoff_id)
        if position:
            texts.append(self.catalogs.text(language, "handoff.position", position=position))
        case = await self.turns.case(handoff_id)
        if case is not None and case.priority in ALERTED_PRIORITIES:
            texts += await self.danger_notice(case, language)
        elif not self.hours.is_open(utcnow()):
            texts.append(
                self.catalogs.text(language, "handoff.hours", hours=self.hours.describe(language))
            )
        return texts

    async def danger_notice(self, case: CaseInfo, language: str) -> list[str]:
        """What happens next for a person in danger: off duty, whether someone on call is
        alerted (only when alerts are configured); and the numbers to call, or, when none
        is configured, that we cannot send help ourselves."""
        catalogs = self.catalogs
        texts = []
        if not self.hours.is_open(utcnow()):
            alerted = await self.alerts.configured()
            key = "handoff.oncall_alerted" if alerted else "handoff.off_duty"
            texts.append(catalogs.text(language, key, hours=self.hours.describe(language)))
        numbers = await self.numbers.for_contact(case.contact_id)
        if numbers:
            if catalogs.direction(language) == "rtl":  # keep the digits in their own order
                numbers = f"\u2068{numbers}\u2069"
            texts.append(catalogs.text(language, "handoff.emergency_numbers", numbers=numbers))
        else:
            texts.append(catalogs.text(language, "handoff.no_emergency_numbers"))
        return texts

    async def while_open(
        self, case: CaseInfo, language: str, *, raised: bool
    ) -> list[OutboundMessage]:
        """The bot's word to a person writing while their case is open (the engine's
        `_with_operator`). Danger just raised the case: what happens next and the numbers.
        Otherwise, until an operator has written, "passed on" with the place in the queue:
        for the first message, then at most once every `passed_on_every`."""
        now = utcnow()
        # the case as the turn read it, in the transaction that stored the message
        noted_at, answered = case.passed_on_at, case.answered
        if raised:
            await self.turns.note_passed_on(case.id, noted_at, now, always=True)
            current = await self.turns.case(case.id)
            texts = await self.danger_notice(current or case, language)
        else:
            last = as_utc(noted_at)
            if answered or (last is not None and now < last + self.passed_on_every):
                return []
            # only one turn wins the note when several messages arrive together
            if not await self.turns.note_passed_on(case.id, noted_at, now):
                return []
            position = await self.queue_position(case.id)
            texts = [
                self.catalogs.text(language, "handoff.passed_on", position=position)
                if position
                else self.catalogs.text(language, "handoff.passed_on_taken")
            ]
        return [
            OutboundMessage(
                text="\n".join(texts),
                language=language,
                direction=self.catalogs.direction(language),
            )
        ]

    # -- timers --------------------------------------------------------------------------
    async def run_timers(self, now: datetime | None = None) -> dict[str, int]:
        """Escalate cases left unanswered; wake snoozed cases whose time has come."""
        now = now or utcnow()
        escalated: list[int] = []
        woken: list[int] = []
        # Each change is a conditional update on what was read, so an operator's reply or
        # another process's timer in between wins and nothing is undone.
        async with self.db.session() as session:
            waiting = (
                await session.execute(
                    select(
                        Handoff.id,
                        Handoff.status,
                        Handoff.waiting_since,
                        Handoff.escalation_level,
                    ).where(
                        Handoff.status.in_((HandoffStatus.OPEN, HandoffStatus.CLAIMED)),
                        Handoff.waiting_since.is_not(None),
                    )
                )
            ).all()
            snoozed = (
                await session.execute(
                    select(Handoff.id, Handoff.assigned_to_id, Handoff.snoozed_until).where(
                        Handoff.status == HandoffStatus.SNOOZED,
                        Handoff.snoozed_until.is_not(None),
                    )
                )
            ).all()
        for handoff_id, status, waiting_since, level in waiting:
            since = as_utc(waiting_since)
            if since is None or now < since + self.escalate_after * (level + 1):
                continue
            values: dict[str, object] = {"escalation_level": level + 1, "escalated_at": now}
            if status == HandoffStatus.CLAIMED and level + 1 >= 2:
                # the operator has not answered twice over: back to everyone's queue
                values |= {"status": HandoffStatus.OPEN, "assigned_to_id": None}
            if await self._update_if(
                handoff_id,
                values,
                status=status,
                waiting_since=waiting_since,
                escalation_level=level,
            ):
                escalated.append(handoff_id)
        for handoff_id, assigned_to_id, snoozed_until in snoozed:
            until = as_utc(snoozed_until)
            if until is None or now < until:
                continue
            awake = HandoffStatus.CLAIMED if assigned_to_id else HandoffStatus.OPEN
            if await self._update_if(
                handoff_id,
                {"status": awake, "snoozed_until": None, "waiting_since": now},
                status=HandoffStatus.SNOOZED,
                snoozed_until=snoozed_until,
            ):
                woken.append(handoff_id)
        for handoff_id in escalated:
            await self.events.publish("handoff.escalated", handoff_id=handoff_id)
        for handoff_id in woken:
            await self.events.publish("handoff.updated", handoff_id=handoff_id)
        await self.alerts.run(now)  # after the escalation: a case it put back in the queue too
        return {"escalated": len(escalated), "woken": len(woken)}

    async def _update_if(self, handoff_id: int, values: dict[str, object], **seen: object) -> bool:
        """Change a case only if it still has the values `seen`; True when it was changed."""
        conditions = [getattr(Handoff, name) == value for name, value in seen.items()]
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(Handoff).where(Handoff.id == handoff_id, *conditions).values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def start(self) -> None:
        if self._timer is None:
            self._timer = asyncio.create_task(self._timers(), name="handoff-timers")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    async def _timers(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.timer_interval)
            self._wake.clear()
            try:
                await self.run_timers()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handoff timers failed")
