"""In a real browser (Debian's chromium through Playwright): a supervisor exports an embassy list
and reads the charts; an operator has no reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runtime import Runtime
from bot.storage.models import Direction, Handoff, Message, MessageStatus
from tests.console_support import (
    DEFAULT_PASSWORD,
    TOTP_SECRETS,
    browser_page,
    create_operator,
    live_server,
    next_code,
)
from tests.test_records import person, register

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


async def seed(runtime: Runtime) -> None:
    # everything at noon today in the operators' zone, so the day is the same whenever it runs
    zone = ZoneInfo(runtime.settings.operator_timezone)
    noon = datetime.combine(datetime.now(zone).date(), time(12), tzinfo=zone).astimezone(UTC)
    for i, (name, country) in enumerate(
        [("Amina Bello", "NG"), ("=cmd|' /C calc'!A0", "NG"), ("عبد الله", "NG"), ("Awa", "ML")]
    ):
        contact = await person(runtime, "telegram", f"30{i}", language="ar" if i == 2 else "en")
        await register(
            runtime, name, country=country, contact_id=contact, phone=f"+21893000000{i}",
            created_at=noon,
        )  # fmt: skip
        async with runtime.db.session() as session, session.begin():
            session.add(
                Message(
                    contact_id=contact,
                    channel="telegram",
                    direction=Direction.INBOUND,
                    text="hello",
                    status=MessageStatus.PROCESSED,
                    created_at=noon,
                )
            )
            session.add(
                Handoff(
                    contact_id=contact,
                    reason="asked",
                    channel="telegram",
                    created_at=noon,
                    claimed_at=noon + timedelta(minutes=2 * (i + 1)),
                    first_response_at=noon + timedelta(minutes=10 + i),
                    status="closed",
                )
            )


async def test_supervisor_exports_and_reads_charts_operator_has_no_reports(
    runtime: Runtime, tmp_path: Path
) -> None:
    await seed(runtime)
    await create_operator(runtime, "sara", "supervisor")
    await create_operator(runtime, "olu", "operator")
    today = datetime.now(ZoneInfo(runtime.settings.operator_timezone)).date()
    async with live_server(runtime) as base, browser_page() as page:
        await page.goto(f"{base}/console/login")
        await page.fill("input[name=username]", "sara")
        await page.fill("input[name=password]", DEFAULT_PASSWORD)
        await page.click("button[type=submit]")
        # a supervisor: the second factor's code
        await page.wait_for_url(f"{base}/console/login/code**")
        await page.fill("input[name=code]", await next_code(TOTP_SECRETS["sara"]))
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/console")

        # Registrations → embassy list
        await page.click("nav >> text=Registrations")
        await page.wait_for_url(f"{base}/console/registrations")
        assert await page.locator("table.registrations tbody tr").count() == 4
        await page.click("text=Export an embassy list")
        await page.select_option("select[name=nationality]", "NG")
        await page.fill("input[name=date_from]", (today - timedelta(days=7)).isoformat())
        await page.fill("input[name=date_to]", today.isoformat())
        async with page.expect_download() as waiting:
            await page.click("#export-form button[type=submit]")
        download = await waiting.value
        assert download.suggested_filename.startswith("embassy-NG-")
        target = tmp_path / "list.csv"
        await download.save_as(target)
        raw = target.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert sorted(row["full_name"] for row in table) == sorted(
            ["Amina Bello", "'=cmd|' /C calc'!A0", "عبد الله"]
        )
        assert {row["nationality"] for row in table} == {"NG"}

        # Reports: charts with data and their numbers
        await page.click("nav >> text=Reports")
        await page.wait_for_url(f"{base}/console/reports")
        charts = page.locator("svg.chart-svg")
        assert await charts.count() >= 8
        by_day = page.locator('svg[data-chart="by-day"] rect.bar')
        assert await by_day.count() >= 1
        assert float(await by_day.last.get_attribute("data-value") or 0) == 4  # four wrote today
        nationality = page.locator('svg[data-chart="registrations-nationality"] rect.bar')
        assert [await r.get_attribute("data-value") for r in await nationality.all()] == ["3", "1"]
        assert await page.locator('svg[data-chart="waiting"] circle.point').count() == 2
        box = await charts.first.bounding_box()
        assert box is not None and box["width"] > 300  # drawn, not collapsed
        await page.click("#chart-registrations-nationality summary")
        assert await page.locator(
            "#chart-registrations-nationality table th:text-is('Nigeria')"
        ).is_visible()

        # an operator: no Reports link, and the page itself is refused
        await page.click("text=Sign out")
        await page.goto(f"{base}/console/login")
        await page.fill("input[name=username]", "olu")
        await page.fill("input[name=password]", DEFAULT_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/console**")
        nav = page.locator("header nav")
        assert await nav.locator("text=Registrations").count() == 1
        assert await nav.locator("text=Reports").count() == 0
        assert await nav.locator("text=Broadcasts").count() == 0
        answer = await page.goto(f"{base}/console/reports")
        assert answer is not None and answer.status == 403
