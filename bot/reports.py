"""Numbers for supervisors: conversations and calls, who the people are, registrations, and how
long people wait for an operator — over a date range in the operators' time zone.

People who wrote are counted from `activity_days`, one row per person and day kept as messages
arrive (`bot.activity`), never from the messages themselves. Calls are counted in SQL with a
dialect-aware day expression: PostgreSQL converts each time to the zone exactly; SQLite adds
the zone's offset at the start of the range (exact for zones without daylight saving, such as
Africa/Tripoli). Handoff times are few per day and are bucketed in Python.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnElement

from bot.activity import ensure_activity_days
from bot.storage.db import Database, sync_url
from bot.storage.models import ActivityDay, Call, Contact, Handoff, Registration, as_utc

MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30
UNKNOWN = "unknown"
NOT_REGISTERED = "not registered"


@dataclass(frozen=True)
class DateRange:
    """Whole days, both ends included, in the operators' time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")

    @classmethod
    def last_days(cls, days: int, timezone: ZoneInfo, today: date | None = None) -> DateRange:
        today = today or datetime.now(timezone).date()
        return cls(today - timedelta(days=days - 1), today)

    @classmethod
    def parse(
        cls, date_from: str | None, date_to: str | None, timezone: ZoneInfo
    ) -> DateRange | None:
        """From ISO dates (YYYY-MM-DD); None when neither is given. Raises ValueError."""
        if not date_from and not date_to:
            return None
        try:
            start = date.fromisoformat(date_from) if date_from else None
            end = date.fromisoformat(date_to) if date_to else None
        except ValueError:
            raise ValueError("dates are written YYYY-MM-DD") from None
        end = end or datetime.now(timezone).date()
        return cls(start or date(2000, 1, 1), end)

    def bounds(self, timezone: ZoneInfo) -> tuple[datetime, datetime]:
        """[first moment, moment after the last day) in UTC."""
        first = datetime.combine(self.start, time.min, tzinfo=timezone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone)
        return first.astimezone(UTC), after.astimezone(UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1


_ENGINES: dict[str, Engine] = {}


def report_range(date_from: str | None, date_to: str | None, timezone: ZoneInfo) -> DateRange:
    """The report's range: the last 30 days unless given; at most a year."""
    dates = DateRange.parse(date_from, date_to, timezone)
    if dates is None:
        return DateRange.last_days(DEFAULT_REPORT_DAYS, timezone)
    if date_from is None:  # only an end: the 30 days up to it
        dates = DateRange(dates.end - timedelta(days=DEFAULT_REPORT_DAYS - 1), dates.end)
    if dates.length > MAX_REPORT_DAYS:
        raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")
    return dates


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class TimeStats:
    """Minutes from a case's opening, for the cases opened on one day."""

    day: date
    cases: int  # cases opened that day
    answered: int  # cases the times below were measured on
    median_minutes: float | None
    p90_minutes: float | None


@dataclass
class Report:
    dates: DateRange
    timezone: str
    days: list[date]
    conversations_by_day: list[int]
    calls_by_day: list[int]
    conversations_by_channel: list[tuple[str, int]]
    conversations_by_language: list[tuple[str, int]]
    calls_by_language: list[tuple[str, int]]
    people_by_sex: list[tuple[str, int]]  # people who wrote or called, from their registration
    people_by_nationality: list[tuple[str, int]]
    registrations_by_nationality: list[tuple[str, int]]
    registrations_by_city: list[tuple[str, int]]
    registrations_by_stage: list[tuple[str, int]]
    waiting: list[TimeStats]  # opened → claimed or first answer, whichever came first
    first_response: list[TimeStats]  # opened → first answer
    totals: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        def pairs(items: list[tuple[str, int]]) -> list[dict[str, Any]]:
            return [{"label": label, "count": count} for label, count in items]

        def times(items: list[TimeStats]) -> list[dict[str, Any]]:
            return [{**asdict(t), "day": t.day.isoformat()} for t in items]

        return {
            "date_from": self.dates.start.isoformat(),
            "date_to": self.dates.end.isoformat(),
            "timezone": self.timezone,
            "totals": self.totals,
            "by_day": [
                {"day": d.isoformat(), "conversations": c, "calls": k}
                for d, c, k in zip(
                    self.days, self.conversations_by_day, self.calls_by_day, strict=True
                )
            ],
            "conversations_by_channel": pairs(self.conversations_by_channel),
            "conversations_by_language": pairs(self.conversations_by_language),
            "calls_by_language": pairs(self.calls_by_language),
            "people_by_sex": pairs(self.people_by_sex),
            "people_by_nationality": pairs(self.people_by_nationality),
            "registrations_by_nationality": pairs(self.registrations_by_nationality),
            "registrations_by_city": pairs(self.registrations_by_city),
            "registrations_by_stage": pairs(self.registrations_by_stage),
            "handoff_waiting": times(self.waiting),
            "handoff_first_response": times(self.first_response),
        }


def _local_day(db: Database, column: Any, dates: DateRange, timezone: ZoneInfo) -> Any:
    """SQL for the local calendar day (YYYY-MM-DD) of a stored UTC time."""
    if db.is_sqlite:
        moment = datetime.combine(dates.start, time(12), tzinfo=timezone)
        offset = moment.utcoffset() or timedelta(0)
        return func.strftime("%Y-%m-%d", column, f"{int(offset.total_seconds() // 60):+d} minutes")
    return func.to_char(func.timezone(timezone.key, column), "YYYY-MM-DD")


def _ranked(counter: Counter[str], order: Iterable[str] | None = None) -> list[tuple[str, int]]:
    """Biggest first, or in a given order (stages) with the rest after."""
    if order is None:
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    known = [(k, counter[k]) for k in order if counter.get(k)]
    rest = sorted((kv for kv in counter.items() if kv[0] not in set(order)), key=lambda kv: kv[0])
    return known + rest


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (as_utc(end) - as_utc(start)).total_seconds() / 60)


