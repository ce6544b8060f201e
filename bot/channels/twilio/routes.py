"""SMS and WhatsApp through Twilio: the incoming-message and delivery-status webhooks.

POST /webhooks/twilio/messaging   one incoming SMS or WhatsApp message (Twilio's form
    parameters); answered with TwiML `<Message>`s carrying the bot's replies.
POST /webhooks/twilio/status      Twilio's delivery reports for messages the outbox sent.

WhatsApp messages come from "whatsapp:+E164": channel "whatsapp", the number without the prefix
as the address; everything else is channel "sms". Both webhooks answer only requests signed by
Twilio (`X-Twilio-Signature`, see auth.py). Later messages (operator replies,
broadcasts) go out through `sender.TwilioMessagingSender`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.background import BackgroundTask
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.twilio.auth import verified_form
from bot.channels.twilio.segments import SMS, WHATSAPP, WHATSAPP_PREFIX, bodies_for
from bot.http import runtime_of
from bot.inputs import clean_id, small_int
from bot.messages import InboundMessage
from bot.storage.models import MessageStatus

if TYPE_CHECKING:  # the runtime registers this channel's sender: no import at run time
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio sends at most ten media items with one message
MAX_URL = 2048

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_PHONE = re.compile(r"^\+?[0-9]{3,16}$")

# Twilio's message statuses → ours. queued/accepted/scheduled/sending say nothing new: the
# message was already recorded as handed to Twilio (sent) when the REST call succeeded.
TWILIO_STATUSES: dict[str, MessageStatus] = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERABLE,
    "failed": MessageStatus.UNDELIVERABLE,
}
TWILIO_IN_FLIGHT = {"queued", "accepted", "scheduled", "sending", "receiving", "received"}

router = APIRouter(tags=["twilio sms and whatsapp"])


def channel_and_address(sender: str) -> tuple[str, str]:
    """("whatsapp", "+218…") for "whatsapp:+218…", ("sms", "+218…") otherwise."""
    if sender.startswith(WHATSAPP_PREFIX):
        return WHATSAPP, sender[len(WHATSAPP_PREFIX) :]
    return SMS, sender


def _bad_request(detail: str) -> HTTPException:
    return HTTPException(400, detail=detail)


def inbound_from(params: dict[str, str]) -> InboundMessage:
    """Twilio's incoming-message parameters as the bot's message; 400 when malformed."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if not _SID.fullmatch(sid):
        raise _bad_request("MessageSid is missing or malformed")
    channel, address = channel_and_address(params.get("From", ""))
    if not _PHONE.fullmatch(address):
        raise _bad_request("From is missing or not a phone number")
    count = small_int(params.get("NumMedia") or "0", MAX_MEDIA)
    if count is None:
        raise _bad_request("NumMedia is not a number from 0 to 10")
    found = (clean_id(params.get(f"MediaUrl{i}"), MAX_URL) for i in range(count))
    media = tuple(url for url in found if url)
    return InboundMessage(
        channel=channel,
        address=address,
        text=params.get("Body", ""),
        provider_message_id=sid,
        media=media,
    )


def twiml(xml: MessagingResponse) -> Response:
    return Response(content=xml.to_xml(), media_type="application/xml")


@router.post("/webhooks/twilio/messaging", response_class=Response)
async def receive_message(request: Request) -> Response:
    """An incoming SMS or WhatsApp message; the replies go back as TwiML, once per MessageSid."""
    runtime: Runtime = runtime_of(request)
    settings = runtime.settings
    params = await verified_form(request, settings)
    inbound = inbound_from(params)
    # Stored before it is answered. A repeated MessageSid (Twilio's retry) is handled once: it
    # gets the same replies again while this answer is not known to have gone out, then none.
    result = await runtime.engine.handle(inbound, answered_in_response=True, confirm_later=True)
    answer = MessagingResponse()
    for reply in result.replies:
        for body in bodies_for(inbound.channel, reply, settings.sms_max_segments):
            answer.message(body)
    response = twiml(answer)
    response.background = BackgroundTask(runtime.engine.confirm_answered, result)
    return response


@router.post("/webhooks/twilio/status")
async def receive_status(request: Request) -> Response:
    """Twilio's report on a message the outbox sent. Unknown messages are acknowledged and
    ignored; a report never moves a message back (a late "sent" after "delivered")."""
    runtime: Runtime = runtime_of(request)
    params = await verified_form(request, runtime.settings)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not _SID.fullmatch(sid) or not twilio_status:
        raise _bad_request("MessageSid and MessageStatus are required")
    status = TWILIO_STATUSES.get(twilio_status)
    if status is None:
        if twilio_status not in TWILIO_IN_FLIGHT:
            log.info("twilio status of an unknown kind ignored")
        return Response(status_code=200)
    recipient = params.get("To", "")
    channel = WHATSAPP if recipient.startswith(WHATSAPP_PREFIX) else SMS
    error_code = small_int(params.get("ErrorCode"))
    error = f"twilio error {error_code}" if error_code else None
    known = await runtime.outbox.record_status(channel, sid, status, error)
    if not known:
        log.info("twilio status for an unknown message ignored")
    return Response(status_code=200)
