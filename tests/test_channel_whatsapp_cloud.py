"""WhatsApp Cloud API: the real webhook protocol (handshake, signatures on the raw body,
interactive replies, statuses) and the sender against a local fake Graph API over real HTTP.
Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.channels.whatsapp_cloud.sender import (
    BUTTON_TITLE_LIMIT,
    ROW_DESCRIPTION_LIMIT,
    ROW_TITLE_LIMIT,
    build_requests,
    split_text,
)
from bot.messages import Button, OutboundMessage
from bot.runtime import Runtime
from bot.storage.models import (
    Contact,
    Direction,
    Message,
    MessageStatus,
    Operator,
    Registration,
    utcnow,
)
from server import create_app
from tests.conftest import RuntimeFactory
from tests.fakes.whatsapp_graph import (
    FakeGraph,
    button_reply,
    encode,
    image_message,
    incoming,
    list_reply,
    new_wamid,
    notification,
    running_fake_graph,
    sign,
    status_update,
    text_message,
)

TOKEN = "EAAGfake0access0token0do0not0log"
APP_SECRET = "fake-app-secret-for-tests"
VERIFY_TOKEN = "fake-verify-token"
PHONE_ID = "106540352242922"
TEMPLATE = "hotline_message"


@dataclass
class WhatsApp:
    """The app with the WhatsApp Cloud channel, and the fake Graph API behind it."""

    runtime: Runtime
    http: httpx.AsyncClient
    graph: FakeGraph

    async def post(self, body: bytes, signature: str | None = "auto") -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature == "auto":
            signature = sign(body, APP_SECRET)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self.http.post("/webhooks/whatsapp", content=body, headers=headers)

    async def deliver(self, payload: dict[str, Any]) -> httpx.Response:
        response = await self.post(encode(payload))
        assert response.status_code == 200, response.text
        return response

    async def say(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """One message from a person; returns the Graph requests sent to them in reply."""
        before = len(self.graph.sent)
        await self.deliver(incoming(PHONE_ID, message))
        await self.runtime.outbox.drain()
        return [r for r in self.graph.sent[before:] if r["to"] == message["from"]]

    async def choose(self, wa_id: str, replies: list[dict[str, Any]], option: str) -> list[dict]:
        """Tap `option` in the buttons or list of the last reply, as a person would."""
        interactive = replies[-1]["interactive"]
        if interactive["type"] == "button":
            titles = {
                b["reply"]["id"]: b["reply"]["title"] for b in interactive["action"]["buttons"]
            }
            return await self.say(button_reply(wa_id, option, titles[option]))
        rows = {
            row["id"]: row["title"]
            for section in interactive["action"]["sections"]
            for row in section["rows"]
        }
        return await self.say(list_reply(wa_id, option, rows[option]))


WhatsAppFactory = Callable[..., Awaitable[WhatsApp]]


@pytest.fixture
def graph() -> Iterator[tuple[FakeGraph, str]]:
    with running_fake_graph(TOKEN, PHONE_ID) as running:
        yield running


@pytest.fixture
async def make_whatsapp(
    make_runtime: RuntimeFactory, graph: tuple[FakeGraph, str]
) -> AsyncIterator[WhatsAppFactory]:
    fake, base_url = graph
    clients: list[httpx.AsyncClient] = []

    async def factory(**overrides: Any) -> WhatsApp:
        settings: dict[str, Any] = {
            "whatsapp_access_token": TOKEN,
            "whatsapp_app_secret": APP_SECRET,
            "whatsapp_verify_token": VERIFY_TOKEN,
            "whatsapp_phone_number_id": PHONE_ID,
            "whatsapp_graph_base_url": base_url,
            "whatsapp_template_name": TEMPLATE,
        }
        settings.update(overrides)
        runtime = await make_runtime(**settings)
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return WhatsApp(runtime, client, fake)

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def wa(make_whatsapp: WhatsAppFactory) -> WhatsApp:
    return await make_whatsapp()


def body_of(request: dict[str, Any]) -> str:
    kind = request["type"]
    if kind == "text":
        return str(request["text"]["body"])
    if kind == "interactive":
        return str(request["interactive"]["body"]["text"])
    return str(request["template"]["components"][0]["parameters"][0]["text"])


def option_ids(request: dict[str, Any]) -> list[str]:
    interactive = request["interactive"]
    if interactive["type"] == "button":
        return [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    return [row["id"] for s in interactive["action"]["sections"] for row in s["rows"]]


async def inbound_rows(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == Direction.INBOUND).order_by(Message.id)
        return list(await session.scalars(query))


async def outbound_rows(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)
        return list(await session.scalars(query))


# -- the handshake ---------------------------------------------------------------------------
async def test_verification_handshake_answers_the_challenge(wa: WhatsApp) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await wa.http.get("/webhooks/whatsapp", params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "8412937"},
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "8412937"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8412937"},
        {"hub.challenge": "8412937"},
    ],
)
async def test_verification_with_a_wrong_token_is_refused(
    wa: WhatsApp, params: dict[str, str]
) -> None:
    response = await wa.http.get("/webhooks/whatsapp", params=params)
    assert response.status_code == 403
    assert "8412937" not in response.text


# -- signatures ------------------------------------------------------------------------------
SIGNATURES: dict[str, Callable[[bytes], str | None]] = {
    "missing": lambda body: None,
    "empty": lambda body: "",
    "zeros": lambda body: "sha256=" + "0" * 64,
    "other body": lambda body: sign(b"another body", APP_SECRET),
    "other secret": lambda body: sign(body, "wrong-secret"),
    "sha1": lambda body: "sha1=" + "0" * 40,
    "bare hex": lambda body: sign(body, APP_SECRET).removeprefix("sha256="),
}


@pytest.mark.parametrize("forgery", SIGNATURES)
async def test_forged_or_missing_signature_is_refused_and_nothing_stored(
    wa: WhatsApp, forgery: str
) -> None:
    body = encode(incoming(PHONE_ID, text_message("218912345001", "hello")))
    response = await wa.post(body, signature=SIGNATURES[forgery](body))
    assert response.status_code == 403
    assert "detail" in response.json()
    assert await inbound_rows(wa.runtime) == []
    await wa.runtime.outbox.drain()
    assert wa.graph.sent == []


async def test_signature_is_checked_on_the_raw_body(wa: WhatsApp) -> None:
    payload = incoming(PHONE_ID, text_message("218912345002", "hello"))
    compact = encode(payload)
    spaced = json.dumps(payload, indent=2).encode()
    assert json.loads(spaced) == json.loads(compact)  # the same JSON, other bytes
    refused = await wa.post(spaced, signature=sign(compact, APP_SECRET))
    assert refused.status_code == 403
    assert await inbound_rows(wa.runtime) == []
    accepted = await wa.post(spaced, signature=sign(spaced, APP_SECRET))
    assert accepted.status_code == 200
    assert len(await inbound_rows(wa.runtime)) == 1


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\xfa", b"[1, 2]"])
async def test_signed_but_malformed_bodies_get_400(wa: WhatsApp, body: bytes) -> None:
    response = await wa.post(body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert await inbound_rows(wa.runtime) == []


# -- conversations ---------------------------------------------------------------------------
async def test_arabic_conversation_with_a_list_menu_and_buttons(wa: WhatsApp) -> None:
    t = wa.runtime.catalogs.text
    person = "218912345003"
    replies = await wa.say(text_message(person, "السلام عليكم"))
    assert [body_of(r) for r in replies] == [t("ar", "welcome.first"), t("ar", "menu.main")]
    assert replies[0]["type"] == "text"
    menu = replies[1]["interactive"]
    assert menu["type"] == "list"  # five options: a list
    assert menu["action"]["button"] == t("ar", "whatsapp.choose")
    assert option_ids(replies[1]) == ["1", "2", "3", "4", "5"]
    rows = menu["action"]["sections"][0]["rows"]
    assert rows[0]["title"].startswith("1. ")
    assert all(len(row["title"]) <= ROW_TITLE_LIMIT for row in rows)

    replies = await wa.choose(person, replies, "1")  # return registration, from the list
    assert [body_of(r) for r in replies] == [
        t("ar", "registration.intro.1"),
        t("ar", "registration.intro.2"),
        t("ar", "registration.consent"),
    ]
    consent = replies[-1]["interactive"]
    assert consent["type"] == "button"  # yes / no: reply buttons
    assert option_ids(replies[-1]) == ["1", "2"]
    assert consent["action"]["buttons"][0]["reply"]["title"] == "1. " + t("ar", "option.yes")

    replies = await wa.choose(person, replies, "1")  # the button "yes" drives the next step
    assert [body_of(r) for r in replies] == [t("ar", "registration.ask_name")]
    assert wa.graph.refused == []  # every request kept Meta's limits
    rows_in = await inbound_rows(wa.runtime)
    assert [m.text for m in rows_in] == ["السلام عليكم", "1", "1"]
    assert {m.channel for m in rows_in} == {"whatsapp_cloud"}


async def test_a_whole_return_registration_gets_its_reference(wa: WhatsApp) -> None:
    t = wa.runtime.catalogs.text
    person = "227912345004"  # a Nigerien number

    async def text(words: str) -> list[dict[str, Any]]:
        return await wa.say(text_message(person, words))

    replies = await text("bonjour")
    replies = await wa.choose(person, replies, "1")  # register for return
    replies = await wa.choose(person, replies, "1")  # consent: yes
    assert body_of(replies[-1]) == t("fr", "registration.ask_name")
    replies = await text("Aminata Traoré")
    assert replies[-1]["interactive"]["type"] == "list"  # 8 countries + other
    replies = await wa.choose(person, replies, "2")  # Niger
    assert body_of(replies[-1]) == t("fr", "registration.ask_age")
    replies = await text("30")
    replies = await wa.choose(person, replies, "1")  # woman
    replies = await text("0912345678")
    replies = await text("Sebha")
    replies = await wa.choose(person, replies, "2")  # not detained
    replies = await wa.choose(person, replies, "3")  # no passport
    replies = await text("0")  # travels alone
    for _ in range(3):  # pregnant, disability, violence: no
        replies = await wa.choose(person, replies, "2")
    assert body_of(replies[-1]) == t("fr", "registration.confirm")
    assert "Aminata Traoré" in " ".join(body_of(r) for r in replies)
    done = await wa.choose(person, replies, "1")  # confirm
    reference = re.search(r"LY-[A-Z0-9]{6}", body_of(done[0]))
    assert reference is not None
    assert body_of(done[0]) == t("fr", "registration.done", reference=reference.group())
    async with wa.runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    assert (row.reference, row.country, row.city, row.channel) == (
        reference.group(),
        "NE",
        "Sebha",
        "whatsapp_cloud",
    )
    assert row.full_name == "Aminata Traoré" and row.phone == "+218912345678"
    assert wa.graph.refused == []


async def test_a_repeated_message_id_is_handled_once(wa: WhatsApp) -> None:
    payload = incoming(PHONE_ID, text_message("218912345005", "hello", wamid=new_wamid()))
    for _ in range(3):  # Meta retries until it gets a 200
        await wa.deliver(payload)
    await wa.runtime.outbox.drain()
    assert len(await inbound_rows(wa.runtime)) == 1
    texts = [body_of(r) for r in wa.graph.sent_to("218912345005")]
    assert texts == [
        wa.runtime.catalogs.text("en", "welcome.first"),
        wa.runtime.catalogs.text("en", "menu.main"),
    ]


async def test_media_gives_its_caption_and_the_profile_name_is_never_stored(
    wa: WhatsApp,
) -> None:
    person = "218912345006"
    await wa.say(text_message(person, "hello"))
    name = "Zainab Profilename"
    await wa.deliver(
        incoming(
            PHONE_ID, image_message(person, "1479537139650973", "my passport"), profile_name=name
        )
    )
    await wa.deliver(
        incoming(PHONE_ID, image_message(person, "1479537139650974"), profile_name=name)
    )
    rows = await inbound_rows(wa.runtime)
    assert [(m.text, m.payload.get("media")) for m in rows[1:]] == [("my passport", 1), ("", 1)]
    async with wa.runtime.db.session() as session:
        messages = list(await session.scalars(select(Message)))
        contacts = list(await session.scalars(select(Contact)))
    stored = json.dumps(
        [[m.text, m.payload] for m in messages] + [[c.address, c.city] for c in contacts],
        ensure_ascii=False,
    )
    assert "Zainab" not in stored and "Profilename" not in stored


@pytest.mark.parametrize(
    "payload",
    [
        incoming("999999999999999", text_message("218912345007", "hello")),  # another number
        incoming(
            PHONE_ID,
            {"from": "218912345007", "id": "wamid.r1", "type": "reaction", "reaction": {}},
        ),
        incoming(PHONE_ID, {"from": "218912345007", "id": "wamid.u1", "type": "unsupported"}),
        incoming(PHONE_ID, text_message("not-a-wa-id", "hello")),
        notification(PHONE_ID, {"errors": [{"code": 131000}]}),
        {"object": "page", "entry": [{"changes": []}]},
        {"object": "whatsapp_business_account", "entry": "nonsense"},
    ],
)
async def test_other_numbers_and_unknown_kinds_are_ignored_with_200(
    wa: WhatsApp, payload: dict[str, Any]
) -> None:
    response = await wa.deliver(payload)
    assert response.json() == {"messages": 0, "statuses": 0}
    assert await inbound_rows(wa.runtime) == []


# -- delivery reports ------------------------------------------------------------------------
async def test_statuses_update_delivery(wa: WhatsApp) -> None:
    person = "218912345008"
    await wa.say(text_message(person, "hello"))
    welcome, menu = await outbound_rows(wa.runtime)
    assert (welcome.status, menu.status) == (MessageStatus.SENT, MessageStatus.SENT)
    assert [welcome.provider_message_id, menu.provider_message_id] == wa.graph.ids
    await wa.deliver(status_update(PHONE_ID, menu.provider_message_id or "", "delivered", person))
    await wa.deliver(status_update(PHONE_ID, menu.provider_message_id or "", "read", person))
    await wa.deliver(
        status_update(
            PHONE_ID,
            welcome.provider_message_id or "",
            "failed",
            person,
            error_code=131026,
            error_title="Message undeliverable",
        )
    )
    welcome, menu = await outbound_rows(wa.runtime)
    assert menu.status == MessageStatus.DELIVERED and menu.delivered_at is not None
    assert welcome.status == MessageStatus.UNDELIVERABLE
    assert welcome.last_error == "131026 Message undeliverable"


# -- sending: retries, the window, refusals --------------------------------------------------
@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [(429, 130429, "120"), (400, 4, None), (503, 2, None), (400, 131056, None)],
)
async def test_throttling_and_server_errors_are_retried(
    wa: WhatsApp, status: int, code: int, retry_after: str | None
) -> None:
    person = "218912345009"
    wa.graph.fail_next(status, code, "slow down", retry_after=retry_after)
    await wa.say(text_message(person, "hello"))
    welcome, menu = await outbound_rows(wa.runtime)
    assert welcome.status == MessageStatus.QUEUED and welcome.attempts == 1
    assert str(code) in (welcome.last_error or "")
    assert menu.status == MessageStatus.QUEUED  # waits behind the first: order is kept
    assert wa.graph.sent == []
    if retry_after:  # Meta's Retry-After is honoured instead of the short backoff
        assert welcome.next_attempt_at is not None
        assert welcome.next_attempt_at.replace(tzinfo=None) > (
            utcnow() + timedelta(seconds=60)
        ).replace(tzinfo=None)
    async with wa.runtime.db.session() as session, session.begin():
        await session.execute(update(Message).values(next_attempt_at=utcnow() - timedelta(1)))
    await wa.runtime.outbox.drain()
    await wa.runtime.outbox.drain()
    texts = [body_of(r) for r in wa.graph.sent_to(person)]
    t = wa.runtime.catalogs.text
    assert texts == [t("en", "welcome.first"), t("en", "menu.main")]
    assert [m.status for m in await outbound_rows(wa.runtime)] == [MessageStatus.SENT] * 2


async def test_undeliverable_recipient_is_not_retried(wa: WhatsApp) -> None:
    wa.graph.fail_next(400, 131026, "Message undeliverable")
    await wa.say(text_message("218912345010", "hello"))
    welcome, menu = await outbound_rows(wa.runtime)
    assert welcome.status == MessageStatus.UNDELIVERABLE
    assert "131026" in (welcome.last_error or "")
    assert menu.status == MessageStatus.SENT  # the next message is tried on its own


async def test_a_refused_token_is_reported_without_the_token(
    make_whatsapp: WhatsAppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    wa = await make_whatsapp(whatsapp_access_token="EAAGexpired0token0value")
    with caplog.at_level(logging.INFO):
        await wa.say(text_message("218912345011", "hello"))
    rows = await outbound_rows(wa.runtime)
    assert {m.status for m in rows} == {MessageStatus.UNDELIVERABLE}
    assert all(m.attempts == 1 for m in rows)  # no retries with a token that will not work
    assert "access token refused" in (rows[0].last_error or "")
    assert "access token was refused" in caplog.text
    assert "EAAGexpired0token0value" not in caplog.text
    assert "218912345011" not in caplog.text  # nor the person's number


async def outside_the_window(wa: WhatsApp, person: str) -> int:
    """A person who wrote 25 hours ago; returns their contact id."""
    await wa.say(text_message(person, "hello"))
    contact = await wa.runtime.store.contact_for("whatsapp_cloud", person)
    async with wa.runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    return contact.id


async def test_outside_the_window_the_template_carries_the_message(wa: WhatsApp) -> None:
    person = "218912345012"
    contact_id = await outside_the_window(wa, person)
    before = len(wa.graph.sent)
    message = OutboundMessage(text="Your papers are ready.\nCome on Sunday.", language="en")
    await wa.runtime.engine.send_later(contact_id, "whatsapp_cloud", message)
    await wa.runtime.outbox.drain()
    [request] = wa.graph.sent[before:]
    assert request["type"] == "template"
    template = request["template"]
    assert template["name"] == TEMPLATE and template["language"] == {"code": "en"}
    assert body_of(request) == "Your papers are ready. · Come on Sunday."
    held = (await outbound_rows(wa.runtime))[-1]
    assert held.status == MessageStatus.HELD  # the message itself follows the person's answer
    assert held.provider_message_id == wa.graph.ids[-1]
    assert held.payload["held"]["template"] == f"{TEMPLATE}:en"


async def test_outside_the_window_without_a_template_is_undeliverable(
    make_whatsapp: WhatsAppFactory,
) -> None:
    wa = await make_whatsapp(whatsapp_template_name=None)
    contact_id = await outside_the_window(wa, "218912345013")
    before = len(wa.graph.sent)
    await wa.runtime.engine.send_later(
        contact_id, "whatsapp_cloud", OutboundMessage(text="Your papers are ready.", language="en")
    )
    await wa.runtime.outbox.drain()
    assert wa.graph.sent[before:] == []
    last = (await outbound_rows(wa.runtime))[-1]
    assert last.status == MessageStatus.UNDELIVERABLE and last.attempts == 1
    assert "24-hour window" in (last.last_error or "")


async def test_meta_closing_the_window_first_falls_back_to_the_template(wa: WhatsApp) -> None:
    person = "218912345014"
    wa.graph.fail_next(400, 131047, "Re-engagement message")
    replies = await wa.say(text_message(person, "hello"))
    # one template; the menu waits behind it instead of drawing a second one
    assert [r["type"] for r in replies] == ["template"]
    assert body_of(replies[0]) == wa.runtime.catalogs.text("en", "welcome.first")
    welcome, menu = await outbound_rows(wa.runtime)
    assert (welcome.status, menu.status) == (MessageStatus.HELD, MessageStatus.HELD)
    assert menu.provider_message_id is None and menu.payload["held"]["template"] is None
    # Meta's "closed" is not our clock's: nothing goes again until the person writes
    assert await wa.runtime.outbox.drain() == 0
    replies = await wa.say(text_message(person, "hello"))
    t = wa.runtime.catalogs.text
    assert [body_of(r) for r in replies[:2]] == [t("en", "welcome.first"), t("en", "menu.main")]


async def test_operator_reply_goes_out_after_drain(wa: WhatsApp) -> None:
    person = "218912345015"
    await wa.say(text_message(person, "hello"))
    contact = await wa.runtime.store.contact_for("whatsapp_cloud", person)
    handoff_id, created = await wa.runtime.handoffs.open(
        contact.id, reason="requested", priority="normal", channel="whatsapp_cloud", language="en"
    )
    assert created
    async with wa.runtime.db.session() as session, session.begin():
        operator = Operator(username="fatima", display_name="Fatima", password_hash="-")
        session.add(operator)
        await session.flush()
        operator_id = operator.id
    before = len(wa.graph.sent)
    await wa.runtime.handoffs.reply(
        handoff_id, operator_id, "Hello, I am Fatima. <b>How</b> can I help?"
    )
    assert wa.graph.sent[before:] == []  # queued, not sent in the call
    await wa.runtime.outbox.drain()
    [request] = wa.graph.sent[before:]
    assert request["to"] == person and request["type"] == "text"
    assert body_of(request) == "Hello, I am Fatima. <b>How</b> can I help?"
    async with wa.runtime.db.session() as session:
        row = await session.scalar(select(Message).where(Message.operator_id == operator_id))
    assert row is not None and row.status == MessageStatus.SENT
    assert row.provider_message_id == wa.graph.ids[-1]


async def test_inbound_messages_are_counted_once_per_person(wa: WhatsApp) -> None:
    # two people in one notification: both are handled, each under their own contact
    first = text_message("218912345016", "hello")
    second = text_message("218912345017", "bonjour")
    payload = incoming(PHONE_ID, first)
    payload["entry"][0]["changes"][0]["value"]["messages"].append(second)
    response = await wa.deliver(payload)
    assert response.json() == {"messages": 2, "statuses": 0}
    await wa.runtime.outbox.drain()
    async with wa.runtime.db.session() as session:
        contacts = await session.scalar(select(func.count()).select_from(Contact))
    assert contacts == 2
    assert wa.graph.sent_to("218912345016") and wa.graph.sent_to("218912345017")


# -- building requests (no server) ------------------------------------------------------------
def test_long_button_labels_are_shortened_and_keep_their_payloads() -> None:
    message = OutboundMessage(
        text="Are you detained?",
        language="en",
        buttons=(
            Button("1. Yes, in a detention centre now", "1"),
            Button("2. No", "2"),
            Button("3. I do not want to say it here", "3"),
        ),
    )
    [request] = build_requests("218900000001", message, "Choose an option")
    buttons = request["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["1", "2", "3"]
    assert all(len(b["reply"]["title"]) <= BUTTON_TITLE_LIMIT for b in buttons)
    assert buttons[0]["reply"]["title"].startswith("1. Yes")
    assert buttons[1]["reply"]["title"] == "2. No"


def test_list_rows_keep_the_whole_label_in_their_description() -> None:
    long_label = "4. Information about health services near you"
    options = tuple(Button(f"{i}. Option {i}", str(i)) for i in range(1, 4))
    message = OutboundMessage("Menu", "en", buttons=(*options, Button(long_label, "4")))
    [request] = build_requests("218900000001", message, "Choose an option")
    rows = request["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows[3]["title"]) <= ROW_TITLE_LIMIT
    assert rows[3]["description"] == long_label[:ROW_DESCRIPTION_LIMIT]
    assert "description" not in rows[0]


def test_more_than_ten_options_become_numbered_text() -> None:
    options = tuple(Button(f"{i}. City {i}", str(i)) for i in range(1, 13))
    message = OutboundMessage("Which city?", "en", buttons=options)
    [request] = build_requests("218900000001", message, "Choose an option")
    assert request["type"] == "text"
    assert request["text"]["body"] == message.as_plain_text()


def test_long_text_is_split_within_the_limits() -> None:
    text = " ".join(f"word{i}" for i in range(1500))  # about 12,000 characters
    message = OutboundMessage(text, "en", buttons=(Button("1. Yes", "1"), Button("2. No", "2")))
    requests = build_requests("218900000001", message, "Choose an option")
    assert [r["type"] for r in requests[:-1]] == ["text"] * (len(requests) - 1)
    assert requests[-1]["interactive"]["type"] == "button"
    assert all(len(body_of(r)) <= 4096 for r in requests)
    assert len(body_of(requests[-1])) <= 1024
    assert " ".join(body_of(r) for r in requests).split() == text.split()
    assert split_text("short", 10) == ["short"]


# -- a template per language; held messages follow the person's answer -----------------------
TEMPLATES = "en=hotline_message:en, ha=hotline_sako:ha, ar=hotline_message:ar"


async def closed_window(wa: WhatsApp, person: str, language: str) -> int:
    """A person who wrote 25 hours ago in `language`; returns their contact id."""
    contact_id = await outside_the_window(wa, person)
    async with wa.runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.id == contact_id).values(language=language)
        )
    return contact_id


async def held_rows(wa: WhatsApp, contact_id: int) -> list[Message]:
    return [m for m in await outbound_rows(wa.runtime) if m.contact_id == contact_id]


async def test_each_language_its_template_and_the_held_messages_follow_once(
    make_whatsapp: WhatsAppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    wa = await make_whatsapp(whatsapp_template_name=None, whatsapp_templates=TEMPLATES)
    hausa, french = "218912345030", "218912345031"
    hausa_id = await closed_window(wa, hausa, "ha")
    french_id = await closed_window(wa, french, "fr")
    before = len(wa.graph.sent)
    send_later = wa.runtime.engine.send_later
    first = OutboundMessage("Takardunku sun shirya.", "ha")
    second = OutboundMessage("Ku zo ranar Lahadi.", "ha", buttons=(Button("1. To", "1"),))
    await send_later(hausa_id, "whatsapp_cloud", first)
    await send_later(hausa_id, "whatsapp_cloud", second)
    await send_later(french_id, "whatsapp_cloud", OutboundMessage("Vos papiers sont prêts.", "fr"))
    with caplog.at_level(logging.INFO):
        await wa.runtime.outbox.drain()
    sent = wa.graph.sent[before:]
    # one template each, in the person's language, or the default language's when theirs has none
    [to_hausa] = [r for r in sent if r["to"] == hausa]
    assert to_hausa["type"] == "template"
    assert to_hausa["template"]["name"] == "hotline_sako"
    assert to_hausa["template"]["language"] == {"code": "ha"}
    assert body_of(to_hausa) == "Takardunku sun shirya."
    [to_french] = [r for r in sent if r["to"] == french]
    assert to_french["template"]["name"] == "hotline_message"
    assert to_french["template"]["language"] == {"code": "en"}
    assert "none configured for language fr" in caplog.text
    assert french not in caplog.text and "papiers" not in caplog.text  # nothing personal
    rows = await held_rows(wa, hausa_id)
    assert [m.status for m in rows[-2:]] == [MessageStatus.HELD] * 2
    # the second waits behind the first's template without one of its own
    assert rows[-1].provider_message_id is None and rows[-1].payload["held"]["template"] is None
    assert rows[-2].payload["held"]["template"] == "hotline_sako:ha"

    replies = await wa.say(text_message(hausa, "sannu"))
    assert [body_of(r) for r in replies[:2]] == ["Takardunku sun shirya.", "Ku zo ranar Lahadi."]
    assert replies[0]["type"] == "text" and replies[1]["type"] == "interactive"
    assert len(replies) > 2  # then the answer to what they wrote, after the held ones
    held_first, held_second = [
        m for m in await held_rows(wa, hausa_id) if m.text in (first.text, second.text)
    ]
    assert (held_first.status, held_second.status) == (MessageStatus.SENT, MessageStatus.SENT)
    assert held_first.provider_message_id in wa.graph.ids  # the message's own id now

    again = await wa.say(text_message(hausa, "na gode"))
    bodies = [body_of(r) for r in wa.graph.sent_to(hausa)]
    assert bodies.count("Ku zo ranar Lahadi.") == 1 and "Ku zo ranar Lahadi." not in [
        body_of(r) for r in again
    ]
    # the French person has not answered: theirs is still held, only the template went
    assert [body_of(r) for r in wa.graph.sent_to(french)].count("Vos papiers sont prêts.") == 1
    assert (await held_rows(wa, french_id))[-1].status == MessageStatus.HELD


async def test_held_messages_survive_a_restart(
    make_whatsapp: WhatsAppFactory, make_runtime: RuntimeFactory
) -> None:
    wa = await make_whatsapp(whatsapp_template_name=None, whatsapp_templates=TEMPLATES)
    person = "218912345032"
    contact_id = await closed_window(wa, person, "ha")
    await wa.runtime.engine.send_later(
        contact_id, "whatsapp_cloud", OutboundMessage("Takardunku sun shirya.", "ha")
    )
    await wa.runtime.outbox.drain()
    assert wa.graph.sent_to(person)[-1]["type"] == "template"
    await wa.runtime.close()

    restarted = await make_runtime()  # the same settings and database: a new process
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=restarted)),
        base_url="http://testserver",
    ) as http:
        again = WhatsApp(restarted, http, wa.graph)
        replies = await again.say(text_message(person, "sannu"))
        assert body_of(replies[0]) == "Takardunku sun shirya."
        await again.say(text_message(person, "na gode"))
    bodies = [body_of(r) for r in wa.graph.sent_to(person)]
    assert bodies.count("Takardunku sun shirya.") == 2  # the template's variable, then the text
    assert [r["type"] for r in wa.graph.sent_to(person)].count("template") == 1


async def test_a_message_arriving_while_the_template_goes_releases_it_at_once(
    make_whatsapp: WhatsAppFactory,
) -> None:
    wa = await make_whatsapp(whatsapp_template_name=None, whatsapp_templates=TEMPLATES)
    person = "218912345033"
    contact_id = await closed_window(wa, person, "ar")
    sender = wa.runtime.outbox.senders["whatsapp_cloud"]
    send = sender.send

    async def person_writes_meanwhile(recipient: Any, message: OutboundMessage) -> Any:
        delivery = await send(recipient, message)
        if delivery.held:  # the template is out; the person writes before it is recorded
            await wa.deliver(incoming(PHONE_ID, text_message(person, "marhaba")))
        return delivery

    sender.send = person_writes_meanwhile  # type: ignore[method-assign]
    await wa.runtime.engine.send_later(
        contact_id, "whatsapp_cloud", OutboundMessage("أوراقك جاهزة.", "ar")
    )
    await wa.runtime.outbox.drain()
    kinds = [(r["type"], body_of(r)) for r in wa.graph.sent_to(person)]
    template_at = kinds.index(("template", "أوراقك جاهزة."))
    assert kinds[template_at + 1] == ("text", "أوراقك جاهزة.")  # not left held
    assert wa.graph.sent_to(person)[template_at]["template"]["language"] == {"code": "ar"}


async def test_a_report_on_the_template_leaves_the_message_held(wa: WhatsApp) -> None:
    person = "218912345034"
    contact_id = await outside_the_window(wa, person)
    await wa.runtime.engine.send_later(
        contact_id, "whatsapp_cloud", OutboundMessage("Your papers are ready.", "en")
    )
    await wa.runtime.outbox.drain()
    template_id = wa.graph.ids[-1]
    for status in ("sent", "delivered", "read"):
        await wa.deliver(status_update(PHONE_ID, template_id, status, person))
    await wa.deliver(
        status_update(
            PHONE_ID, template_id, "failed", person, error_code=131026, error_title="Undeliverable"
        )
    )
    row = (await outbound_rows(wa.runtime))[-1]
    assert row.status == MessageStatus.HELD
    assert row.last_error == "template: 131026 Undeliverable"
    replies = await wa.say(text_message(person, "hello"))
    assert body_of(replies[0]) == "Your papers are ready."
    row = next(m for m in await outbound_rows(wa.runtime) if m.id == row.id)
    assert row.status == MessageStatus.SENT and row.last_error is None


async def test_stop_instead_of_an_answer_means_the_held_message_never_goes(wa: WhatsApp) -> None:
    person = "218912345035"
    contact_id = await outside_the_window(wa, person)
    message_id = await wa.runtime.engine.send_later(
        contact_id, "whatsapp_cloud", OutboundMessage("Your papers are ready.", "en")
    )
    await wa.runtime.outbox.drain()
    replies = await wa.say(text_message(person, "STOP"))
    assert [body_of(r) for r in replies] == [wa.runtime.catalogs.text("en", "stop.confirmed")]
    row = next(m for m in await outbound_rows(wa.runtime) if m.id == message_id)
    assert (row.status, row.last_error) == (MessageStatus.UNDELIVERABLE, "the person opted out")
    await wa.say(text_message(person, "hello"))  # writing again does not bring it back
    bodies = [body_of(r) for r in wa.graph.sent_to(person)]
    assert bodies.count("Your papers are ready.") == 1  # the template's variable only


async def test_a_template_unanswered_for_a_day_does_not_silence_the_next_message(
    wa: WhatsApp,
) -> None:
    person = "218912345036"
    contact_id = await outside_the_window(wa, person)
    send_later = wa.runtime.engine.send_later
    first = await send_later(contact_id, "whatsapp_cloud", OutboundMessage("First news.", "en"))
    await wa.runtime.outbox.drain()
    async with wa.runtime.db.session() as session, session.begin():  # its template is a day old
        await session.execute(
            update(Message)
            .where(Message.id == first)
            .values(sent_at=utcnow() - timedelta(hours=25))
        )
    await send_later(contact_id, "whatsapp_cloud", OutboundMessage("Second news.", "en"))
    await wa.runtime.outbox.drain()
    sent = wa.graph.sent_to(person)
    assert [(r["type"], body_of(r)) for r in sent[-2:]] == [
        ("template", "First news."),
        ("template", "Second news."),
    ]
    replies = await wa.say(text_message(person, "hello"))
    assert [body_of(r) for r in replies[:2]] == ["First news.", "Second news."]
