"""Broadcasts: one message, written in every enabled language, to a segment of people.

A segment is any combination of nationality, city and registered stage (nothing: everyone).
Each reachable person gets one queued outbound message in their language (the default language
when their own has no text), tagged with the broadcast's id so delivery can be counted:
- opted-out people get nothing;
- WhatsApp (Twilio or Cloud API) allows free text only within 24 hours of the person's last
  message; outside it the message is queued only when an approved template is configured for
  that channel in the person's language or the default language (its sender sends the
  template and holds the message until the person writes) and counted as "template", else
  skipped;
- people who only called get an SMS to the same number;
- REST and web chat messages stay queued until the client fetches them.
A repeated submission (same idempotency key from the same operator) returns the first broadcast.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from weakref import WeakKeyDictionary

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import NO_LATER_MESSAGES
from bot.channels.whatsapp_templates import template_for
from bot.channels.whatsapp_window import window_open
from bot.i18n import isolate_in_rtl
from bot.messages import OutboundMessage
from bot.registrations import (
    SMS_CHANNEL,
    RecordError,
    clean_city,
    clean_country,
    clean_stage,
)
from bot.storage import crypto
from bot.storage.models import (
    AuditEvent,
    Broadcast,
    Contact,
    Message,
    MessageStatus,
    Operator,
    Registration,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

MAX_TEXT_CHARS = 1000  # an SMS of this length is already seven Arabic segments
# The settings naming the approved templates each WhatsApp channel's sender uses outside the
# window (per language: bot/channels/whatsapp_templates.py)
TEMPLATE_SETTINGS = {
    "whatsapp": "twilio_whatsapp_templates",
    "whatsapp_cloud": "whatsapp_templates",
}
COUNT_KEYS = ("targeted", "queued", "skipped_opted_out", "skipped_window", "template")

# Within a process one lock per event loop; PostgreSQL adds an advisory lock across processes.
_create_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


def _create_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _create_locks.get(loop)
    if lock is None:
        lock = _create_locks[loop] = asyncio.Lock()
    return lock


class Segment(BaseModel):
    """Who receives a broadcast; every filter optional, combined with AND."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nationality: str | None = Field(default=None, description="ISO 3166 alpha-2, e.g. NG")
    city: str | None = Field(default=None, description="A canonical city, e.g. Sebha")
    stage: str | None = Field(default=None, description="A case stage, e.g. screening")

    @field_validator("nationality")
    @classmethod
    def _nationality(cls, value: str | None) -> str | None:
        return clean_country(value) if value else None

    @field_validator("city")
    @classmethod
    def _city(cls, value: str | None) -> str | None:
        return clean_city(value) if value else None

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str | None) -> str | None:
        return clean_stage(value) if value else None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump().items() if v]
        return ", ".join(parts) or "everyone"


