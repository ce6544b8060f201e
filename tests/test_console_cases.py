"""The console's queue and case pages over HTTP: what operators see and do, and what the
person receives. Both backends."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from bot.accounts import Accounts
from bot.console import cases as console_cases
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Call, Contact, Handoff, Message, utcnow
from server import create_app
from tests.console_support import (
    DEFAULT_PASSWORD,
    create_operator,
    live_server,
    rest_ask_for_person,
    rest_collect,
    rest_say,
    sign_in,
)

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def console(runtime: Runtime, client: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    await create_operator(runtime, "amina", "operator", display_name="Amina")
    return client, await sign_in(client, "amina", DEFAULT_PASSWORD)


async def case_of(runtime: Runtime, sender: str, channel: str = "rest") -> int:
    contact = await runtime.store.contact_for(channel, sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None
    return case.id


def queue_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)"', html)]


async def open_case(
    runtime: Runtime,
    address: str,
    *,
    priority: str = "normal",
    language: str = "en",
    channel: str = "rest",
    **extra: Any,
) -> int:
    contact = await runtime.store.contact_for(channel, address)
    case_id, _ = await runtime.handoffs.open(
        contact.id,
        reason="requested",
        priority=priority,
        channel=channel,
        language=language,
        **extra,
    )
    return case_id


async def test_queue_order_and_filters(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, _ = console
    normal_old = await open_case(runtime, "q-normal-old")
    urgent = await open_case(runtime, "q-urgent", priority="urgent", language="ar")
    normal_new = await open_case(runtime, "q-normal-new", language="ha", channel="telegram")
    emergency = await open_case(runtime, "q-emergency", priority="emergency", language="fr")
    # the oldest waiting first within a priority, whatever the order of creation
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Handoff)
            .where(Handoff.id == normal_new)
            .values(waiting_since=utcnow() - timedelta(hours=1))
        )
        await session.execute(
            update(Contact)
            .where(Contact.id == (await runtime.store.contact_for("rest", "q-urgent")).id)
            .values(city="sebha")
        )
    registered = await runtime.registrations.register(
        answers={"name": "Musa Ibrahim", "country": "NE", "city": "tripoli", "age": 30},
        contact_id=(await runtime.store.contact_for("rest", "q-normal-old")).id,
        collected_by=None,
        priority="normal",
        vulnerabilities=[],
        needs_review=False,
        language="en",
        channel="rest",
    )
    assert not registered.existing

    async def ids(**params: str) -> list[int]:
        page = await client.get("/console", params=params)
        assert page.status_code == 200
        return queue_ids(page.text)

    assert await ids() == [emergency, urgent, normal_new, normal_old]
    assert await ids(priority="normal") == [normal_new, normal_old]
    assert await ids(language="ar") == [urgent]
    assert await ids(channel="telegram") == [normal_new]
    assert await ids(city="sebha") == [urgent]  # the contact's city
    assert await ids(city="tripoli") == [normal_old]  # the registration's city
    colleague = await create_operator(runtime, "other", "operator")
    await runtime.handoffs.assign(emergency, colleague, by=colleague)
    assert await ids(assigned="unassigned") == [urgent, normal_new, normal_old]
    page = await client.post(f"/console/cases/{urgent}/claim", data={"csrf_token": console[1]})
    assert page.status_code == 303
    assert await ids(assigned="me") == [urgent]
    await runtime.handoffs.snooze(normal_old, colleague)
    assert await ids(status="snoozed") == [normal_old]
    await runtime.handoffs.close(normal_new, colleague, "resolved")
    assert await ids(status="closed") == [normal_new]
    assert normal_old not in await ids() and normal_new not in await ids()


async def test_migrant_text_is_escaped_everywhere(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await rest_ask_for_person(client, "xss")
    await rest_say(client, "xss", XSS)
    await rest_say(client, "xss", "</script><script>alert(2)</script>")
    case_id = await case_of(runtime, "xss")
    await client.post(f"/console/cases/{case_id}/note", data={"csrf_token": csrf, "text": XSS})
    for url in ("/console", f"/console/cases/{case_id}"):
        page = await client.get(url)
        assert page.status_code == 200
        # the queue previews the last message, the case page shows all and the note
        assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
        if url != "/console":
            assert page.text.count("&lt;img src=x onerror=alert(1)&gt;") == 2
        assert XSS not in page.text
        assert "<script>alert(2)" not in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert page.headers["cache-control"] == "no-store"
        # the only scripts are files from /console/static
        assert re.findall(r"<script[^>]*>", page.text) == [
            '<script src="/console/static/console.js">'
        ]
    api = await client.get(f"/api/v1/cases/{case_id}/messages")
    assert XSS in [m["text"] for m in api.json()]  # JSON carries the text as it was written


async def test_conversation_direction_author_and_status(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await rest_ask_for_person(client, "arabic", "ar")
    await rest_say(client, "arabic", "أنا في سبها", "ar")
    case_id = await case_of(runtime, "arabic")
    await client.post(
        f"/console/cases/{case_id}/reply",
        data={"csrf_token": csrf, "text": "Hello, I read English"},
    )
    page = (await client.get(f"/console/cases/{case_id}")).text
    # each message takes its own text's direction (dir="auto"): Arabic right to left, and
    # Arabizi or an English reply in an Arabic case left to right
    assert '<span class="text" dir="auto" lang="ar">أنا في سبها</span>' in page
    assert 'dir="rtl"' not in page.split('id="conversation"')[1].split("</ol>")[0]
    reply = re.search(
        r'dir="(\w+)" lang="ar">Hello, I read English</span>\s*'
        r'<span class="meta">([^<]*)</span>',
        page,
    )
    assert reply is not None and reply.group(1) == "auto"  # tagged with the case's language
    assert reply.group(2).startswith("Amina · ") and reply.group(2).endswith("queued")
    assert "bot · " in page  # the bot's earlier answers are marked as the bot's
    assert await rest_collect(client, "arabic") == ["Hello, I read English"]
    page = (await client.get(f"/console/cases/{case_id}")).text
    assert re.search(
        r">Hello, I read English</span>\s*<span class=\"meta\">Amina · [^<]*"
        r"delivered</span>",
        page,
    )


async def test_take_reply_canned_close_and_the_bot_resumes(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await rest_ask_for_person(client, "hausa", "ha")
    case_id = await case_of(runtime, "hausa")
    page = await client.get(f"/console/cases/{case_id}")
    assert 'id="claim"' in page.text
    taken = await client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": csrf})
    assert taken.status_code == 303
    page = await client.get(f"/console/cases/{case_id}")
    assert 'id="case-assigned">Amina<' in page.text and 'id="claim"' not in page.text
    catalogs = runtime.catalogs
    values = {"name": "Amina", "hours": "24/7"}
    english = catalogs.text("en", "canned.ask_location", **values)
    hausa = catalogs.text("ha", "canned.ask_location", **values)
    item = page.text[page.text.index('data-canned="ask_location"') :]
    item = item[: item.index("</form>")]
    assert english in item and hausa in item  # side by side
    assert 'name="language" value="ha"' in item
    sent = await client.post(
        f"/console/cases/{case_id}/canned",
        data={"csrf_token": csrf, "name": "ask_location", "language": "ha"},
    )
    assert sent.status_code == 303
    await client.post(
        f"/console/cases/{case_id}/reply", data={"csrf_token": csrf, "text": "Ina Sebha?"}
    )
    assert await rest_collect(client, "hausa") == [hausa, "Ina Sebha?"]
    assert await rest_say(client, "hausa", "Ina Sebha", "ha") == []  # to the operator only
    wrong = await client.post(
        f"/console/cases/{case_id}/close", data={"csrf_token": csrf, "outcome": "whatever"}
    )
    assert wrong.status_code == 422 and "outcome must be one of" in wrong.text
    closed = await client.post(
        f"/console/cases/{case_id}/close", data={"csrf_token": csrf, "outcome": "referred"}
    )
    assert closed.headers["location"] == f"/console/cases/{case_id}?notice=closed"
    page = await client.get(closed.headers["location"])
    assert "the bot answers this person again" in page.text and 'id="reply-form"' not in page.text
    assert await rest_collect(client, "hausa") == [catalogs.text("ha", "handoff.closed")]
    assert await rest_say(client, "hausa", "sannu", "ha") != []  # the bot answers again
    async with runtime.db.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject == str(case_id), AuditEvent.action.startswith("handoff."))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == [
        "handoff.opened",
        "handoff.assigned",
        "handoff.reply",
        "handoff.reply",
        "handoff.closed",
    ]


async def test_notes_stay_private(runtime: Runtime, console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    await rest_ask_for_person(client, "noted")
    case_id = await case_of(runtime, "noted")
    empty = await client.post(
        f"/console/cases/{case_id}/note", data={"csrf_token": csrf, "text": "  "}
    )
    assert empty.status_code == 422
    added = await client.post(
        f"/console/cases/{case_id}/note",
        data={"csrf_token": csrf, "text": "Called the clinic in Sebha"},
    )
    assert added.status_code == 303
    page = await client.get(f"/console/cases/{case_id}")
    assert "Called the clinic in Sebha" in page.text
    assert await rest_collect(client, "noted") == []


async def test_address_is_masked_and_every_reveal_is_audited(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await rest_ask_for_person(client, "phone-218912345678")
    case_id = await case_of(runtime, "phone-218912345678")
    page = await client.get(f"/console/cases/{case_id}")
    assert "phone-218912345678" not in page.text
    assert '<span id="address">•••••••••678</span>' in page.text
    shown = await client.post(f"/console/cases/{case_id}/address", data={"csrf_token": csrf})
    assert shown.status_code == 200 and "phone-218912345678" in shown.text
    async with runtime.db.session() as session:
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "contact.address_viewed")
        )
    assert audit is not None and audit.details == {"handoff": case_id}
    assert audit.actor.startswith("operator:")


async def test_supervisor_assigns_and_operator_cannot(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "sara", "supervisor", display_name="Sara")
    worker = await create_operator(
        runtime, "yusuf", "operator", display_name="Yusuf", languages=("en", "ha")
    )
    csrf = await sign_in(client, "sara", DEFAULT_PASSWORD)
    case_id = await open_case(runtime, "to-assign")
    page = await client.get(f"/console/cases/{case_id}")
    assert f'<option value="{worker}">Yusuf (en, ha)</option>' in page.text
    answer = await client.post(
        f"/console/cases/{case_id}/assign", data={"csrf_token": csrf, "operator_id": str(worker)}
    )
    assert answer.status_code == 303
    case = await runtime.handoffs.get(case_id)
    assert case is not None and (case.assigned_to_id, case.status) == (worker, "claimed")
    back = await client.post(
        f"/console/cases/{case_id}/assign", data={"csrf_token": csrf, "operator_id": ""}
    )
    assert back.status_code == 303
    case = await runtime.handoffs.get(case_id)
    assert case is not None and (case.assigned_to_id, case.status) == (None, "open")
    client.cookies.clear()
    await sign_in(client, "yusuf", DEFAULT_PASSWORD)
    page = await client.get(f"/console/cases/{case_id}")
    assert "/assign" not in page.text


async def test_snooze_until_a_time_in_libya_or_until_the_person_writes(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    case_id = await open_case(runtime, "snoozy")
    local = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo(runtime.settings.operator_timezone))
    field = local.strftime("%Y-%m-%dT%H:%M")
    answer = await client.post(
        f"/console/cases/{case_id}/snooze", data={"csrf_token": csrf, "until": field}
    )
    assert answer.headers["location"].endswith("?notice=snoozed")
    async with runtime.db.session() as session:
        row = await session.get(Handoff, case_id)
    assert row is not None and row.status == "snoozed" and row.snoozed_until is not None
    expected = datetime.strptime(field, "%Y-%m-%dT%H:%M").replace(
        tzinfo=ZoneInfo(runtime.settings.operator_timezone)
    )
    stored = (
        row.snoozed_until
        if row.snoozed_until.tzinfo
        else row.snoozed_until.replace(tzinfo=ZoneInfo("UTC"))
    )
    assert stored == expected
    past = await client.post(
        f"/console/cases/{case_id}/snooze", data={"csrf_token": csrf, "until": "2020-01-01T10:00"}
    )
    assert past.status_code == 422 and "future" in past.text
    garbage = await client.post(
        f"/console/cases/{case_id}/snooze", data={"csrf_token": csrf, "until": "tomorrow"}
    )
    assert garbage.status_code == 422
    default = await client.post(f"/console/cases/{case_id}/snooze", data={"csrf_token": csrf})
    assert default.status_code == 303  # until the person writes (at the latest the default)
    await rest_say(client, "snoozy", "are you there?")
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.status == "open"


@pytest.mark.parametrize(("hours_ago", "shown"), [(25, "window is closed"), (2, "window is open")])
async def test_whatsapp_window(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str], hours_ago: int, shown: str
) -> None:
    client, _ = console
    contact = await runtime.store.contact_for("whatsapp", "+218911000111")
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(last_inbound_at=utcnow() - timedelta(hours=hours_ago))
        )
    case_id = await open_case(runtime, "+218911000111", channel="whatsapp")
    page = await client.get(f"/console/cases/{case_id}")
    assert shown in page.text
    api = await client.get(f"/api/v1/cases/{case_id}")
    assert api.json()["contact"]["whatsapp_window_open"] is (hours_ago < 24)


async def test_voice_case_links_the_recording_and_closes_as_called_back(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    contact = await runtime.store.contact_for("voice", "+218922333444")
    async with runtime.db.session() as session, session.begin():
        call = Call(
            call_sid="CA123",
            contact_id=contact.id,
            language="ar",
            status="completed",
            recording_url="https://api.twilio.com/2010-04-01/Recordings/RE1",
            recording_seconds=42,
        )
        bad = Call(call_sid="CA124", contact_id=contact.id, recording_url="javascript:alert(1)")
        session.add_all([call, bad])
    case_id = await open_case(
        runtime, "+218922333444", channel="voice", language="ar", call_id=call.id
    )
    page = await client.get(f"/console/cases/{case_id}")
    # played through the console: Twilio's URL never reaches the browser
    assert f'href="/console/calls/{call.id}/recording"' in page.text
    assert "api.twilio.com" not in page.text
    assert "(42 s)" in page.text
    assert 'id="reply-form"' not in page.text and "Mark called back" in page.text
    closed = await client.post(
        f"/console/cases/{case_id}/close", data={"csrf_token": csrf, "outcome": "callback_done"}
    )
    assert closed.status_code == 303
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.status == "closed"
    async with runtime.db.session() as session:
        queued = list(
            await session.scalars(select(Message).where(Message.contact_id == contact.id))
        )
    assert queued == []  # nothing can be sent to a caller
    other = await open_case(runtime, "+218922333444", channel="voice", call_id=bad.id)
    page = await client.get(f"/console/cases/{other}")
    assert "javascript:" not in page.text


async def test_operator_starts_a_case_for_a_contact(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    await rest_say(client, "known-person", "hello")
    form = await client.get("/console/cases/new")
    assert '<option value="rest">REST API</option>' in form.text
    unknown = await client.post(
        "/console/cases/new", data={"csrf_token": csrf, "channel": "rest", "address": "nobody-here"}
    )
    assert unknown.status_code == 404 and "no contact" in unknown.text
    started = await client.post(
        "/console/cases/new",
        data={
            "csrf_token": csrf,
            "channel": "rest",
            "address": "known-person",
            "priority": "urgent",
        },
    )
    assert started.status_code == 303
    case_id = int(started.headers["location"].rsplit("/", 1)[1])
    case = await runtime.handoffs.get(case_id)
    assert case is not None and (case.priority, case.reason) == ("urgent", "operator")
    # the bot only says it passed the message on
    assert await rest_say(client, "known-person", "hello again") == [
        runtime.catalogs.text("en", "handoff.passed_on", position=1)
    ]


async def test_registration_with_vulnerabilities_is_shown(
    runtime: Runtime, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, _ = console
    contact = await runtime.store.contact_for("rest", "registered")
    await runtime.registrations.register(
        answers={
            "name": "Aisha Bello",
            "country": "NG",
            "city": "sabha",
            "age": 24,
            "sex": "female",
            "detained": True,
            "document": "none",
            "family": [{"age": 3}],
        },
        contact_id=contact.id,
        collected_by=None,
        priority="urgent",
        vulnerabilities=["pregnant", "detained"],
        needs_review=True,
        language="ha",
        channel="rest",
    )
    case_id = await open_case(runtime, "registered", language="ha")
    page = (await client.get(f"/console/cases/{case_id}")).text
    assert "Aisha Bello" in page and "NG" in page and "sabha" in page
    assert '<span class="flag">pregnant</span>' in page
    assert '<span class="flag">detained</span>' in page
    assert "needs review" in page
    assert "<dt>Family with them</dt><dd>1</dd>" in page


async def test_live_events_carry_ids_only(runtime: Runtime) -> None:
    await create_operator(runtime, "watcher", "operator")
    async with live_server(runtime) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in(client, "watcher", DEFAULT_PASSWORD)
        async with client.stream("GET", "/console/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 2000"
            async with httpx.AsyncClient(base_url=base) as person:
                await rest_ask_for_person(person, "live-person")
            events = []
            while len(events) < 1:
                line = await asyncio.wait_for(anext(lines), 30)
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
    case_id = await case_of(runtime, "live-person")
    assert events[0] == {
        "kind": "handoff.opened",
        "data": {"handoff_id": case_id, "priority": "normal"},
    }


async def test_admin_pages(runtime: Runtime, make_runtime: Any) -> None:
    runtime = await make_runtime(hotline_secret_key="very-secret-value-123")
    await create_operator(runtime, "root", "admin")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        csrf = await sign_in(client, "root", DEFAULT_PASSWORD)
        added = await client.post(
            "/console/admin/operators",
            data={
                "csrf_token": csrf,
                "username": "halima",
                "role": "operator",
                "display_name": "Halima",
                "languages": "en,ha",
            },
        )
        assert added.status_code == 200
        password = re.search(r'id="one-time-password">([^<]+)<', added.text)
        assert password is not None
        taken = await client.post(
            "/console/admin/operators",
            data={"csrf_token": csrf, "username": "halima", "role": "operator"},
        )
        assert taken.status_code == 400 and "taken" in taken.text
        await rest_say(client, "focal-point", "hello")
        made = await client.post(
            "/console/admin/mobilizers",
            data={
                "csrf_token": csrf,
                "channel": "rest",
                "address": "focal-point",
                "role": "mobilizer",
            },
        )
        assert made.status_code == 303
        contact = await runtime.store.contact_for("rest", "focal-point")
        assert contact.role == "mobilizer"
        listed = await client.get("/console/admin/mobilizers")
        assert "focal-point" not in listed.text and "•••int" in listed.text  # masked
        settings = await client.get("/console/admin/settings")
        assert "very-secret-value-123" not in settings.text
        assert "<code>hotline_secret_key</code></td><td>(set)</td>" in settings.text
        assert "canned.closing" in settings.text
        assert runtime.catalogs.text("ha", "canned.closing") in settings.text
    async with runtime.db.session() as session:
        actions = set(await session.scalars(select(AuditEvent.action)))
    assert {"operator.created", "contact.role"} <= actions


async def test_take_a_case_another_operator_already_holds(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    first_id = await create_operator(runtime, "holder", "operator", display_name="Hawa")
    await create_operator(runtime, "latecomer", "operator", display_name="Idris")
    case_id = await open_case(runtime, "held-case")
    csrf = await sign_in(client, "holder", DEFAULT_PASSWORD)
    taken = await client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": csrf})
    assert taken.status_code == 303
    client.cookies.clear()
    csrf = await sign_in(client, "latecomer", DEFAULT_PASSWORD)
    again = await client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert 'role="alert">already taken by Hawa<' in again.text
    assert 'id="case-assigned">Hawa<' in again.text
    case = await runtime.handoffs.get(case_id)
    assert case is not None and (case.assigned_to_id, case.status) == (first_id, "claimed")


@pytest.mark.parametrize("trigger", ["timer", "events"])
async def test_event_stream_ends_for_a_disabled_operator_despite_steady_traffic(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, trigger: str
) -> None:
    """The session is checked every SESSION_CHECK_SECONDS and every SESSION_CHECK_EVENTS
    events, not only after a quiet moment: busy hours must not keep a removed operator in."""
    if trigger == "timer":
        monkeypatch.setattr(console_cases, "SESSION_CHECK_SECONDS", 0.3)
        monkeypatch.setattr(console_cases, "SESSION_CHECK_EVENTS", 1_000_000)
    else:
        monkeypatch.setattr(console_cases, "SESSION_CHECK_SECONDS", 3600.0)
        monkeypatch.setattr(console_cases, "SESSION_CHECK_EVENTS", 5)
    operator_id = await create_operator(runtime, "streamer", "operator")
    published = [0]

    async def steady_traffic() -> None:
        while True:
            published[0] += 1
            await runtime.events.publish("tick", n=published[0])
            await asyncio.sleep(0.05)

    async with live_server(runtime) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in(client, "streamer", DEFAULT_PASSWORD)
        async with client.stream("GET", "/console/events") as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 2000"
            traffic = asyncio.create_task(steady_traffic())
            try:
                ticks: list[int] = []
                while len(ticks) < 3:  # the stream is flowing
                    line = await asyncio.wait_for(anext(lines), 10)
                    if line.startswith("data:"):
                        ticks.append(json.loads(line[5:])["data"]["n"])
                await Accounts(runtime.db).update(operator_id, actor="test", active=False)
                last_before = published[0]
                for _ in range(500):  # traffic goes on after the disable (even on a busy machine)
                    if published[0] > last_before + 2:
                        break
                    await asyncio.sleep(0.01)
                after: list[int] = []
                while True:
                    line = await asyncio.wait_for(anext(lines), 5)
                    if line == "event: signed-out":
                        break
                    if line.startswith("data:"):
                        n = json.loads(line[5:])["data"]["n"]
                        if n > last_before:
                            after.append(n)
                assert published[0] > last_before  # events kept coming meanwhile
                if trigger == "events":
                    assert len(after) <= 5
            finally:
                traffic.cancel()
