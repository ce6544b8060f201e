"""One registration as operators see it, with its change history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.registrations.common import NotFound
from bot.storage.db import Database
from bot.storage.models import (
    Contact,
    Operator,
    Registration,
    RegistrationChange,
    as_utc,
)

if TYPE_CHECKING:
    pass


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


def family_of(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def flags_of(row: Registration) -> list[str]:
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
        family=family_of(row.family),
        vulnerabilities=flags_of(row),
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
