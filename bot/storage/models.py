"""The records: contacts, every message in and out (the inbox and the outbox), sessions, audit."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.crypto import SecretText


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message in or out. Outbound rows in status QUEUED are the outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "channel", "direction", "provider_message_id", name="uq_message_provider_id"
        ),
        Index("ix_messages_contact_status", "contact_id", "direction", "status"),
        Index("ix_messages_in_reply_to", "in_reply_to_id"),
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


class SessionRecord(Base):
    """Conversation state of one contact (the SQL session store)."""

    __tablename__ = "sessions"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(SecretText)  # JSON; holds collected answers
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

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


class Handoff(Base):
    """A conversation a person must take: asked for, raised by triage, or flagged for review."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status_priority", "status", "priority"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | claimed | closed
    priority: Mapped[str] = mapped_column(String(16), default=HandoffPriority.NORMAL)
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    outcome: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class Registration(Base):
    """A request for voluntary return: the answers given after consent, and the case's stage."""

    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_dedup", "dedup_hash"),
        Index("ix_registrations_phone", "phone_hash"),
        Index("ix_registrations_keypad", "reference_keypad"),
        Index("ix_registrations_stage", "stage", "country"),
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
