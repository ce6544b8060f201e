"""People per day, kept as messages arrive: the report's conversation figures.

A turn adds (day, contact) to `activity_days` in the transaction that stores the inbound
message (`bot.storage.turns`), the day taken in the operators' time zone. Counting distinct
people over a month then reads one small row per person and day instead of every message.

The table is filled from the messages the first time a report needs it, and again when the
operators' time zone changes (`report_state` remembers the zone it was filled in). The rebuild
reads the messages without holding the database's write lock, then swaps the rows in one short
transaction that also takes in the messages that arrived meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.storage.models import ActivityDay, Direction, Message, ReportState, as_utc

ZONE_STATE = "activity_zone"
_BATCH = 5_000
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
    Returns whether it was rebuilt. `connection` is a synchronous one with no transaction."""
    if filled_zone(connection) == zone.key:
        return False
    with _rebuild_lock:
        if filled_zone(connection) == zone.key:
            connection.rollback()
            return False
        connection.rollback()  # the check's implicit transaction: read afresh below
        last_id, days = _read_days(connection, zone, after_id=0)
        connection.rollback()  # end the read; the swap below is one short transaction
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _REBUILD_LOCK_KEY})  # fmt: skip
                if filled_zone(connection) == zone.key:
                    return False
            connection.execute(delete(ActivityDay))
            _insert(connection, days)
            # what arrived while the messages were read (turns wrote their own rows too, but
            # the delete above may have taken them)
            _, late = _read_days(connection, zone, after_id=last_id)
            _insert(connection, late)
            _remember_zone(connection, zone)
        return True


def _read_days(
    connection: Connection, zone: ZoneInfo, *, after_id: int
) -> tuple[int, set[tuple[date, int]]]:
    days: set[tuple[date, int]] = set()
    last_id = after_id
    rows = connection.execute(
        select(Message.id, Message.contact_id, Message.created_at)
        .where(Message.direction == Direction.INBOUND, Message.id > after_id)
        .execution_options(yield_per=_BATCH)
    )
    for message_id, contact_id, created_at in rows:
        days.add((activity_day(created_at, zone), contact_id))
        last_id = max(last_id, message_id)
    return last_id, days


def _insert(connection: Connection, days: Iterable[tuple[date, int]]) -> None:
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ActivityDay).on_conflict_do_nothing()
    batch: list[dict[str, object]] = []
    for day, contact_id in days:
        batch.append({"day": day, "contact_id": contact_id})
        if len(batch) >= _BATCH:
            connection.execute(statement, batch)
            batch = []
    if batch:
        connection.execute(statement, batch)


def _remember_zone(connection: Connection, zone: ZoneInfo) -> None:
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReportState).values(name=ZONE_STATE, value=zone.key)
    connection.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": zone.key})
    )
