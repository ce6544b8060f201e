"""The Telegram channel: the real python-telegram-bot against a local fake Bot API, fed real
update JSON through the webhook (and by polling), on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import PROJECT_ROOT
from bot.channels.telegram.limits import SendLimiter, TokenBucket
from bot.channels.telegram.sender import TEXT_LIMIT, TelegramSender, send_error, split_text
from bot.channels.telegram.updates import TelegramPolling, to_inbound
from bot.i18n import Catalogs
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
from tests.conftest import RuntimeFactory
from tests.fakes.http import free_port
from tests.fakes.telegram_api import (
    FakeTelegramAPI,
    callback_update,
    media_update,
    running_fake_telegram,
    text_update,
)

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret-for-tests"
LANGUAGES = ("en", "ar", "fr", "ha")
_update_ids = itertools.count(10_000)
CATALOGS = Catalogs(PROJECT_ROOT / "locales", list(LANGUAGES), "en")


def telegram_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    # The flood limits have their own tests below (on a fake clock); here they are wide open
    # so whole conversations do not sleep a second per message.
    return {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": base_url,
        "telegram_chat_rate": 1000.0,
        "telegram_chat_burst": 100,
        "telegram_global_rate": 1000.0,
        **overrides,
    }


@dataclass
class TelegramChat:
    fake: FakeTelegramAPI
    http: httpx.AsyncClient
    runtime: Runtime

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.http.post("/webhooks/telegram", json=update, headers=headers)

    async def deliver(self, update: dict[str, Any], chat_id: int) -> list[dict[str, Any]]:
        """Post an update, send what the outbox holds; the messages this chat got."""
        before = len(self.fake.sent_to(chat_id))
        response = await self.post(update)
        assert response.status_code == 200, response.text
        await self.runtime.outbox.drain()
        return self.fake.sent_to(chat_id)[before:]

    async def say(self, chat_id: int, text: str, language_code: str = "en") -> list[str]:
        update = text_update(next(_update_ids), chat_id, text, language_code=language_code)
        return [m["text"] for m in await self.deliver(update, chat_id)]

    async def press(self, chat_id: int, data: str, language_code: str = "en") -> list[str]:
        update = callback_update(next(_update_ids), chat_id, data, language_code=language_code)
        return [m["text"] for m in await self.deliver(update, chat_id)]

    async def answer(self, chat_id: int, value: str, language_code: str = "en") -> list[str]:
        """Press the button for `value` when the last message offers one, else type it."""
        last = self.fake.sent_to(chat_id)[-1]
        rows = last.get("reply_markup", {}).get("inline_keyboard", [])
        if any(row[0]["callback_data"] == value for row in rows):
            return await self.press(chat_id, value, language_code)
        return await self.say(chat_id, value, language_code)


@pytest.fixture
def fake_telegram() -> Iterator[tuple[FakeTelegramAPI, str]]:
    with running_fake_telegram() as pair:
        yield pair


@pytest.fixture
async def telegram(
    fake_telegram: tuple[FakeTelegramAPI, str], make_runtime: RuntimeFactory
) -> AsyncIterator[TelegramChat]:
    from server import create_app

    fake, base_url = fake_telegram
    runtime = await make_runtime(**telegram_settings(base_url))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield TelegramChat(fake, http, runtime)


def t(runtime: Runtime, language: str, key: str, **values: object) -> str:
    return runtime.catalogs.text(language, key, **values)


async def count(runtime: Runtime, model: type, *where: Any) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def inbound_rows(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == Direction.INBOUND)
        return list(await session.scalars(query.order_by(Message.id)))


async def outbound_rows(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == Direction.OUTBOUND)
        return list(await session.scalars(query.order_by(Message.id)))


# -- the webhook's door ------------------------------------------------------------------
@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
async def test_forged_or_missing_secret_is_refused(
    telegram: TelegramChat, secret: str | None
) -> None:
    response = await telegram.post(text_update(1, 501, "hello"), secret=secret)
    assert response.status_code == 403
    assert "detail" in response.json()
    assert await count(telegram.runtime, Message) == 0
    assert await count(telegram.runtime, Contact) == 0
    await telegram.runtime.outbox.drain()
    assert telegram.fake.sent == []


async def test_webhook_answers_503_when_telegram_is_not_configured(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.post(
        "/webhooks/telegram",
        json=text_update(1, 502, "hello"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 503
    assert await count(runtime, Message) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\xfa",
        b"[1, 2]",
        b'"text"',
        b'{"message": {}}',
        b'{"update_id": "x"}',
    ],
)
async def test_malformed_bodies_get_400(telegram: TelegramChat, body: bytes) -> None:
    response = await telegram.http.post(
        "/webhooks/telegram",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert await count(telegram.runtime, Message) == 0


def _edited(update_id: int) -> dict[str, Any]:
    update = text_update(update_id, 503, "hello again")
    update["edited_message"] = {**update.pop("message"), "edit_date": int(time.time())}
    return update


def _channel_post(update_id: int) -> dict[str, Any]:
    message = text_update(update_id, -1001234, "news")["message"]
    message["chat"] = {"id": -1001234, "type": "channel", "title": "News"}
    del message["from"]
    return {"update_id": update_id, "channel_post": message}


def _group_message(update_id: int) -> dict[str, Any]:
    update = text_update(update_id, 504, "I want to go home")
    update["message"]["chat"] = {"id": -4001, "type": "group", "title": "Friends"}
    return update


@pytest.mark.parametrize(
    "make_update",
    [
        _edited,
        lambda uid: media_update(uid, 505, "sticker"),
        _channel_post,
        _group_message,
        lambda uid: {
            "update_id": uid,
            "poll": {
                "id": "p",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        },
    ],
    # the poll lacks a field PTB 22 requires: what another Bot API version might send
    ids=["edited", "sticker", "channel_post", "group", "unreadable_poll"],
)
async def test_update_kinds_the_bot_does_not_handle_are_acknowledged_and_ignored(
    telegram: TelegramChat, make_update: Any
) -> None:
    response = await telegram.post(make_update(next(_update_ids)))
    assert response.status_code == 200  # anything else and Telegram retries for ever
    assert response.json()["handled"] is False
    assert await count(telegram.runtime, Message) == 0
    assert await count(telegram.runtime, Contact) == 0


# -- conversations -----------------------------------------------------------------------
async def test_a_whole_registration_in_hausa_over_telegram(telegram: TelegramChat) -> None:
    runtime, fake, chat = telegram.runtime, telegram.fake, 777001
    first = await telegram.deliver(
        text_update(next(_update_ids), chat, "sannu", language_code="ha"), chat
    )
    assert [m["text"] for m in first] == [
        t(runtime, "ha", "welcome.first"),
        t(runtime, "ha", "menu.main"),
    ]
    menu = first[1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in menu] == ["1", "2", "3", "4", "5"]
    assert all(len(row) == 1 for row in menu)  # one button a row
    assert menu[0][0]["text"] == "1. " + t(runtime, "ha", "menu.option.return")

    # pressing "1" (return) is the same as typing it, and the press is answered
    pressed = await telegram.press(chat, "1", "ha")
    assert pressed == [
        t(runtime, "ha", "registration.intro.1"),
        t(runtime, "ha", "registration.intro.2"),
        t(runtime, "ha", "registration.consent"),
    ]
    assert len(fake.callback_answers) == 1
    assert fake.callback_answers[0]["callback_query_id"].startswith("cq")

    assert (await telegram.answer(chat, "ee", "ha"))[-1] == t(
        runtime, "ha", "registration.ask_name"
    )
    for value in ["Hauwa Musa", "1", "30", "1", "0912345678", "sabha", "2", "3", "0"]:
        await telegram.answer(chat, value, "ha")
    for _ in range(3):  # pregnant, disability, violence: no
        await telegram.answer(chat, "2", "ha")
    done = await telegram.answer(chat, "1", "ha")  # confirm
    reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
    assert reference is not None
    assert done[0] == t(runtime, "ha", "registration.done", reference=reference.group())
    async with runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    assert (row.reference, row.channel, row.country, row.language) == (
        reference.group(),
        "telegram",
        "NG",
        "ha",
    )
    # every reply went out and is marked sent, in the order it was stored
    rows = await outbound_rows(runtime)
    assert {r.status for r in rows} == {MessageStatus.SENT}
    assert [r.text for r in rows] == [m["text"] for m in fake.sent_to(chat)]


async def test_arabic_is_sent_as_written(telegram: TelegramChat) -> None:
    runtime = telegram.runtime
    replies = await telegram.say(777002, "السلام عليكم", language_code="ar")
    assert replies == [t(runtime, "ar", "welcome.first"), t(runtime, "ar", "menu.main")]
    assert "parse_mode" not in telegram.fake.sent[0]  # plain text: nothing is read as markup


async def test_language_code_is_a_hint_only_for_enabled_languages(telegram: TelegramChat) -> None:
    bot = telegram.runtime.outbox.senders["telegram"].bot  # type: ignore[attr-defined]

    def hint(code: str | None) -> str | None:
        update = Update.de_json(text_update(1, 9, "hi", language_code=code), bot)
        inbound = to_inbound(update, LANGUAGES)
        assert inbound is not None
        return inbound.language_hint

    assert [hint(code) for code in ("ha", "fr-FR", "AR", "ru", None)] == [
        "ha",
        "fr",
        "ar",
        None,
        None,
    ]
    start = Update.de_json(text_update(2, 9, "/start@hotline_test_bot"), bot)
    inbound = to_inbound(start, LANGUAGES)
    assert inbound is not None and inbound.text == "/start"
    assert (inbound.channel, inbound.address, inbound.provider_message_id) == ("telegram", "9", "2")


async def test_start_opens_the_menu_in_the_persons_language(telegram: TelegramChat) -> None:
    runtime = telegram.runtime
    replies = await telegram.say(777012, "/start", language_code="fr")
    assert replies == [t(runtime, "fr", "welcome.first"), t(runtime, "fr", "menu.main")]
    again = await telegram.say(777012, "/start@hotline_test_bot", language_code="fr")
    assert again == [t(runtime, "fr", "menu.main")]


async def test_a_repeated_update_is_stored_and_answered_once(telegram: TelegramChat) -> None:
    update = text_update(next(_update_ids), 777003, "hello")
    for _ in range(3):  # Telegram delivers again when it missed our answer
        response = await telegram.post(update)
        assert response.status_code == 200
    await telegram.runtime.outbox.drain()
    rows = await inbound_rows(telegram.runtime)
    assert [r.provider_message_id for r in rows] == [str(update["update_id"])]
    t_ = telegram.runtime.catalogs.text
    assert [m["text"] for m in telegram.fake.sent_to(777003)] == [
        t_("en", "welcome.first"),
        t_("en", "menu.main"),
    ]
    # the same press delivered twice is one answer, too
    press = callback_update(next(_update_ids), 777003, "2")
    assert (await telegram.post(press)).status_code == 200
    assert (await telegram.post(press)).status_code == 200
    await telegram.runtime.outbox.drain()
    assert len(await inbound_rows(telegram.runtime)) == 2
    after_press = telegram.fake.sent_to(777003)[2:]
    assert after_press and len(await outbound_rows(telegram.runtime)) == 2 + len(after_press)


async def test_photos_and_voice_notes_are_stored_with_their_caption(
    telegram: TelegramChat,
) -> None:
    runtime, chat = telegram.runtime, 777004
    await telegram.say(chat, "hello")
    replies = await telegram.deliver(
        media_update(next(_update_ids), chat, "photo", caption="I want to go home"), chat
    )
    assert replies[0]["text"] == t(runtime, "en", "registration.intro.1")
    voice = await telegram.deliver(media_update(next(_update_ids), chat, "voice"), chat)
    assert [m["text"] for m in voice] == [t(runtime, "en", "error.empty")]
    document = await telegram.deliver(
        media_update(next(_update_ids), chat, "document", caption=""), chat
    )
    assert [m["text"] for m in document] == [t(runtime, "en", "error.empty")]
    rows = await inbound_rows(runtime)
    assert [(r.text, r.payload.get("media")) for r in rows] == [
        ("hello", None),
        ("I want to go home", 1),
        ("", 1),
        ("", 1),
    ]


# -- sending -----------------------------------------------------------------------------
async def _contact(telegram: TelegramChat, chat_id: int) -> int:
    contact = await telegram.runtime.store.contact_for("telegram", str(chat_id))
    return contact.id


async def test_a_long_text_is_split_and_nothing_is_lost(telegram: TelegramChat) -> None:
    paragraphs = [f"Paragraph {i}: " + " ".join(["information"] * 60) for i in range(20)]
    text = "\n\n".join(paragraphs)  # about 14,000 characters
    contact_id = await _contact(telegram, 777005)
    buttons = (Button("1. Yes", "1"), Button("2. No", "2"))
    await telegram.runtime.engine.send_later(
        contact_id, "telegram", OutboundMessage(text, "en", buttons=buttons)
    )
    await telegram.runtime.outbox.drain()
    parts = telegram.fake.sent_to(777005)
    assert len(parts) > 3
    assert all(len(p["text"]) < 4096 for p in parts)
    assert "\n\n".join(p["text"] for p in parts) == text  # cut between paragraphs only
    # the buttons come with the last part, when the person has read everything
    assert [("reply_markup" in p) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_split_text_failing_halfway_goes_on_where_it_stopped(
    telegram: TelegramChat,
) -> None:
    runtime, fake = telegram.runtime, telegram.fake
    runtime.outbox.base_delay = 0  # retry at once, so one drain shows the retry
    text = "\n\n".join((f"{word} " * 600).strip() for word in ("one", "two", "three"))
    contact_id = await _contact(telegram, 777011)
    message_id = await runtime.engine.send_later(
        contact_id, "telegram", OutboundMessage(text, "en")
    )
    fake.fail_next("sendMessage", 502, "Bad Gateway", after=1)  # the second part fails
    await runtime.outbox.drain()
    parts = [m["text"] for m in fake.sent_to(777011)]
    assert len(fake.calls_to("sendMessage")) == 4  # three parts, one of them twice
    assert "\n\n".join(parts) == text  # each part once, in order
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.status == MessageStatus.SENT and row.attempts == 2
        assert len(row.payload["telegram"]["parts"]) == 3
        assert row.provider_message_id == f"777011:{row.payload['telegram']['parts'][-1]}"


def test_split_text_cuts_at_paragraphs_then_lines_then_words() -> None:
    assert split_text("short") == ["short"]
    assert split_text("aaaa\n\nbbbb cccc", limit=10) == ["aaaa", "bbbb cccc"]
    assert split_text("aaaa\nbbbb cccc", limit=10) == ["aaaa", "bbbb cccc"]
    assert split_text("aaa bbb ccc ddd", limit=8) == ["aaa bbb", "ccc ddd"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    # Telegram counts UTF-16 units: an emoji is two
    emoji = split_text("😀" * 6, limit=5)
    assert emoji == ["😀😀", "😀😀", "😀😀"]
    arabic = "مرحبا بك " * 1000
    parts = split_text(arabic, limit=TEXT_LIMIT)
    assert all(len(p) <= TEXT_LIMIT for p in parts)
    assert " ".join(parts).split() == arabic.split()


async def test_a_flood_limit_answer_is_retried_after_the_wait_telegram_asks(
    telegram: TelegramChat,
) -> None:
    runtime, fake = telegram.runtime, telegram.fake
    contact_id = await _contact(telegram, 777006)
    message_id = await runtime.engine.send_later(
        contact_id, "telegram", OutboundMessage("Your case was updated.", "en")
    )
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    before = utcnow()
    await runtime.outbox.drain()
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        assert row.status == MessageStatus.QUEUED and row.attempts == 1
        assert row.last_error == "telegram flood limit"
        waits_until = row.next_attempt_at
        assert waits_until is not None
        assert waits_until.replace(tzinfo=None) >= (before + timedelta(seconds=6)).replace(
            tzinfo=None
        )
    assert fake.sent == [] and len(fake.calls_to("sendMessage")) == 1
    # the wait is over
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    await runtime.outbox.drain()
    assert [m["text"] for m in fake.sent_to(777006)] == ["Your case was updated."]
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.status == MessageStatus.SENT
        assert row.provider_message_id is not None


async def test_a_person_who_blocked_the_bot_is_not_retried(telegram: TelegramChat) -> None:
    runtime, fake = telegram.runtime, telegram.fake
    contact_id = await _contact(telegram, 777007)
    message_id = await runtime.engine.send_later(
        contact_id, "telegram", OutboundMessage("Hello", "en")
    )
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await runtime.outbox.drain()
    await runtime.outbox.drain()
    assert len(fake.calls_to("sendMessage")) == 1
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None and row.status == MessageStatus.UNDELIVERABLE
        assert "blocked" in (row.last_error or "")


async def test_an_unknown_chat_is_not_retried_but_a_server_error_is(
    telegram: TelegramChat,
) -> None:
    runtime, fake = telegram.runtime, telegram.fake
    runtime.outbox.base_delay = 0  # retry at once, so one drain shows the retry
    contact_id = await _contact(telegram, 777008)
    first = await runtime.engine.send_later(contact_id, "telegram", OutboundMessage("a", "en"))
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await runtime.outbox.drain()
    second = await runtime.engine.send_later(contact_id, "telegram", OutboundMessage("b", "en"))
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    await runtime.outbox.drain()
    async with runtime.db.session() as session:
        rows = {m.id: m for m in await session.scalars(select(Message))}
    assert rows[first].status == MessageStatus.UNDELIVERABLE
    assert rows[second].status == MessageStatus.SENT and rows[second].attempts == 2
    assert [m["text"] for m in fake.sent_to(777008)] == ["b"]


def test_telegram_errors_map_to_retry_decisions() -> None:
    flood = send_error(RetryAfter(12))
    assert (flood.retry, flood.retry_after) == (True, 12.0)
    assert send_error(Forbidden("Forbidden: bot was blocked by the user")).retry is False
    assert send_error(BadRequest("Bad Request: chat not found")).retry is False
    assert send_error(TimedOut()).retry is True
    assert send_error(NetworkError("connection reset")).retry is True


async def test_an_operator_reply_reaches_the_person_on_telegram(telegram: TelegramChat) -> None:
    runtime, chat = telegram.runtime, 777009
    await telegram.say(chat, "sannu", language_code="ha")
    contact_id = await _contact(telegram, chat)
    async with runtime.db.session() as session, session.begin():
        operator = Operator(username="halima", display_name="Halima", password_hash="-")
        session.add(operator)
        await session.flush()
        operator_id = operator.id
    handoff_id, _ = await runtime.handoffs.open(
        contact_id, reason="requested", channel="telegram", language="ha"
    )
    await runtime.handoffs.reply(handoff_id, operator_id, "Sannu Amina, <b>ina nan</b>.")
    await runtime.outbox.drain()
    last = telegram.fake.sent_to(chat)[-1]
    assert last["text"] == "Sannu Amina, <b>ina nan</b>."  # plain text, as the operator typed
    assert "reply_markup" not in last
    # while the case is open the bot stays silent; the person's words wait for the operator
    before = len(telegram.fake.sent_to(chat))
    assert await telegram.say(chat, "na gode", language_code="ha") == []
    assert len(telegram.fake.sent_to(chat)) == before


# -- the limiter -------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_one_message_a_second_to_a_chat() -> None:
    clock = FakeClock()
    limiter = SendLimiter(
        chat_rate=1.0, chat_burst=1, global_rate=30, clock=clock, sleep=clock.sleep
    )
    for _ in range(3):
        await limiter.acquire(1)
    assert clock.sleeps == [1.0, 1.0]
    await limiter.acquire(2)  # another chat does not wait for the first
    assert clock.sleeps == [1.0, 1.0]
    clock.now += 5  # after a quiet time the chat may write at once again
    await limiter.acquire(1)
    assert clock.sleeps == [1.0, 1.0]


async def test_thirty_messages_a_second_over_all_chats() -> None:
    clock = FakeClock()
    limiter = SendLimiter(chat_rate=1.0, global_rate=30, clock=clock, sleep=clock.sleep)
    waits = [limiter.reserve(chat) for chat in range(60)]  # 60 chats at the same moment
    assert waits[:30] == [0.0] * 30
    assert waits[30] == pytest.approx(1 / 30)
    assert waits[59] == pytest.approx(1.0)
    assert waits == sorted(waits)


def test_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=3)
    for _ in range(3):  # three at once after a quiet time
        assert bucket.earliest(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.earliest(0.0) == pytest.approx(1.0)  # then one a second
    bucket.take(1.0)
    assert bucket.earliest(1.0) == pytest.approx(2.0)
    assert bucket.earliest(10.0) == 10.0  # full again after a pause


async def test_the_sender_waits_for_the_limiter(telegram: TelegramChat) -> None:
    sender = telegram.runtime.outbox.senders["telegram"]
    assert isinstance(sender, TelegramSender)
    clock = FakeClock()
    sender.limiter = SendLimiter(
        chat_rate=1.0, chat_burst=1, global_rate=30, clock=clock, sleep=clock.sleep
    )
    contact_id = await _contact(telegram, 777010)
    for text in ("one", "two", "three"):
        await telegram.runtime.engine.send_later(
            contact_id, "telegram", OutboundMessage(text, "en")
        )
    await telegram.runtime.outbox.drain()
    assert [m["text"] for m in telegram.fake.sent_to(777010)] == ["one", "two", "three"]
    assert clock.sleeps == [1.0, 1.0]


def test_the_limiter_comes_from_settings() -> None:
    from bot.config import Settings

    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_chat_rate=0.5,
        telegram_chat_burst=2,
        telegram_global_rate=20,
    )
    limiter = TelegramSender.from_settings(settings).limiter
    assert (limiter.chat_rate, limiter.chat_burst) == (0.5, 2)
    assert limiter.overall.interval == pytest.approx(1 / 20)


# -- polling -----------------------------------------------------------------------------
async def _wait_until_stored(runtime: Runtime, provider_id: str) -> None:
    """The polling task handles the update on its own; wait for its result (30 s at most,
    a guard against hanging, not a speed requirement)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stored = await count(
            runtime,
            Message,
            Message.provider_message_id == provider_id,
            Message.status == MessageStatus.PROCESSED,
        )
        if stored:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the polled update was not handled")


