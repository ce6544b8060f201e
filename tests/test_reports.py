"""Reports: the numbers on seeded data (days in the operators' time zone, on SQLite and
PostgreSQL), the charts and their tables, the JSON API, and who may see them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import delete, select

from bot.activity import offset_stretches
from bot.console.reports import day_chart, horizontal_bars, nice_ceiling
from bot.messages import InboundMessage
from bot.reports import DateRange, build_report, percentile, report_range
from bot.runtime import Runtime
from bot.storage.models import (
    ActivityDay,
    Call,
    Contact,
    Direction,
    Handoff,
    Message,
    MessageStatus,
    ReportState,
)
from tests.console_support import api_token, create_operator, sign_in
from tests.test_records import person, register

TRIPOLI = ZoneInfo("Africa/Tripoli")  # UTC+2 all year
MARCH = DateRange(date(2025, 3, 1), date(2025, 3, 3))


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


async def seed(runtime: Runtime) -> None:
    a = await person(runtime, "telegram", "2001", language="ar")
    b = await person(runtime, "sms", "+218920000001", language="en")
    c = await person(runtime, "rest", "report-c", language="fr")
    d = await person(runtime, "whatsapp", "+218920000002", language="ha")
    e = await person(runtime, "voice", "+218920000003", language="en")
    await register(runtime, "A", country="NG", sex="female", city="Sebha", contact_id=a,
                   created_at=utc(1, 10))  # fmt: skip
    await register(runtime, "B", country="NG", sex="male", city="Tripoli", contact_id=b,
                   stage="screening", created_at=utc(2, 10))  # fmt: skip
    await register(runtime, "C", country="ML", sex=None, city="Tripoli", contact_id=c,
                   created_at=utc(3, 10))  # fmt: skip
    await register(runtime, "Old", country="SD", created_at=utc(1, 10, month=2))
    inbound = [
        (a, "telegram", utc(1, 10)),
        (a, "telegram", utc(1, 11)),  # the same person the same day counts once
        (a, "telegram", utc(2, 10)),
        (b, "sms", utc(1, 23, 30)),  # 01:30 on the 2nd in Tripoli
        (c, "rest", utc(3, 9)),
        (d, "whatsapp", utc(28, 10, month=2)),  # before the range
        (d, "whatsapp", utc(3, 22, 30)),  # 00:30 on the 4th in Tripoli: after it
    ]
    async with runtime.db.session() as session, session.begin():
        for contact_id, channel, moment in inbound:
            session.add(
                Message(
                    contact_id=contact_id,
                    channel=channel,
                    direction=Direction.INBOUND,
                    text="hi",
                    status=MessageStatus.PROCESSED,
                    created_at=moment,
                )
            )
        session.add(  # answers are not conversations
            Message(
                contact_id=a,
                channel="telegram",
                direction=Direction.OUTBOUND,
                text="reply",
                status=MessageStatus.SENT,
                created_at=utc(1, 10),
            )
        )
        session.add_all([
            Call(call_sid="CA1", contact_id=e, language="en", started_at=utc(2, 10)),
            Call(call_sid="CA2", contact_id=None, language="ha", started_at=utc(2, 12)),
            Call(call_sid="CA3", contact_id=e, language=None, started_at=utc(3, 10)),
            Call(call_sid="CA4", contact_id=e, language="en", started_at=utc(5, 10)),
        ])  # fmt: skip
        session.add_all([
            Handoff(contact_id=a, reason="asked", channel="telegram", created_at=utc(1, 10),
                    claimed_at=utc(1, 10, 4), first_response_at=utc(1, 10, 10),
                    status="closed", closed_at=utc(1, 11)),  # one active case per person
            Handoff(contact_id=b, reason="asked", channel="sms", created_at=utc(1, 12),
                    first_response_at=utc(1, 12, 20)),
            Handoff(contact_id=c, reason="asked", channel="rest", created_at=utc(1, 14)),
            Handoff(contact_id=a, reason="triage", channel="telegram", created_at=utc(2, 10),
                    claimed_at=utc(2, 10, 30)),
        ])  # fmt: skip


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert percentile([4, 20], 50) == 12
    assert percentile([4, 20], 90) == pytest.approx(18.4)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)


def test_report_ranges() -> None:
    default = report_range(None, None, TRIPOLI)
    assert default.length == 30 and default.end == datetime.now(TRIPOLI).date()
    assert report_range(None, "2025-03-31", TRIPOLI).start == date(2025, 3, 2)
    with pytest.raises(ValueError, match="at most"):
        report_range("2020-01-01", "2025-01-01", TRIPOLI)
    with pytest.raises(ValueError):
        report_range("2025-03-05", "2025-03-01", TRIPOLI)
    start, end = MARCH.bounds(TRIPOLI)
    assert (start, end) == (utc(28, 22, month=2), utc(3, 22))


async def test_report_numbers_on_seeded_data(runtime: Runtime) -> None:
    await seed(runtime)
    report = await build_report(runtime.db, MARCH, TRIPOLI)
    assert report.days == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    assert report.conversations_by_day == [1, 2, 1]
    assert report.calls_by_day == [0, 2, 1]
    assert report.conversations_by_channel == [("rest", 1), ("sms", 1), ("telegram", 1)]
    assert report.conversations_by_language == [("ar", 1), ("en", 1), ("fr", 1)]
    assert report.calls_by_language == [("en", 1), ("ha", 1), ("unknown", 1)]
    assert dict(report.people_by_sex) == {
        "female": 1, "male": 1, "unknown": 1, "not registered": 1
    }  # fmt: skip
    assert dict(report.people_by_nationality) == {"NG": 2, "ML": 1, "not registered": 1}
    assert report.registrations_by_nationality == [("NG", 2), ("ML", 1)]
    assert report.registrations_by_city == [("Tripoli", 2), ("Sebha", 1)]
    assert report.registrations_by_stage == [("registered", 2), ("screening", 1)]
    first_day, second_day, third_day = report.waiting
    assert (first_day.cases, first_day.answered) == (3, 2)
    assert (first_day.median_minutes, first_day.p90_minutes) == (12.0, 18.4)
    assert (second_day.median_minutes, second_day.p90_minutes) == (30.0, 30.0)
    assert third_day.median_minutes is None and third_day.cases == 0
    assert [(t.median_minutes, t.p90_minutes) for t in report.first_response] == [
        (15.0, 19.0), (None, None), (None, None)
    ]  # fmt: skip
    assert report.totals == {
        "conversations": 3, "calls": 3, "people": 4, "registrations": 3, "handoffs": 4
    }  # fmt: skip
    as_json = report.as_json()
    assert as_json["by_day"][1] == {"day": "2025-03-02", "conversations": 2, "calls": 2}
    assert as_json["handoff_waiting"][0]["p90_minutes"] == 18.4


def test_charts_are_plain_svg_shapes_with_their_numbers() -> None:
    bars = horizontal_bars("x", "By city", ["Sebha", "<Tripoli>"], [("people", [3, 12])])
    assert [r.value for r in bars.rects] == [3, 12]
    assert bars.rects[1].width > bars.rects[0].width * 3.9  # to scale
    assert bars.rows == [["Sebha", "3"], ["<Tripoli>", "12"]]
    days = [date(2025, 3, d) for d in (1, 2, 3)]
    lines = day_chart("t", "Times", days, [("median", [5.0, None, 7.5])], kind="lines")
    assert lines.lines == []  # a gap splits the line; single points stay as dots
    assert [d.value for d in lines.dots] == [5.0, 7.5]
    assert lines.rows[1] == ["2025-03-02", "–"]
    assert nice_ceiling(0) == 1 and nice_ceiling(7) == 10 and nice_ceiling(12) == 20


# -- routes -------------------------------------------------------------------------------


async def test_reports_page_and_api(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await seed(runtime)
    supervisor = await create_operator(runtime, "sara", "supervisor")
    operator = await create_operator(runtime, "olu", "operator")
    await sign_in(client, "sara", "correct horse battery 1")
    page = await client.get("/console/reports", params={"date_from": "2025-03-01",
                                                        "date_to": "2025-03-03"})  # fmt: skip
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "<script" not in page.text and "style=" not in page.text  # nothing the CSP blocks
    assert page.text.count('class="chart-svg"') == 10  # every chart has data in March
    svgs = dict(re.findall(r'data-chart="([\w-]+)">(.*?)</svg>', page.text, re.S))
    day_bars = re.findall(r'class="bar"[^>]*data-value="([\d.]+)"', svgs["by-day"])
    assert sorted(float(v) for v in day_bars) == [1, 1, 1, 2, 2]  # talks 1 2 1, calls 2 1
    assert len(re.findall(r'class="point"', svgs["waiting"])) == 4  # median and p90, two days
    assert "<title>Nigeria, registrations: 2</title>" in svgs["registrations-nationality"]
    assert '<th scope="row">Nigeria</th><td>2</td>' in page.text  # the table beside it
    bad = await client.get("/console/reports", params={"date_from": "2020-01-01",
                                                       "date_to": "2025-01-01"})  # fmt: skip
    assert bad.status_code == 422 and "at most" in bad.text
    auth = {"authorization": f"Bearer {await api_token(runtime, supervisor)}"}
    api = await client.get(
        "/api/v1/reports", headers=auth, params={"date_from": "2025-03-01", "date_to": "2025-03-03"}
    )
    assert api.status_code == 200 and api.json()["totals"]["people"] == 4
    assert api.json()["registrations_by_stage"][0] == {"label": "registered", "count": 2}
    default = await client.get("/api/v1/reports", headers=auth)
    assert default.status_code == 200 and len(default.json()["by_day"]) == 30
    # operators see no reports
    op_auth = {"authorization": f"Bearer {await api_token(runtime, operator)}"}
    assert (await client.get("/api/v1/reports", headers=op_auth)).status_code == 403
    client.cookies.clear()  # signed out
    assert (await client.get("/api/v1/reports")).status_code == 401
    assert (await client.get("/console/reports")).status_code == 303


async def activity(runtime: Runtime) -> list[tuple[date, int]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(ActivityDay.day, ActivityDay.contact_id).order_by(ActivityDay.day)
        )
        return [(day, contact_id) for day, contact_id in rows.all()]


async def test_a_turn_counts_the_person_once_a_day_on_the_operators_calendar(
    runtime: Runtime,
) -> None:
    def said(text: str, sid: str) -> InboundMessage:
        return InboundMessage("rest", "report-day", text, provider_message_id=sid)

    await runtime.engine.handle(said("hello", "d-1"))
    await runtime.engine.handle(said("I want to go home", "d-2"))
    await runtime.engine.handle(said("hello", "d-1"))  # a repeated delivery
    contact = await runtime.store.contact_for("rest", "report-day")
    today = datetime.now(TRIPOLI).date()  # the runtime's operator_timezone
    assert await activity(runtime) == [(today, contact.id)]
    # the report reads what the turns kept: no rebuild from the messages
    report = await build_report(runtime.db, DateRange(today, today), TRIPOLI)
    assert report.conversations_by_day == [1]
    assert report.conversations_by_channel == [("rest", 1)]
    assert report.totals["conversations"] == 1
    # erasing the person takes their days with them
    async with runtime.db.session() as session, session.begin():
        await session.execute(delete(Contact).where(Contact.id == contact.id))
    assert await activity(runtime) == []


async def test_the_kept_days_are_rebuilt_when_the_time_zone_changes(runtime: Runtime) -> None:
    await seed(runtime)
    tripoli = await build_report(runtime.db, MARCH, TRIPOLI)
    assert tripoli.conversations_by_day == [1, 2, 1]
    # in UTC, b's 23:30 message is on the 1st and d's 22:30 message on the 3rd
    in_utc = await build_report(runtime.db, MARCH, ZoneInfo("UTC"))
    assert in_utc.conversations_by_day == [2, 1, 2]
    assert in_utc.totals["conversations"] == 4
    with_kept = await activity(runtime)
    async with runtime.db.session() as session:
        zone = await session.scalar(select(ReportState.value))
    assert zone == "UTC" and len(with_kept) == 6  # a: 1st, 2nd; b, c; d: Feb 28, Mar 3


def test_stretches_of_one_offset_follow_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")  # +60, then +120 from 01:00 UTC on 30 March 2025
    stretches = offset_stretches(utc(29, 12), utc(31, 12), paris)
    assert [(start, offset) for start, _, offset in stretches] == [
        (utc(29, 12), 60),
        (utc(30, 1), 120),
    ]
    assert stretches[0][1] == utc(30, 1) and stretches[-1][1] > utc(31, 12)
    (only,) = offset_stretches(utc(1, 10, 7), utc(1, 10, 7), TRIPOLI)
    assert only[0] <= utc(1, 10, 7) < only[1] and only[2] == 120
