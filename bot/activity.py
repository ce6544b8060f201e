"""People per day, kept as messages arrive: the report's conversation figures.

A turn adds (day, contact) to `activity_days` in the transaction that stores the inbound
message (`bot.storage.turns`), the day taken in the operators' time zone. Counting distinct
people over a month then reads one small row per person and day instead of every message.

The table is filled from the messages the first time a report needs it, and again when the
operators' time zone changes (`report_state` remembers the zone it was filled in).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, cast, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.expression import Executable

from bot.storage.models import ActivityDay, Direction, Message, ReportState, as_utc

ZONE_STATE = "activity_zone"
_REBUILD_LOCK_KEY = 0x686F746C  # PostgreSQL advisory lock: one rebuild at a time across processes
_rebuild_lock = threading.Lock()  # and within this process


def activity_day(moment: datetime, zone: ZoneInfo) -> date:
    """The operators' calendar day of a moment (stored times are UTC)."""
    return as_utc(moment).astimezone(zone).date()


def filled_zone(connection: Connection) -> str | None:
    """The zone `activity_days` was filled in, or None if it never was."""
    return connection.execute(
        select(ReportState.value).where(ReportState.name == ZONE_STATE)
    ).scalar_one_or_none()


def ensure_activity_days(connection: Connection, zone: ZoneInfo) -> bool:
    """Fill `activity_days` from the messages unless it is already kept in `zone`.
    Returns whether it was rebuilt. `connection` is a synchronous one with no transaction.

    The rebuild is one transaction of INSERT … SELECT (the database does the work: about two
    seconds for a million messages on SQLite). While it runs, SQLite turns wait for the write
    lock; PostgreSQL turns go on and their own rows are kept."""
    if filled_zone(connection) == zone.key:
        connection.rollback()
        return False
    with _rebuild_lock:
        connection.rollback()  # the check's implicit transaction
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _REBUILD_LOCK_KEY})  # fmt: skip
            if filled_zone(connection) == zone.key:
                return False
            connection.execute(delete(ActivityDay))
            for statement in _fill_statements(connection, zone):
                connection.execute(statement)
            _remember_zone(connection, zone)
        return True


def _fill_statements(connection: Connection, zone: ZoneInfo) -> list[Executable]:
    inbound = Message.direction == Direction.INBOUND
    if connection.dialect.name == "postgresql":
        local_day = cast(func.timezone(zone.key, Message.created_at), Date)
        rows = select(local_day, Message.contact_id).where(inbound).distinct()
        return [
            postgresql_insert(ActivityDay)
            .from_select(["day", "contact_id"], rows)
            .on_conflict_do_nothing()
        ]
    # SQLite has no time zones: one statement per stretch of time with the same UTC offset
    first, last = connection.execute(
        select(func.min(Message.created_at), func.max(Message.created_at)).where(inbound)
    ).one()
    if first is None:
        return []
    statements: list[Executable] = []
    for start, end, offset in offset_stretches(as_utc(first), as_utc(last), zone):
        day_text = func.strftime("%Y-%m-%d", Message.created_at, f"{offset:+d} minutes")
        rows = (
            select(day_text, Message.contact_id)
            .where(inbound, Message.created_at >= start, Message.created_at < end)
            .distinct()
        )
        statements.append(
            sqlite_insert(ActivityDay)
            .from_select(["day", "contact_id"], rows)
            .on_conflict_do_nothing()
        )
    return statements


def offset_stretches(
    first: datetime, last: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime, int]]:
    """[start, end) stretches of UTC time covering first..last, each with one UTC offset of
    `zone` (minutes). Offsets change on the hour (or half hour) in every zone; stepping by a
    quarter of an hour finds each change."""
    step = timedelta(minutes=15)
    moment = first.replace(minute=first.minute - first.minute % 15, second=0, microsecond=0)
    stretches: list[tuple[datetime, datetime, int]] = []
    start, offset = moment, _offset(moment, zone)
    while moment <= last:
        moment += step
        now_offset = _offset(moment, zone)
        if now_offset != offset or moment > last:
            stretches.append((start, moment, offset))
            start, offset = moment, now_offset
    return stretches


def _offset(moment: datetime, zone: ZoneInfo) -> int:
    delta = moment.astimezone(zone).utcoffset() or timedelta(0)
    return int(delta.total_seconds() // 60)


def _remember_zone(connection: Connection, zone: ZoneInfo) -> None:
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReportState).values(name=ZONE_STATE, value=zone.key)
    connection.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": zone.key})
    )
