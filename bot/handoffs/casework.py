"""What the console and the API read and do with handoff cases.

The queue, a case with its conversation, contact, registrations, notes and call; and the
operators' actions on top of `bot.handoffs.Handoffs`, audited. Pages and the JSON API both use
this module, so they show the same thing and check the same rules.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, or_, select

from bot.access import Principal, audit
from bot.channels import NO_LATER_MESSAGES, channel_label
from bot.channels.whatsapp_window import WHATSAPP_CHANNELS, window_open
from bot.errors import DomainError
from bot.handoffs import HandoffError, HandoffTaken
from bot.handoffs.canned import CANNED, canned_text
from bot.storage import crypto
from bot.storage.models import (
    ACTIVE_HANDOFF,
    Call,
    Contact,
    Direction,
    Handoff,
    HandoffNote,
    HandoffPriority,
    HandoffStatus,
    Message,
    Operator,
    Registration,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

OUTCOMES = (
    "resolved",
    "referred",
    "registered",
    "callback_done",
    "no_response",
    "duplicate",
    "other",
)
PRIORITIES = tuple(p.value for p in HandoffPriority)
STATUS_VIEWS = ("waiting", "snoozed", "closed")  # the queue's status filter
PREVIEW_CHARS = 90


def mask(address: str | None) -> str:
    """All but the last 3 characters hidden: "•••••••412"."""
    if not address:
        return ""
    visible = address[-3:]
    return "•" * max(3, min(len(address) - 3, 9)) + visible


def text_direction(catalogs: Any, language: str | None) -> str:
    """For a `dir` attribute: right-to-left for Arabic (and other RTL catalogs), else auto."""
    if language and (language == "ar" or catalogs.direction(language) == "rtl"):
        return "rtl"
    return "auto"


def whatsapp_window(channel: str, last_inbound_at: datetime | None) -> bool | None:
    """WhatsApp's 24-hour customer-care window: open, closed, or None for other channels."""
    if channel not in WHATSAPP_CHANNELS:
        return None
    return window_open(last_inbound_at)


