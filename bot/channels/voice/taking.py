"""An operator takes a waiting caller from the console, on the phone number of their account.

Twilio's <Dial><Queue> bridges the caller at the front of a queue, so a chosen caller is met in
a queue of the take's own:

1. "Take this call" (console): the call is claimed for the operator (one operator, only while
   the caller waits), a queue `<queue>-take-<call id>` is created, and Twilio rings the
   operator's phone (Calls API, answering machine detection on).
2. The operator answers: POST /webhooks/twilio/voice/operator. The caller is dequeued by their
   CallSid (Queue Member update) to /webhooks/twilio/voice/taken, whose TwiML <Enqueue>s them
   in the take's queue; the operator's call answers <Dial><Queue> of that queue. Since the
   queue exists already, <Dial> waits for the caller instead of failing.
3. The bridge ends: the caller's Enqueue action (`IVR.queue_result`) records QueueResult
   "bridged"; the operator's call status callback deletes the take's queue. An operator who
   hung up before the bridge leaves the caller in it: the callback dequeues them back into the
   operators' queue (/webhooks/twilio/voice/requeue).

A take that does not connect (no answer, a voicemail, a caller who hung up) is released: the
caller waits for anyone again, still in the operators' queue. Logs carry ids only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from bot.access import Principal, audit
from bot.accounts import Accounts
from bot.channels.twilio.account import TWILIO_API_BASE_URL, configured
from bot.channels.twilio.auth import verified_form
from bot.channels.voice.calls import FINAL_STATUSES, CallRecords
from bot.channels.voice.context import VOICE_PATH
from bot.channels.voice.ivr import CALLS_EVENT
from bot.config import Settings
from bot.errors import DomainError
from bot.handoffs.service import HandoffError
from bot.http import runtime_of
from bot.storage.models import Call, as_utc

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["voice channel"])

OPERATOR_PATH = VOICE_PATH + "/operator"
TAKEN_PATH = VOICE_PATH + "/taken"
REQUEUE_PATH = VOICE_PATH + "/requeue"
RING_SECONDS = 30  # how long the operator's phone rings before the take is given up
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
# Only recordings of this account on Twilio's API are fetched with its credentials.
_RECORDING = re.compile(
    r"^https://api\.twilio\.com/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Recordings/"
    r"(RE[0-9a-fA-F]{32})(?:\.mp3|\.wav|\.json)?$"
)


class TakeError(DomainError):
    """The call cannot be taken (the reason is shown to the operator)."""


def take_queue_name(settings: Settings, call: Call) -> str:
    """The take's queue: Twilio wants a new name for each (a take can be retried)."""
    taken = as_utc(call.taken_at)
    stamp = int(taken.timestamp() * 1000) if taken else 0
    return f"{settings.voice_queue_name[:32]}-take-{call.id}-{stamp}"


def base_url(request: Request, settings: Settings) -> str:
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


# -- 1. the console's button -------------------------------------------------------------------
async def take_call(runtime: Runtime, principal: Principal, call_id: int, base: str) -> None:
    """Ring the operator's phone for the waiting caller `call_id`; TakeError if it cannot."""
    settings = runtime.settings
    phone = await Accounts(runtime.db).phone(principal.operator_id)
    if not phone:
        raise TakeError("Add your phone number on your account page to take calls.", 422)
    if not configured(settings) or not settings.twilio_phone_number:
        raise TakeError("Calls cannot be taken: Twilio is not configured.", 503)
    calls = CallRecords(runtime.db)
    call = await calls.take(call_id, principal.operator_id)
    if call is None:
        raise TakeError("This caller is no longer waiting, or someone else is taking the call.")
    if call.queue_sid is None:  # Twilio has not called the waitUrl yet: no QueueSid to use
        await calls.release(call_id)
        raise TakeError("The caller is still being put in the queue; try again in a moment.")
    client = _rest_client(settings)
    try:
        queue = await client.queues.create_async(friendly_name=take_queue_name(settings, call))
        ring = await client.calls.create_async(
            to=phone,
            from_=settings.twilio_phone_number,
            url=base + OPERATOR_PATH,
            method="POST",
            status_callback=base + OPERATOR_PATH + "/status",
            status_callback_method="POST",
            timeout=RING_SECONDS,
            machine_detection="Enable",  # a voicemail must not take the caller
        )
    except TwilioException as error:
        log.warning(
            "voice: ringing operator %s for call %s failed: %s",
            principal.operator_id,
            call_id,
            type(error).__name__,
        )
        await calls.release(call_id)
        raise TakeError("Twilio could not ring your phone; try again.", 502) from error
    await calls.ringing(call_id, str(ring.sid), str(queue.sid))
    handoff_id = (call.steps or {}).get("handoff_id")
    if isinstance(handoff_id, int):
        operator_id = principal.operator_id
        try:  # whoever takes the call has the case
            await runtime.handoffs.assign(handoff_id, operator_id, by=operator_id)
        except HandoffError:  # a case closed meanwhile: the call is still worth taking
            log.info("voice: case %s of call %s not assigned", handoff_id, call_id)
    await audit(runtime, principal, "call.take", str(call_id), handoff=handoff_id)
    await runtime.events.publish(CALLS_EVENT, call_id=call_id)
    log.info("voice: call %s taken by operator %s", call_id, principal.operator_id)


