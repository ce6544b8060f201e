"""Registrations for operators: search, the full record with its history, edits, the case stage
(which notifies the person), and embassy lists for nationality screening.

Names, phones and passport numbers are encrypted at rest, so SQL never filters by them: a phone
is found by its keyed hash, and a name is matched by decrypting a bounded set of rows that the
other filters already selected (`NAME_SCAN_LIMIT`; the answer says when the set was cut).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select

from bot.errors import DomainError
from bot.messages import NO_LATER_MESSAGES, OutboundMessage
from bot.reports import DateRange
from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Contact,
    Message,
    Operator,
    Registration,
    RegistrationChange,
    as_utc,
)
from flows.case_status import STAGES
from flows.registration import VULNERABILITY_STEPS
from nlu import parse_phone
from nlu.entities import GAZETTEER_DIR, resolve_city
from nlu.normalize import normalize

if TYPE_CHECKING:
    from bot.runtime import Runtime

SEXES = ("female", "male")  # the values flows/registration.py stores
PRIORITIES = ("high", "medium", "normal")  # flows.registration.priority_of
VULNERABILITY_FLAGS = (*VULNERABILITY_STEPS, "detained", "child", "elderly", "large_household")
NAME_SCAN_LIMIT = 2000  # rows decrypted at most to match a name
MAX_PER_PAGE = 200
# Channels that cannot carry a later message: the person gets an SMS to the same number instead.
SMS_CHANNEL = "sms"
# Embassy list columns: what nationality screening needs, nothing more (data minimisation).
EXPORT_COLUMNS = (
    "reference", "full_name", "sex", "age", "birth_year", "nationality", "city", "detained",
    "document", "passport_number", "family_count", "phone",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXPORT_BATCH = 500


class RecordError(DomainError, ValueError):
    """Input that cannot be accepted; `errors` maps a field to what is wrong with it."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    def detail(self) -> object:
        """Answered like FastAPI's validation errors: a list naming each field."""
        return [
            {"loc": ["body", name], "msg": message, "type": "value_error"}
            for name, message in self.errors.items()
        ]


class NotFound(DomainError, LookupError):
    """No registration with this id."""

    status = 404

    def __init__(self, registration_id: int) -> None:
        super().__init__("no such registration")
        self.registration_id = registration_id


# -- vocabularies -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def canonical_cities() -> tuple[str, ...]:
    """The canonical city names (the keys of nlu/gazetteers/cities.yml)."""
    doc = yaml.safe_load((GAZETTEER_DIR / "cities.yml").read_text(encoding="utf-8"))
    return tuple(doc) if isinstance(doc, dict) else ()


@lru_cache(maxsize=1)
def country_choices() -> tuple[tuple[str, str], ...]:
    """(ISO 3166 alpha-2 code, English name), sorted by name, for forms."""
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda x: x[1]))


def country_name(code: str | None) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return found.name if found else (code or "")


def clean_country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166 two-letter country code, e.g. NG")
    return code


def clean_city(value: str) -> str:
    """A canonical city; accepts other spellings the NLU knows ("Sabha" → "Sebha")."""
    text = value.strip()
    by_fold = {c.casefold(): c for c in canonical_cities()}
    found = by_fold.get(text.casefold()) or resolve_city(text)
    if found is None or found not in canonical_cities():
        raise ValueError("must be one of the cities in the city list")
    return found


def clean_stage(value: str) -> str:
    if value not in STAGES:
        raise ValueError("must be one of: " + ", ".join(STAGES))
    return value