# -- the queue ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseFilters:
    language: str | None = None
    priority: str | None = None
    channel: str | None = None
    city: str | None = None
    assigned: str | None = None  # "me" | "unassigned" | None
    status: str = "waiting"  # one of STATUS_VIEWS

    @classmethod
    def from_query(
        cls,
        language: str | None,
        priority: str | None,
        channel: str | None,
        city: str | None,
        assigned: str | None,
        status: str | None,
    ) -> CaseFilters:
        """The queue's filters from a query string (the console's and the API's): unknown
        values are dropped, never an error."""
        return cls(
            language=language or None,
            priority=priority if priority in PRIORITIES else None,
            channel=channel or None,
            city=city or None,
            assigned=assigned if assigned in ("me", "unassigned") else None,
            status=status if status in STATUS_VIEWS else "waiting",
        )

    def as_query(self) -> dict[str, str]:
        values = {
            "language": self.language,
            "priority": self.priority,
            "channel": self.channel,
            "city": self.city,
            "assigned": self.assigned,
            "status": self.status if self.status != "waiting" else None,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class CaseRow:
    id: int
    status: str
    priority: str
    reason: str
    channel: str
    language: str | None
    city: str | None
    contact_id: int
    address_masked: str
    assigned_to_id: int | None
    assigned_to_name: str | None
    waiting_since: datetime | None
    created_at: datetime
    escalation_level: int
    snoozed_until: datetime | None
    outcome: str | None
    preview: str | None
    preview_direction: str

    @property
    def channel_label(self) -> str:
        return channel_label(self.channel)

    @property
    def waiting_minutes(self) -> int | None:
        since = as_utc(self.waiting_since)
        if since is None:
            return None
        return max(0, int((utcnow() - since).total_seconds() // 60))


def _priority_order() -> Any:
    return case(
        *((Handoff.priority == p, i) for i, p in enumerate(PRIORITIES)), else_=len(PRIORITIES)
    )


async def list_cases(
    runtime: Runtime, filters: CaseFilters, principal: Principal, *, limit: int = 200
) -> list[CaseRow]:
    """The queue: emergency > urgent > normal, then the longest waiting first."""
    status = filters.status if filters.status in STATUS_VIEWS else "waiting"
    query = select(Handoff, Contact).join(Contact, Contact.id == Handoff.contact_id)
    if status == "waiting":
        query = query.where(Handoff.status.in_((HandoffStatus.OPEN, HandoffStatus.CLAIMED)))
    elif status == "snoozed":
        query = query.where(Handoff.status == HandoffStatus.SNOOZED)
    else:
        query = query.where(Handoff.status == HandoffStatus.CLOSED)
    if filters.language:
        query = query.where(Handoff.language == filters.language)
    if filters.priority:
        query = query.where(Handoff.priority == filters.priority)
    if filters.channel:
        query = query.where(Handoff.channel == filters.channel)
    if filters.city:
        registration_city = exists().where(
            Registration.city == filters.city,
            or_(
                Registration.id == Handoff.registration_id,
                Registration.contact_id == Handoff.contact_id,
            ),
        )
        query = query.where(or_(Contact.city == filters.city, registration_city))
    if filters.assigned == "me":
        query = query.where(Handoff.assigned_to_id == principal.operator_id)
    elif filters.assigned == "unassigned":
        query = query.where(Handoff.assigned_to_id.is_(None))
    if status == "closed":
        query = query.order_by(Handoff.closed_at.desc(), Handoff.id.desc())
    else:
        query = query.order_by(
            _priority_order(),
            Handoff.waiting_since.is_(None),  # waiting for an answer before answered ones
            Handoff.waiting_since,
            Handoff.created_at,
            Handoff.id,
        )
    async with runtime.db.session() as session:
        rows = (await session.execute(query.limit(limit))).all()
        contact_ids = [contact.id for _, contact in rows]
        previews = await _last_inbound(session, contact_ids)
        registration_cities = await _registration_cities(session, [h for h, _ in rows])
        names = await _operator_names(session, {h.assigned_to_id for h, _ in rows})
    result = []
    for handoff, contact in rows:
        preview = previews.get(contact.id)
        text = preview[0] if preview else None
        result.append(
            CaseRow(
                id=handoff.id,
                status=handoff.status,
                priority=handoff.priority,
                reason=handoff.reason,
                channel=handoff.channel,
                language=handoff.language,
                city=contact.city or registration_cities.get(handoff.id),
                contact_id=contact.id,
                address_masked=mask(contact.address),
                assigned_to_id=handoff.assigned_to_id,
                assigned_to_name=names.get(handoff.assigned_to_id)
                if handoff.assigned_to_id
                else None,
                waiting_since=as_utc(handoff.waiting_since),
                created_at=as_utc(handoff.created_at) or utcnow(),
                escalation_level=handoff.escalation_level,
                snoozed_until=as_utc(handoff.snoozed_until),
                outcome=handoff.outcome,
                preview=(text[:PREVIEW_CHARS] + "…")
                if text and len(text) > PREVIEW_CHARS
                else text,
                preview_direction=text_direction(runtime.catalogs, preview[1] if preview else None),
            )
        )
    return result


async def _last_inbound(session: Any, contact_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    if not contact_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(Message.contact_id.in_(contact_ids), Message.direction == Direction.INBOUND)
        .group_by(Message.contact_id)
    )
    rows = await session.scalars(select(Message).where(Message.id.in_(newest)))
    return {m.contact_id: (m.text, m.language) for m in rows}


async def _registration_cities(session: Any, handoffs: list[Handoff]) -> dict[int, str]:
    wanted = {h.registration_id for h in handoffs if h.registration_id}
    contacts = {h.contact_id for h in handoffs}
    if not handoffs:
        return {}
    rows = await session.execute(
        select(Registration.id, Registration.contact_id, Registration.city)
        .where(
            or_(Registration.id.in_(wanted), Registration.contact_id.in_(contacts)),
            Registration.city.is_not(None),
        )
        .order_by(Registration.id.desc())
    )
    by_id: dict[int, str] = {}
    by_contact: dict[int, str] = {}
    for registration_id, contact_id, city in rows.all():
        by_id[registration_id] = city
        if contact_id is not None:
            by_contact.setdefault(contact_id, city)
    result = {}
    for handoff in handoffs:
        city = by_id.get(handoff.registration_id or 0) or by_contact.get(handoff.contact_id)
        if city:
            result[handoff.id] = city
    return result


async def _operator_names(session: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Operator.id, Operator.display_name, Operator.username).where(Operator.id.in_(wanted))
    )
    return {i: (d or u) for i, d, u in rows.all()}


# -- one case ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str  # "in" | "out"
    text: str
    language: str | None
    dir: str  # "rtl" | "auto"
    author: str  # "person", "bot", or the operator's name
    operator_id: int | None
    status: str
    created_at: datetime
    error: str | None


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class RegistrationView:
    id: int
    reference: str
    full_name: str
    country: str
    age: int | None
    sex: str | None
    city: str | None
    detained: bool
    detention_place: str | None
    document: str | None
    family_size: int
    flags: tuple[str, ...]
    priority: str
    needs_review: bool
    stage: str
    created_at: datetime


@dataclass(frozen=True)
class CallView:
    id: int
    status: str
    outcome: str | None
    recording_url: str | None
    recording_seconds: int | None
    duration_seconds: int | None
    started_at: datetime


@dataclass(frozen=True)
class ContactView:
    id: int
    channel: str
    language: str | None
    role: str
    opted_out: bool
    city: str | None
    address_masked: str
    last_inbound_at: datetime | None
    whatsapp_window_open: bool | None


@dataclass(frozen=True)
class CaseDetail:
    id: int
    status: str
    priority: str
    reason: str
    channel: str
    language: str | None
    outcome: str | None
    created_at: datetime
    closed_at: datetime | None
    waiting_since: datetime | None
    snoozed_until: datetime | None
    escalation_level: int
    assigned_to_id: int | None
    assigned_to_name: str | None
    opened_by_name: str | None
    contact: ContactView
    registrations: list[RegistrationView] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)
    call: CallView | None = None
    messages: list[MessageView] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_HANDOFF

    @property
    def can_reply(self) -> bool:
        return self.active and self.channel not in NO_LATER_MESSAGES


async def case_detail(runtime: Runtime, handoff_id: int) -> CaseDetail | None:
    async with runtime.db.session() as session:
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None:
            return None
        contact = await session.get(Contact, handoff.contact_id)
        if contact is None:
            return None
        names = await _operator_names(session, {handoff.assigned_to_id, handoff.opened_by_id})
        registrations = await session.scalars(
            select(Registration)
            .where(
                or_(
                    Registration.id == (handoff.registration_id or 0),
                    Registration.contact_id == contact.id,
                )
            )
            .order_by(Registration.id.desc())
        )
        note_rows = (
            await session.execute(
                select(HandoffNote, Operator.display_name, Operator.username)
                .outerjoin(Operator, Operator.id == HandoffNote.operator_id)
                .where(HandoffNote.handoff_id == handoff.id)
                .order_by(HandoffNote.id)
            )
        ).all()
        call = await session.get(Call, handoff.call_id) if handoff.call_id else None
        contact_view = ContactView(
            id=contact.id,
            channel=contact.channel,
            language=contact.language,
            role=contact.role,
            opted_out=contact.opted_out,
            city=contact.city,
            address_masked=mask(contact.address),
            last_inbound_at=as_utc(contact.last_inbound_at),
            whatsapp_window_open=whatsapp_window(contact.channel, contact.last_inbound_at),
        )
        detail = CaseDetail(
            id=handoff.id,
            status=handoff.status,
            priority=handoff.priority,
            reason=handoff.reason,
            channel=handoff.channel,
            language=handoff.language,
            outcome=handoff.outcome,
            created_at=as_utc(handoff.created_at) or utcnow(),
            closed_at=as_utc(handoff.closed_at),
            waiting_since=as_utc(handoff.waiting_since),
            snoozed_until=as_utc(handoff.snoozed_until),
            escalation_level=handoff.escalation_level,
            assigned_to_id=handoff.assigned_to_id,
            assigned_to_name=names.get(handoff.assigned_to_id or 0),
            opened_by_name=names.get(handoff.opened_by_id or 0),
            contact=contact_view,
            registrations=[_registration(r) for r in registrations],
            notes=[
                NoteView(
                    id=note.id,
                    author=(display or username or "former operator"),
                    text=note.text,
                    created_at=as_utc(note.created_at) or utcnow(),
                )
                for note, display, username in note_rows
            ],
            call=CallView(
                id=call.id,
                status=call.status,
                outcome=call.outcome,
                # played through the console (the server fetches it), never Twilio's URL
                recording_url=f"/console/calls/{call.id}/recording"
                if _web_link(call.recording_url)
                else None,
                recording_seconds=call.recording_seconds,
                duration_seconds=call.duration_seconds,
                started_at=as_utc(call.started_at) or utcnow(),
            )
            if call
            else None,
        )
    messages = await case_messages(runtime, contact.id)
    return dataclasses.replace(detail, messages=messages)


def _web_link(url: str | None) -> str | None:
    """Only http(s) links become links (never javascript: or data:)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _registration(row: Registration) -> RegistrationView:
    flags = row.vulnerabilities.get("flags", []) if isinstance(row.vulnerabilities, dict) else []
    try:
        family = json.loads(row.family or "[]")
    except ValueError:
        family = []
    return RegistrationView(
        id=row.id,
        reference=row.reference,
        full_name=row.full_name,
        country=row.country,
        age=row.age,
        sex=row.sex,
        city=row.city,
        detained=row.detained,
        detention_place=row.detention_place,
        document=row.document,
        family_size=len(family) if isinstance(family, list) else 0,
        flags=tuple(str(flag) for flag in flags),
        priority=row.priority,
        needs_review=row.needs_review,
        stage=row.stage,
        created_at=as_utc(row.created_at) or utcnow(),
    )


async def case_messages(
    runtime: Runtime, contact_id: int, *, after: int = 0, limit: int = 300
) -> list[MessageView]:
    """The conversation with this person, oldest first (the newest `limit` messages)."""
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Message, Operator.display_name, Operator.username)
                .outerjoin(Operator, Operator.id == Message.operator_id)
                .where(Message.contact_id == contact_id, Message.id > after)
                .order_by(Message.id.desc())
                .limit(limit)
            )
        ).all()
    views = []
    for message, display, username in reversed(rows):
        if message.direction == Direction.INBOUND:
            author = "person"
        elif message.operator_id is not None:
            author = display or username or "operator"
        elif message.broadcast_id is not None:
            author = "broadcast"
        else:
            author = "bot"
        views.append(
            MessageView(
                id=message.id,
                direction=message.direction,
                text=message.text,
                language=message.language,
                dir=text_direction(runtime.catalogs, message.language),
                author=author,
                operator_id=message.operator_id,
                status=message.status,
                created_at=as_utc(message.created_at) or utcnow(),
                error=message.last_error,
            )
        )
    return views


async def contact_of(runtime: Runtime, handoff_id: int) -> Contact | None:
    async with runtime.db.session() as session:
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None:
            return None
        return await session.get(Contact, handoff.contact_id)


# -- actions -----------------------------------------------------------------------------------
class CaseError(DomainError):
    """An action on a handoff case that cannot be done (409 unless said: 404, 422)."""


async def _require_case(runtime: Runtime, handoff_id: int) -> Handoff:
    async with runtime.db.session() as session:
        row = await session.get(Handoff, handoff_id)
    if row is None:
        raise CaseError("no such case", 404)
    return row


async def claim(runtime: Runtime, principal: Principal, handoff_id: int) -> None:
    """Take a case nobody holds. A case another operator holds is refused (409, naming them):
    only a supervisor moves it, through `assign`."""
    await _require_case(runtime, handoff_id)
    try:
        await runtime.handoffs.claim(handoff_id, principal.operator_id)
    except HandoffTaken as exc:
        raise CaseError(await _taken_by(runtime, handoff_id), 409) from exc
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc


async def _taken_by(runtime: Runtime, handoff_id: int) -> str:
    async with runtime.db.session() as session:
        holder = await session.scalar(
            select(Handoff.assigned_to_id).where(Handoff.id == handoff_id)
        )
        names = await _operator_names(session, {holder})
    name = names.get(holder or 0)
    return f"already taken by {name}" if name else "already taken by another operator"


async def assign(
    runtime: Runtime, principal: Principal, handoff_id: int, operator_id: int | None
) -> None:
    """Supervisors give a case to someone (None: back to the open queue)."""
    await _require_case(runtime, handoff_id)
    if operator_id is not None:
        async with runtime.db.session() as session:
            target = await session.get(Operator, operator_id)
        if target is None or not target.active:
            raise CaseError("no such active operator", 422)
    try:
        await runtime.handoffs.assign(handoff_id, operator_id, by=principal.operator_id)
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc


async def reply(runtime: Runtime, principal: Principal, handoff_id: int, text: str) -> int:
    row = await _require_case(runtime, handoff_id)
    text = text.strip()
    if not text:
        raise CaseError("write a message first", 422)
    if len(text) > runtime.settings.max_message_chars:
        raise CaseError(
            f"a message can have at most {runtime.settings.max_message_chars} characters", 422
        )
    try:
        message_id = await runtime.handoffs.reply(handoff_id, principal.operator_id, text)
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc
    await audit(
        runtime,
        principal,
        "handoff.reply",
        str(handoff_id),
        message=message_id,
        channel=row.channel,
    )
    return int(message_id)


async def send_canned(
    runtime: Runtime, principal: Principal, handoff_id: int, name: str, language: str | None = None
) -> int:
    """A canned reply in the person's language (or the one asked for)."""
    if name not in CANNED:
        raise CaseError("no such canned reply", 422)
    row = await _require_case(runtime, handoff_id)
    catalogs = runtime.catalogs
    code = language or row.language
    if not catalogs.supports(code):
        contact = await contact_of(runtime, handoff_id)
        code = contact.language if contact and catalogs.supports(contact.language) else None
    code = code or catalogs.default_language
    text = canned_text(catalogs, name, code, **canned_values(runtime, principal, code))
    return await reply(runtime, principal, handoff_id, text)


def canned_values(runtime: Runtime, principal: Principal, language: str) -> dict[str, str]:
    hours = runtime.handoffs.hours
    return {
        "name": principal.name,
        "hours": "24/7" if hours.always else hours.describe(language),
    }


async def note(runtime: Runtime, principal: Principal, handoff_id: int, text: str) -> int:
    await _require_case(runtime, handoff_id)
    text = text.strip()
    if not text:
        raise CaseError("write the note first", 422)
    try:
        note_id = await runtime.handoffs.note(handoff_id, principal.operator_id, text[:5000])
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc
    await audit(runtime, principal, "handoff.note", str(handoff_id), note=note_id)
    return int(note_id)


async def snooze(
    runtime: Runtime, principal: Principal, handoff_id: int, until: datetime | None
) -> None:
    await _require_case(runtime, handoff_id)
    if until is not None:
        until = as_utc(until)
        assert until is not None
        if until <= utcnow():
            raise CaseError("choose a time in the future", 422)
    try:
        await runtime.handoffs.snooze(handoff_id, principal.operator_id, until)
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc


async def close(runtime: Runtime, principal: Principal, handoff_id: int, outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise CaseError(f"the outcome must be one of {', '.join(OUTCOMES)}", 422)
    await _require_case(runtime, handoff_id)
    try:
        await runtime.handoffs.close(handoff_id, principal.operator_id, outcome)
    except HandoffError as exc:
        raise CaseError(str(exc)) from exc


async def reveal_address(runtime: Runtime, principal: Principal, handoff_id: int) -> str:
    """The full address (phone number, chat id), for calling back; every look is audited."""
    contact = await contact_of(runtime, handoff_id)
    if contact is None:
        raise CaseError("no such case", 404)
    await audit(runtime, principal, "contact.address_viewed", str(contact.id), handoff=handoff_id)
    return str(contact.address)


async def open_for_contact(
    runtime: Runtime,
    principal: Principal,
    channel: str,
    address: str,
    *,
    priority: str = HandoffPriority.NORMAL,
    language: str | None = None,
) -> tuple[int, bool]:
    """An operator starts a case for a known contact (found by channel and address)."""
    channel, address = channel.strip(), address.strip()
    if priority not in PRIORITIES:
        raise CaseError(f"priority must be one of {', '.join(PRIORITIES)}", 422)
    address_hashes = crypto.lookup_hashes(channel, address)
    async with runtime.db.session() as session:
        contact = await session.scalar(
            select(Contact).where(
                and_(Contact.channel == channel, Contact.address_hash.in_(address_hashes))
            )
        )
    if contact is None:
        raise CaseError("no contact with that address on that channel", 404)
    if language is not None and not runtime.catalogs.supports(language):
        raise CaseError("that language is not enabled", 422)
    handoff_id, created = await runtime.handoffs.open(
        contact.id,
        reason="operator",
        priority=priority,
        channel=contact.channel,
        language=language or contact.language,
        opened_by=principal.operator_id,
    )
    if not created:
        await audit(runtime, principal, "handoff.joined", str(handoff_id))
    return handoff_id, created


TYPING_EVERY = 2.0  # seconds; Telegram shows "typing…" for about 5 s
# per event bus (one per running app): when each operator last announced typing in a case
_last_typing: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], float]] = (
    weakref.WeakKeyDictionary()
)


