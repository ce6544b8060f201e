"""Operators take voice calls from the console (/console/calls), and play callers' messages.

The caller drives the IVR's webhooks as Twilio would (signed, see test_channel_voice); the
console talks to a local fake Twilio through the real twilio client; the fake's records show
what Twilio was asked to do, and the test then plays Twilio's part (the operator answering,
the caller dequeued, the bridge ending) with signed webhooks.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import select

from bot.channels.voice.taking import take_queue_name
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Call, Handoff, Operator, utcnow
from server import create_app
from tests.conftest import RuntimeFactory
from tests.console_support import DEFAULT_PASSWORD, create_operator, sign_in
from tests.fakes.twilio_api import FakeTwilioAPI, running_fake_twilio
from tests.test_channel_voice import (
    CALLER,
    NEVER_OPEN,
    TOKEN,
    VOICE_URL,
    Caller,
    call_row,
    signed_headers,
)

ACCOUNT = "AC" + "1" * 32
HOTLINE = "+218910000000"
AMINA_PHONE = "+218912345678"
QUEUE_SID = "QU" + "2" * 32
AUDIO = b"ID3\x04\x00fake message audio"


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilioAPI, str]]:
    with running_fake_twilio(ACCOUNT, TOKEN) as running:
        yield running


@pytest.fixture
async def line(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The hotline, its Twilio account pointed at the fake; one client for Twilio's webhooks."""
    _, base = fake_twilio
    runtime = await make_runtime(
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_phone_number=HOTLINE,
        twilio_api_base_url=base,
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield runtime, http


async def console_for(
    runtime: Runtime, username: str, *, phone: str | None = AMINA_PHONE
) -> tuple[httpx.AsyncClient, str, int]:
    """A signed-in operator's own browser session (a client of its own); their phone set."""
    operator_id = await create_operator(runtime, username, "operator")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)),
        base_url="http://testserver",
    )
    csrf = await sign_in(client, username, DEFAULT_PASSWORD)
    if phone:
        saved = await client.post(
            "/console/account/phone", data={"csrf_token": csrf, "phone": phone}
        )
        assert saved.status_code == 303, saved.text
    return client, csrf, operator_id


async def queued_caller(
    runtime: Runtime, http: httpx.AsyncClient, language: str = "ar"
) -> tuple[Caller, ET.Element]:
    """A caller who asked for a person and waits; Twilio's first waitUrl request is made."""
    caller = Caller(http)
    main = await caller.choose_language(language, runtime.catalogs.languages)
    queued = await caller.press(main, "0")
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    await caller.twiml(
        enqueue.attrib["waitUrl"], QueueSid=QUEUE_SID, QueuePosition="1", QueueTime="3"
    )
    return caller, enqueue


async def twilio_post(http: httpx.AsyncClient, url: str, **params: str) -> httpx.Response:
    """Twilio calling one of the app's webhooks (the operator's call has no caller's From)."""
    body = {"AccountSid": ACCOUNT, **params}
    path = url.removeprefix("http://testserver")
    return await http.post(path, data=body, headers=signed_headers(url, body))


