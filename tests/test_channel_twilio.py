"""SMS and WhatsApp through Twilio: real signatures, the real twilio client against a local fake
Twilio API, real TwiML; on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import itertools
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.channels.twilio.account import retry_after_seconds
from bot.channels.twilio.client import TwilioApiHttpClient
from bot.channels.twilio.segments import bodies_for, is_gsm7, segments, split_sms, split_whatsapp
from bot.channels.twilio.sender import OUTSIDE_WINDOW
from bot.channels.whatsapp_window import window_open as whatsapp_window_open
from bot.messages import InboundMessage, OutboundMessage
from bot.runtime import Runtime
from bot.storage.models import Contact, Direction, Message, Operator, Registration
from tests.conftest import RuntimeFactory
from tests.fakes.twilio_api import (
    FakeTwilioAPI,
    running_fake_twilio,
    signed_post,
    twilio_signature,
)

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SMS_NUMBER = "+15005550006"
WHATSAPP_NUMBER = "+14155238886"
TEMPLATE_SID = "HX" + "a" * 32
PUBLIC = "https://hotline.example.org"
MESSAGING = "/webhooks/twilio/messaging"
STATUS = "/webhooks/twilio/status"

_sids = itertools.count(1)


def message_sid() -> str:
    return f"SM{next(_sids):032x}"


def twilio_settings(base_url: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_phone_number": SMS_NUMBER,
        "twilio_whatsapp_number": WHATSAPP_NUMBER,
        "twilio_whatsapp_template_sid": TEMPLATE_SID,
        "twilio_api_base_url": base_url,
        "public_base_url": PUBLIC,
    }
    values.update(overrides)
    return values


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilioAPI, str]]:
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as served:
        yield served


@pytest.fixture
def fake(fake_twilio: tuple[FakeTwilioAPI, str]) -> FakeTwilioAPI:
    return fake_twilio[0]


@pytest.fixture
async def twilio_runtime(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> Runtime:
    return await make_runtime(**twilio_settings(fake_twilio[1]))


async def app_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    from server import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def http(twilio_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(twilio_runtime):
        yield client


async def post(http: httpx.AsyncClient, path: str, params: dict[str, str]) -> httpx.Response:
    """A webhook as Twilio sends it to the public URL, reaching the app behind the proxy."""
    return await signed_post(
        http, "http://testserver" + path, params, AUTH_TOKEN, public_url=PUBLIC + path
    )


def twiml_bodies(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


class Phone:
    """A person writing to the hotline by SMS or WhatsApp, as Twilio relays it."""

    def __init__(self, http: httpx.AsyncClient, number: str, channel: str = "sms") -> None:
        self.http, self.number, self.channel = http, number, channel

    def params(self, body: str, sid: str, media: tuple[str, ...] = ()) -> dict[str, str]:
        prefix = "whatsapp:" if self.channel == "whatsapp" else ""
        ours = WHATSAPP_NUMBER if self.channel == "whatsapp" else SMS_NUMBER
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "To": prefix + ours,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": prefix + self.number,
            "ApiVersion": "2010-04-01",
        }
        if self.channel == "whatsapp":
            params |= {"ProfileName": "A", "WaId": self.number.lstrip("+")}
        for index, url in enumerate(media):
            params[f"MediaUrl{index}"] = url
            params[f"MediaContentType{index}"] = "image/jpeg"
        return params

    async def send_raw(
        self, body: str, *, sid: str | None = None, media: tuple[str, ...] = ()
    ) -> httpx.Response:
        return await post(self.http, MESSAGING, self.params(body, sid or message_sid(), media))

    async def __call__(
        self, body: str, *, sid: str | None = None, media: tuple[str, ...] = ()
    ) -> list[str]:
        """The bodies of the TwiML answer."""
        return twiml_bodies(await self.send_raw(body, sid=sid, media=media))


async def count_messages(runtime: Runtime, direction: Direction | None = None) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(Message)
        if direction is not None:
            query = query.where(Message.direction == direction)
        return int(await session.scalar(query) or 0)


async def stored(runtime: Runtime, message_id: int) -> Message:
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        return row


async def new_operator(runtime: Runtime) -> int:
    async with runtime.db.session() as session, session.begin():
        operator = Operator(username=f"op{secrets.token_hex(3)}", password_hash="-")
        session.add(operator)
        await session.flush()
        return operator.id


# -- segments and splitting (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two places: 160
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # the escape pair is not split across segments
        ("a" * 152 + "€" + "a" * 152, 3),
        ("Ça coute 5€ à Zuwara. " * 4, 1),  # 92 GSM-7 characters (Ç, à, € are GSM-7)
        ("Ça coûte 5€ à Zuwārah " * 4, 2),  # "ū" is not GSM-7: UCS-2 for the whole text
        ("س" * 70, 1),
        ("س" * 71, 2),
        ("س" * 134, 2),
        ("س" * 135, 3),
        ("a" * 69 + "😀", 2),  # an emoji is two UTF-16 units
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_gsm7_and_ucs2_detection() -> None:
    assert is_gsm7("Hello, é à ü ñ {x} [y] €") and not is_gsm7("مرحبا") and not is_gsm7("ū")


def test_long_arabic_text_is_split_at_line_breaks_within_the_limit() -> None:
    lines = [
        f"السطر {i}: " + "برنامج العودة الطوعية يساعدك على الرجوع إلى بلدك " * 2 for i in range(6)
    ]
    text = "\n".join(lines)
    assert segments(text) > 3
    parts = split_sms(text, 3)
    assert len(parts) > 1
    assert all(segments(part) <= 3 for part in parts)
    assert "\n".join(parts) == text  # cut only at line breaks: nothing lost or reordered


def test_a_single_long_line_is_split_between_words_and_an_endless_word_by_characters() -> None:
    words = "Tripoli Misrata Benghazi Sebha Zwara Azzawya Sabratha " * 8
    parts = split_sms(words.strip(), 1)
    assert all(segments(part) <= 1 for part in parts)
    assert " ".join(parts).split() == words.split()
    endless = "x" * 400
    parts = split_sms(endless, 1)
    assert "".join(parts) == endless and all(len(part) <= 160 for part in parts)


def test_whatsapp_bodies_stay_within_1600_characters() -> None:
    text = "\n".join(["ligne " + "é" * 300] * 12)
    parts = split_whatsapp(text)
    assert len(parts) == 3 and all(len(part) <= 1600 for part in parts)
    assert "\n".join(parts) == text


def test_whatsapp_window() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert whatsapp_window_open(now - timedelta(hours=23, minutes=59), now)
    assert not whatsapp_window_open(now - timedelta(hours=24), now)
    assert not whatsapp_window_open(None, now)
    naive = (now - timedelta(hours=1)).replace(tzinfo=None)  # SQLite's naive UTC times
    assert whatsapp_window_open(naive, now)


def test_retry_after_and_api_routing() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({}) is None and retry_after_seconds({"Retry-After": "soon"}) is None
    client = TwilioApiHttpClient("http://127.0.0.1:8123/fake")
    assert (
        client.route("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?x=1")
        == "http://127.0.0.1:8123/fake/2010-04-01/Accounts/AC1/Messages.json?x=1"
    )


# -- webhook security and bad input ---------------------------------------------------------


async def test_forged_or_unsigned_requests_are_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    phone = Phone(http, "+218911000001")
    params = phone.params("hello", message_sid())
    url = "http://testserver" + MESSAGING
    unsigned = await http.post(url, data=params)
    wrong_token = await signed_post(http, url, params, "0" * 32, public_url=PUBLIC + MESSAGING)
    # a genuine signature, but the parameters were changed on the way
    signature = twilio_signature(PUBLIC + MESSAGING, params, AUTH_TOKEN)
    tampered = dict(params, Body="changed after signing")
    tampered_response = await http.post(
        url, data=tampered, headers={"X-Twilio-Signature": signature}
    )
    status = await http.post(STATUS, data={"MessageSid": message_sid(), "MessageStatus": "sent"})
    for response in (unsigned, wrong_token, tampered_response, status):
        assert response.status_code == 403
        assert "detail" in response.json()
    assert await count_messages(twilio_runtime) == 0


async def test_behind_a_proxy_the_public_url_is_what_is_signed(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    phone = Phone(http, "+218911000002")
    params = phone.params("hello", message_sid())
    internal = "http://testserver" + MESSAGING
    # signed for the URL the app sees, not the one Twilio called: refused
    assert (await signed_post(http, internal, params, AUTH_TOKEN)).status_code == 403
    accepted = await signed_post(http, internal, params, AUTH_TOKEN, public_url=PUBLIC + MESSAGING)
    assert twiml_bodies(accepted)  # answered
    assert await count_messages(twilio_runtime, Direction.INBOUND) == 1


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"MessageSid": "", "SmsMessageSid": ""}, MESSAGING),
        ({"MessageSid": "not-a-sid", "SmsMessageSid": "not-a-sid"}, MESSAGING),
        ({"From": ""}, MESSAGING),
        ({"From": "whatsapp:<script>"}, MESSAGING),
        ({"NumMedia": "many"}, MESSAGING),
        ({"NumMedia": "99"}, MESSAGING),
        ({"MessageStatus": "", "SmsStatus": ""}, STATUS),
        ({"MessageSid": "x", "SmsSid": "x"}, STATUS),
    ],
)
async def test_malformed_forms_get_400_and_nothing_is_stored(
    http: httpx.AsyncClient, twilio_runtime: Runtime, change: dict[str, str], path: str
) -> None:
    params = Phone(http, "+218911000003").params("hello", message_sid())
    if path == STATUS:
        params |= {"MessageStatus": "delivered"}
    params |= change
    response = await post(http, path, params)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert await count_messages(twilio_runtime) == 0


# -- conversations ---------------------------------------------------------------------------


async def test_sms_conversation_in_arabic(http: httpx.AsyncClient, twilio_runtime: Runtime) -> None:
    t = twilio_runtime.catalogs.text
    phone = Phone(http, "+218911000004")
    welcome, menu = await phone("السلام عليكم")
    assert welcome == t("ar", "welcome.first")
    assert menu.startswith(t("ar", "menu.main"))
    # no buttons on SMS: the options are numbered lines
    assert f"1. {t('ar', 'menu.option.return')}" in menu.splitlines()
    assert re.search(r"^5\. ", menu, re.MULTILINE)
    replies = await phone("1")
    assert replies[:2] == [t("ar", "registration.intro.1"), t("ar", "registration.intro.2")]
    consent, *options = replies[2].splitlines()
    assert consent == t("ar", "registration.consent")
    assert [option[:3] for option in options] == ["1. ", "2. "]  # yes / no, numbered
    for body in [welcome, menu, *replies]:
        assert not is_gsm7(body)  # Arabic: UCS-2, 70 characters a segment
        assert segments(body) <= 3
    contact = await twilio_runtime.store.contact_for("sms", "+218911000004")
    assert contact.language == "ar"
    async with twilio_runtime.db.session() as session:
        rows = list(
            await session.scalars(
                select(Message).where(Message.contact_id == contact.id).order_by(Message.id)
            )
        )
    assert [r.status for r in rows if r.direction == Direction.OUTBOUND] == ["answered"] * 5
    assert {r.channel for r in rows} == {"sms"}


async def test_long_sms_replies_are_split_into_whole_messages(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    runtime = await make_runtime(**twilio_settings(fake_twilio[1], sms_max_segments=1))
    async for http in app_client(runtime):
        bodies = await Phone(http, "+218911000005")("السلام عليكم")
        welcome = runtime.catalogs.text("ar", "welcome.first")
        assert len(welcome) > 70
        assert all(segments(body) == 1 for body in bodies)
        # the welcome arrives whole, over several SMS, cut between words
        words = " ".join(bodies).split()
        assert words[: len(welcome.split())] == welcome.split()


async def test_whatsapp_conversation_in_french_completes_a_registration(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    t = twilio_runtime.catalogs.text
    phone = Phone(http, "+218912000001", channel="whatsapp")
    welcome, menu = await phone("bonjour")
    assert welcome == t("fr", "welcome.first")
    assert f"1. {t('fr', 'menu.option.return')}" in menu.splitlines()
    await phone("1")
    assert (await phone("oui"))[-1] == t("fr", "registration.ask_name")
    for answer in ["Aminata Traoré", "1", "30", "1", "0912345678", "Sebha", "2", "3", "0"]:
        await phone(answer)
    for _ in range(3):  # pregnant, disability, violence: no
        await phone("2")
    done = await phone("1")  # confirm
    reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
    assert reference is not None
    assert done[0] == t("fr", "registration.done", reference=reference.group())
    contact = await twilio_runtime.store.contact_for("whatsapp", "+218912000001")
    async with twilio_runtime.db.session() as session:
        [registration] = list(await session.scalars(select(Registration)))
    assert registration.reference == reference.group()
    assert registration.contact_id == contact.id
    assert registration.channel == "whatsapp"
    assert registration.full_name == "Aminata Traoré" and registration.city == "Sebha"


async def test_media_without_text_is_handled_like_an_empty_message(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    phone = Phone(http, "+218912000002", channel="whatsapp")
    await phone("bonjour")
    replies = await phone("", media=("https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1",))
    assert replies == [twilio_runtime.catalogs.text("fr", "error.empty")]
    async with twilio_runtime.db.session() as session:
        last = await session.scalar(
            select(Message)
            .where(Message.direction == Direction.INBOUND)
            .order_by(Message.id.desc())
            .limit(1)
        )
    assert last is not None and last.payload["media"] == 1 and last.text == ""


async def test_the_same_message_sid_is_answered_once(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    phone = Phone(http, "+218911000006")
    sid = message_sid()
    first = await phone("hello", sid=sid)
    assert first  # welcome and menu
    again = await phone.send_raw("hello", sid=sid)
    assert twiml_bodies(again) == []
    assert ET.fromstring(again.text).tag == "Response"
    assert await count_messages(twilio_runtime, Direction.INBOUND) == 1
    assert await count_messages(twilio_runtime, Direction.OUTBOUND) == len(first)


async def test_a_retry_after_a_lost_twiml_answer_gets_the_same_replies(
    http: httpx.AsyncClient, twilio_runtime: Runtime
) -> None:
    # The turn ran and its replies were stored, then the TwiML answer was lost (the process
    # died): Twilio's retry of the MessageSid gets the same messages, and no second turn.
    number, sid = "+218911000007", message_sid()
    lost = await twilio_runtime.engine.handle(
        InboundMessage("sms", number, "hello", provider_message_id=sid), confirm_later=True
    )
    phone = Phone(http, number)
    retry = twiml_bodies(await phone.send_raw("hello", sid=sid))
    assert retry and retry == [
        body
        for reply in lost.replies
        for body in bodies_for("sms", reply, twilio_runtime.settings.sms_max_segments)
    ]
    assert twiml_bodies(await phone.send_raw("hello", sid=sid)) == []
    assert await count_messages(twilio_runtime, Direction.INBOUND) == 1
    assert await count_messages(twilio_runtime, Direction.OUTBOUND) == len(lost.replies)


# -- later messages through the outbox ------------------------------------------------------


async def test_operator_reply_and_closing_notice_go_out_through_twilio(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    assert runtime.outbox.sends("sms") and runtime.outbox.sends("whatsapp")
    number = "+218911000007"
    await Phone(http, number)("السلام عليكم")
    contact = await runtime.store.contact_for("sms", number)
    case_id, _ = await runtime.handoffs.open(
        contact.id, reason="requested", channel="sms", language="ar"
    )
    operator = await new_operator(runtime)
    reply_id = await runtime.handoffs.reply(case_id, operator, "أهلاً، أنا فاطمة من الخط الساخن")
    assert await runtime.outbox.drain() == 1
    [sent] = fake.messages
    assert sent["To"] == number and sent["From"] == SMS_NUMBER
    assert sent["Body"] == "أهلاً، أنا فاطمة من الخط الساخن"
    assert sent["StatusCallback"] == PUBLIC + STATUS
    row = await stored(runtime, reply_id)
    assert (row.status, row.provider_message_id) == ("sent", sent["Sid"])

    await runtime.handoffs.close(case_id, operator, "resolved")
    await runtime.outbox.drain()
    assert fake.messages[-1]["Body"] == runtime.catalogs.text("ar", "handoff.closed")
    assert fake.messages[-1]["To"] == number


async def test_a_long_reply_is_sent_in_parts_and_a_retry_does_not_repeat_them(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    runtime.outbox.base_delay = 0  # retry at once: the test drains once
    contact = await runtime.store.contact_for("sms", "+218911000008")
    text = "\n".join(f"{i}. مركز الخدمات في سبها مفتوح من الأحد إلى الخميس صباحاً" for i in range(8))
    assert segments(text) > 3
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage(text, "ar"))
    fake.fail_next(503, 20500, "Service Unavailable", after=1)  # the second part fails once
    await runtime.outbox.drain()
    bodies = [m["Body"] for m in fake.messages]
    assert "\n".join(bodies) == text  # every part once, in order
    assert all(segments(body) <= 3 for body in bodies)
    row = await stored(runtime, message_id)
    assert row.status == "sent" and row.attempts == 2
    assert row.payload["twilio"]["parts"] == [m["Sid"] for m in fake.messages]
    assert row.provider_message_id == fake.messages[-1]["Sid"]


async def test_rate_limited_then_sent(twilio_runtime: Runtime, fake: FakeTwilioAPI) -> None:
    runtime = twilio_runtime
    contact = await runtime.store.contact_for("sms", "+218911000009")
    fake.fail_next(429, 20429, "Too Many Requests", retry_after=0)
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    await runtime.outbox.drain()
    assert fake.requests == 2 and [m["Body"] for m in fake.messages] == ["hi"]
    row = await stored(runtime, message_id)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_retry_after_is_respected(twilio_runtime: Runtime, fake: FakeTwilioAPI) -> None:
    runtime = twilio_runtime
    contact = await runtime.store.contact_for("sms", "+218911000010")
    fake.fail_next(429, 20429, "Too Many Requests", retry_after=120)
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    before = datetime.now(UTC)
    await runtime.outbox.drain()
    row = await stored(runtime, message_id)
    assert row.status == "queued" and "429" in (row.last_error or "")
    assert row.next_attempt_at is not None
    due = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
    assert due >= before + timedelta(seconds=119)
    assert fake.messages == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [(21610, "unsubscribed"), (21211, "invalid phone number")],
)
async def test_permanent_refusals_make_the_message_undeliverable(
    twilio_runtime: Runtime, fake: FakeTwilioAPI, code: int, reason: str
) -> None:
    runtime = twilio_runtime
    contact = await runtime.store.contact_for("sms", "+218911000011")
    fake.fail_next(400, code, "The 'To' number +218911000011 is not reachable")
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    await runtime.outbox.drain()
    await runtime.outbox.drain()
    row = await stored(runtime, message_id)
    assert row.status == "undeliverable" and fake.requests == 1
    assert str(code) in (row.last_error or "") and reason in (row.last_error or "")
    assert "+218911000011" not in (row.last_error or "")  # Twilio's text quotes the number


async def test_wrong_credentials_keep_the_message_for_a_later_try(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**twilio_settings(url, twilio_auth_token="e" * 32))
    contact = await runtime.store.contact_for("sms", "+218911000012")
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    await runtime.outbox.drain()
    row = await stored(runtime, message_id)
    assert row.status == "queued" and "configuration" in (row.last_error or "")
    assert fake.requests == 1 and fake.messages == []


async def make_whatsapp_contact(
    runtime: Runtime, http: httpx.AsyncClient, number: str, *, hours_ago: float
) -> int:
    await Phone(http, number, channel="whatsapp")("bonjour")
    contact = await runtime.store.contact_for("whatsapp", number)
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(last_inbound_at=datetime.now(UTC) - timedelta(hours=hours_ago))
        )
    return contact.id


async def test_whatsapp_inside_the_window_free_text_outside_it_the_template(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    recent = await make_whatsapp_contact(runtime, http, "+218912000003", hours_ago=2)
    old = await make_whatsapp_contact(runtime, http, "+218912000004", hours_ago=25)
    inside = await runtime.engine.send_later(recent, "whatsapp", OutboundMessage("Salut", "fr"))
    outside = await runtime.engine.send_later(old, "whatsapp", OutboundMessage("Salut", "fr"))
    await runtime.outbox.drain()
    by_recipient = {m["To"]: m for m in fake.messages}
    free = by_recipient["whatsapp:+218912000003"]
    assert free["Body"] == "Salut" and free["From"] == "whatsapp:" + WHATSAPP_NUMBER
    assert "ContentSid" not in free
    template = by_recipient["whatsapp:+218912000004"]
    assert template["ContentSid"] == TEMPLATE_SID and "Body" not in template
    assert "ContentVariables" not in template  # nothing personal in the template
    row = await stored(runtime, outside)
    assert row.status == "held" and row.payload["twilio"]["template"] == TEMPLATE_SID
    assert row.provider_message_id == template["Sid"]
    assert "twilio" not in (await stored(runtime, inside)).payload


async def test_whatsapp_window_closed_by_twilios_clock_falls_back_to_the_template(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    contact = await make_whatsapp_contact(runtime, http, "+218912000005", hours_ago=23.99)
    fake.fail_next(400, 63016, "Failed to send freeform message outside the window")
    message_id = await runtime.engine.send_later(contact, "whatsapp", OutboundMessage("x", "fr"))
    await runtime.outbox.drain()
    assert [m.get("ContentSid") for m in fake.messages] == [TEMPLATE_SID]
    assert (await stored(runtime, message_id)).status == "held"


async def test_whatsapp_outside_the_window_without_a_template_is_undeliverable(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    runtime = await make_runtime(**twilio_settings(url, twilio_whatsapp_template_sid=None))
    async for http in app_client(runtime):
        contact = await make_whatsapp_contact(runtime, http, "+218912000006", hours_ago=30)
    message_id = await runtime.engine.send_later(contact, "whatsapp", OutboundMessage("x", "fr"))
    await runtime.outbox.drain()
    row = await stored(runtime, message_id)
    assert (row.status, row.last_error) == ("undeliverable", OUTSIDE_WINDOW)
    assert fake.requests == 0


async def test_status_callbacks_move_forward_only(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    contact = await runtime.store.contact_for("sms", "+218911000013")
    message_id = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    assert (await stored(runtime, message_id)).status == "queued"
    await runtime.outbox.drain()
    sid = fake.messages[0]["Sid"]

    async def report(status: str, **extra: str) -> str:
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": SMS_NUMBER,
            "To": "+218911000013",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        response = await post(http, STATUS, params)
        assert response.status_code == 200
        return (await stored(runtime, message_id)).status

    assert await report("queued") == "sent"
    assert await report("sent") == "sent"
    assert await report("delivered") == "delivered"
    assert await report("sent") == "delivered"  # late report: never backwards
    unknown = dict(MessageSid=message_sid(), MessageStatus="delivered", To="+218911000013")
    assert (await post(http, STATUS, unknown)).status_code == 200


async def test_failed_status_records_the_error_code(
    http: httpx.AsyncClient, twilio_runtime: Runtime, fake: FakeTwilioAPI
) -> None:
    runtime = twilio_runtime
    contact = await make_whatsapp_contact(runtime, http, "+218912000007", hours_ago=1)
    message_id = await runtime.engine.send_later(contact, "whatsapp", OutboundMessage("x", "fr"))
    await runtime.outbox.drain()
    sid = fake.messages[-1]["Sid"]
    params = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "63024",
        "To": "whatsapp:+218912000007",
        "From": "whatsapp:" + WHATSAPP_NUMBER,
    }
    assert (await post(http, STATUS, params)).status_code == 200
    row = await stored(runtime, message_id)
    assert (row.status, row.last_error) == ("undeliverable", "twilio error 63024")


async def test_senders_are_registered_only_for_what_is_configured(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    url = fake_twilio[1]
    plain = await make_runtime()
    assert not plain.outbox.sends("sms") and not plain.outbox.sends("whatsapp")
    sms_only = await make_runtime(**twilio_settings(url, twilio_whatsapp_number=None))
    assert sms_only.outbox.sends("sms") and not sms_only.outbox.sends("whatsapp")
    service = await make_runtime(
        **twilio_settings(
            url,
            twilio_phone_number=None,
            twilio_whatsapp_number=None,
            twilio_messaging_service_sid="MG" + "b" * 32,
        )
    )
    assert service.outbox.sends("sms") and service.outbox.sends("whatsapp")
    contact = await service.store.contact_for("sms", "+218911000014")
    await service.engine.send_later(contact.id, "sms", OutboundMessage("hi", "en"))
    await service.outbox.drain()
    [sent] = fake_twilio[0].messages
    assert sent["MessagingServiceSid"] == "MG" + "b" * 32 and "From" not in sent


# -- a template per language; held messages follow the person's answer -----------------------
HAUSA_SID = "HX" + "4" * 32
ENGLISH_SID = "HX" + "e" * 32


async def whatsapp_person(
    runtime: Runtime, http: httpx.AsyncClient, number: str, language: str
) -> int:
    """A WhatsApp user in `language` who last wrote 25 hours ago; their contact id."""
    contact_id = await make_whatsapp_contact(runtime, http, number, hours_ago=25)
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.id == contact_id).values(language=language)
        )
    return contact_id


def sent_to(fake: FakeTwilioAPI, number: str) -> list[dict[str, str]]:
    return [m for m in fake.messages if m["To"] == "whatsapp:" + number]


async def test_whatsapp_template_per_language_and_held_messages_follow_once(
    make_runtime: RuntimeFactory,
    fake_twilio: tuple[FakeTwilioAPI, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, url = fake_twilio
    templates = f"en={ENGLISH_SID}, ha={HAUSA_SID}"
    settings = twilio_settings(
        url, twilio_whatsapp_template_sid=None, twilio_whatsapp_templates=templates
    )
    runtime = await make_runtime(**settings)
    hausa, french = "+218912000020", "+218912000021"
    async for http in app_client(runtime):
        hausa_id = await whatsapp_person(runtime, http, hausa, "ha")
        french_id = await whatsapp_person(runtime, http, french, "fr")
        first = await runtime.engine.send_later(
            hausa_id, "whatsapp", OutboundMessage("Takardunku sun shirya.", "ha")
        )
        second = await runtime.engine.send_later(
            hausa_id, "whatsapp", OutboundMessage("Ku zo ranar Lahadi.", "ha")
        )
        await runtime.engine.send_later(
            french_id, "whatsapp", OutboundMessage("Vos papiers sont prêts.", "fr")
        )
        with caplog.at_level("INFO"):
            await runtime.outbox.drain()
        # one template each: the person's language's, or the default language's
        [to_hausa] = sent_to(fake, hausa)
        assert to_hausa["ContentSid"] == HAUSA_SID and "Body" not in to_hausa
        [to_french] = sent_to(fake, french)
        assert to_french["ContentSid"] == ENGLISH_SID
        assert "none configured for language fr" in caplog.text and french not in caplog.text
        assert [(await stored(runtime, i)).status for i in (first, second)] == ["held", "held"]

        # the person answers: their reply comes in TwiML, the held messages right after, once
        answer = await Phone(http, hausa, channel="whatsapp")("sannu")
        assert answer and "Takardunku" not in " ".join(answer)
        await runtime.outbox.drain()
        bodies = [m.get("Body") for m in sent_to(fake, hausa)]
        assert bodies == [None, "Takardunku sun shirya.", "Ku zo ranar Lahadi."]
        rows = [await stored(runtime, i) for i in (first, second)]
        assert [r.status for r in rows] == ["sent", "sent"]
        assert rows[0].provider_message_id == sent_to(fake, hausa)[1]["Sid"]

        await Phone(http, hausa, channel="whatsapp")("na gode")
        await runtime.outbox.drain()
        assert len(sent_to(fake, hausa)) == 3  # a second message sends nothing again
        assert (await stored(runtime, second)).attempts == 1
    assert [m.get("Body") for m in sent_to(fake, french)] == [None]  # still waiting for them


async def test_whatsapp_held_message_survives_a_restart(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, url = fake_twilio
    first = await make_runtime(**twilio_settings(url, twilio_whatsapp_templates=f"ha={HAUSA_SID}"))
    number = "+218912000022"
    async for http in app_client(first):
        contact_id = await whatsapp_person(first, http, number, "ha")
    message_id = await first.engine.send_later(
        contact_id, "whatsapp", OutboundMessage("Takardunku sun shirya.", "ha")
    )
    await first.outbox.drain()
    assert [m.get("ContentSid") for m in sent_to(fake, number)] == [HAUSA_SID]
    await first.close()

    restarted = await make_runtime()  # the same settings and database: a new process
    async for http in app_client(restarted):
        await Phone(http, number, channel="whatsapp")("sannu")
        await restarted.outbox.drain()
        await Phone(http, number, channel="whatsapp")("na gode")
        await restarted.outbox.drain()
    assert [m.get("Body") for m in sent_to(fake, number)] == [None, "Takardunku sun shirya."]
    assert (await stored(restarted, message_id)).status == "sent"