async def typing(runtime: Runtime, principal: Principal, handoff_id: int) -> bool:
    """Tell the other operators on the case; on Telegram show "typing…" to the person too.
    Returns whether the person was shown it."""
    row = await _require_case(runtime, handoff_id)
    now = time.monotonic()
    key = (handoff_id, principal.operator_id)
    announced = _last_typing.setdefault(runtime.events, {})
    if now - announced.get(key, -TYPING_EVERY) < TYPING_EVERY:
        return False  # already told a moment ago
    if len(announced) > 1000:  # forget old entries; this is only a throttle
        announced.clear()
    announced[key] = now
    await runtime.events.publish(
        "typing", handoff_id=handoff_id, operator_id=principal.operator_id, name=principal.name
    )
    if row.channel != "telegram" or row.status not in ACTIVE_HANDOFF:
        return False
    sender = runtime.outbox.senders.get("telegram")
    bot = getattr(sender, "bot", None)
    if sender is None or bot is None:
        return False
    contact = await contact_of(runtime, handoff_id)
    if contact is None:
        return False
    try:
        start = getattr(sender, "start", None)
        if start is not None:
            await start()
        await bot.send_chat_action(int(contact.address), "typing")
    except Exception as exc:  # a courtesy: never fail the operator's typing over it
        log.info("telegram typing action failed: %s", type(exc).__name__)
        return False
    return True
