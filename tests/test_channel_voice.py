"""The voice hotline: whole calls walked through the TwiML the app answers.

Each request is signed like Twilio signs it (the twilio library's RequestValidator with the
test auth token); every answer is parsed as XML and the caller follows the action URLs it
names, pressing keys, speaking or recording as a real caller would.
"""

from __future__ import annotations

import json
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot import PROJECT_ROOT
from bot.channels.voice.ivr import NAME_PLACEHOLDER, service_directory
from bot.channels.voice.prompts import VOICE_PROFILES, say_slug, spoken
from bot.registrations.store import keypad_form
from bot.runtime import Runtime
from bot.storage.models import Call, Handoff, Message, Registration
from flows.registration import country_name, vocabulary
from server import create_app
from tests.conftest import RuntimeFactory

TOKEN = "voice-test-auth-token"
CALLER = "+218912345678"
HOTLINE = "+218910000000"
VOICE_URL = "http://testserver/webhooks/twilio/voice"
LANGUAGES = ("en", "ar", "fr", "ha")
# Languages Twilio can speak (voices.yml: en, fr, ar, and Bengali added as data); Hausa is
# played from recordings.
SPOKEN = tuple(VOICE_PROFILES)
NEVER_OPEN = "mon 00:00-00:00"  # an opening window of no length: operators never answer


# -- a caller ------------------------------------------------------------------------------


def signed_headers(url: str, params: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


def texts(twiml: ET.Element, tag: str = "Say") -> list[str]:
    return [element.text or "" for element in twiml.iter(tag)]


def said(twiml: ET.Element) -> str:
    return " ".join(texts(twiml))


def plays(twiml: ET.Element) -> list[str]:
    return texts(twiml, "Play")


def urls_in(twiml: ET.Element) -> list[str]:
    found = []
    for element in twiml.iter():
        found += [
            v for k, v in element.attrib.items() if k.lower().endswith("url") or k == "action"
        ]
        if element.tag in ("Play", "Redirect") and element.text:
            found.append(element.text)
    return found


class Caller:
    """One phone call: signs every request like Twilio and parses the TwiML answers."""

    def __init__(self, http: httpx.AsyncClient, number: str = CALLER) -> None:
        self.http = http
        self.number = number
        self.sid = "CA" + uuid.uuid4().hex
        self.seen_urls: list[str] = []

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": self.sid,
            "From": self.number,
            "To": HOTLINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    async def post(self, url: str, **extra: str) -> httpx.Response:
        params = self.params(**extra)
        path = url.removeprefix("http://testserver")
        return await self.http.post(path, data=params, headers=signed_headers(url, params))

    async def twiml(self, url: str, **extra: str) -> ET.Element:
        response = await self.post(url, **extra)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.text)
        assert root.tag == "Response"
        self.seen_urls += urls_in(root)
        return root

    async def dial(self) -> ET.Element:
        return await self.twiml(VOICE_URL, CallStatus="ringing")

    @staticmethod
    def gather(twiml: ET.Element) -> ET.Element:
        found = twiml.find("Gather")
        assert found is not None, ET.tostring(twiml, encoding="unicode")
        return found

    async def press(self, twiml: ET.Element, digits: str) -> ET.Element:
        return await self.twiml(self.gather(twiml).attrib["action"], Digits=digits)

    async def speak(self, twiml: ET.Element, words: str) -> ET.Element:
        return await self.twiml(self.gather(twiml).attrib["action"], SpeechResult=words)

    async def silence(self, twiml: ET.Element) -> ET.Element:
        """No key pressed: Gather's actionOnEmptyResult posts without Digits."""
        gather = self.gather(twiml)
        assert gather.attrib["actionOnEmptyResult"] == "true"
        return await self.twiml(gather.attrib["action"])

    async def record(self, twiml: ET.Element, seconds: int = 4) -> tuple[ET.Element, str]:
        record = twiml.find("Record")
        assert record is not None, ET.tostring(twiml, encoding="unicode")
        sid = "RE" + uuid.uuid4().hex
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}"
        answer = await self.twiml(
            record.attrib["action"],
            RecordingUrl=url,
            RecordingSid=sid,
            RecordingDuration=str(seconds),
            Digits="#",
        )
        return answer, url

    async def choose_language(self, language: str, languages: list[str]) -> ET.Element:
        """Press the language's digit on the voice menu, which numbers only the languages it
        offers: those Twilio speaks, and here the one chosen (recorded where it has no voice)."""
        menu = await self.dial()
        offered = [code for code in languages if code in VOICE_PROFILES or code == language]
        return await self.press(menu, str(offered.index(language) + 1))

    async def end(self, seconds: int = 42) -> None:
        response = await self.post(
            VOICE_URL + "/status", CallStatus="completed", CallDuration=str(seconds)
        )
        assert response.status_code == 204