def check_texts(texts: Mapping[str, str], languages: list[str]) -> dict[str, str]:
    """One non-empty text per enabled language, nothing else. Raises RecordError."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for language in languages:
        value = (texts.get(language) or "").strip()
        if not value:
            errors[f"text_{language}"] = "a text is needed in every enabled language"
        elif len(value) > MAX_TEXT_CHARS:
            errors[f"text_{language}"] = f"at most {MAX_TEXT_CHARS} characters"
        clean[language] = value
    for extra in sorted(set(texts) - set(languages)):
        errors[f"text_{extra}"] = "not an enabled language"
    if errors:
        raise RecordError(errors)
    return clean


Outcome = Literal["queue", "template", "opted_out", "window"]


@dataclass(frozen=True)
class _Planned:
    outcome: Outcome
    channel: str
    language: str | None
    contact_id: int | None  # None: an SMS contact still to be made for `sms_address`
    sms_address: str | None = None


@dataclass
class Preview:
    """What sending would do now."""

    counts: dict[str, int]
    by_language: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)


def _template_configured(runtime: Runtime, channel: str, language: str | None) -> bool:
    """A template for the person's language or the default language's (whatsapp_templates)."""
    return template_for(runtime.settings, channel, language, quiet=True) is not None


async def _segment_people(
    session: AsyncSession, segment: Segment
) -> tuple[list[Contact], list[tuple[str, str | None]]]:
    """The segment's contacts, and (phone, language) of registered people without a contact
    (registered by a mobilizer) who can be reached by SMS."""
    if not (segment.nationality or segment.city or segment.stage):
        return list(await session.scalars(select(Contact).order_by(Contact.id))), []
    where = []
    if segment.nationality:
        where.append(Registration.country == segment.nationality)
    if segment.stage:
        where.append(Registration.stage == segment.stage)
    if segment.city:
        where.append(Registration.city == segment.city)
    registered = (
        await session.execute(
            select(Registration.contact_id, Registration.phone, Registration.language).where(*where)
        )
    ).all()
    contact_ids = {cid for cid, _, _ in registered if cid is not None}
    query = select(Contact).where(Contact.id.in_(contact_ids))
    if segment.city and not (segment.nationality or segment.stage):
        # a city alone also reaches people who told the bot where they are, registered or not
        query = select(Contact).where(
            or_(Contact.id.in_(contact_ids), Contact.city == segment.city)
        )
    contacts = list(await session.scalars(query.order_by(Contact.id)))
    phones = [(phone, lang) for cid, phone, lang in registered if cid is None and phone]
    return contacts, phones


async def _plan(runtime: Runtime, session: AsyncSession, segment: Segment) -> list[_Planned]:
    now = utcnow()
    contacts, phones = await _segment_people(session, segment)
    by_id = {c.id: c for c in contacts}
    # People who only called are written to by SMS; find their SMS contacts if they exist.
    sms_wanted: dict[str, tuple[str, str | None, bool]] = {}  # hash -> address, lang, opted out
    for contact in contacts:
        if contact.channel in NO_LATER_MESSAGES:
            sms_wanted[crypto.lookup_hash(SMS_CHANNEL, contact.address)] = (
                contact.address,
                contact.language,
                contact.opted_out,
            )
    for phone, language in phones:
        sms_wanted.setdefault(crypto.lookup_hash(SMS_CHANNEL, phone), (phone, language, False))
    # while keys rotate a stored hash may be the old one: every live hash maps to the current one
    live_hashes = {
        every: current
        for current, (address, _language, _opted_out) in sms_wanted.items()
        for every in crypto.lookup_hashes(SMS_CHANNEL, address)
    }
    existing_sms = {
        live_hashes[c.address_hash]: c
        for c in await session.scalars(
            select(Contact).where(
                Contact.channel == SMS_CHANNEL, Contact.address_hash.in_(list(live_hashes))
            )
        )
    }
    plans: list[_Planned] = []
    for contact in contacts:
        if contact.channel in NO_LATER_MESSAGES:
            continue
        outcome: Outcome = "queue"
        if contact.opted_out:
            outcome = "opted_out"
        elif contact.channel in TEMPLATE_SETTINGS and not window_open(contact.last_inbound_at, now):
            configured = _template_configured(runtime, contact.channel, contact.language)
            outcome = "template" if configured else "window"
        plans.append(_Planned(outcome, contact.channel, contact.language, contact.id))
    for address_hash, (address, language, opted_out) in sms_wanted.items():
        sms = existing_sms.get(address_hash)
        if sms is not None and sms.id in by_id:
            continue  # already counted as an SMS contact of the segment
        blocked = opted_out or (sms is not None and sms.opted_out)
        plans.append(
            _Planned(
                "opted_out" if blocked else "queue",
                SMS_CHANNEL,
                (sms.language if sms is not None else None) or language,
                sms.id if sms is not None else None,
                address,
            )
        )
    return plans


def _counts(plans: list[_Planned]) -> dict[str, int]:
    outcomes = Counter(p.outcome for p in plans)
    return {
        "targeted": len(plans),
        "queued": outcomes["queue"] + outcomes["template"],
        "skipped_opted_out": outcomes["opted_out"],
        "skipped_window": outcomes["window"],
        "template": outcomes["template"],
    }


def _language(planned: _Planned, texts: Mapping[str, str], default: str) -> str:
    language = planned.language
    return language if language is not None and language in texts else default


async def preview(runtime: Runtime, segment: Segment) -> Preview:
    """The counts sending would give now; nothing is written."""
    async with runtime.db.session() as session:
        plans = await _plan(runtime, session, segment)
    default = runtime.settings.default_language
    languages = {lang: "" for lang in runtime.catalogs.languages}
    sending = [p for p in plans if p.outcome in ("queue", "template")]
    return Preview(
        counts=_counts(plans),
        by_language=dict(Counter(_language(p, languages, default) for p in sending)),
        by_channel=dict(Counter(p.channel for p in sending)),
    )


@dataclass(frozen=True)
class Created:
    broadcast_id: int
    created: bool  # False: this request was a repeat of an earlier one
    counts: dict[str, int]


def _request_key(operator_id: int, idempotency_key: str) -> str:
    return hashlib.sha256(f"{operator_id}\x1f{idempotency_key}".encode()).hexdigest()


async def _repeat_of(session: AsyncSession, operator_id: int, key: str) -> Broadcast | None:
    since = utcnow() - timedelta(days=1)
    rows = await session.scalars(
        select(Broadcast)
        .where(Broadcast.created_by_id == operator_id, Broadcast.created_at >= since)
        .order_by(Broadcast.id.desc())
    )
    return next((b for b in rows if b.counts.get("request_key") == key), None)


async def send_broadcast(
    runtime: Runtime,
    *,
    operator_id: int,
    texts: Mapping[str, str],
    segment: Segment,
    idempotency_key: str,
) -> Created:
    """Create the broadcast and queue its messages in one transaction, once per key."""
    languages = runtime.catalogs.languages
    clean = check_texts(texts, languages)
    if not idempotency_key or len(idempotency_key) > 128:
        raise RecordError({"idempotency_key": "a key of 1 to 128 characters is needed"})
    key = _request_key(operator_id, idempotency_key)
    db = runtime.db
    async with _create_lock():
        async with db.session() as session:
            earlier = await _repeat_of(session, operator_id, key)
            if earlier is not None:
                return Created(earlier.id, False, _numbers(earlier.counts))
            plans = await _plan(runtime, session, segment)
        # SMS contacts for people who only called (safe if another request makes them first)
        resolved: list[_Planned] = []
        for plan in plans:
            if plan.contact_id is None and plan.sms_address and plan.outcome == "queue":
                made = await runtime.store.contact_for(SMS_CHANNEL, plan.sms_address)
                plan = _Planned(plan.outcome, SMS_CHANNEL, plan.language, made.id)
            resolved.append(plan)
        counts = _counts(resolved)
        default = runtime.settings.default_language
        async with db.session() as session, session.begin():
            if not db.is_sqlite:  # the same key from two server processes: one waits
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)}
                )
                earlier = await _repeat_of(session, operator_id, key)
                if earlier is not None:
                    return Created(earlier.id, False, _numbers(earlier.counts))
            broadcast = Broadcast(
                created_by_id=operator_id,
                texts=clean,
                segment=segment.model_dump(),
                counts={**counts, "request_key": key},
            )
            session.add(broadcast)
            await session.flush()
            for plan in resolved:
                if plan.outcome not in ("queue", "template") or plan.contact_id is None:
                    continue
                language = _language(plan, clean, default)
                body = isolate_in_rtl(clean[language])  # "+218…" in Arabic keeps its order
                session.add(
                    Message.queued(
                        plan.contact_id,
                        plan.channel,
                        OutboundMessage(
                            text=body,
                            language=language,
                            direction=runtime.catalogs.direction(language),
                        ),
                        operator_id=operator_id,
                        broadcast_id=broadcast.id,
                        payload={
                            "broadcast": True,
                            **({"template": True} if plan.outcome == "template" else {}),
                        },
                    )
                )
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="broadcast.created",
                    subject=str(broadcast.id),
                    details={"segment": segment.model_dump(), **counts},
                )
            )
            broadcast_id = broadcast.id
    runtime.outbox.kick()
    return Created(broadcast_id, True, counts)


def _numbers(counts: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(counts.get(k, 0)) for k in COUNT_KEYS}


# -- reading ------------------------------------------------------------------------------

DELIVERY_GROUPS = {
    MessageStatus.QUEUED: "queued",
    MessageStatus.SENDING: "queued",
    MessageStatus.HELD: "queued",  # a template went; the message waits for the person's answer
    MessageStatus.SENT: "sent",
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.UNDELIVERABLE: "undeliverable",
}


@dataclass(frozen=True)
class BroadcastView:
    id: int
    created_at: datetime
    created_by: str
    texts: dict[str, str]
    segment: dict[str, str | None]
    counts: dict[str, int]
    delivery: dict[str, int]  # live, from the messages: queued, sent, delivered, undeliverable

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


async def _delivery(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    out = {bid: dict.fromkeys(("queued", "sent", "delivered", "undeliverable"), 0) for bid in
           broadcast_ids}  # fmt: skip
    if not broadcast_ids:
        return out
    rows = await session.execute(
        select(Message.broadcast_id, Message.status, func.count())
        .where(Message.broadcast_id.in_(broadcast_ids))
        .group_by(Message.broadcast_id, Message.status)
    )
    for broadcast_id, status, count in rows.all():
        group = DELIVERY_GROUPS.get(MessageStatus(status))
        if group and broadcast_id is not None:
            out[broadcast_id][group] += count
    return out


def _view(row: Broadcast, username: str | None, delivery: dict[str, int]) -> BroadcastView:
    created = as_utc(row.created_at)
    return BroadcastView(
        id=row.id,
        created_at=created,
        created_by=username or "",
        texts=dict(row.texts),
        segment={k: row.segment.get(k) for k in ("nationality", "city", "stage")},
        counts=_numbers(row.counts),
        delivery=delivery,
    )


async def list_broadcasts(runtime: Runtime, limit: int = 50) -> list[BroadcastView]:
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Broadcast, Operator.username)
                .outerjoin(Operator, Operator.id == Broadcast.created_by_id)
                .order_by(Broadcast.id.desc())
                .limit(limit)
            )
        ).all()
        delivery = await _delivery(session, [b.id for b, _ in rows])
    return [_view(b, name, delivery[b.id]) for b, name in rows]


async def get_broadcast(runtime: Runtime, broadcast_id: int) -> BroadcastView | None:
    async with runtime.db.session() as session:
        found = (
            await session.execute(
                select(Broadcast, Operator.username)
                .outerjoin(Operator, Operator.id == Broadcast.created_by_id)
                .where(Broadcast.id == broadcast_id)
            )
        ).first()
        if found is None:
            return None
        delivery = await _delivery(session, [broadcast_id])
    return _view(found[0], found[1], delivery[broadcast_id])
