"""Editing a registration: validated fields, the history of what changed (names of fields, old
and new values encrypted), audited.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.registrations.common import (
    VULNERABILITY_FLAGS,
    NotFound,
    RecordError,
    clean_city,
    clean_country,
    dedup_parts,
    shown,
)
from bot.registrations.detail import flags_of
from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Registration,
    RegistrationChange,
)
from nlu import parse_phone

if TYPE_CHECKING:
    pass


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
            old = flags_of(row) if name == "vulnerabilities" else getattr(row, name)
            if new == old or (name == "vulnerabilities" and set(new or ()) == set(old)):
                continue
            changed.append(name)
            session.add(
                RegistrationChange(
                    registration_id=row.id,
                    operator_id=operator_id,
                    field=name,
                    old_value=shown(old),
                    new_value=shown(new),
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
        if {"full_name", "phone", "age"} & set(changed):  # keep duplicate detection working
            row.dedup_hash = crypto.lookup_hash(
                *dedup_parts(row.full_name, row.phone, row.contact_id, row.collected_by_id, row.age)
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
