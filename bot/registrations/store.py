"""Return registrations (cases): create without duplicates, find by reference or phone."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.registrations.common import dedup_parts as registration_dedup_parts
from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import AuditEvent, Contact, Registration

# Easy to read out and to type: no 0/O, 1/I/L, 2/Z, 5/S, 8/B. Three letters and three digits,
# so the NLU's case-reference pattern recognises it even without the "LY-" prefix.
LETTERS = "ACDEFHJKMNPRTUVWXY"
DIGITS = "234679"
KEYPAD = {
    **{c: "2" for c in "ABC"}, **{c: "3" for c in "DEF"}, **{c: "4" for c in "GHI"},
    **{c: "5" for c in "JKL"}, **{c: "6" for c in "MNO"}, **{c: "7" for c in "PQRS"},
    **{c: "8" for c in "TUV"}, **{c: "9" for c in "WXYZ"},
}  # fmt: skip


def new_reference() -> str:
    kinds = ["L", "L", "L", "D", "D", "D"]
    secrets.SystemRandom().shuffle(kinds)
    core = "".join(secrets.choice(LETTERS if k == "L" else DIGITS) for k in kinds)
    return f"LY-{core}"


def keypad_form(reference: str) -> str:
    """The digits a caller presses for a reference ("LY-7K3M9Q" → "753697")."""
    core = reference.upper().removeprefix("LY-").removeprefix("LY")
    return "".join(KEYPAD.get(c, c) for c in core if c.isalnum())


@dataclass(frozen=True, slots=True)
class CaseView:
    reference: str
    stage: str
    flight_date: date | None
    birth_year: int | None
    language: str | None


@dataclass(frozen=True, slots=True)
class NewCase:
    reference: str
    existing: bool
    id: int | None = None  # the registration's row


def _view(row: Registration) -> CaseView:
    return CaseView(
        reference=row.reference,
        stage=row.stage,
        flight_date=row.flight_date.date() if row.flight_date else None,
        birth_year=row.birth_year,
        language=row.language,
    )


class RegistrationStore:
    """What flows may do with registrations (flows.base.RegistrationService)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(
        self,
        *,
        answers: dict[str, Any],
        contact_id: int | None,
        collected_by: int | None,
        priority: str,
        vulnerabilities: list[str],
        needs_review: bool,
        language: str,
        channel: str,
    ) -> NewCase:
        phone = answers.get("phone")
        dedup_parts = registration_dedup_parts(
            answers["name"], phone, contact_id, collected_by, answers.get("age")
        )
        dedup = crypto.lookup_hash(*dedup_parts)
        async with self.db.session() as session:
            existing = await session.scalar(
                select(Registration.reference)
                .where(Registration.dedup_hash.in_(crypto.lookup_hashes(*dedup_parts)))
                .limit(1)
            )
            if existing is not None:
                return NewCase(existing, True)
        for _ in range(5):  # a clash of random references is rare; try another
            reference = new_reference()
            row = Registration(
                reference=reference,
                reference_keypad=keypad_form(reference),
                contact_id=contact_id,
                collected_by_id=collected_by,
                dedup_hash=dedup,
                phone_hash=crypto.lookup_hash("phone", phone) if phone else None,
                full_name=answers["name"],
                country=answers["country"],
                age=answers.get("age"),
                birth_year=answers.get("birth_year"),
                sex=answers.get("sex"),
                phone=phone,
                city=answers.get("city"),
                detained=bool(answers.get("detained")),
                detention_place=answers.get("detention_place"),
                document=answers.get("document"),
                passport_number=answers.get("passport_number"),
                family=json.dumps(answers.get("family", []), ensure_ascii=False),
                vulnerabilities={"flags": vulnerabilities},
                priority=priority,
                needs_review=needs_review,
                language=language,
                channel=channel,
            )
            async with self.db.session() as session:
                session.add(row)
                if contact_id is not None and row.city:
                    # the operators' queue filters people by where they are
                    await session.execute(
                        update(Contact).where(Contact.id == contact_id).values(city=row.city)
                    )
                session.add(
                    AuditEvent(
                        actor=f"contact:{collected_by or contact_id}",
                        action="registration.created",
                        subject=reference,
                        details={"country": row.country, "priority": priority},
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    continue
            return NewCase(reference, False, row.id)
        raise RuntimeError("could not allocate a case reference")

    async def by_reference(self, reference: str) -> CaseView | None:
        digits = keypad_form(reference)
        async with self.db.session() as session:
            row = await session.scalar(
                select(Registration).where(Registration.reference == reference.upper())
            )
            if row is None and digits.isdigit():
                rows = list(
                    await session.scalars(
                        select(Registration).where(Registration.reference_keypad == digits)
                    )
                )
                row = rows[0] if len(rows) == 1 else None  # two cases share keys: ask a person
            return _view(row) if row else None

    async def by_phone(self, phone: str) -> list[CaseView]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Registration)
                .where(Registration.phone_hash.in_(crypto.lookup_hashes("phone", phone)))
                .order_by(Registration.id.desc())
            )
            return [_view(row) for row in rows]

    async def collected_today(self, collected_by: int) -> list[tuple[str, str]]:
        start = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
        async with self.db.session() as session:
            rows = await session.execute(
                select(Registration.reference, Registration.full_name)
                .where(Registration.collected_by_id == collected_by)
                .where(Registration.created_at >= start)
                .order_by(Registration.id)
            )
            return [(ref, name) for ref, name in rows.all()]

    async def count(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(Registration)) or 0)

    async def erase_for(self, session: AsyncSession, contact_id: int) -> dict[str, int]:
        """Erase hook: a person's own registrations go with their data."""
        result = await session.execute(
            delete(Registration).where(Registration.contact_id == contact_id)
        )
        return {"registrations": int(getattr(result, "rowcount", 0) or 0)}
