"""Searching registrations. Names are encrypted at rest, so SQL never filters by them: a phone is
found by its keyed hash, and a name is matched by decrypting a bounded set of rows that the other
filters already selected (`NAME_SCAN_LIMIT`; the answer says when the set was cut).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.registrations.common import (
    MAX_PER_PAGE,
    NAME_SCAN_LIMIT,
    PRIORITIES,
    RecordError,
    clean_city,
    clean_country,
    clean_stage,
)
from bot.reports import DateRange
from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import (
    Registration,
    as_utc,
)
from nlu import parse_phone
from nlu.normalize import normalize

if TYPE_CHECKING:
    pass


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
