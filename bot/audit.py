"""The audit trail, read side: filters by actor, action and date, pages of events, actors'
names. Events are written by the actions themselves (`bot.access.audit`, or an AuditEvent in
the action's own transaction); nothing reads and writes here, and no code outside migrations
updates or deletes them (a test walks every route and the source to hold that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.accounts import Accounts
from bot.storage.db import Database
from bot.storage.models import AuditEvent, as_utc

PAGE_SIZE = 50


# what the trail records, for the filter's choices (a prefix ending in "." matches a group)
ACTION_GROUPS = (
    "registration.",
    "registration.viewed",
    "registration.edited",
    "registration.stage",
    "registration.export",
    "registration.search",
    "contact.erased",
    "contact.address_viewed",
    "contact.role",
    "signin",
    "signin.failed",
    "signout",
    "second_factor.",
    "operator.",
    "operator.role",
    "token.",
    "handoff.",
    "broadcast.",
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None  # "operator:12", "system", "contact", "unknown", "cli"
    action: str | None = None  # exact, or a prefix ending in "."
    date_from: date | None = None
    date_to: date | None = None

    def conditions(self, zone: ZoneInfo) -> list[Any]:
        where: list[Any] = []
        if self.actor:
            where.append(AuditEvent.actor == self.actor)
        if self.action:
            if self.action.endswith("."):
                where.append(AuditEvent.action.startswith(self.action, autoescape=True))
            else:
                where.append(AuditEvent.action == self.action)
        if self.date_from:
            where.append(AuditEvent.created_at >= datetime.combine(self.date_from, time(), zone))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), zone)
            where.append(AuditEvent.created_at < end)
        return where

    def as_query(self) -> dict[str, str]:
        values = {
            "actor": self.actor or "",
            "action": self.action or "",
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


async def read_audit(
    db: Database, query: AuditFilter, zone: ZoneInfo, *, page: int = 1, size: int = PAGE_SIZE
) -> AuditPage:
    where = query.conditions(zone)
    async with db.session() as session:
        total = int(
            await session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
        )
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        rows = await session.scalars(
            select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
        return AuditPage(
            [
                AuditRow(
                    id=row.id,
                    created_at=as_utc(row.created_at) or row.created_at,
                    actor=row.actor,
                    action=row.action,
                    subject=row.subject,
                    details=dict(row.details or {}),
                )
                for row in rows
            ],
            total,
            page,
            pages,
        )


async def actor_names(db: Database) -> dict[str, str]:
    names = {f"operator:{i}": name for i, name in (await Accounts(db).names()).items()}
    names.update(
        system="system",
        contact="the person (chat)",
        cli="command line",
        unknown="unknown account",
    )
    return names