async def test_polling_handles_a_queued_update(
    fake_telegram: tuple[FakeTelegramAPI, str], make_runtime: RuntimeFactory
) -> None:
    fake, base_url = fake_telegram
    runtime = await make_runtime(**telegram_settings(base_url, telegram_webhook_secret=None))
    fake.updates.append(text_update(5001, 888001, "sannu", language_code="ha"))
    fake.updates.append(callback_update(5002, 888001, "3"))
    async with TelegramPolling(runtime, poll_timeout=1):
        await _wait_until_stored(runtime, "5001")
        await _wait_until_stored(runtime, "5002")
    # Telegram sends to a webhook or to polling, not both: the webhook goes first
    names = [name for name, _ in fake.calls]
    assert names.index("deletewebhook") < names.index("getupdates")
    assert 5003 in fake.get_updates_offsets  # both updates confirmed
    assert fake.updates == []
    assert [a["callback_query_id"] for a in fake.callback_answers] == ["cq5002"]
    await runtime.outbox.drain()
    texts = [m["text"] for m in fake.sent_to(888001)]
    assert texts[:2] == [t(runtime, "ha", "welcome.first"), t(runtime, "ha", "menu.main")]
    assert len(texts) > 2  # and the press on "3" was answered


def test_hotline_serve_with_telegram_polling_answers_in_a_real_process(tmp_path: Path) -> None:
    """`hotline serve --telegram-polling`: the server process polls the fake Bot API and its
    own outbox sends the replies (no test hooks inside)."""
    with running_fake_telegram() as (fake, base_url):
        fake.updates.append(text_update(6001, 999001, "bonjour", language_code="fr"))
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "CACHE_DIR": str(PROJECT_ROOT / "var" / "cache"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "OPERATOR_HOURS": "always",
        }
        for name in ("REDIS_URL", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_POLLING"):
            env.pop(name, None)
        command = [sys.executable, "-m", "bot.cli", "serve", "--telegram-polling"]
        command += ["--port", str(free_port()), "--log-level", "warning"]
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120  # a guard against hanging, not a speed limit
            while len(fake.sent_to(999001)) < 2 and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=60)
        assert [m["text"] for m in fake.sent_to(999001)] == [
            CATALOGS.text("fr", "welcome.first"),
            CATALOGS.text("fr", "menu.main"),
        ], output.decode(errors="replace")[-3000:]
        assert fake.webhook_deleted >= 1
        assert 6002 in fake.get_updates_offsets  # the update was confirmed
    assert process.returncode == 0 or process.returncode == -15


def test_serve_refuses_polling_with_several_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.config import get_settings

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--telegram-polling", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "one worker" in result.output