# -- 2. and 3. Twilio's webhooks ---------------------------------------------------------------
def _hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def _twiml(response: VoiceResponse) -> Response:
    return Response(content=str(response), media_type="application/xml")


async def _params(request: Request) -> tuple[Runtime, dict[str, str], str]:
    runtime = runtime_of(request)
    params = await verified_form(request, runtime.settings)
    call_sid = params.get("CallSid", "")
    if not _CALL_SID.fullmatch(call_sid):
        raise HTTPException(400, detail="CallSid is missing or malformed")
    return runtime, params, call_sid


@router.post(OPERATOR_PATH)
async def operator_answered(request: Request) -> Response:
    """The operator's phone answered: bring the caller into the take's queue and dial it."""
    runtime, params, operator_call = await _params(request)
    calls = CallRecords(runtime.db)
    call = await calls.by_operator_call(operator_call)
    if call is None or call.taken_by_id is None or call.ended_at is not None:
        return _twiml(_hangup())
    if params.get("AnsweredBy", "human").startswith(("machine", "fax")):
        log.info("voice: call %s: a machine answered the operator's phone", call.id)
        await calls.release(call.id)
        await runtime.events.publish(CALLS_EVENT, call_id=call.id)
        return _twiml(_hangup())
    settings = runtime.settings
    try:
        await (
            _rest_client(settings)
            .queues(call.queue_sid or "")
            .members(call.call_sid)
            .update_async(url=base_url(request, settings) + TAKEN_PATH, method="POST")
        )
    except TwilioException as error:  # the caller hung up or left the queue meanwhile
        log.info("voice: call %s could not be dequeued: %s", call.id, type(error).__name__)
        await calls.release(call.id)
        await runtime.events.publish(CALLS_EVENT, call_id=call.id)
        return _twiml(_hangup())
    response = VoiceResponse()
    dial = response.dial(timeout=RING_SECONDS)
    dial.queue(take_queue_name(settings, call))
    return _twiml(response)


@router.post(TAKEN_PATH)
async def caller_taken(request: Request) -> Response:
    """The caller, dequeued for the operator who took the call: into the take's queue."""
    runtime, _, call_sid = await _params(request)
    calls = CallRecords(runtime.db)
    state = await calls.get(call_sid)
    row = await calls.row(state.id) if state is not None else None
    if state is None or row is None or row.taken_by_id is None:
        raise HTTPException(404, detail="no call taken by an operator")
    await calls.left_queue(state.id)
    await runtime.events.publish(CALLS_EVENT, call_id=state.id)
    base = base_url(request, runtime.settings)
    response = VoiceResponse()
    response.enqueue(
        take_queue_name(runtime.settings, row),
        action=f"{base}{VOICE_PATH}/queue",
        method="POST",
        wait_url=f"{base}{VOICE_PATH}/wait",
        wait_url_method="POST",
    )
    return _twiml(response)


