"""Twilio Voice webhooks (TwiML answers) and the recorded prompts Twilio plays.

POST /webhooks/twilio/voice              a call comes in (CallSid, From, To, CallStatus)
POST /webhooks/twilio/voice/{step}       a menu's <Gather>/<Record> action (see ivr.py)
POST /webhooks/twilio/voice/wait         the queue's waitUrl (QueuePosition, QueueTime)
POST /webhooks/twilio/voice/queue        the <Enqueue> action (QueueResult)
POST /webhooks/twilio/voice/message      the message <Record> action
POST /webhooks/twilio/voice/recording    recording status callback (RecordingUrl, …)
POST /webhooks/twilio/voice/status       call status callback (CallStatus, CallDuration)
GET  /webhooks/twilio/voice/audio/{lang}/{key}.mp3   a recorded prompt (public, no personal data;
     the studio's recordings in the data directory first, then those shipped in locales/)

Every POST must carry a valid X-Twilio-Signature (403 otherwise) and a CallSid (400 otherwise).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse
from twilio.twiml.voice_response import VoiceResponse

from bot.channels.twilio.auth import verified_form
from bot.channels.voice.calls import CallRecords
from bot.channels.voice.context import CHANNEL, MAX_SECONDS, VOICE_PATH, CallContext
from bot.channels.voice.ivr import IVR
from bot.channels.voice.prompts import Prompter, audio_file
from bot.channels.voice.studio import recordings_dir
from bot.http import runtime_of
from bot.inputs import small_int
from nlu import parse_phone

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["voice channel"])

_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_STEP = re.compile(r"^[a-z_]{1,32}$")


def twiml(response: VoiceResponse) -> Response:
    return Response(content=str(response), media_type="application/xml")


def caller_number(from_: str) -> str | None:
    """The caller's phone number, or None for a withheld number or a non-phone client."""
    if not from_ or not from_.startswith("+"):
        return None
    return parse_phone(from_)


class VoiceRequest:
    """A verified Twilio Voice request: its parameters, its call, what the menus need."""

    def __init__(self, request: Request, runtime: Runtime, params: dict[str, str]) -> None:
        self.request = request
        self.runtime = runtime
        self.params = params
        self.ivr = IVR(runtime)
        call_sid = params.get("CallSid", "")
        if not _CALL_SID.fullmatch(call_sid):
            raise HTTPException(400, detail="CallSid is missing or malformed")
        self.call_sid = call_sid
        self.caller = caller_number(params.get("From", ""))

    @classmethod
    async def read(cls, request: Request) -> VoiceRequest:
        runtime: Runtime = runtime_of(request)
        params = await verified_form(request, runtime.settings)
        return cls(request, runtime, params)

    @property
    def calls(self) -> CallRecords:
        return self.ivr.calls

    async def context(self) -> CallContext:
        """The call's context; the call (and the caller's contact) is stored on first sight."""
        call = await self.calls.get(self.call_sid)
        if call is None:
            # A withheld number still gets a contact of its own for handoffs, never shared.
            address = self.caller or f"unknown:{self.call_sid}"
            contact = await self.runtime.store.contact_for(CHANNEL, address)
            call = await self.calls.start(self.call_sid, contact.id, None)
        settings = self.runtime.settings
        base_url = (settings.public_base_url or str(self.request.base_url)).rstrip("/")
        return CallContext(
            call=call,
            params=self.params,
            caller=self.caller,
            prompter=Prompter(
                self.runtime.catalogs, settings.locales_dir, base_url, recordings_dir(settings)
            ),
            base_url=base_url,
            default_language=settings.default_language,
        )


@router.post(VOICE_PATH)
async def incoming_call(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    ctx = await voice.context()
    known = None
    if ctx.call.contact_id is not None:
        contact = await voice.runtime.store.get_contact(ctx.call.contact_id)
        known = contact.language if contact else None
    response = await voice.ivr.incoming(ctx, known)
    await voice.calls.save(ctx.call)
    return twiml(response)


@router.post(VOICE_PATH + "/status")
async def call_status(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    status = voice.params.get("CallStatus", "").strip()
    if not status:
        raise HTTPException(400, detail="CallStatus is missing")
    duration = voice.params.get("CallDuration", "").strip()
    if await voice.calls.get(voice.call_sid) is None:
        await voice.context()  # a call first seen through its status: still counted
    await voice.calls.end(voice.call_sid, status, small_int(duration, MAX_SECONDS))
    return Response(status_code=204)


@router.post(VOICE_PATH + "/recording")
async def recording_status(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    ctx = await voice.context()
    await voice.ivr.recording_ready(ctx)
    await voice.calls.save(ctx.call)
    return Response(status_code=204)


@router.post(VOICE_PATH + "/wait")
async def queue_wait(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    ctx = await voice.context()
    return twiml(await voice.ivr.wait(ctx))


@router.post(VOICE_PATH + "/queue")
async def queue_result(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    ctx = await voice.context()
    response = await voice.ivr.queue_result(ctx)
    await voice.calls.save(ctx.call)
    return twiml(response)


@router.post(VOICE_PATH + "/message")
async def message_recorded(request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    ctx = await voice.context()
    response = await voice.ivr.message_recorded(ctx)
    await voice.calls.save(ctx.call)
    return twiml(response)


@router.get(VOICE_PATH + "/audio/{language}/{name}", response_class=FileResponse)
async def recorded_prompt(language: str, name: str, request: Request) -> FileResponse:
    """A recorded prompt: only existing files of enabled languages, by validated name."""
    runtime: Runtime = runtime_of(request)
    key = name.removesuffix(".mp3")
    path = None
    if name.endswith(".mp3") and runtime.catalogs.supports(language):
        settings = runtime.settings
        path = audio_file(settings.locales_dir, language, key, recordings_dir(settings))
    if path is None:
        raise HTTPException(404, detail="no such recorded prompt")
    # Twilio caches what it plays: asking again each time (ETag) makes a new recording heard at
    # once under the same URL.
    return FileResponse(path, media_type="audio/mpeg", headers={"cache-control": "no-cache"})


@router.post(VOICE_PATH + "/{step}")
async def menu_step(step: str, request: Request) -> Response:
    voice = await VoiceRequest.read(request)
    if not _STEP.fullmatch(step) or not voice.ivr.knows(step):
        raise HTTPException(404, detail="unknown voice step")
    ctx = await voice.context()
    response = await voice.ivr.answer(ctx, step)
    await voice.calls.save(ctx.call)
    return twiml(response)
