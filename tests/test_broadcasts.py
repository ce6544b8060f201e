"""Broadcasts: segments, opt-outs, WhatsApp's window and templates, SMS for callers, one
message per person in their language, idempotent sending, live delivery counts; routes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot import broadcasts
from bot.broadcasts import Segment
from bot.registrations import RecordError
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Broadcast, Contact, Message, MessageStatus
from tests.conftest import RuntimeFactory
from tests.console_support import api_token, create_operator, sign_in
from tests.fakes.twilio_api import running_fake_twilio
from tests.test_records import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    person,
    register,
    twilio_overrides,
)

TEXTS = {
    "en": "The embassy of Nigeria visits Tripoli on Monday.",
    "ar": "سفارة نيجيريا تزور طرابلس يوم الإثنين. للاستفسار: +218912223344",
    "fr": "L'ambassade du Nigeria visite Tripoli lundi.",
    "ha": "Ofishin jakadancin Najeriya zai ziyarci Tripoli ranar Litinin.",
    "ti": "ኤምባሲ ናይጀርያ ሰኑይ ንትሪፖሊ ክበጽሕ እዩ።",
    "am": "የናይጄሪያ ኤምባሲ ሰኞ ትሪፖሊን ይጎበኛል።",
    "so": "Safaaradda Nayjeeriya waxay booqan doontaa Tarabulus maalinta Isniinta.",
    "bn": "নাইজেরিয়ার দূতাবাস সোমবার ত্রিপলিতে আসবে।",
}


async def seed(runtime: Runtime) -> dict[str, int]:
    """Nigerians on every kind of channel, and people outside the segment."""
    now = datetime.now(UTC)
    ids = {
        "rest": await person(runtime, "rest", "web-1", language="en"),
        "telegram": await person(runtime, "telegram", "1001", language="ar"),
        "opted_out": await person(runtime, "telegram", "1002", language="fr", opted_out=True),
        "wa_open": await person(
            runtime, "whatsapp", "+218910000001", language="fr",
            last_inbound_at=now - timedelta(hours=2),
        ),
        "wa_closed": await person(
            runtime, "whatsapp", "+218910000002", language="ha",
            last_inbound_at=now - timedelta(hours=30),
        ),
        "cloud_closed": await person(
            runtime, "whatsapp_cloud", "218910000003", language="en", last_inbound_at=None
        ),
        "caller": await person(runtime, "voice", "+218910000004", language="ha"),
        "no_language": await person(runtime, "rest", "web-2", language=None),
        "malian": await person(runtime, "rest", "web-3", language="fr"),
    }  # fmt: skip
    for key in ("rest", "telegram", "opted_out", "wa_open", "wa_closed", "cloud_closed",
                "caller", "no_language"):  # fmt: skip
        await register(runtime, f"Person {key}", country="NG", contact_id=ids[key],
                       phone=None, city="Sebha" if key == "rest" else "Tripoli")  # fmt: skip
    mobilizer = await person(runtime, "whatsapp", "+218910000005", language="en")
    await register(runtime, "Registered By Mobilizer", country="NG", collected_by=mobilizer,
                   phone="+218910000006", language="ar")  # fmt: skip
    await register(runtime, "Malian Person", country="ML", contact_id=ids["malian"])
    ids["mobilizer"] = mobilizer
    return ids


async def messages_of(runtime: Runtime, broadcast_id: int) -> list[tuple[Contact, Message]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Contact, Message)
            .join(Message, Message.contact_id == Contact.id)
            .where(Message.broadcast_id == broadcast_id)
            .order_by(Message.id)
        )
        return [(c, m) for c, m in rows.all()]


async def test_segment_counts_respect_opt_outs_and_the_whatsapp_window(runtime: Runtime) -> None:
    await seed(runtime)
    preview = await broadcasts.preview(runtime, Segment(nationality="NG"))
    # nine Nigerians: one opted out; two WhatsApp windows closed and no template configured
    assert preview.counts == {
        "targeted": 9,
        "queued": 6,
        "skipped_opted_out": 1,
        "skipped_window": 2,
        "template": 0,
    }
    assert preview.by_channel == {"rest": 2, "telegram": 1, "whatsapp": 1, "sms": 2}
    assert preview.by_language == {"en": 2, "ar": 2, "fr": 1, "ha": 1}
    # combinations narrow it
    assert (await broadcasts.preview(runtime, Segment(nationality="NG", city="Sebha"))).counts[
        "targeted"
    ] == 1
    assert (await broadcasts.preview(runtime, Segment(nationality="ML"))).counts["queued"] == 1
    nobody = await broadcasts.preview(runtime, Segment(nationality="NG", stage="travelled"))
    assert nobody.counts["targeted"] == 0


async def test_a_city_alone_also_reaches_people_who_said_where_they_are(
    runtime: Runtime,
) -> None:
    await person(runtime, "rest", "asked-about-sebha", city="Sebha")
    await person(runtime, "rest", "in-tripoli", city="Tripoli")
    registered = await person(runtime, "rest", "registered-in-sebha")
    await register(runtime, "In Sebha", contact_id=registered, city="Sebha")
    preview = await broadcasts.preview(runtime, Segment(city="sabha"))
    assert preview.counts["targeted"] == 2
    everyone = await broadcasts.preview(runtime, Segment())
    assert everyone.counts["targeted"] == 3


async def test_the_city_said_in_the_services_conversation_is_kept_for_broadcasts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    for text in ("hello", "where can I find a clinic in Sebha"):
        answer = await client.post(
            "/webhooks/rest/webhook", json={"sender": "asks-in-sebha", "message": text}
        )
        assert answer.status_code == 200
    async with runtime.db.session() as session:
        cities = list(await session.scalars(select(Contact.city)))
    assert cities == ["Sebha"]
    preview = await broadcasts.preview(runtime, Segment(city="Sebha"))
    assert preview.counts["targeted"] == 1


async def test_sending_queues_one_message_per_person_in_their_language(runtime: Runtime) -> None:
    ids = await seed(runtime)
    supervisor = await create_operator(runtime, "sara", "supervisor")
    created = await broadcasts.send_broadcast(
        runtime,
        operator_id=supervisor,
        texts=TEXTS,
        segment=Segment(nationality="NG"),
        idempotency_key="key-1",
    )
    assert created.created and created.counts["queued"] == 6
    sent = await messages_of(runtime, created.broadcast_id)
    assert len(sent) == 6
    by_contact = {contact.id: message for contact, message in sent}
    assert set(by_contact) >= {ids["rest"], ids["telegram"], ids["wa_open"], ids["no_language"]}
    assert ids["opted_out"] not in by_contact and ids["wa_closed"] not in by_contact
    assert ids["cloud_closed"] not in by_contact and ids["caller"] not in by_contact
    # the number in the Arabic text is isolated, so it reads "+218…" on the person's phone
    arabic = TEXTS["ar"].replace("+218912223344", "\u2068+218912223344\u2069")
    assert by_contact[ids["telegram"]].text == arabic
    assert by_contact[ids["telegram"]].payload["direction"] == "rtl"
    assert by_contact[ids["wa_open"]].text == TEXTS["fr"]
    assert by_contact[ids["no_language"]].text == TEXTS["en"]  # the default language
    sms = {c.address: m for c, m in sent if c.channel == "sms"}
    # the caller by SMS in Hausa; the person registered by a mobilizer at their own number
    assert sms["+218910000004"].text == TEXTS["ha"]
    assert sms["+218910000006"].text == arabic
    assert ids["mobilizer"] not in by_contact
    assert all(m.status == MessageStatus.QUEUED for _, m in sent)
    async with runtime.db.session() as session:
        [event] = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "broadcast.created")
            )
        )
    assert event.actor == f"operator:{supervisor}" and event.details["queued"] == 6
    assert "embassy" not in str(event.details).lower()
    # the same key again is the same broadcast; nothing is queued twice
    again = await broadcasts.send_broadcast(
        runtime,
        operator_id=supervisor,
        texts=TEXTS,
        segment=Segment(nationality="NG"),
        idempotency_key="key-1",
    )
    assert (again.broadcast_id, again.created) == (created.broadcast_id, False)
    assert len(await messages_of(runtime, created.broadcast_id)) == 6


async def test_concurrent_double_submits_make_one_broadcast(runtime: Runtime) -> None:
    await seed(runtime)
    supervisor = await create_operator(runtime, "sara", "supervisor")

    async def submit() -> broadcasts.Created:
        return await broadcasts.send_broadcast(
            runtime,
            operator_id=supervisor,
            texts=TEXTS,
            segment=Segment(nationality="ML"),
            idempotency_key="double-click",
        )

    first, second = await asyncio.gather(submit(), submit())
    assert first.broadcast_id == second.broadcast_id
    assert sorted([first.created, second.created]) == [False, True]
    async with runtime.db.session() as session:
        assert len(list(await session.scalars(select(Broadcast)))) == 1
        assert len(list(await session.scalars(select(Message).where(
            Message.broadcast_id == first.broadcast_id)))) == 1  # fmt: skip


async def test_every_enabled_language_needs_a_text(runtime: Runtime) -> None:
    supervisor = await create_operator(runtime, "sara", "supervisor")
    with pytest.raises(RecordError) as caught:
        await broadcasts.send_broadcast(
            runtime,
            operator_id=supervisor,
            texts={**TEXTS, "ha": "  ", "de": "Hallo"},
            segment=Segment(),
            idempotency_key="k",
        )
    assert set(caught.value.errors) == {"text_ha", "text_de"}


async def test_templates_outside_the_window_and_live_delivery_counts(
    make_runtime: RuntimeFactory,
) -> None:
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as (fake, base_url):
        template = "HX" + "b" * 32
        runtime = await make_runtime(
            **twilio_overrides(base_url, twilio_whatsapp_template_sid=template)
        )
        ids = await seed(runtime)
        supervisor = await create_operator(runtime, "sara", "supervisor")
        preview = await broadcasts.preview(runtime, Segment(nationality="NG"))
        # Twilio WhatsApp has a template now; the Cloud API channel still has none
        assert (preview.counts["template"], preview.counts["skipped_window"]) == (1, 1)
        created = await broadcasts.send_broadcast(
            runtime,
            operator_id=supervisor,
            texts=TEXTS,
            segment=Segment(nationality="NG"),
            idempotency_key="with-template",
        )
        assert created.counts["queued"] == 7 and created.counts["template"] == 1
        await runtime.outbox.drain()
        sent_to = {m["To"]: m for m in fake.messages}
        # the real Twilio senders: SMS for the caller, text inside the window, the template
        # outside it
        assert sent_to["+218910000004"]["Body"] == TEXTS["ha"]
        assert sent_to["whatsapp:+218910000001"]["Body"] == TEXTS["fr"]
        assert sent_to["whatsapp:+218910000002"]["ContentSid"] == template
        view = await broadcasts.get_broadcast(runtime, created.broadcast_id)
        assert view is not None
        # Twilio took 3 (2 SMS, 1 WhatsApp text); the message the template stood in for waits
        # for the person's answer, telegram has no sender here and two REST messages wait for
        # their clients
        assert view.delivery == {"queued": 4, "sent": 3, "delivered": 0, "undeliverable": 0}
        sms = next(m for m in fake.messages if m["To"] == "+218910000004")
        await runtime.outbox.record_status("sms", sms["Sid"], MessageStatus.DELIVERED, None)
        view = await broadcasts.get_broadcast(runtime, created.broadcast_id)
        assert view is not None and view.delivery["delivered"] == 1 and view.delivery["sent"] == 2
        assert ids["rest"]  # the REST person still collects theirs
        listed = await broadcasts.list_broadcasts(runtime)
        assert [b.id for b in listed] == [created.broadcast_id]


# -- routes -------------------------------------------------------------------------------


async def test_operators_cannot_broadcast(runtime: Runtime, client: httpx.AsyncClient) -> None:
    operator = await create_operator(runtime, "olu", "operator")
    auth = {"authorization": f"Bearer {await api_token(runtime, operator)}"}
    body = {"texts": TEXTS, "segment": {}, "idempotency_key": "x"}
    assert (await client.post("/api/v1/broadcasts", json=body, headers=auth)).status_code == 403
    assert (await client.get("/api/v1/broadcasts", headers=auth)).status_code == 403
    assert (await client.post("/api/v1/broadcasts", json=body)).status_code == 401
    await sign_in(client, "olu", "correct horse battery 1")
    assert (await client.get("/console/broadcasts")).status_code == 403
    assert (await client.get("/console/broadcasts/new")).status_code == 403
    async with runtime.db.session() as session:
        assert list(await session.scalars(select(Broadcast))) == []


async def test_console_compose_preview_and_a_double_submitted_send(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(runtime)
    await create_operator(runtime, "sara", "supervisor")
    csrf = await sign_in(client, "sara", "correct horse battery 1")
    compose = await client.get("/console/broadcasts/new")
    assert compose.status_code == 200
    assert compose.text.count("<textarea") == len(TEXTS) and 'dir="rtl"' in compose.text
    form = {f"text_{k}": v for k, v in TEXTS.items()} | {"nationality": "NG", "csrf_token": csrf}
    # a missing language is named, nothing is sent
    partial = await client.post("/console/broadcasts/preview", data={**form, "text_fr": ""})
    assert partial.status_code == 422 and "text in fr" in partial.text
    preview = await client.post("/console/broadcasts/preview", data=form)
    assert preview.status_code == 200
    assert re.search(r'id="count-queued"><strong>6</strong>', preview.text)
    assert 'id="count-opted-out">1<' in preview.text and 'id="count-window">2<' in preview.text
    assert 'lang="ar" dir="rtl">' + TEXTS["ar"] in preview.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', preview.text)
    assert key is not None
    confirm = {**form, "idempotency_key": key.group(1)}
    first = await client.post("/console/broadcasts", data=confirm)
    second = await client.post("/console/broadcasts", data=confirm)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    page = await client.get(first.headers["location"])
    assert page.status_code == 200 and 'id="queued-at-send">6<' in page.text
    assert 'id="delivery-queued">6<' in page.text
    listing = await client.get("/console/broadcasts")
    assert listing.text.count('href="/console/broadcasts/') == 1 + listing.text.count(
        'href="/console/broadcasts/new"'
    )
    no_csrf = {k: v for k, v in confirm.items() if k != "csrf_token"}
    assert (await client.post("/console/broadcasts", data=no_csrf)).status_code == 403


async def test_api_broadcasts(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await seed(runtime)
    supervisor = await create_operator(runtime, "sara", "supervisor")
    auth = {"authorization": f"Bearer {await api_token(runtime, supervisor)}"}
    preview = await client.post(
        "/api/v1/broadcasts/preview", headers=auth, json={"segment": {"nationality": "NG"}}
    )
    assert preview.status_code == 200 and preview.json()["counts"]["queued"] == 6
    body = {"texts": TEXTS, "segment": {"nationality": "NG"}, "idempotency_key": "api-1"}
    created = await client.post("/api/v1/broadcasts", headers=auth, json=body)
    assert created.status_code == 201 and created.json()["counts"]["queued"] == 6
    repeat = await client.post("/api/v1/broadcasts", headers=auth, json=body)
    assert repeat.status_code == 200 and repeat.json()["id"] == created.json()["id"]
    got = await client.get(f"/api/v1/broadcasts/{created.json()['id']}", headers=auth)
    assert got.json()["delivery"]["queued"] == 6 and got.json()["texts"] == TEXTS
    assert len((await client.get("/api/v1/broadcasts", headers=auth)).json()) == 1
    assert (await client.get("/api/v1/broadcasts/9999", headers=auth)).status_code == 404
    bad = await client.post(
        "/api/v1/broadcasts",
        headers=auth,
        json={**body, "idempotency_key": "api-2", "segment": {"city": "Paris"}},
    )
    assert bad.status_code == 422 and "detail" in bad.json()
    missing = await client.post(
        "/api/v1/broadcasts",
        headers=auth,
        json={**body, "idempotency_key": "api-3", "texts": {"en": "only English"}},
    )
    assert missing.status_code == 422
    assert {e["loc"][-1] for e in missing.json()["detail"]} == {
        f"text_{k}" for k in TEXTS if k != "en"
    }