def twiml_of(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    return ET.fromstring(response.text)


def waiting_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-call="(\d+)"', html)]


# -- the waiting list and taking a call --------------------------------------------------------


async def test_an_operator_takes_a_waiting_caller_on_their_phone(
    line: tuple[Runtime, httpx.AsyncClient], fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    runtime, http = line
    fake, _ = fake_twilio
    amina, csrf, amina_id = await console_for(runtime, "amina")
    caller, enqueue = await queued_caller(runtime, http, "ar")
    row = await call_row(runtime, caller)
    assert row.queued_at is not None and row.queue_sid == QUEUE_SID

    # the page lists the caller with their language and how long they have waited
    page = await amina.get("/console/calls")
    assert page.status_code == 200
    assert waiting_ids(page.text) == [row.id]
    assert "Arabic" in page.text and re.search(r"\d+ min \d\d s", page.text)
    assert 'href="/console/calls"' in page.text  # in the navigation
    listed = (await amina.get("/console/calls/waiting")).json()["waiting"]
    assert [(c["id"], c["language"], c["taken_by"]) for c in listed] == [(row.id, "ar", None)]
    assert listed[0]["waited_seconds"] >= 0

    taken = await amina.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    assert taken.status_code == 303 and taken.headers["location"] == "/console/calls?notice=ringing"

    # Twilio was asked for the take's own queue and to ring Amina's phone
    row = await call_row(runtime, caller)
    queue_name = take_queue_name(runtime.settings, row)
    assert list(fake.queues.values()) == [queue_name]
    (ring,) = fake.calls
    assert (ring["To"], ring["From"]) == (AMINA_PHONE, HOTLINE)
    assert ring["Url"] == VOICE_URL + "/operator" and ring["Method"] == "POST"
    assert ring["StatusCallback"] == VOICE_URL + "/operator/status"
    assert ring["MachineDetection"] == "Enable"
    row = await call_row(runtime, caller)
    assert (row.taken_by_id, row.operator_call_sid) == (amina_id, ring["Sid"])
    async with runtime.db.session() as session:
        case = await session.get(Handoff, row.steps["handoff_id"])
        assert case is not None and case.assigned_to_id == amina_id
    page = await amina.get("/console/calls")
    assert "ringing Amina" in page.text and f"/console/calls/{row.id}/take" not in page.text

    # a colleague cannot take the same caller any more
    bilal, bilal_csrf, _ = await console_for(runtime, "bilal", phone="+218923456789")
    again = await bilal.post(f"/console/calls/{row.id}/take", data={"csrf_token": bilal_csrf})
    assert again.status_code == 409 and "no longer waiting" in again.text
    assert len(fake.calls) == 1

    # Amina answers: the caller is dequeued by CallSid into the take's queue, which she dials
    answered = twiml_of(
        await twilio_post(
            http, VOICE_URL + "/operator", CallSid=ring["Sid"], To=AMINA_PHONE, AnsweredBy="human"
        )
    )
    dial_queue = answered.find("Dial/Queue")
    assert dial_queue is not None and dial_queue.text == queue_name
    (dequeued,) = fake.dequeued
    assert (dequeued["QueueSid"], dequeued["CallSid"]) == (QUEUE_SID, caller.sid)
    assert dequeued["Url"] == VOICE_URL + "/taken" and dequeued["Method"] == "POST"

    # Twilio fetches the dequeued caller's TwiML: into the take's queue
    moved = await caller.twiml(dequeued["Url"])
    private = moved.find("Enqueue")
    assert private is not None and private.text == queue_name
    assert private.attrib["action"] == enqueue.attrib["action"]
    assert (await amina.get("/console/calls/waiting")).json()["waiting"] == []
    # the first queue's action hears "redirected": nothing more is said
    assert list(await caller.twiml(enqueue.attrib["action"], QueueResult="redirected")) == []

    # they talked; the bridge is recorded on the call, with who took it
    done = await caller.twiml(private.attrib["action"], QueueResult="bridged", QueueTime="2")
    assert list(done) == []
    await caller.end(seconds=240)
    row = await call_row(runtime, caller)
    assert (row.outcome, row.taken_by_id, row.duration_seconds) == ("operator", amina_id, 240)
    ended = await twilio_post(
        http, VOICE_URL + "/operator/status", CallSid=ring["Sid"], CallStatus="completed"
    )
    assert ended.status_code == 204
    assert fake.deleted_queues == [row.take_queue_sid]
    async with runtime.db.session() as session:
        taken_events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "call.take"))
        )
    assert [(e.actor, e.subject) for e in taken_events] == [(f"operator:{amina_id}", str(row.id))]
    await amina.aclose()
    await bilal.aclose()


