"""Someone is always told (issue 13) and never silence (issue 16): on-call alerts through the
fake providers with the clock moved, emergency numbers from the database, the "passed on" note
and its rate limit, and what the console shows. Both backends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from bot.alerts import clean_numbers, parse_oncall
from bot.messages import InboundMessage
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Contact, HandoffAlert, as_utc, utcnow
from server import create_app
from tests.console_support import DEFAULT_PASSWORD, create_operator, sign_in
from tests.fakes.telegram_api import FakeTelegramAPI, running_fake_telegram
from tests.fakes.twilio_api import FakeTwilioAPI, running_fake_twilio

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "f" * 32
SMS_NUMBER = "+15005550006"
ONCALL = ["Amina=+218910000001", "Omar=+218910000002"]
DANGER = {
    "en": "my friend is bleeding a lot of blood",
    "ar": "صاحبي ينزف دم كثير",
}
GREETING = {"en": "hello", "ar": "مرحبا"}
ASK = "i want to talk to a person"


def closed_hours() -> str:
    """Opening hours on a day that is not today (nor the next two) in Libya: closed now."""
    today = utcnow().astimezone(ZoneInfo("Africa/Tripoli")).weekday()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today + 3) % 7]
    return f"{day} 08:00-17:00"


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilioAPI, str]]:
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as served:
        yield served


def sms_alerts(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_phone_number": SMS_NUMBER,
        "twilio_api_base_url": base_url,
        "twilio_status_callback": False,
        "oncall_channel": "sms",
        "oncall_contacts": ONCALL,
        "oncall_repeat_minutes": 10,
        "console_base_url": "https://hotline.example.org",
        **overrides,
    }


async def say(runtime: Runtime, sender: str, text: str, language: str = "en") -> list[str]:
    result = await runtime.engine.handle(
        InboundMessage(channel="rest", address=sender, text=text, language_hint=language)
    )
    return [reply.text for reply in result.replies]


async def case_of(runtime: Runtime, sender: str) -> int:
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None
    return case.id


async def waiting_since(runtime: Runtime, case_id: int) -> datetime:
    case = await runtime.handoffs.get(case_id)
    assert case is not None
    since = as_utc(case.waiting_since)
    assert since is not None
    return since


async def set_city(runtime: Runtime, sender: str, city: str) -> None:
    contact = await runtime.store.contact_for("rest", sender)
    async with runtime.db.session() as session, session.begin():
        await session.execute(update(Contact).where(Contact.id == contact.id).values(city=city))


async def alert_rows(runtime: Runtime, case_id: int) -> list[HandoffAlert]:
    async with runtime.db.session() as session:
        return list(
            await session.scalars(
                select(HandoffAlert)
                .where(HandoffAlert.handoff_id == case_id)
                .order_by(HandoffAlert.step)
            )
        )


# -- alerts -------------------------------------------------------------------------------------
async def test_emergency_at_night_alerts_up_the_list_until_someone_takes_it(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(
        **sms_alerts(url, operator_hours=closed_hours(), oncall_repeat_minutes=5)
    )
    catalogs, hours = runtime.catalogs, runtime.handoffs.hours
    sender = "+218925550101"
    await say(runtime, sender, "hello")
    replies = await say(runtime, sender, DANGER["en"])
    # the person is told the truth: off duty, someone on call alerted, no number configured
    assert replies[0] == catalogs.text("en", "safety.emergency")
    notice = replies[-1]
    assert catalogs.text("en", "handoff.oncall_alerted", hours=hours.describe("en")) in notice
    assert catalogs.text("en", "handoff.no_emergency_numbers") in notice
    assert "write it here now" not in notice  # not the off-hours text for ordinary cases
    case_id = await case_of(runtime, sender)
    start = await waiting_since(runtime, case_id)
    repeat = timedelta(minutes=5)

    await runtime.handoffs.run_timers(start)  # off duty: alerted at once
    assert [m["To"] for m in fake.messages] == ["+218910000001"]
    body = fake.messages[0]["Body"]
    assert body == runtime.handoffs.alerts.text(case_id, "emergency")
    assert f"https://hotline.example.org/console/cases/{case_id}" in body
    assert catalogs.text("en", "oncall.priority.emergency") in body
    # no personal data: not the person's words, number or channel address
    for personal in ("bleeding", "friend", sender, sender[1:], "0101"):
        assert personal not in body

    await runtime.handoffs.run_timers(start + repeat - timedelta(seconds=1))
    assert len(fake.messages) == 1  # the next one waits for the interval
    await runtime.handoffs.run_timers(start + repeat)
    await runtime.handoffs.run_timers(start + repeat)  # a second timer pass sends nothing more
    assert [m["To"] for m in fake.messages] == ["+218910000001", "+218910000002"]
    await runtime.handoffs.run_timers(start + 2 * repeat)  # the list starts again
    assert [m["To"] for m in fake.messages][-1] == "+218910000001"

    operator = await create_operator(runtime, "night-op", "operator")
    await runtime.handoffs.claim(case_id, operator)
    await runtime.handoffs.run_timers(start + 4 * repeat)
    assert len(fake.messages) == 3  # taken: the alerts stop
    # taken but left unanswered twice the escalation time: back in the queue, alerts resume
    await runtime.handoffs.run_timers(start + 2 * runtime.handoffs.escalate_after)
    assert [m["To"] for m in fake.messages][-1] == "+218910000002"
    await runtime.handoffs.reply(case_id, operator, "I am here, tell me where you are")
    await runtime.handoffs.run_timers(start + 30 * repeat)
    assert len(fake.messages) == 4  # answered: nobody more is woken
    rows = await alert_rows(runtime, case_id)
    assert [(r.step, r.recipient, r.channel, r.status) for r in rows] == [
        (0, "Amina", "sms", "sent"),
        (1, "Omar", "sms", "sent"),
        (2, "Amina", "sms", "sent"),
        (3, "Omar", "sms", "sent"),
    ]
    assert [r.trigger for r in rows] == ["closed_hours", "repeat", "repeat", "repeat"]


async def test_a_danger_case_wakes_the_timers_at_once(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**sms_alerts(url, operator_hours=closed_hours()))
    runtime.handoffs.timer_interval = 3600.0  # the regular pass would come in an hour
    runtime.handoffs.start()
    try:
        contact = await runtime.store.contact_for("rest", "wakes-timers")
        await runtime.handoffs.open(
            contact.id, reason="emergency", priority="emergency", channel="rest", language="en"
        )

        async def alerted() -> None:
            while not fake.messages:  # noqa: ASYNC110 (the fake serves in another thread)
                await asyncio.sleep(0.05)

        # without the wake-up nothing is sent for an hour: this would fail, not hang
        await asyncio.wait_for(alerted(), 60)
    finally:
        await runtime.handoffs.stop()
    assert [m["To"] for m in fake.messages] == ["+218910000001"]


async def test_in_hours_an_urgent_case_alerts_only_after_its_wait(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**sms_alerts(url, oncall_urgent_minutes=30))
    contact = await runtime.store.contact_for("rest", "urgent-in-hours")
    urgent, _ = await runtime.handoffs.open(
        contact.id, reason="detention", priority="urgent", channel="rest", language="en"
    )
    other = await runtime.store.contact_for("rest", "normal-in-hours")
    normal, _ = await runtime.handoffs.open(
        other.id, reason="requested", priority="normal", channel="rest", language="en"
    )
    start = await waiting_since(runtime, urgent)
    await runtime.handoffs.run_timers(start + timedelta(minutes=29))
    assert fake.messages == []  # the team is at work: it has 30 minutes
    await runtime.handoffs.run_timers(start + timedelta(minutes=30))
    assert [m["Body"] for m in fake.messages] == [runtime.handoffs.alerts.text(urgent, "urgent")]
    assert [r.trigger for r in await alert_rows(runtime, urgent)] == ["unclaimed"]
    await runtime.handoffs.run_timers(start + timedelta(hours=10))
    assert await alert_rows(runtime, normal) == []  # ordinary cases never page anyone
    await runtime.store.erase_contact(contact.id)  # "delete my data": its case's alerts go too
    assert await alert_rows(runtime, urgent) == []


async def test_a_failed_alert_goes_on_to_the_next_person_at_once(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**sms_alerts(url, operator_hours=closed_hours()))
    contact = await runtime.store.contact_for("rest", "failing-alert")
    case_id, _ = await runtime.handoffs.open(
        contact.id, reason="emergency", priority="emergency", channel="rest", language="en"
    )
    start = await waiting_since(runtime, case_id)
    fake.fail_next(400, 21211, "Invalid 'To' Phone Number")
    await runtime.handoffs.run_timers(start)
    await runtime.handoffs.run_timers(start + timedelta(seconds=1))
    rows = await alert_rows(runtime, case_id)
    assert [(r.recipient, r.status) for r in rows] == [("Amina", "failed"), ("Omar", "sent")]
    assert rows[0].error is not None and "21211" in rows[0].error
    assert [m["To"] for m in fake.messages] == ["+218910000002"]


async def test_telegram_alerts(make_runtime: Any) -> None:
    with running_fake_telegram() as (fake, url):
        fake_api: FakeTelegramAPI = fake
        runtime = await make_runtime(
            telegram_bot_token="123456:TEST-token",
            telegram_api_base_url=url,
            oncall_channel="telegram",
            oncall_contacts=["Duty desk=555001"],
            operator_hours=closed_hours(),
        )
        contact = await runtime.store.contact_for("rest", "tg-alert")
        case_id, _ = await runtime.handoffs.open(
            contact.id, reason="gbv", priority="urgent", channel="rest", language="en"
        )
        await runtime.handoffs.run_timers(await waiting_since(runtime, case_id))
        assert [(m["chat_id"], m["text"]) for m in fake_api.sent] == [
            (555001, runtime.handoffs.alerts.text(case_id, "urgent"))
        ]


async def test_without_alerts_configured_the_person_is_not_told_someone_was_alerted(
    make_runtime: Any,
) -> None:
    runtime = await make_runtime(operator_hours=closed_hours())
    await say(runtime, "no-oncall", "hello")
    notice = (await say(runtime, "no-oncall", DANGER["en"]))[-1]
    hours = runtime.handoffs.hours.describe("en")
    assert runtime.catalogs.text("en", "handoff.off_duty", hours=hours) in notice
    assert "on call" not in notice
    await runtime.handoffs.run_timers(utcnow())  # nothing to send, nothing fails
    assert await alert_rows(runtime, await case_of(runtime, "no-oncall")) == []


def test_on_call_list_and_numbers_are_read_strictly() -> None:
    assert [(p.name, p.address) for p in parse_oncall(["Amina=+2189100", "+2189200", " = "])] == [
        ("Amina", "+2189100"),
        ("on-call 2", "+2189200"),
    ]
    assert clean_numbers("  1515 ,  193 ") == "1515 , 193"
    for wrong in ("call the police", "1515; DROP TABLE", "<b>1515</b>", "+ -"):
        with pytest.raises(ValueError):
            clean_numbers(wrong)


# -- emergency numbers in the person's reply ------------------------------------------------------
async def test_the_reply_gives_the_numbers_configured_for_the_persons_city(
    runtime: Runtime,
) -> None:
    await runtime.handoffs.numbers.replace(
        {"": "1515", "Sebha": "191, 1515", "Misrata": ""}, actor="test"
    )
    catalogs = runtime.catalogs
    await set_city(runtime, "in-sebha", "Sebha")
    await say(runtime, "in-sebha", "hello")
    replies = await say(runtime, "in-sebha", DANGER["en"])
    assert catalogs.text("en", "handoff.emergency_numbers", numbers="191, 1515") in replies[-1]
    await set_city(runtime, "in-misrata", "Misrata")  # no numbers of its own: the default
    await say(runtime, "in-misrata", "hello")
    replies = await say(runtime, "in-misrata", DANGER["en"])
    assert catalogs.text("en", "handoff.emergency_numbers", numbers="1515") in replies[-1]
    # Arabic: the numbers are isolated so they keep their order inside right-to-left text
    await set_city(runtime, "in-sebha-ar", "Sebha")
    await say(runtime, "in-sebha-ar", GREETING["ar"], "ar")
    replies = await say(runtime, "in-sebha-ar", DANGER["ar"], "ar")
    wanted = catalogs.text("ar", "handoff.emergency_numbers", numbers="\u2068191, 1515\u2069")
    assert wanted in replies[-1]


async def test_with_no_number_configured_no_number_is_invented(runtime: Runtime) -> None:
    await say(runtime, "nowhere", "hello")
    replies = await say(runtime, "nowhere", DANGER["en"])
    assert runtime.catalogs.text("en", "handoff.no_emergency_numbers") in replies[-1]
    assert not re.search(r"\d{3}", "\n".join(replies))


async def test_danger_during_an_open_case_gets_the_numbers_too(runtime: Runtime) -> None:
    await runtime.handoffs.numbers.replace({"": "1515"}, actor="test")
    await say(runtime, "raised", "hello")
    await say(runtime, "raised", ASK)
    replies = await say(runtime, "raised", DANGER["en"])
    assert replies[0] == runtime.catalogs.text("en", "safety.emergency")
    assert runtime.catalogs.text("en", "handoff.emergency_numbers", numbers="1515") in replies[1]


# -- never silence ------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "ar"])
async def test_messages_to_an_open_case_are_acknowledged_at_most_every_few_minutes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    catalogs = runtime.catalogs
    sender = f"waiting-{language}"
    other = await runtime.store.contact_for("rest", f"ahead-{language}")
    await runtime.handoffs.open(
        other.id, reason="requested", priority="normal", channel="rest", language="en"
    )
    await say(runtime, sender, GREETING[language], language)
    await say(
        runtime,
        sender,
        ASK if language == "en" else "أريد التحدث مع شخص",
        language,
    )
    passed_on = catalogs.text(language, "handoff.passed_on", position=2)
    assert await say(runtime, sender, "?", language) == [passed_on]  # the first message
    assert await say(runtime, sender, "??", language) == []  # not again so soon
    every = runtime.handoffs.passed_on_every
    later = utcnow() + every + timedelta(seconds=1)
    monkeypatch.setattr("bot.handoffs.service.utcnow", lambda: later)  # the clock moved
    assert await say(runtime, sender, "still there?", language) == [passed_on]
    assert await say(runtime, sender, "hello??", language) == []
    # an operator writes: from now on it is a conversation with them, no more notes
    operator = await create_operator(runtime, f"note-op-{language}", "operator")
    await runtime.handoffs.reply(await case_of(runtime, sender), operator, "I am here")
    monkeypatch.setattr("bot.handoffs.service.utcnow", lambda: later + 2 * every)
    assert await say(runtime, sender, "thank you", language) == []


async def test_a_taken_case_says_the_person_has_it(runtime: Runtime) -> None:
    await say(runtime, "taken", "hello")
    await say(runtime, "taken", ASK)
    operator = await create_operator(runtime, "taker", "operator")
    await runtime.handoffs.claim(await case_of(runtime, "taken"), operator)
    assert await say(runtime, "taken", "hello?") == [
        runtime.catalogs.text("en", "handoff.passed_on_taken")
    ]


# -- the console --------------------------------------------------------------------------------
async def test_the_case_page_shows_who_was_alerted_through_what_and_when(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    _, url = fake_twilio
    runtime = await make_runtime(**sms_alerts(url, operator_hours=closed_hours()))
    contact = await runtime.store.contact_for("rest", "+218925550199")
    case_id, _ = await runtime.handoffs.open(
        contact.id, reason="emergency", priority="emergency", channel="rest", language="en"
    )
    await runtime.handoffs.run_timers(await waiting_since(runtime, case_id))
    await create_operator(runtime, "viewer", "operator")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await sign_in(client, "viewer", DEFAULT_PASSWORD)
        page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    section = page.text.split('id="oncall-alerts"', 1)[1].split("</div>", 1)[0]
    assert "Amina" in section and "sms" in section and "outside opening hours" in section
    assert "sent" in section
    assert "+218910000001" not in page.text  # the on-call person's number is not shown
    await create_operator(runtime, "settings-admin", "admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await sign_in(client, "settings-admin", DEFAULT_PASSWORD)
        settings = await client.get("/console/admin/settings")
    listed = settings.text.split('id="oncall-list">', 1)[1].split("</ol>", 1)[0]
    assert listed.index("Amina") < listed.index("Omar")
    assert "+218910000001" not in settings.text and "+218910000002" not in settings.text


async def test_admin_replaces_the_on_call_list_in_the_console(
    make_runtime: Any, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**sms_alerts(url, operator_hours=closed_hours()))
    await create_operator(runtime, "oncall-admin", "admin")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        csrf = await sign_in(client, "oncall-admin", DEFAULT_PASSWORD)
        refused = await client.post(
            "/console/admin/settings/oncall",
            data={"csrf_token": csrf, "people": "Halima=call me maybe"},
        )
        assert refused.status_code == 400 and "Line 1" in refused.text
        saved = await client.post(
            "/console/admin/settings/oncall",
            data={"csrf_token": csrf, "people": "Halima=+218 91 333 0003\n\nYusuf=+218913330004"},
        )
        assert saved.status_code == 303
        page = await client.get("/console/admin/settings")
    assert "Set here in the console." in page.text and "+218913330003" not in page.text
    contact = await runtime.store.contact_for("rest", "console-list")
    case_id, _ = await runtime.handoffs.open(
        contact.id, reason="emergency", priority="emergency", channel="rest", language="en"
    )
    start = await waiting_since(runtime, case_id)
    await runtime.handoffs.run_timers(start)
    await runtime.handoffs.run_timers(start + timedelta(minutes=10))
    # the console's list replaced the setting's
    assert [m["To"] for m in fake.messages] == ["+218913330003", "+218913330004"]
    assert [r.recipient for r in await alert_rows(runtime, case_id)] == ["Halima", "Yusuf"]
    async with runtime.db.session() as session:
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "settings.oncall")
        )
    assert audit is not None and audit.details == {"names": ["Halima", "Yusuf"]}


async def test_admin_sets_emergency_numbers_per_city(runtime: Runtime) -> None:
    await create_operator(runtime, "root-numbers", "admin")
    await create_operator(runtime, "plain-op", "operator")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        csrf = await sign_in(client, "root-numbers", DEFAULT_PASSWORD)
        page = await client.get("/console/admin/settings")
        assert 'name="city:Sebha"' in page.text and 'name="city:Tripoli"' in page.text
        saved = await client.post(
            "/console/admin/settings/emergency-numbers",
            data={"csrf_token": csrf, "default": "1515", "city:Sebha": "191 , 1515"},
        )
        assert saved.status_code == 303
        assert await runtime.handoffs.numbers.all() == {"": "1515", "Sebha": "191 , 1515"}
        page = await client.get("/console/admin/settings")
        assert 'value="191 , 1515"' in page.text
        refused = await client.post(
            "/console/admin/settings/emergency-numbers",
            data={"csrf_token": csrf, "default": "call 911 <script>"},
        )
        assert refused.status_code == 400 and "digits" in refused.text
        assert await runtime.handoffs.numbers.all() == {"": "1515", "Sebha": "191 , 1515"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        csrf = await sign_in(client, "plain-op", DEFAULT_PASSWORD)
        denied = await client.post(
            "/console/admin/settings/emergency-numbers",
            data={"csrf_token": csrf, "default": "000"},
        )
        assert denied.status_code == 403
    assert await runtime.handoffs.numbers.for_city("Sebha") == "191 , 1515"
    async with runtime.db.session() as session:
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "settings.emergency_numbers")
        )
    assert audit is not None and audit.details == {"cities": ["(default)", "Sebha"]}
