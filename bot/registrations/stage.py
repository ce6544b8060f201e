"""The case stage of a registration; a change notifies the person in their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.channels import NO_LATER_MESSAGES
from bot.messages import OutboundMessage
from bot.registrations.common import NotFound, clean_stage, shown
from bot.storage.models import (
    AuditEvent,
    Contact,
    Message,
    Registration,
    RegistrationChange,
    as_utc,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Channels that cannot carry a later message: the person gets an SMS to the same number instead.
SMS_CHANNEL = "sms"


# -- the case stage -----------------------------------------------------------------------


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str
    flight_date: date | None = Field(
        default=None, description="Required for flight_scheduled (the person is told the date)"
    )

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        return clean_stage(value)

    @model_validator(mode="after")
    def _flight_needs_date(self) -> StageChange:
        if self.stage == "flight_scheduled" and self.flight_date is None:
            raise ValueError("a flight date is needed for flight_scheduled")
        return self


Notification = Literal["queued", "opted_out", "no_channel", "unchanged"]


@dataclass(frozen=True)
class StageResult:
    stage: str
    flight_date: date | None
    changed: bool
    notification: Notification
    channel: str | None = None  # where the message went
    message_id: int | None = None


@dataclass(frozen=True)
class _Target:
    contact_id: int
    channel: str


async def _notification_target(
    runtime: Runtime, row: Registration, contact: Contact | None
) -> _Target | Literal["opted_out", "no_channel"]:
    """Where a message reaches the person: their own channel, or an SMS to their number when
    they only called or were registered by a mobilizer. Opted-out people are not written to."""
    if contact is not None and contact.opted_out:
        return "opted_out"
    if contact is not None and contact.channel not in NO_LATER_MESSAGES:
        return _Target(contact.id, contact.channel)
    number = contact.address if contact is not None else row.phone
    if not number:
        return "no_channel"
    sms = await runtime.store.contact_for(SMS_CHANNEL, number)
    if sms.opted_out:
        return "opted_out"
    return _Target(sms.id, SMS_CHANNEL)


def _stage_text(
    runtime: Runtime, language: str, reference: str, stage: str, day: date | None
) -> str:
    catalogs = runtime.catalogs
    described = catalogs.text(language, f"case.stage.{stage}", date=day or "")
    return catalogs.text(language, "case.stage_update", reference=reference, stage=described)


async def set_stage(
    runtime: Runtime, registration_id: int, change: StageChange, operator_id: int
) -> StageResult:
    """Move the case to a stage the case-status flow knows and tell the person, in their
    language, through their channel (queued in the outbox with the change, in one transaction)."""
    db = runtime.db
    async with db.session() as session:
        row = await session.get(Registration, registration_id)
        if row is None:
            raise NotFound(registration_id)
        contact = await session.get(Contact, row.contact_id) if row.contact_id else None
    flight = change.flight_date if change.stage == "flight_scheduled" else None
    current_flight = as_utc(row.flight_date).date() if row.flight_date else None
    if row.stage == change.stage and (flight is None or flight == current_flight):
        return StageResult(row.stage, current_flight, False, "unchanged")
    target = await _notification_target(runtime, row, contact)
    languages = runtime.catalogs.languages
    language = next(
        (
            lang
            for lang in (row.language, contact.language if contact else None)
            if lang in languages
        ),
        runtime.settings.default_language,
    )
    message_id: int | None = None
    async with db.session() as session, session.begin():
        locked = await session.get(Registration, registration_id, with_for_update=not db.is_sqlite)
        if locked is None:
            raise NotFound(registration_id)
        history = [("stage", locked.stage, change.stage)]
        if flight is not None:
            history.append(("flight_date", shown(locked.flight_date), flight.isoformat()))
            locked.flight_date = datetime(flight.year, flight.month, flight.day, tzinfo=UTC)
        locked.stage = change.stage
        for name, old, new in history:
            if old != new:
                session.add(
                    RegistrationChange(
                        registration_id=locked.id,
                        operator_id=operator_id,
                        field=name,
                        old_value=old,
                        new_value=new,
                    )
                )
        if isinstance(target, _Target):
            text = _stage_text(runtime, language, locked.reference, change.stage, flight)
            message = Message.queued(
                target.contact_id,
                target.channel,
                OutboundMessage(
                    text=text, language=language, direction=runtime.catalogs.direction(language)
                ),
            )
            session.add(message)
            recipient = await session.get(Contact, target.contact_id)
            if recipient is not None and recipient.language is None:
                recipient.language = language  # an SMS contact made for this message
        session.add(
            AuditEvent(
                actor=f"operator:{operator_id}",
                action="registration.stage",
                subject=locked.reference,
                details={
                    "stage": change.stage,
                    "notification": "queued" if isinstance(target, _Target) else target,
                    "channel": target.channel if isinstance(target, _Target) else None,
                },
            )
        )
        if isinstance(target, _Target):
            await session.flush()
            message_id = message.id
    if isinstance(target, _Target):
        runtime.outbox.kick()
        return StageResult(change.stage, flight, True, "queued", target.channel, message_id)
    return StageResult(change.stage, flight or current_flight, True, target)