async def test_a_take_that_does_not_connect_gives_the_caller_back(
    line: tuple[Runtime, httpx.AsyncClient], fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    runtime, http = line
    fake, _ = fake_twilio
    amina, csrf, _ = await console_for(runtime, "amina")
    caller, _ = await queued_caller(runtime, http, "fr")
    row = await call_row(runtime, caller)

    # no answer on Amina's phone: the caller waits for anyone again
    await amina.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    first = fake.calls[-1]["Sid"]
    status = await twilio_post(
        http, VOICE_URL + "/operator/status", CallSid=first, CallStatus="no-answer"
    )
    assert status.status_code == 204
    assert (await call_row(runtime, caller)).taken_by_id is None
    assert f"/console/calls/{row.id}/take" in (await amina.get("/console/calls")).text

    # her voicemail answers: it does not get the caller
    await amina.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    second = fake.calls[-1]["Sid"]
    machine = twiml_of(
        await twilio_post(http, VOICE_URL + "/operator", CallSid=second, AnsweredBy="machine_start")
    )
    assert machine.find("Hangup") is not None and machine.find("Dial") is None
    assert fake.dequeued == [] and (await call_row(runtime, caller)).taken_by_id is None

    # she answers, then hangs up before the bridge: the caller goes back to the queue
    await amina.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    answered = fake.calls[-1]["Sid"]
    dial = twiml_of(await twilio_post(http, VOICE_URL + "/operator", CallSid=answered))
    assert dial.find("Dial/Queue") is not None
    await caller.twiml(fake.dequeued[-1]["Url"])  # into the take's queue
    assert waiting_ids((await amina.get("/console/calls")).text) == []
    take_queue = (await call_row(runtime, caller)).take_queue_sid
    hung_up = await twilio_post(
        http, VOICE_URL + "/operator/status", CallSid=answered, CallStatus="completed"
    )
    assert hung_up.status_code == 204
    back = fake.dequeued[-1]
    assert (back["QueueSid"], back["CallSid"]) == (take_queue, caller.sid)
    assert back["Url"] == VOICE_URL + "/requeue" and take_queue in fake.deleted_queues
    requeued = await caller.twiml(back["Url"])
    shared = requeued.find("Enqueue")
    assert shared is not None and shared.text == runtime.settings.voice_queue_name
    assert waiting_ids((await amina.get("/console/calls")).text) == [row.id]
    assert (await call_row(runtime, caller)).queue_sid == QUEUE_SID

    # the caller hung up while her phone rang: Twilio refuses the dequeue, nobody is dialled
    await amina.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    third = fake.calls[-1]["Sid"]
    fake.gone_members.add(caller.sid)
    gone = twiml_of(await twilio_post(http, VOICE_URL + "/operator", CallSid=third))
    assert gone.find("Hangup") is not None and gone.find("Dial") is None
    await caller.end(seconds=30)
    assert waiting_ids((await amina.get("/console/calls")).text) == []
    # Twilio's requests for a call nobody took are answered with a hang-up
    unknown = twiml_of(await twilio_post(http, VOICE_URL + "/operator", CallSid="CA" + "9" * 32))
    assert unknown.find("Hangup") is not None
    await amina.aclose()


async def test_taking_a_call_needs_a_phone_a_session_and_the_csrf_token(
    line: tuple[Runtime, httpx.AsyncClient], fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    runtime, http = line
    fake, _ = fake_twilio
    caller, _ = await queued_caller(runtime, http, "en")
    row = await call_row(runtime, caller)
    musa, csrf, musa_id = await console_for(runtime, "musa", phone=None)

    page = await musa.get("/console/calls")
    assert waiting_ids(page.text) == [row.id] and 'id="no-phone"' in page.text
    assert f"/console/calls/{row.id}/take" not in page.text
    refused = await musa.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
    assert refused.status_code == 422 and "phone number" in refused.text

    wrong = await musa.post("/console/account/phone", data={"csrf_token": csrf, "phone": "call me"})
    assert wrong.status_code == 422
    saved = await musa.post(
        "/console/account/phone", data={"csrf_token": csrf, "phone": "091 234 5678"}
    )
    assert saved.status_code == 303
    async with runtime.db.session() as session:
        operator = await session.get(Operator, musa_id)
        assert operator is not None and operator.phone == "+218912345678"
    assert "+218912345678" in (await musa.get("/console/account")).text

    no_csrf = await musa.post(f"/console/calls/{row.id}/take", data={})
    assert no_csrf.status_code == 403
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)),
        base_url="http://testserver",
    ) as stranger:
        out = await stranger.post(f"/console/calls/{row.id}/take", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"].startswith("/console/login")
        listed = await stranger.get("/console/calls")
        assert listed.status_code == 303
        assert (await stranger.get("/console/calls/waiting")).status_code == 303
    assert fake.calls == [] and (await call_row(runtime, caller)).taken_by_id is None
    # unsigned, Twilio's operator webhooks are refused
    for path in ("/operator", "/operator/status", "/taken", "/requeue"):
        unsigned = await http.post(VOICE_URL + path, data={"CallSid": caller.sid})
        assert unsigned.status_code == 403
    await musa.aclose()


async def test_what_the_page_shows_is_escaped(
    line: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, _ = line
    amina, _, _ = await console_for(runtime, "amina")
    async with runtime.db.session() as session, session.begin():
        session.add(Call(call_sid="CA" + uuid.uuid4().hex, language="<b>x</b>", queued_at=utcnow()))
    page = await amina.get("/console/calls")
    assert "<b>x</b>" not in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text
    await amina.aclose()


# -- messages to call back ---------------------------------------------------------------------


async def left_message(
    runtime: Runtime, http: httpx.AsyncClient, account: str = ACCOUNT, number: str = CALLER
) -> Call:
    """Out of hours, a caller leaves a message; Twilio says the recording is ready."""
    caller = Caller(http, number)
    main = await caller.choose_language("fr", runtime.catalogs.languages)
    closed = await caller.press(main, "0")
    record = closed.find("Record")
    assert record is not None
    sid = "RE" + uuid.uuid4().hex
    url = f"https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{sid}"
    ready = await caller.post(
        record.attrib["recordingStatusCallback"],
        RecordingStatus="completed",
        RecordingUrl=url,
        RecordingSid=sid,
        RecordingDuration="9",
    )
    assert ready.status_code == 204
    return await call_row(runtime, caller)


@pytest.fixture
async def closed_line(
    make_runtime: RuntimeFactory, fake_twilio: tuple[FakeTwilioAPI, str]
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    _, base = fake_twilio
    runtime = await make_runtime(
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_phone_number=HOTLINE,
        twilio_api_base_url=base,
        operator_hours=NEVER_OPEN,
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield runtime, http


async def test_a_message_plays_for_signed_in_operators_only(
    closed_line: tuple[Runtime, httpx.AsyncClient], fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    runtime, http = closed_line
    fake, _ = fake_twilio
    call = await left_message(runtime, http)
    assert call.recording_url is not None
    sid = call.recording_url.rsplit("/", 1)[1]
    fake.recordings[sid] = AUDIO
    amina, _, amina_id = await console_for(runtime, "amina")

    page = await amina.get("/console/calls")
    playback = f"/console/calls/{call.id}/recording"
    assert f'src="{playback}"' in page.text and "9 s" in page.text
    assert "api.twilio.com" not in page.text and ACCOUNT not in page.text
    async with runtime.db.session() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.call_id == call.id))
    assert handoff is not None and handoff.reason == "callback"
    case_page = await amina.get(f"/console/cases/{handoff.id}")
    assert f'src="{playback}"' in case_page.text and "api.twilio.com" not in case_page.text
    api = await amina.get(f"/api/v1/cases/{handoff.id}")
    assert api.json()["call"]["recording_url"] == playback

    heard = await amina.get(playback)
    assert heard.status_code == 200 and heard.content == AUDIO
    assert heard.headers["content-type"] == "audio/mpeg"
    assert heard.headers["cache-control"] == "no-store"
    async with runtime.db.session() as session:
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "call.recording"))
        )
    assert [(e.actor, e.subject) for e in events] == [(f"operator:{amina_id}", str(call.id))]

    requests = fake.recording_requests
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)),
        base_url="http://testserver",
    ) as stranger:
        out = await stranger.get(playback)
        assert out.status_code == 303 and out.headers["location"].startswith("/console/login")
        assert AUDIO not in out.content
    assert fake.recording_requests == requests  # nothing was fetched for a stranger

    # a recording Twilio no longer has, and a URL of another account (never fetched)
    del fake.recordings[sid]
    assert (await amina.get(playback)).status_code == 502
    other = await left_message(runtime, http, "AC" + "3" * 32, "+218913333333")
    requests = fake.recording_requests
    assert (await amina.get(f"/console/calls/{other.id}/recording")).status_code == 404
    assert fake.recording_requests == requests
    assert (await amina.get("/console/calls/999999/recording")).status_code == 404
    await amina.aclose()