# -- search -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationQuery:
    """Filters for the registration list; every one optional."""

    reference: str | None = None
    phone: str | None = None
    name: str | None = None
    nationality: str | None = None
    city: str | None = None
    stage: str | None = None
    priority: str | None = None
    needs_review: bool | None = None
    dates: DateRange | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], timezone: ZoneInfo) -> RegistrationQuery:
        """From query-string values (strings; empty means "any"). Raises RecordError."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        def text(name: str) -> str | None:
            value = raw.get(name)
            return str(value).strip() or None if value is not None else None

        if reference := text("reference"):
            # "LY-7K3M9Q", "ly 7k3", "753697" (keypad); no reference letter is an L, so a
            # leading "LY" is always the prefix
            core = re.sub(r"[^A-Z0-9]", "", reference.upper()).removeprefix("LY")
            if not core or len(core) > 6:
                errors["reference"] = "not a case reference"
            values["reference"] = core
        if phone := text("phone"):
            parsed = parse_phone(phone)
            if parsed is None:
                errors["phone"] = "not a phone number"
            values["phone"] = parsed
        if name := text("name"):
            values["name"] = name[:80]
        for key, check in (
            ("nationality", clean_country),
            ("city", clean_city),
            ("stage", clean_stage),
        ):
            if value := text(key):
                try:
                    values[key] = check(value)
                except ValueError as exc:
                    errors[key] = str(exc)
        if priority := text("priority"):
            if priority not in PRIORITIES:
                errors["priority"] = "must be one of: " + ", ".join(PRIORITIES)
            values["priority"] = priority
        if review := text("needs_review"):
            values["needs_review"] = review.lower() in ("1", "true", "yes", "on")
        try:
            values["dates"] = DateRange.parse(text("date_from"), text("date_to"), timezone)
        except ValueError as exc:
            errors["date_from"] = str(exc)
        if errors:
            raise RecordError(errors)
        return cls(**values)

    def filters(self, timezone: ZoneInfo) -> list[Any]:
        """SQL conditions for everything but the name (never on encrypted columns)."""
        where: list[Any] = []
        if self.reference:
            if self.reference.isdigit():
                where.append(Registration.reference_keypad.like(f"%{self.reference}%"))
            else:
                where.append(Registration.reference.like(f"%{self.reference}%"))
        if self.phone:
            where.append(Registration.phone_hash.in_(crypto.lookup_hashes("phone", self.phone)))
        if self.nationality:
            where.append(Registration.country == self.nationality)
        if self.city:
            where.append(Registration.city == self.city)
        if self.stage:
            where.append(Registration.stage == self.stage)
        if self.priority:
            where.append(Registration.priority == self.priority)
        if self.needs_review is not None:
            where.append(Registration.needs_review.is_(self.needs_review))
        if self.dates:
            start, end = self.dates.bounds(timezone)
            where += [Registration.created_at >= start, Registration.created_at < end]
        return where

    def as_dict(self) -> dict[str, str]:
        """The filters as strings (for links and the audit log; the name is never included)."""
        out = {
            k: str(v)
            for k, v in (
                ("reference", self.reference),
                ("nationality", self.nationality),
                ("city", self.city),
                ("stage", self.stage),
                ("priority", self.priority),
            )
            if v
        }
        if self.needs_review is not None:
            out["needs_review"] = "yes" if self.needs_review else "no"
        if self.dates:
            out |= {
                "date_from": self.dates.start.isoformat(),
                "date_to": self.dates.end.isoformat(),
            }
        return out


@dataclass(frozen=True)
class RegistrationSummary:
    id: int
    reference: str
    full_name: str
    country: str
    age: int | None
    sex: str | None
    city: str | None
    stage: str
    priority: str
    needs_review: bool
    detained: bool
    channel: str
    language: str | None
    created_at: datetime


@dataclass(frozen=True)
class RegistrationPage:
    items: list[RegistrationSummary]
    total: int
    page: int
    per_page: int
    # a name was searched among at most NAME_SCAN_LIMIT rows and more matched the other filters
    name_scan_truncated: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _summary(row: Registration) -> RegistrationSummary:
    return RegistrationSummary(
        id=row.id,
        reference=row.reference,
        full_name=row.full_name,
        country=row.country,
        age=row.age,
        sex=row.sex,
        city=row.city,
        stage=row.stage,
        priority=row.priority,
        needs_review=row.needs_review,
        detained=row.detained,
        channel=row.channel,
        language=row.language,
        created_at=as_utc(row.created_at),
    )


async def search(
    db: Database,
    query: RegistrationQuery,
    timezone: ZoneInfo,
    *,
    page: int = 1,
    per_page: int = 50,
) -> RegistrationPage:
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    where = query.filters(timezone)
    newest_first = select(Registration).where(*where).order_by(Registration.id.desc())
    async with db.session() as session:
        if query.name is None:
            total = int(
                await session.scalar(select(func.count()).select_from(Registration).where(*where))
                or 0
            )
            shown = await session.scalars(
                newest_first.offset((page - 1) * per_page).limit(per_page)
            )
            return RegistrationPage([_summary(r) for r in shown], total, page, per_page)
        # Names are encrypted: decrypt a bounded set the other filters chose, match in Python.
        rows = list(await session.scalars(newest_first.limit(NAME_SCAN_LIMIT + 1)))
    truncated = len(rows) > NAME_SCAN_LIMIT
    wanted = normalize(query.name)
    matches = [r for r in rows[:NAME_SCAN_LIMIT] if wanted and wanted in normalize(r.full_name)]
    start = (page - 1) * per_page
    return RegistrationPage(
        [_summary(r) for r in matches[start : start + per_page]],
        len(matches),
        page,
        per_page,
        name_scan_truncated=truncated,
    )


# -- one registration ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeView:
    created_at: datetime
    operator: str  # username, or "" when the account is gone
    field: str
    old_value: str
    new_value: str


@dataclass(frozen=True)
class ContactView:
    id: int
    channel: str
    language: str | None
    opted_out: bool


@dataclass(frozen=True)
class RegistrationDetail:
    id: int
    reference: str
    full_name: str
    country: str
    age: int | None
    birth_year: int | None
    sex: str | None
    phone: str | None
    city: str | None
    detained: bool
    detention_place: str | None
    document: str | None
    passport_number: str | None
    family: list[dict[str, Any]]
    vulnerabilities: list[str]
    priority: str
    needs_review: bool
    stage: str
    flight_date: date | None
    language: str | None
    channel: str
    contact: ContactView | None
    collected_by_contact_id: int | None
    created_at: datetime
    updated_at: datetime
    changes: list[ChangeView] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("contact", "changes")}
        data["contact"] = self.contact.__dict__ if self.contact else None
        data["changes"] = [c.__dict__ for c in self.changes]
        return data


def _family(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def _flags(row: Registration) -> list[str]:
    flags = (row.vulnerabilities or {}).get("flags", [])
    return [str(f) for f in flags] if isinstance(flags, list) else []


async def get_registration(db: Database, registration_id: int) -> RegistrationDetail:
    async with db.session() as session:
        row = await session.get(Registration, registration_id)
        if row is None:
            raise NotFound(registration_id)
        contact = await session.get(Contact, row.contact_id) if row.contact_id else None
        changes = await session.execute(
            select(RegistrationChange, Operator.username)
            .outerjoin(Operator, Operator.id == RegistrationChange.operator_id)
            .where(RegistrationChange.registration_id == row.id)
            .order_by(RegistrationChange.id.desc())
        )
        history = [
            ChangeView(
                created_at=as_utc(change.created_at),
                operator=username or "",
                field=change.field,
                old_value=change.old_value or "",
                new_value=change.new_value or "",
            )
            for change, username in changes.all()
        ]
    return RegistrationDetail(
        id=row.id,
        reference=row.reference,
        full_name=row.full_name,
        country=row.country,
        age=row.age,
        birth_year=row.birth_year,
        sex=row.sex,
        phone=row.phone,
        city=row.city,
        detained=row.detained,
        detention_place=row.detention_place,
        document=row.document,
        passport_number=row.passport_number,
        family=_family(row.family),
        vulnerabilities=_flags(row),
        priority=row.priority,
        needs_review=row.needs_review,
        stage=row.stage,
        flight_date=as_utc(row.flight_date).date() if row.flight_date else None,
        language=row.language,
        channel=row.channel,
        contact=ContactView(contact.id, contact.channel, contact.language, contact.opted_out)
        if contact
        else None,
        collected_by_contact_id=row.collected_by_id,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        changes=history,
    )


# -- editing ------------------------------------------------------------------------------

_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")


class RegistrationEdit(BaseModel):
    """The fields an operator may change. Fields left out stay as they are; null clears."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str | None = Field(default=None, max_length=80)
    country: str | None = Field(default=None, description="ISO 3166 alpha-2, e.g. NG")
    age: int | None = Field(default=None, ge=0, le=110)
    birth_year: int | None = Field(default=None, ge=1900)
    sex: Literal["female", "male"] | None = None
    phone: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, description="A city of the canonical city list")
    detained: bool | None = None
    detention_place: str | None = Field(default=None, max_length=120)
    document: Literal["valid", "expired", "none", "lost"] | None = None
    passport_number: str | None = Field(default=None, max_length=20)
    priority: Literal["high", "medium", "normal"] | None = None
    needs_review: bool | None = None
    vulnerabilities: list[str] | None = None

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (
            sum(c.isalpha() for c in value) < 2 or any(c.isdigit() for c in value)
        ):
            raise ValueError("a name needs at least two letters and no digits")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return clean_country(value) if value is not None else None

    @field_validator("city")
    @classmethod
    def _city(cls, value: str | None) -> str | None:
        return clean_city(value) if value else None

    @field_validator("birth_year")
    @classmethod
    def _birth_year(cls, value: int | None) -> int | None:
        if value is not None and value > datetime.now(UTC).year:
            raise ValueError("a birth year cannot be in the future")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = parse_phone(value)
        if parsed is None:
            raise ValueError("not a phone number")
        return parsed

    @field_validator("passport_number")
    @classmethod
    def _passport(cls, value: str | None) -> str | None:
        if not value:
            return None
        compact = re.sub(r"[\s-]", "", value).upper()
        if not _PASSPORT.fullmatch(compact):
            raise ValueError("6 to 12 letters and digits")
        return compact

    @field_validator("vulnerabilities")
    @classmethod
    def _flags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(VULNERABILITY_FLAGS))
        if unknown:
            raise ValueError("unknown flags: " + ", ".join(unknown))
        return [f for f in VULNERABILITY_FLAGS if f in value]  # one order, no repeats


