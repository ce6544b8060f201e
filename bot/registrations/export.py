"""Embassy lists for nationality screening: minimal columns, UTF-8 with BOM, formula-safe."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.registrations.common import RecordError, clean_country, clean_stage, shown
from bot.registrations.detail import family_of
from bot.reports import DateRange
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Registration,
)

if TYPE_CHECKING:
    pass

# Embassy list columns: what nationality screening needs, nothing more (data minimisation).
EXPORT_COLUMNS = (
    "reference", "full_name", "sex", "age", "birth_year", "nationality", "city", "detained",
    "document", "passport_number", "family_count", "phone",
)  # fmt: skip
CSV_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXPORT_BATCH = 500


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
    text = shown(value)
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
                    len(family_of(row.family)), row.phone,
                )
            )  # fmt: skip
        yield buffer.getvalue().encode("utf-8")
        after = rows[-1].id
