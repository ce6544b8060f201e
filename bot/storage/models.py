"""The records: contacts, every message in and out (the inbox and the outbox), sessions, audit."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar, overload

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.messages import OutboundMessage
from bot.storage.crypto import SecretText


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageStatus(enum.StrEnum):
    # inbound
    RECEIVED = "received"  # stored, not yet handled
    PROCESSED = "processed"
    FAILED = "failed"  # handling raised; an apology was sent
    # outbound
    ANSWERED = "answered"  # delivered in the HTTP answer to the inbound request
    QUEUED = "queued"  # waiting in the outbox for the channel's sender or a fetch
    SENDING = "sending"  # claimed by an outbox worker
    # WhatsApp outside the 24-hour window: an approved template went instead (or one had just
    # gone for an earlier message); sent when the person writes again (bot/delivery.py)
    HELD = "held"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "address_hash", name="uq_contact_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    address_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(SecretText)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    role: Mapped[str] = mapped_column(String(16), default="migrant")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    city: Mapped[str | None] = mapped_column(String(32), default=None)  # canonical, for queues
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the last message *from* the person (WhatsApp's 24-hour window counts from it)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)


class Message(Base):
    """One message in or out. Outbound rows in status QUEUED are the outbox; HELD ones wait
    for the person to open WhatsApp's window."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "channel", "direction", "provider_message_id", name="uq_message_provider_id"
        ),
        Index("ix_messages_contact_status", "contact_id", "direction", "status"),
        Index("ix_messages_in_reply_to", "in_reply_to_id"),
        Index("ix_messages_outbox", "direction", "status", "next_attempt_at"),
        Index("ix_messages_direction_created", "direction", "created_at"),  # the report
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(SecretText, default="")
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[str] = mapped_column(String(16))
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    # buttons, text direction, intent (never personal data beyond the text itself)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    # outbound: written by an operator (None: the bot), part of a broadcast, delivery progress
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), default=None
    )
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    @classmethod
    def queued(
        cls,
        contact_id: int,
        channel: str,
        message: OutboundMessage,
        *,
        operator_id: int | None = None,
        broadcast_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Message:
        """An outbox row: a message that is not the answer to a request (an operator's reply,
        a notice, a broadcast), waiting for its channel's sender or a fetch."""
        return cls(
            contact_id=contact_id,
            channel=channel,
            direction=Direction.OUTBOUND,
            text=message.text,
            language=message.language,
            status=MessageStatus.QUEUED,
            operator_id=operator_id,
            broadcast_id=broadcast_id,
            payload={**message.to_payload(), **(payload or {})},
        )


class SessionRecord(Base):
    """Conversation state of one contact (the SQL session store)."""

    __tablename__ = "sessions"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(SecretText)  # JSON; holds collected answers
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ActivityDay(Base):
    """Who wrote on which day, in the operators' time zone: one row per person and day, kept
    as messages arrive, so the report counts people per day without reading the messages.
    No personal data: a day and a contact id (gone with the contact when it is erased)."""

    __tablename__ = "activity_days"
    __table_args__ = (Index("ix_activity_days_contact", "contact_id"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )


class ReportState(Base):
    """Facts about the report's kept figures, e.g. the time zone the activity days are in."""

    __tablename__ = "report_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Who did what to which record, and when: ids, field names and counts, never personal
    values. Written in the same transaction as the action; no route changes or deletes it."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_created_at", "created_at"),
        Index("ix_audit_events_actor", "actor", "created_at"),
        Index("ix_audit_events_action", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoffPriority(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    NORMAL = "normal"


class HandoffStatus(enum.StrEnum):
    OPEN = "open"  # waiting for an operator
    CLAIMED = "claimed"  # an operator has it
    SNOOZED = "snoozed"  # waiting for the person; reopens when they write or the time passes
    CLOSED = "closed"


ACTIVE_HANDOFF = (HandoffStatus.OPEN, HandoffStatus.CLAIMED, HandoffStatus.SNOOZED)


class Handoff(Base):
    """A conversation a person must take: asked for, raised by triage, or flagged for review."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_status_priority", "status", "priority"),
        Index("ix_handoffs_contact_status", "contact_id", "status"),
        Index("ix_handoffs_created", "created_at"),  # the report
        # one active case per person, even when two processes open one at the same moment
        Index(
            "uq_handoffs_one_active",
            "contact_id",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=HandoffStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(16), default=HandoffPriority.NORMAL)
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    outcome: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    opened_by_id: Mapped[int | None] = mapped_column(  # an operator who started it
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), default=None
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    # the person's newest message still waiting for an operator's answer (escalation counts
    # from it); None once an operator has answered
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # when the bot last told the waiting person "your message was passed on" (rate limit)
    passed_on_at: Mapped[datetime | None] = mapped_column(default=None)


class HandoffAlert(Base):
    """One alert to an on-call person about a case nobody has taken (bot/alerts.py).

    Holds who was alerted (the on-call list's name, not their address), through what and when;
    the alert's text carries the case's link and priority only, never the person's data."""

    __tablename__ = "handoff_alerts"
    __table_args__ = (
        # one alert per step of the escalation list: two timer processes cannot both send it
        UniqueConstraint("handoff_id", "step", name="uq_handoff_alerts_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)  # 0, 1, … along the list (it starts again)
    recipient: Mapped[str] = mapped_column(String(64))  # the on-call person's name
    channel: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # "closed_hours" or "unclaimed"
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sent, failed
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OnCallContact(Base):
    """A person on the on-call escalation list, as an admin set it in the console (it replaces
    the ONCALL_CONTACTS setting while it has rows)."""

    __tablename__ = "oncall_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(SecretText)  # staff's phone or chat id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmergencyNumber(Base):
    """Emergency numbers the bot gives a person in danger, set by an admin in the console.

    city "" is the default; a row for a city (canonical name, nlu/gazetteers/cities.yml)
    overrides it for people in that city."""

    __tablename__ = "emergency_numbers"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    numbers: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HandoffNote(Base):
    """A private note operators leave on a case; never sent to the person."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(SecretText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperatorRole(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Operator(Base):
    """A console account. Passwords only as argon2 hashes."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=OperatorRole.OPERATOR)
    languages: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"read": ["en", "ar"]}
    # the console's language for this operator (en, ar, fr); None: the deployment's default
    console_language: Mapped[str | None] = mapped_column(String(8), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # the second factor (TOTP): the secret is encrypted at rest; it counts only once
    # confirmed (`totp_enabled_at`); `totp_last_step` is the last 30-second step used, so a
    # code cannot be used twice
    totp_secret: Mapped[str | None] = mapped_column(SecretText, default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    # where the console rings this operator to take a voice call (E.164); personal: encrypted
    phone: Mapped[str | None] = mapped_column(SecretText, default=None)


class RecoveryCode(Base):
    """A one-time recovery code for the second factor. Only its hash is stored; using it
    deletes the row."""

    __tablename__ = "operator_recovery_codes"
    __table_args__ = (UniqueConstraint("operator_id", "code_hash", name="uq_recovery_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperatorSession(Base):
    """A signed-in browser. Only the token's hash is stored."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # False between the password and the second factor's code: such a session reaches
    # only the code page (and signing out)
    second_factor: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class ApiToken(Base):
    """A bearer token for /api/v1. Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Broadcast(Base):
    """One message to a segment, in every enabled language."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # language -> text
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # nationality, city, stage
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # targeted, skipped_*, queued
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    """One voice call: its path through the menus and its outcome, for reports."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started", "started_at"),
        Index("ix_calls_waiting", "queued_at", "dequeued_at"),
        Index("ix_calls_operator_call_sid", "operator_call_sid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None
    )
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[str] = mapped_column(String(24), default="in-progress")  # Twilio's CallStatus
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)  # registered, queued, …
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)  # menu path, keypad state
    recording_url: Mapped[str | None] = mapped_column(SecretText, default=None)
    recording_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The operators' queue: when the caller entered and left it, and Twilio's QueueSid (the
    # caller's CallSid is its member id). An operator taking the call from the console is
    # rung on `operator_call_sid` and meets the caller in a queue of the take's own.
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    dequeued_at: Mapped[datetime | None] = mapped_column(default=None)
    queue_sid: Mapped[str | None] = mapped_column(String(64), default=None)
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL", name="fk_calls_taken_by_id"), default=None
    )
    taken_at: Mapped[datetime | None] = mapped_column(default=None)
    operator_call_sid: Mapped[str | None] = mapped_column(String(64), default=None)
    take_queue_sid: Mapped[str | None] = mapped_column(String(64), default=None)


class RegistrationChange(Base):
    """One edit of a registration by an operator: the history the console shows."""

    __tablename__ = "registration_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(SecretText, default=None)
    new_value: Mapped[str | None] = mapped_column(SecretText, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Registration(Base):
    """A request for voluntary return: the answers given after consent, and the case's stage."""

    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_dedup", "dedup_hash"),
        Index("ix_registrations_contact", "contact_id", "id"),  # a person's newest
        Index("ix_registrations_phone", "phone_hash"),
        Index("ix_registrations_keypad", "reference_keypad"),
        Index("ix_registrations_stage", "stage", "country"),
        # the report counts a date range by place and stage from the index alone
        Index("ix_registrations_created_place", "created_at", "country", "city", "stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    reference_keypad: Mapped[str] = mapped_column(String(16))  # the reference as keypad digits
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None
    )
    collected_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    dedup_hash: Mapped[str] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    full_name: Mapped[str] = mapped_column(SecretText)
    country: Mapped[str] = mapped_column(String(2))
    age: Mapped[int | None] = mapped_column(Integer, default=None)
    birth_year: Mapped[int | None] = mapped_column(Integer, default=None)
    sex: Mapped[str | None] = mapped_column(String(8), default=None)
    phone: Mapped[str | None] = mapped_column(SecretText, default=None)
    city: Mapped[str | None] = mapped_column(String(32), default=None)
    detained: Mapped[bool] = mapped_column(Boolean, default=False)
    detention_place: Mapped[str | None] = mapped_column(SecretText, default=None)
    document: Mapped[str | None] = mapped_column(String(16), default=None)
    passport_number: Mapped[str | None] = mapped_column(SecretText, default=None)
    family: Mapped[str] = mapped_column(SecretText, default="[]")  # JSON list
    vulnerabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str] = mapped_column(String(24), default="registered")
    flight_date: Mapped[datetime | None] = mapped_column(default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
