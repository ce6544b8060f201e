"""Retention: personal data older than its period is anonymised in place, on a timer.

Rows stay, emptied of what identifies a person, so every figure in bot/reports.py (conversations
by day, channel and language, people by sex and nationality, registrations by nationality, city
and stage, handoff waiting times) is the same after a purge as before:
- messages (and call recordings, keypad steps, saved conversation state) older than
  RETENTION_MESSAGES_DAYS lose their text; a contact silent that long, with no open case and no
  registration left, loses its address (a new message from them starts a new contact);
- closed handoff cases older than RETENTION_CLOSED_CASES_DAYS lose their private notes;
- registrations unchanged for RETENTION_REGISTRATIONS_DAYS lose name, phone, detention place,
  passport number, family and their edit history; country, city, sex, age and stage stay.
0 keeps that kind for ever. Each run ends with the SQLite WAL checkpoint erasure uses, and
leaves an audit event with counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, cast, delete, exists, or_, select, update

from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import (
    ACTIVE_HANDOFF,
    AuditEvent,
    Call,
    Contact,
    Direction,
    Handoff,
    HandoffNote,
    Message,
    MessageStatus,
    Registration,
    RegistrationChange,
    SessionRecord,
    utcnow,
)

log = logging.getLogger(__name__)

ANONYMOUS = crypto.ANONYMOUS_HASH_PREFIX
# messages being handled or sent are never touched; one still queued that long is given up
IN_FLIGHT = (MessageStatus.RECEIVED, MessageStatus.SENDING)


@dataclass(frozen=True)
class RetentionPeriods:
    messages_days: float
    closed_cases_days: float
    registrations_days: float


def _anonymous_hash() -> str:
    return ANONYMOUS + secrets.token_hex(16)


class Retention:
    def __init__(
        self,
        db: Database,
        periods: RetentionPeriods,
        *,
        interval_seconds: float = 3600,
        forget_session: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.periods = periods
        # the session store's clear (Redis keeps state apart from the database)
        self.forget_session = forget_session
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Anonymise what is older than its period; returns counts per kind."""
        now = now or utcnow()
        counts: dict[str, int] = {}
        if self.periods.messages_days > 0:
            counts.update(await self._conversations(now - timedelta(self.periods.messages_days)))
        if self.periods.closed_cases_days > 0:
            counts.update(await self._closed_cases(now - timedelta(self.periods.closed_cases_days)))
        if self.periods.registrations_days > 0:
            cutoff = now - timedelta(self.periods.registrations_days)
            counts.update(await self._registrations(cutoff))
        # contacts last: a registration just anonymised no longer keeps its contact's address
        if self.periods.messages_days > 0:
            counts.update(await self._contacts(now - timedelta(self.periods.messages_days)))
        counts = {kind: n for kind, n in counts.items() if n}
        if counts:
            async with self.db.session() as session, session.begin():
                event = AuditEvent(actor="retention", action="retention.purged", details=counts)
                session.add(event)
            await self.db.flush_deleted()
            log.info("retention: %s", counts)
        return counts

    async def _conversations(self, cutoff: datetime) -> dict[str, int]:
        async with self.db.session() as session, session.begin():
            messages = await session.execute(
                update(Message)
                .where(
                    Message.created_at < cutoff,
                    Message.status.not_in(IN_FLIGHT),
                    or_(Message.text != "", Message.last_error.is_not(None)),
                )
                .values(
                    text="",
                    payload={},
                    last_error=None,
                    status=case(
                        (
                            Message.status.in_((MessageStatus.QUEUED, MessageStatus.HELD)),
                            MessageStatus.UNDELIVERABLE,
                        ),
                        else_=Message.status,
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            calls = await session.execute(
                update(Call)
                .where(
                    Call.started_at < cutoff,
                    # JSON has no portable equality; its text form does
                    or_(Call.recording_url.is_not(None), cast(Call.steps, String) != "{}"),
                )
                .values(recording_url=None, steps={})
                .execution_options(synchronize_session=False)
            )
            states = await session.execute(
                delete(SessionRecord).where(SessionRecord.updated_at < cutoff)
            )
        return {
            "messages": _rows(messages),
            "calls": _rows(calls),
            "sessions": _rows(states),
        }

    async def _closed_cases(self, cutoff: datetime) -> dict[str, int]:
        old_closed = select(Handoff.id).where(
            Handoff.status == "closed", Handoff.closed_at < cutoff
        )
        async with self.db.session() as session, session.begin():
            notes = await session.execute(
                delete(HandoffNote).where(HandoffNote.handoff_id.in_(old_closed))
            )
        return {"case_notes": _rows(notes)}

    async def _registrations(self, cutoff: datetime) -> dict[str, int]:
        async with self.db.session() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(Registration.id).where(
                        Registration.updated_at < cutoff,
                        Registration.dedup_hash.not_like(f"{ANONYMOUS}%"),
                    )
                )
            )
            # contact_id stays: reports count people by their registration's sex and country
            for row_id in ids:  # each its own random hash: never found, never a duplicate
                await session.execute(
                    update(Registration)
                    .where(Registration.id == row_id)
                    .values(
                        full_name="",
                        phone=None,
                        phone_hash=None,
                        dedup_hash=_anonymous_hash(),
                        detention_place=None,
                        passport_number=None,
                        family="[]",
                        vulnerabilities={},
                        age=None,
                        birth_year=None,
                    )
                )
            if ids:
                await session.execute(
                    delete(RegistrationChange).where(RegistrationChange.registration_id.in_(ids))
                )
        return {"registrations": len(ids)}

    async def _contacts(self, cutoff: datetime) -> dict[str, int]:
        async with self.db.session() as session, session.begin():
            recent = exists().where(
                Message.contact_id == Contact.id,
                Message.direction == Direction.INBOUND,
                Message.created_at >= cutoff,
            )
            recent_call = exists().where(Call.contact_id == Contact.id, Call.started_at >= cutoff)
            active_case = exists().where(
                Handoff.contact_id == Contact.id, Handoff.status.in_(ACTIVE_HANDOFF)
            )
            kept_registration = exists().where(
                Registration.contact_id == Contact.id,
                Registration.dedup_hash.not_like(f"{ANONYMOUS}%"),
            )
            ids = list(
                await session.scalars(
                    select(Contact.id).where(
                        and_(
                            Contact.last_seen_at < cutoff,
                            Contact.address_hash.not_like(f"{ANONYMOUS}%"),
                            ~recent,
                            ~recent_call,
                            ~active_case,
                            ~kept_registration,
                        )
                    )
                )
            )
            for contact_id in ids:
                await session.execute(
                    update(Contact)
                    .where(Contact.id == contact_id)
                    .values(address="", address_hash=_anonymous_hash())
                )
        if self.forget_session is not None:
            for contact_id in ids:
                await self.forget_session(contact_id)
        return {"contacts": len(ids)}

    # -- the timer ---------------------------------------------------------------------------
    def start(self) -> None:
        periods = self.periods
        if self._task is None and (
            periods.messages_days or periods.closed_cases_days or periods.registrations_days
        ):
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention run failed")
            await asyncio.sleep(self.interval_seconds)


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