def _time_stats(
    days: list[date], samples: dict[date, list[float]], opened: Counter[date]
) -> list[TimeStats]:
    out = []
    for day in days:
        values = samples.get(day, [])
        median = percentile(values, 50)
        p90 = percentile(values, 90)
        out.append(
            TimeStats(
                day=day,
                cases=opened.get(day, 0),
                answered=len(values),
                median_minutes=round(median, 1) if median is not None else None,
                p90_minutes=round(p90, 1) if p90 is not None else None,
            )
        )
    return out


async def build_report(db: Database, dates: DateRange, timezone: ZoneInfo) -> Report:
    """The report's figures. Built in a worker thread on a connection of its own: the rows
    of a busy month are many, and the event loop (the bot's turns) must not wait for them."""
    return await asyncio.to_thread(_build_report, db, dates, timezone)


def _engine(db: Database) -> Engine:
    """A synchronous engine for the report thread, one per database, no pooled connections."""
    url = str(db.url)
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(sync_url(url), poolclass=NullPool)
    return engine


def _build_report(db: Database, dates: DateRange, timezone: ZoneInfo) -> Report:
    from flows.case_status import STAGES

    start, end = dates.bounds(timezone)
    days = dates.days()
    day_index = {d.isoformat(): i for i, d in enumerate(days)}

    def in_range(
        column: ColumnElement[Any] | InstrumentedAttribute[Any],
    ) -> list[ColumnElement[bool]]:
        return [column >= start, column < end]

    # Counted in SQL; people per day from the activity kept as messages arrive (bot.activity)
    first_day, after_last = dates.start, dates.end + timedelta(days=1)
    active = [ActivityDay.day >= first_day, ActivityDay.day < after_last]
    call_day = _local_day(db, Call.started_at, dates, timezone)
    # everyone who wrote or called in the period (wrote: 1 if they wrote), their newest
    # registration found through the index on registrations' contact
    everyone = (
        select(ActivityDay.contact_id.label("contact_id"), literal(1).label("wrote"))
        .where(*active)
        .union_all(
            select(Call.contact_id, literal(0)).where(
                *in_range(Call.started_at), Call.contact_id.is_not(None)
            )
        )
        .subquery()
    )
    people_q = (
        select(everyone.c.contact_id, func.max(everyone.c.wrote).label("wrote"))
        .group_by(everyone.c.contact_id)
        .subquery()
    )
    theirs = aliased(Registration)
    newest = (
        select(func.max(theirs.id))
        .where(theirs.contact_id == people_q.c.contact_id)
        .correlate(people_q)
        .scalar_subquery()
    )
    with _engine(db).connect() as session:
        ensure_activity_days(session, timezone)
        per_day = session.execute(
            select(ActivityDay.day, func.count()).where(*active).group_by(ActivityDay.day)
        ).all()
        calls = session.execute(
            select(call_day, Call.language, func.count())
            .where(*in_range(Call.started_at))
            .group_by(call_day, Call.language)
        ).all()
        people_rows = session.execute(
            select(
                people_q.c.wrote,
                Contact.channel,
                Contact.language,
                Registration.id.is_not(None),
                Registration.sex,
                Registration.country,
                func.count(),
            )
            .select_from(people_q)
            .join(Contact, Contact.id == people_q.c.contact_id)
            .outerjoin(Registration, Registration.id == newest)
            .group_by(
                people_q.c.wrote,
                Contact.channel,
                Contact.language,
                Registration.id.is_not(None),
                Registration.sex,
                Registration.country,
            )
        ).all()
        registrations = session.execute(
            select(Registration.country, Registration.city, Registration.stage, func.count())
            .where(*in_range(Registration.created_at))
            .group_by(Registration.country, Registration.city, Registration.stage)
        ).all()
        handoffs = session.execute(
            select(Handoff.created_at, Handoff.claimed_at, Handoff.first_response_at).where(
                *in_range(Handoff.created_at)
            )
        ).all()

    conversations_by_day = [0] * len(days)
    for day, count in per_day:
        key = day.isoformat() if isinstance(day, date) else str(day)
        if key in day_index:
            conversations_by_day[day_index[key]] = int(count)
    calls_by_day = [0] * len(days)
    calls_by_language: Counter[str] = Counter()
    for day, language, count in calls:
        if day in day_index:
            calls_by_day[day_index[day]] += count
        calls_by_language[language or UNKNOWN] += count

    by_channel: Counter[str] = Counter()
    by_language: Counter[str] = Counter()
    sexes: Counter[str] = Counter()
    nationalities: Counter[str] = Counter()
    people = writers = 0
    for wrote, channel, language, registered, sex, country, count in people_rows:
        people += count
        sexes[sex or (UNKNOWN if registered else NOT_REGISTERED)] += count
        nationalities[country if registered else NOT_REGISTERED] += count
        if wrote:
            writers += count
            by_channel[channel] += count
            by_language[language or UNKNOWN] += count

    reg_country: Counter[str] = Counter()
    reg_city: Counter[str] = Counter()
    reg_stage: Counter[str] = Counter()
    for country, city, stage, count in registrations:
        reg_country[country] += count
        reg_city[city or UNKNOWN] += count
        reg_stage[stage] += count

    opened: Counter[date] = Counter()
    waiting: dict[date, list[float]] = defaultdict(list)
    first: dict[date, list[float]] = defaultdict(list)
    for created, claimed, answered in handoffs:
        day = as_utc(created).astimezone(timezone).date()
        opened[day] += 1
        taken = [t for t in (claimed, answered) if t is not None]
        if taken:
            waiting[day].append(_minutes(created, min(as_utc(t) for t in taken)))
        if answered is not None:
            first[day].append(_minutes(created, answered))

    return Report(
        dates=dates,
        timezone=timezone.key,
        days=days,
        conversations_by_day=conversations_by_day,
        calls_by_day=calls_by_day,
        conversations_by_channel=_ranked(by_channel),
        conversations_by_language=_ranked(by_language),
        calls_by_language=_ranked(calls_by_language),
        people_by_sex=_ranked(sexes),
        people_by_nationality=_ranked(nationalities),
        registrations_by_nationality=_ranked(reg_country),
        registrations_by_city=_ranked(reg_city),
        registrations_by_stage=_ranked(reg_stage, STAGES),
        waiting=_time_stats(days, waiting, opened),
        first_response=_time_stats(days, first, opened),
        totals={
            "conversations": writers,
            "calls": sum(calls_by_day),
            "people": people,
            "registrations": sum(reg_country.values()),
            "handoffs": sum(opened.values()),
        },
    )