@router.post(REQUEUE_PATH)
async def caller_requeued(request: Request) -> Response:
    """The operator hung up before the bridge: the caller waits for anyone again."""
    runtime, _, call_sid = await _params(request)
    calls = CallRecords(runtime.db)
    state = await calls.get(call_sid)
    if state is None:
        raise HTTPException(404, detail="unknown call")
    await calls.back_in_queue(state.id)
    await runtime.events.publish(CALLS_EVENT, call_id=state.id)
    base = base_url(request, runtime.settings)
    response = VoiceResponse()
    response.enqueue(
        runtime.settings.voice_queue_name,
        action=f"{base}{VOICE_PATH}/queue",
        method="POST",
        wait_url=f"{base}{VOICE_PATH}/wait",
        wait_url_method="POST",
    )
    return _twiml(response)


@router.post(OPERATOR_PATH + "/status")
async def operator_call_status(request: Request) -> Response:
    """The operator's call ended: a take that never reached the caller is released."""
    runtime, params, operator_call = await _params(request)
    if params.get("CallStatus", "") not in FINAL_STATUSES:
        return Response(status_code=204)
    calls = CallRecords(runtime.db)
    call = await calls.by_operator_call(operator_call)
    if call is None:
        return Response(status_code=204)
    client = _rest_client(runtime.settings)
    if call.dequeued_at is None:  # still in the operators' queue: anyone may take it again
        await calls.release(call.id)
        await runtime.events.publish(CALLS_EVENT, call_id=call.id)
    elif call.outcome != "operator" and call.ended_at is None and call.take_queue_sid:
        # Moved for the operator, who hung up before the bridge: back to the operators' queue.
        # A caller already bridged is in no queue, and Twilio refuses the dequeue.
        try:
            await (
                client.queues(call.take_queue_sid)
                .members(call.call_sid)
                .update_async(url=base_url(request, runtime.settings) + REQUEUE_PATH)
            )
        except TwilioException:
            pass
    if call.take_queue_sid:
        try:
            await client.queues(call.take_queue_sid).delete_async()
        except TwilioException:  # not empty yet, or gone: Twilio keeps an idle queue, harmless
            log.info("voice: the take queue of call %s was not deleted", call.id)
    return Response(status_code=204)


def _rest_client(settings: Settings) -> Client:
    # imported here: the twilio library's HTTP stack (~13 MB) only in a process that calls Twilio
    from bot.channels.twilio.client import rest_client

    return rest_client(settings)


# -- recordings, for the console ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordingStream:
    chunks: AsyncIterator[bytes]
    media_type: str


async def open_recording(settings: Settings, url: str) -> RecordingStream | None:
    """The recording's audio, fetched from Twilio with the account's credentials (never
    handed to a browser). None for a URL that is not this account's recording on Twilio."""
    found = _RECORDING.fullmatch(url or "")
    if found is None or not configured(settings) or found.group(1) != settings.twilio_account_sid:
        return None
    assert settings.twilio_auth_token is not None
    canonical = f"{TWILIO_API_BASE_URL}/2010-04-01/Accounts/{found.group(1)}/Recordings/"
    from bot.channels.twilio.client import TwilioApiHttpClient

    target = TwilioApiHttpClient(settings.twilio_api_base_url).route(
        canonical + found.group(2) + ".mp3"
    )
    # Twilio may redirect to its media store; httpx drops the credentials on another host.
    client = httpx.AsyncClient(timeout=30.0, follow_redirects=True)
    auth = (found.group(1), settings.twilio_auth_token.get_secret_value())
    try:
        answer = await client.send(client.build_request("GET", target), auth=auth, stream=True)
    except httpx.HTTPError:
        await client.aclose()
        raise
    if answer.status_code != 200:
        await answer.aclose()
        await client.aclose()
        raise httpx.HTTPStatusError(
            f"Twilio answered {answer.status_code}", request=answer.request, response=answer
        )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_bytes():
                yield chunk
        finally:
            await answer.aclose()
            await client.aclose()

    media_type = answer.headers.get("content-type", "audio/mpeg").split(";")[0]
    if not media_type.startswith("audio/"):
        media_type = "audio/mpeg"
    return RecordingStream(chunks(), media_type)