# -- fixtures ------------------------------------------------------------------------------

Line = Callable[..., Awaitable[tuple[Runtime, httpx.AsyncClient]]]


@pytest.fixture
async def open_line(make_runtime: RuntimeFactory) -> AsyncIterator[Line]:
    """A hotline app for the test's backend; settings overrides go to the runtime."""
    async with AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> tuple[Runtime, httpx.AsyncClient]:
            runtime = await make_runtime(twilio_auth_token=TOKEN, **overrides)
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            await stack.enter_async_context(http)
            return runtime, http

        yield factory


def recorded_locales(tmp_path: Path, keys: list[str] | None = None) -> Path:
    """A copy of the catalogs with Hausa recordings: `keys`, or every prompt a call can use."""
    locales = tmp_path / "locales"
    shutil.copytree(PROJECT_ROOT / "locales", locales)
    audio = locales / "ha" / "audio"
    audio.mkdir(exist_ok=True)
    if keys is None:
        po = (locales / "ha" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        keys = [line[7:-1] for line in po.splitlines() if line.startswith('msgid "') and line[7:-1]]
        keys += [f"spell.{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]
        keys += [f"country.{code}" for code in vocabulary().common_countries]
        directory = service_directory()
        keys += [f"city.{say_slug(city)}" for city in directory.cities]
        keys += [f"service.{service.id}" for service in directory.services]
    for key in keys:
        (audio / f"{key}.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + key.encode())
    return locales


async def line_for(
    language: str, open_line: Line, tmp_path: Path, **overrides: Any
) -> tuple[Runtime, httpx.AsyncClient]:
    """Hausa calls get a full set of recordings; the other languages are spoken."""
    if language == "ha":
        overrides["locales_dir"] = recorded_locales(tmp_path)
    return await open_line(**overrides)


def heard(runtime: Runtime, twiml: ET.Element, language: str, key: str, **values: Any) -> bool:
    """The caller heard `key`: spoken in its language's voice, or played from its recording."""
    if language == "ha":
        return any(url.endswith(f"/audio/ha/{key}.mp3") for url in plays(twiml))
    profile = VOICE_PROFILES[language]
    expected = spoken(runtime.catalogs.text(language, key, **values))
    return any(
        (element.text or "") == expected
        and element.attrib["language"] == profile.say_language
        and element.attrib["voice"] == profile.voice
        for element in twiml.iter("Say")
    )


def spelled(text: str) -> str:
    return ", ".join(text)


async def call_row(runtime: Runtime, caller: Caller) -> Call:
    async with runtime.db.session() as session:
        row = await session.scalar(select(Call).where(Call.call_sid == caller.sid))
        assert row is not None
        return row


async def queued_sms(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Message).where(Message.channel == "sms", Message.status == "queued")
        )
        return list(rows)


# -- signatures and malformed requests -------------------------------------------------------


async def test_forged_unsigned_and_incomplete_requests_are_refused(open_line: Line) -> None:
    _, http = await open_line()
    caller = Caller(http)
    params = caller.params()
    forged = signed_headers(VOICE_URL, params, token="not-the-token")
    assert (
        await http.post("/webhooks/twilio/voice", data=params, headers=forged)
    ).status_code == 403
    assert (await http.post("/webhooks/twilio/voice", data=params)).status_code == 403
    # A signature over other parameters than those sent is forged too.
    tampered = {**params, "From": "+218920000000"}
    sent = await http.post(
        "/webhooks/twilio/voice", data=tampered, headers=signed_headers(VOICE_URL, params)
    )
    assert sent.status_code == 403
    for step in ("menu", "status", "wait", "recording"):
        unsigned = await http.post(f"/webhooks/twilio/voice/{step}", data=params)
        assert unsigned.status_code == 403

    no_sid = {k: v for k, v in params.items() if k != "CallSid"}
    response = await http.post(
        "/webhooks/twilio/voice", data=no_sid, headers=signed_headers(VOICE_URL, no_sid)
    )
    assert response.status_code == 400
    assert "CallSid" in response.json()["detail"]

    unknown = await caller.post(VOICE_URL + "/nowhere", Digits="1")
    assert unknown.status_code == 404


# -- the language menu -----------------------------------------------------------------------


async def test_language_menu_speaks_each_option_in_its_own_language(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    menu = await caller.dial()
    gather = caller.gather(menu)
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["action"] == VOICE_URL + "/language"
    says = list(gather.iter("Say"))
    languages = runtime.catalogs.languages
    assert languages[: len(LANGUAGES)] == list(LANGUAGES)  # then every language added as data
    offered = [code for code in languages if code in SPOKEN]  # numbered in catalog order
    for number, code in enumerate(offered, start=1):
        profile = VOICE_PROFILES[code]
        expected = spoken(runtime.catalogs.text(code, "voice.language.choose", digit=number))
        assert any(
            say.text == expected and say.attrib["language"] == profile.say_language for say in says
        ), (code, [s.text for s in says])
    # No Hausa voice and no Hausa recordings: Hausa is not offered until it is recorded.
    hausa_text = spoken(runtime.catalogs.text("ha", "voice.language.choose", digit=4))
    assert all(say.text != hausa_text for say in says)
    assert len(says) == len(SPOKEN)
    assert not any("Hausa" in (say.text or "") for say in says)
    assert not plays(menu)
    # A digit past the spoken languages (Hausa's place, were it recorded) is no choice: asked
    # again.
    again = await caller.press(menu, str(len(offered) + 1))
    assert caller.gather(again).attrib["action"] == VOICE_URL + "/language"


async def test_no_choice_asks_once_more_then_uses_the_default_language(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    menu = await caller.dial()
    again = await caller.silence(menu)
    assert caller.gather(again).attrib["action"] == VOICE_URL + "/language"
    main = await caller.silence(again)
    assert caller.gather(main).attrib["action"] == VOICE_URL + "/menu"
    assert heard(runtime, main, "en", "voice.menu.main")
    row = await call_row(runtime, caller)
    assert row.language == "en"


@pytest.mark.parametrize("language", SPOKEN)
async def test_the_chosen_language_is_reused_on_the_next_call(
    language: str, open_line: Line
) -> None:
    runtime, http = await open_line()
    first = Caller(http)
    main = await first.choose_language(language, runtime.catalogs.languages)
    assert heard(runtime, main, language, "voice.welcome")
    assert heard(runtime, main, language, "voice.menu.main")
    gather = first.gather(main)
    assert gather.attrib["input"] == "dtmf speech"
    assert gather.attrib["language"] == VOICE_PROFILES[language].speech_language
    await first.end()

    second = Caller(http)  # the same number calls again
    greeting = await second.dial()
    assert second.gather(greeting).attrib["action"] == VOICE_URL + "/menu"
    assert heard(runtime, greeting, language, "voice.welcome")
    assert heard(runtime, greeting, language, "voice.menu.main")


async def test_a_retried_incoming_webhook_keeps_one_call(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    first = await caller.dial()
    again = await caller.dial()
    assert ET.tostring(first) == ET.tostring(again)
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Call).where(Call.call_sid == caller.sid)
        )
    assert count == 1


# -- return registration -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_keypad_registration_stores_the_case_and_reads_the_reference(
    language: str, open_line: Line, tmp_path: Path
) -> None:
    runtime, http = await line_for(language, open_line, tmp_path)
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    consent = await caller.press(main, "1")
    assert heard(runtime, consent, language, "voice.registration.consent")
    countries = await caller.press(consent, "1")
    assert heard(runtime, countries, language, "voice.registration.country")
    if language == "ha":
        assert any(url.endswith("/audio/ha/country.NG.mp3") for url in plays(countries))
    else:
        nigeria = country_name("NG", language)
        assert heard(runtime, countries, language, "voice.option", label=nigeria, digit=1)
    age = await caller.press(countries, "1")  # Nigeria, the first of the list
    assert caller.gather(age).attrib["finishOnKey"] == "#"
    people = await caller.press(age, "25#")
    assert caller.gather(people).attrib["action"] == VOICE_URL + "/people"  # as before the flow
    detained = await caller.press(people, "2#")
    name = await caller.press(detained, "1")
    assert heard(runtime, name, language, "voice.registration.name")
    done, recording_url = await caller.record(name)
    assert heard(runtime, done, language, "voice.registration.done")

    async with runtime.db.session() as session:
        case = await session.scalar(select(Registration))
    assert case is not None
    assert (case.country, case.age, case.detained, case.phone) == ("NG", 25, True, CALLER)
    assert case.full_name == NAME_PLACEHOLDER and case.needs_review
    assert case.channel == "voice" and case.language == language
    assert case.priority == "high"  # detained
    core = case.reference.removeprefix("LY-")
    if language == "ha":
        played = [url.rsplit("/", 1)[1] for url in plays(done)]
        spelled_out = [f"spell.{c}.mp3" for c in core]
        assert "voice.registration.reference.mp3" in played
        start = played.index("voice.registration.reference.mp3") + 1
        assert played[start : start + len(core)] == spelled_out
    else:
        assert heard(
            runtime, done, language, "voice.registration.reference", reference=spelled(core)
        )
        assert heard(
            runtime,
            done,
            language,
            "voice.registration.keypad",
            keypad=spelled(keypad_form(case.reference)),
        )

    row = await call_row(runtime, caller)
    assert row.outcome == "registered"
    assert row.recording_url == recording_url
    assert "answers" not in row.steps and row.steps["registration"] == case.reference
    assert row.contact_id == case.contact_id

    # The reference by SMS, then the main menu again.
    after = await caller.press(done, "1")
    assert heard(runtime, after, language, "voice.sms.sent")
    assert caller.gather(after).attrib["action"] == VOICE_URL + "/menu"
    [sms] = await queued_sms(runtime)
    assert case.reference in sms.text and sms.language == language
    sms_contact = await runtime.store.get_contact(sms.contact_id)
    assert sms_contact is not None and sms_contact.address == CALLER

    await caller.end(seconds=95)
    row = await call_row(runtime, caller)
    assert (row.status, row.duration_seconds, row.outcome) == ("completed", 95, "registered")
    assert row.ended_at is not None
    # Nothing personal travelled in a URL.
    assert caller.seen_urls
    assert not any(CALLER.lstrip("+") in url or core in url for url in caller.seen_urls)


async def test_registering_twice_from_the_same_number_gives_the_same_case(open_line: Line) -> None:
    runtime, http = await open_line()
    references = []
    for outcome in ("registered", "already_registered"):
        caller = Caller(http)
        menu = await caller.dial()
        if caller.gather(menu).attrib["action"].endswith("/language"):
            menu = await caller.press(menu, "1")
        step = await caller.press(menu, "1")
        for digits in ("1", "2", "30#", "0#", "2"):
            step = await caller.press(step, digits)
        done, _ = await caller.record(step)
        row = await call_row(runtime, caller)
        assert row.outcome == outcome
        references.append(row.steps["registration"])
    assert references[0] == references[1]
    assert heard(runtime, done, "en", "voice.registration.existing")
    assert await runtime.registrations.count() == 1


async def test_a_repeated_name_request_reads_the_same_case_again(open_line: Line) -> None:
    """Twilio repeats a webhook it got no answer to: the case is stored once."""
    runtime, http = await open_line()
    caller = Caller(http)
    step = await caller.choose_language("en", runtime.catalogs.languages)
    for digits in ("1", "1", "2", "40#", "1#", "2"):
        step = await caller.press(step, digits)
    record = step.find("Record")
    assert record is not None
    params = {"RecordingUrl": "https://api.twilio.com/r/RE1", "RecordingSid": "RE" + "1" * 32}
    first = await caller.twiml(record.attrib["action"], RecordingDuration="3", **params)
    again = await caller.twiml(record.attrib["action"], RecordingDuration="3", **params)
    for answer in (first, again):
        assert heard(runtime, answer, "en", "voice.registration.done")
        assert heard(runtime, answer, "en", "voice.registration.review")
        assert caller.gather(answer).attrib["action"] == VOICE_URL + "/reference"
    assert await runtime.registrations.count() == 1
    row = await call_row(runtime, caller)
    assert row.steps["outcomes"] == ["registered"]
    assert [r["sid"] for r in row.steps["recordings"]] == [params["RecordingSid"]]


async def test_a_call_and_a_chat_store_the_same_registration(open_line: Line) -> None:
    """The same person registered by keypad and by text: one flow, the same record, except
    what a keypad cannot ask (left for an operator, so the call's case waits for review)."""
    runtime, http = await open_line()
    caller = Caller(http)
    step = await caller.choose_language("en", runtime.catalogs.languages)
    for digits in ("1", "1", "1", "25#", "2#", "1"):  # Nigeria, 25, two along, detained
        step = await caller.press(step, digits)
    await caller.record(step)

    async def chat(number: int, text: str) -> list[str]:
        response = await http.post(
            "/webhooks/rest/webhook",
            json={"sender": "same-person", "message": text, "metadata": {"message_id": number}},
        )
        assert response.status_code == 200, response.text
        return [reply["text"] for reply in response.json()]

    for number, text in enumerate((
        "hello", "1", "yes", "Musa Bello", "1", "25", "2", "0912345678", "Sabha",
        "1", "Tariq al Sikka", "3", "2", "wife 30", "son 4", "2", "2", "2", "1",
    )):  # fmt: skip
        replies = await chat(number, text)
    async with runtime.db.session() as session:
        by_call, by_text = list(await session.scalars(select(Registration).order_by("id")))
    done = runtime.catalogs.text("en", "registration.done", reference=by_text.reference)
    assert replies[0] == done
    assert (by_call.channel, by_text.channel) == ("voice", "rest")
    columns = [column.key for column in Registration.__table__.columns]
    call_fields = {name: getattr(by_call, name) for name in columns}
    text_fields = {name: getattr(by_text, name) for name in columns}
    differ = {name for name in columns if call_fields[name] != text_fields[name]}
    # each case's own (ids, reference, when, who wrote) and what only text asks
    assert differ == {
        "id", "reference", "reference_keypad", "contact_id", "dedup_hash", "created_at",
        "updated_at", "channel", "needs_review",
        "full_name", "sex", "city", "detention_place", "document", "family",
    }  # fmt: skip
    assert (by_call.country, by_call.age, by_call.detained) == ("NG", 25, True)
    assert by_call.phone == by_text.phone == CALLER
    assert by_call.priority == "high" and by_call.vulnerabilities["flags"] == ["detained"]
    assert by_call.full_name == NAME_PLACEHOLDER and by_call.needs_review
    assert (by_call.sex, by_call.city, by_call.detention_place, by_call.document) == (None,) * 4
    assert (by_text.full_name, by_text.sex, by_text.city) == ("Musa Bello", "male", "Sebha")
    assert not by_text.needs_review
    # the same number of people along: the keypad keeps only how many
    assert json.loads(by_call.family) == [{"relation": "", "age": None}] * 2
    assert [member["age"] for member in json.loads(by_text.family)] == [30, 4]


async def test_a_name_never_recorded_still_registers_the_case_for_review(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    step = await caller.choose_language("en", runtime.catalogs.languages)
    for digits in ("1", "1", "2", "1980#", "0#", "2"):
        step = await caller.press(step, digits)
    for _ in range(2):  # silence: Twilio skips the Record action and follows the Redirect
        redirect = step.find("Redirect")
        assert step.find("Record") is not None and redirect is not None and redirect.text
        step = await caller.twiml(redirect.text)
    assert heard(runtime, step, "en", "voice.registration.done")
    async with runtime.db.session() as session:
        case = await session.scalar(select(Registration))
    assert case is not None and case.needs_review and case.full_name == NAME_PLACEHOLDER
    assert (case.country, case.birth_year, case.detained) == ("NE", 1980, False)
    row = await call_row(runtime, caller)
    assert row.recording_url is None and row.outcome == "registered"


async def test_without_consent_nothing_is_stored_and_a_person_is_offered(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    main = await caller.choose_language("fr", runtime.catalogs.languages)
    consent = await caller.press(main, "1")
    refused = await caller.press(consent, "2")
    assert heard(runtime, refused, "fr", "voice.registration.no_consent")
    queue = await caller.press(refused, "0")
    assert queue.find("Enqueue") is not None
    row = await call_row(runtime, caller)
    assert "no_consent" in row.steps["outcomes"]
    assert "answers" not in row.steps
    assert await runtime.registrations.count() == 0


async def test_a_withheld_number_cannot_register_but_reaches_a_person(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http, number="anonymous")
    main = await caller.choose_language("en", runtime.catalogs.languages)
    refused = await caller.press(main, "1")
    assert heard(runtime, refused, "en", "voice.registration.no_phone")
    queue = await caller.press(refused, "0")
    assert queue.find("Enqueue") is not None
    row = await call_row(runtime, caller)
    assert row.contact_id is not None
    case = await runtime.handoffs.active_for(row.contact_id)
    assert case is not None and case.channel == "voice"


async def test_unexpected_keys_are_asked_again_twice_then_the_main_menu(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    main = await caller.choose_language("ar", runtime.catalogs.languages)
    consent = await caller.press(main, "1")
    for _ in range(2):
        consent = await caller.press(consent, "7")
        assert heard(runtime, consent, "ar", "voice.not_understood")
        assert heard(runtime, consent, "ar", "voice.registration.consent")
        assert caller.gather(consent).attrib["action"] == VOICE_URL + "/consent"
    back = await caller.press(consent, "7")
    assert heard(runtime, back, "ar", "voice.not_understood")
    assert caller.gather(back).attrib["action"] == VOICE_URL + "/menu"
    # An age the keypad cannot mean is asked again too.
    consent = await caller.press(back, "1")
    age = await caller.press(await caller.press(consent, "1"), "2")
    again = await caller.press(age, "999#")
    assert heard(runtime, again, "ar", "voice.not_understood")
    assert caller.gather(again).attrib["action"] == VOICE_URL + "/age"


# -- services by city ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_services_by_city_and_the_details_by_sms(
    language: str, open_line: Line, tmp_path: Path
) -> None:
    runtime, http = await line_for(language, open_line, tmp_path)
    directory = service_directory()
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    cities = await caller.press(main, "2")
    assert heard(runtime, cities, language, "voice.services.city")
    assert caller.gather(cities).attrib["finishOnKey"] == "#"
    number = directory.cities.index("Tripoli") + 1
    needs = await caller.press(cities, f"{number}#")
    assert heard(runtime, needs, language, "voice.services.need")
    listing = await caller.press(needs, str(directory.needs.index("health") + 1))
    tripoli_health = directory.find("health", "Tripoli")
    assert tripoli_health
    first = tripoli_health[0]
    if language == "ha":
        assert any(url.endswith(f"/audio/ha/service.{first.id}.mp3") for url in plays(listing))
    else:
        assert first.text("name", language) in said(listing)
    assert heard(runtime, listing, language, "voice.services.options")

    after = await caller.press(listing, "1")
    assert heard(runtime, after, language, "voice.sms.sent")
    [sms] = await queued_sms(runtime)
    assert first.text("name", language) in sms.text
    assert sms.language == language
    row = await call_row(runtime, caller)
    assert row.outcome == "services_sms"
    assert row.steps["city"] == "Tripoli"


async def test_a_city_can_be_said_where_speech_is_supported(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    main = await caller.choose_language("en", runtime.catalogs.languages)
    cities = await caller.press(main, "2")
    gather = caller.gather(cities)
    assert gather.attrib["input"] == "dtmf speech" and "Sebha" in gather.attrib["hints"]
    needs = await caller.speak(cities, "I am in Sabha")
    assert heard(runtime, needs, "en", "voice.services.need")
    assert (await call_row(runtime, caller)).steps["city"] == "Sebha"


# -- case status -------------------------------------------------------------------------------


async def registered_case(runtime: Runtime, stage: str = "registered") -> str:
    case = await runtime.registrations.register(
        answers={"name": "Amina Musa", "country": "NE", "age": 31, "phone": "+218920000001"},
        contact_id=None,
        collected_by=None,
        priority="normal",
        vulnerabilities=[],
        needs_review=False,
        language="ha",
        channel="sms",
    )
    if stage != "registered":
        async with runtime.db.session() as session, session.begin():
            row = await session.scalar(
                select(Registration).where(Registration.reference == case.reference)
            )
            assert row is not None
            row.stage = stage
    return case.reference


@pytest.mark.parametrize("language", LANGUAGES)
async def test_case_status_by_keypad_digits(language: str, open_line: Line, tmp_path: Path) -> None:
    runtime, http = await line_for(language, open_line, tmp_path)
    reference = await registered_case(runtime, stage="document_issued")
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    ask = await caller.press(main, "3")
    assert heard(runtime, ask, language, "voice.case.ask")
    status = await caller.press(ask, keypad_form(reference) + "#")
    if language == "ha":
        assert any(
            url.endswith("/audio/ha/case.stage.document_issued.mp3") for url in plays(status)
        )
    else:
        stage = runtime.catalogs.text(language, "case.stage.document_issued")
        core = reference.removeprefix("LY-")
        assert heard(runtime, status, language, "case.status", reference=spelled(core), stage=stage)
    assert caller.gather(status).attrib["action"] == VOICE_URL + "/menu"
    assert (await call_row(runtime, caller)).outcome == "case_status"


async def test_three_unknown_references_offer_a_person(open_line: Line) -> None:
    runtime, http = await open_line()
    await registered_case(runtime)
    caller = Caller(http)
    main = await caller.choose_language("fr", runtime.catalogs.languages)
    step = await caller.press(main, "3")
    for _ in range(2):
        step = await caller.press(step, "222222#")
        assert heard(runtime, step, "fr", "voice.case.not_found")
    failed = await caller.press(step, "222222#")
    assert heard(runtime, failed, "fr", "voice.case.failed")
    menu = await caller.press(failed, "1")
    assert caller.gather(menu).attrib["action"] == VOICE_URL + "/menu"
    assert "case_not_found" in (await call_row(runtime, caller)).steps["outcomes"]


# -- operators -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", SPOKEN)
async def test_within_hours_the_caller_waits_for_an_operator(
    language: str, open_line: Line
) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    queued = await caller.press(main, "0")
    enqueue = queued.find("Enqueue")
    assert enqueue is not None and enqueue.text == runtime.settings.voice_queue_name
    assert heard(runtime, queued, language, "voice.operator.connecting")

    row = await call_row(runtime, caller)
    assert row.contact_id is not None and row.outcome == "queued"
    case = await runtime.handoffs.active_for(row.contact_id)
    assert case is not None
    assert (case.channel, case.reason, case.language, case.status) == (
        "voice",
        "call",
        language,
        "open",
    )
    assert row.steps["handoff_id"] == case.id

    hold = await caller.twiml(enqueue.attrib["waitUrl"], QueuePosition="3", QueueTime="40")
    assert heard(runtime, hold, language, "voice.operator.position", position=3)
    assert hold.find("Pause") is not None and hold.find("Leave") is None
    too_long = runtime.settings.voice_queue_wait_seconds + 1
    leave = await caller.twiml(
        enqueue.attrib["waitUrl"], QueuePosition="1", QueueTime=str(too_long)
    )
    assert leave.find("Leave") is not None

    # Nobody answered: the caller leaves a message for a call back.
    left = await caller.twiml(enqueue.attrib["action"], QueueResult="leave", QueueTime="301")
    assert heard(runtime, left, language, "voice.operator.no_answer")
    record = left.find("Record")
    assert record is not None
    assert record.attrib["recordingStatusCallback"] == VOICE_URL + "/recording"
    assert int(record.attrib["maxLength"]) == runtime.settings.voice_max_recording_seconds


async def test_a_bridged_call_counts_as_answered_by_an_operator(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    main = await caller.choose_language("en", runtime.catalogs.languages)
    queued = await caller.speak(main, "I want to talk to a person")
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    done = await caller.twiml(enqueue.attrib["action"], QueueResult="bridged", QueueTime="12")
    assert list(done) == []
    await caller.end(seconds=300)
    row = await call_row(runtime, caller)
    assert (row.outcome, row.duration_seconds) == ("operator", 300)


@pytest.mark.parametrize("language", SPOKEN)
async def test_outside_hours_a_message_opens_a_callback_case(
    language: str, open_line: Line
) -> None:
    runtime, http = await open_line(operator_hours=NEVER_OPEN)
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    closed = await caller.press(main, "0")
    assert closed.find("Enqueue") is None
    assert heard(runtime, closed, language, "voice.operator.closed")
    assert heard(runtime, closed, language, "voice.record.ask")
    record = closed.find("Record")
    assert record is not None
    row = await call_row(runtime, caller)
    assert row.contact_id is not None
    assert await runtime.handoffs.active_for(row.contact_id) is None

    sid = "RE" + uuid.uuid4().hex
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}"
    recording = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": "17"}
    ready = await caller.post(
        record.attrib["recordingStatusCallback"], RecordingStatus="completed", **recording
    )
    assert ready.status_code == 204
    case = await runtime.handoffs.active_for(row.contact_id)
    assert case is not None
    assert (case.reason, case.channel, case.priority) == ("callback", "voice", "normal")
    row = await call_row(runtime, caller)
    assert (row.recording_url, row.recording_seconds, row.outcome) == (url, 17, "callback")
    async with runtime.db.session() as session:
        handoff = await session.get(Handoff, case.id)
        assert handoff is not None and handoff.call_id == row.id

    # The Record action for the same recording thanks the caller and opens nothing more.
    thanks = await caller.twiml(record.attrib["action"], Digits="#", **recording)
    assert heard(runtime, thanks, language, "voice.record.thanks")
    assert thanks.find("Hangup") is not None
    row = await call_row(runtime, caller)
    assert row.steps["outcomes"].count("callback") == 1


# -- languages without text-to-speech ----------------------------------------------------------


async def test_hausa_without_recordings_says_so_in_english_and_offers_a_person(
    open_line: Line,
) -> None:
    """Someone who chose Hausa on another channel calls before Hausa is recorded."""
    runtime, http = await open_line()
    caller = Caller(http)
    contact = await runtime.store.contact_for("voice", CALLER)
    await runtime.store.set_contact_language(contact.id, "ha")
    notice = await caller.dial()
    english = VOICE_PROFILES["en"]
    expected = spoken(runtime.catalogs.text("en", "voice.audio_unavailable", name="Hausa"))
    says = list(notice.iter("Say"))
    assert [s.text for s in says] == [expected]
    assert says[0].attrib["language"] == english.say_language
    assert not plays(notice)
    gather = caller.gather(notice)
    assert gather.attrib["action"] == VOICE_URL + "/unavailable"
    assert gather.attrib["input"] == "dtmf"

    queued = await caller.press(notice, "0")
    assert queued.find("Enqueue") is not None
    row = await call_row(runtime, caller)
    assert row.language == "ha" and row.contact_id is not None
    case = await runtime.handoffs.active_for(row.contact_id)
    assert case is not None and case.language == "ha"
    # Hold messages are in English too, never Hausa text in an English voice.
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    hold = await caller.twiml(enqueue.attrib["waitUrl"], QueuePosition="2", QueueTime="5")
    assert all(say.attrib["language"] == english.say_language for say in hold.iter("Say"))
    assert "You are number 2 in the queue." in said(hold)


async def test_hausa_recordings_are_played_and_served(open_line: Line, tmp_path: Path) -> None:
    locales = recorded_locales(tmp_path)
    # Every prompt but the main menu is recorded: enough to be offered, not to get far.
    (locales / "ha" / "audio" / "voice.menu.main.mp3").unlink()
    runtime, http = await open_line(locales_dir=locales, data_dir=tmp_path / "data")
    (runtime.settings.data_dir / "voice_prompts" / "ha").mkdir(parents=True)
    (runtime.settings.data_dir / "voice_prompts" / "ha" / "voice.menu.main.mp3").write_bytes(
        b"ID3\x04\x00\x00\x00\x00\x00\x00voice.menu.main"
    )
    caller = Caller(http)
    offered = plays(await caller.dial())
    choose = f"{VOICE_URL}/audio/ha/voice.language.choose.mp3"
    assert offered[-2:] == [choose, f"{VOICE_URL}/audio/ha/spell.4.mp3"]
    assert "For Hausa, press 4." not in said(await caller.dial())
    welcome = await caller.press(await caller.dial(), "4")
    assert f"{VOICE_URL}/audio/ha/voice.menu.main.mp3" in plays(welcome)
    # Without one recording Hausa is not offered at all.
    (runtime.settings.data_dir / "voice_prompts" / "ha" / "voice.menu.main.mp3").unlink()
    assert not plays(await Caller(http).dial())

    audio = await http.get(choose.removeprefix("http://testserver"))
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["cache-control"] == "no-cache"  # a new recording is heard at once
    assert audio.content.endswith(b"voice.language.choose")
    # The studio's recording (in the data directory) wins over a shipped one, at once.
    studio = runtime.settings.data_dir / "voice_prompts" / "ha" / "voice.language.choose.mp3"
    studio.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00from the studio")
    audio = await http.get(choose.removeprefix("http://testserver"))
    assert audio.content.endswith(b"from the studio")
    # Only existing recordings of enabled languages, by valid names.
    for path in (
        "/webhooks/twilio/voice/audio/ha/voice.menu.main.mp3",
        "/webhooks/twilio/voice/audio/ha/..%2FLC_MESSAGES%2Fmessages.po",
        "/webhooks/twilio/voice/audio/ha/.hidden.mp3",
        "/webhooks/twilio/voice/audio/xx/voice.welcome.mp3",
        "/webhooks/twilio/voice/audio/ha/voice.welcome.wav",
    ):
        assert (await http.get(path)).status_code == 404, path


# -- reports ---------------------------------------------------------------------------------


async def test_status_callback_ends_the_call_and_counts_it(open_line: Line) -> None:
    runtime, http = await open_line()
    caller = Caller(http)
    await caller.dial()
    await caller.end(seconds=8)
    row = await call_row(runtime, caller)
    assert (row.status, row.duration_seconds, row.outcome) == ("completed", 8, "abandoned")
    assert row.ended_at is not None and row.steps["path"] == ["language"]

    # A call seen first through its status callback is still stored.
    unseen = Caller(http)
    response = await unseen.post(VOICE_URL + "/status", CallStatus="no-answer", CallDuration="0")
    assert response.status_code == 204
    row = await call_row(runtime, unseen)
    assert (row.status, row.outcome) == ("no-answer", "abandoned")