REQUIRED_FIELDS = ("full_name", "country")


def _shown(value: Any) -> str:
    """How a value is written in the change history."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


async def edit_registration(
    db: Database, registration_id: int, edit: RegistrationEdit, operator_id: int
) -> list[str]:
    """Apply the fields that differ; each becomes a RegistrationChange. Returns their names."""
    cleared = [
        f for f in REQUIRED_FIELDS if f in edit.model_fields_set and getattr(edit, f) is None
    ]
    if cleared:
        raise RecordError({f: "cannot be empty" for f in cleared})
    changed: list[str] = []
    async with db.session() as session, session.begin():
        row = await session.get(Registration, registration_id, with_for_update=not db.is_sqlite)
        if row is None:
            raise NotFound(registration_id)
        for name in (n for n in RegistrationEdit.model_fields if n in edit.model_fields_set):
            new = getattr(edit, name)
            old = _flags(row) if name == "vulnerabilities" else getattr(row, name)
            if new == old or (name == "vulnerabilities" and set(new or ()) == set(old)):
                continue
            changed.append(name)
            session.add(
                RegistrationChange(
                    registration_id=row.id,
                    operator_id=operator_id,
                    field=name,
                    old_value=_shown(old),
                    new_value=_shown(new),
                )
            )
            if name == "vulnerabilities":
                row.vulnerabilities = {**(row.vulnerabilities or {}), "flags": new}
            else:
                setattr(row, name, new)
        if not changed:
            return []
        if "phone" in changed:
            row.phone_hash = crypto.lookup_hash("phone", row.phone) if row.phone else None
        if {"full_name", "phone"} & set(changed):  # keep duplicate detection working
            row.dedup_hash = crypto.lookup_hash(
                "registration", normalize(row.full_name), row.phone or ""
            )
        if "detained" in changed and not row.detained and row.detention_place:
            # no longer detained: the place goes too (it is sensitive and now wrong)
            session.add(
                RegistrationChange(
                    registration_id=row.id,
                    operator_id=operator_id,
                    field="detention_place",
                    old_value=row.detention_place,
                    new_value="",
                )
            )
            changed.append("detention_place")
            row.detention_place = None
        session.add(
            AuditEvent(
                actor=f"operator:{operator_id}",
                action="registration.edited",
                subject=row.reference,
                details={"fields": changed},  # which fields, never their values
            )
        )
    return changed


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
            history.append(("flight_date", _shown(locked.flight_date), flight.isoformat()))
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


# -- embassy lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportQuery:
    """An embassy list: one nationality, registrations made within a date range."""

    nationality: str
    dates: DateRange
    stage: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], timezone: ZoneInfo) -> ExportQuery:
        errors: dict[str, str] = {}
        nationality = str(raw.get("nationality") or "").strip()
        stage = str(raw.get("stage") or "").strip() or None
        try:
            nationality = clean_country(nationality)
        except ValueError as exc:
            errors["nationality"] = str(exc)
        if stage is not None:
            try:
                clean_stage(stage)
            except ValueError as exc:
                errors["stage"] = str(exc)
        dates: DateRange | None = None
        try:
            dates = DateRange.parse(
                str(raw.get("date_from") or "") or None,
                str(raw.get("date_to") or "") or None,
                timezone,
            )
        except ValueError as exc:
            errors["date_from"] = str(exc)
        if dates is None and "date_from" not in errors:
            errors["date_from"] = "a date range is needed (date_from and date_to)"
        if errors or dates is None:
            raise RecordError(errors)
        return cls(nationality, dates, stage)

    def filters(self, timezone: ZoneInfo) -> list[Any]:
        start, end = self.dates.bounds(timezone)
        where = [
            Registration.country == self.nationality,
            Registration.created_at >= start,
            Registration.created_at < end,
        ]
        if self.stage:
            where.append(Registration.stage == self.stage)
        return where

    def as_dict(self) -> dict[str, str]:
        out = {
            "nationality": self.nationality,
            "date_from": self.dates.start.isoformat(),
            "date_to": self.dates.end.isoformat(),
        }
        if self.stage:
            out["stage"] = self.stage
        return out

    def filename(self) -> str:
        stage = f"-{self.stage}" if self.stage else ""
        return (
            f"embassy-{self.nationality}-{self.dates.start.isoformat()}"
            f"-{self.dates.end.isoformat()}{stage}.csv"
        )


def csv_safe(value: Any) -> str:
    """A cell spreadsheets will not run as a formula (OWASP: prefix with a quote)."""
    text = _shown(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def start_export(
    db: Database, query: ExportQuery, timezone: ZoneInfo, operator_id: int
) -> tuple[int, int]:
    """Count the rows, fix the snapshot (highest id) and audit the export before it streams:
    who, which filters, how many rows; never the content. Returns (rows, snapshot id)."""
    where = query.filters(timezone)
    async with db.session() as session, session.begin():
        count, last_id = (
            await session.execute(
                select(func.count(Registration.id), func.max(Registration.id)).where(*where)
            )
        ).one()
        session.add(
            AuditEvent(
                actor=f"operator:{operator_id}",
                action="registration.export",
                subject=query.nationality,
                details={**query.as_dict(), "rows": int(count or 0), "format": "embassy_csv"},
            )
        )
    return int(count or 0), int(last_id or 0)


async def embassy_csv(
    db: Database, query: ExportQuery, timezone: ZoneInfo, last_id: int
) -> AsyncIterator[bytes]:
    """The embassy list as UTF-8 CSV with a byte-order mark (Excel reads Arabic names right),
    in batches so a long list never sits whole in memory or holds a transaction open."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    where = [*query.filters(timezone), Registration.id <= last_id]
    after = 0
    while True:
        async with db.session() as session:
            rows = (
                await session.execute(
                    select(
                        Registration.id,
                        Registration.reference,
                        Registration.full_name,
                        Registration.sex,
                        Registration.age,
                        Registration.birth_year,
                        Registration.country,
                        Registration.city,
                        Registration.detained,
                        Registration.document,
                        Registration.passport_number,
                        Registration.family,
                        Registration.phone,
                    )
                    .where(*where, Registration.id > after)
                    .order_by(Registration.id)
                    .limit(_EXPORT_BATCH)
                )
            ).all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(
                csv_safe(v)
                for v in (
                    row.reference, row.full_name, row.sex, row.age, row.birth_year, row.country,
                    row.city, row.detained, row.document, row.passport_number,
                    len(_family(row.family)), row.phone,
                )
            )  # fmt: skip
        yield buffer.getvalue().encode("utf-8")
        after = rows[-1].id

