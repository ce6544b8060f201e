"""Sending later messages (operator replies, broadcasts, notices) by SMS and WhatsApp via Twilio.

The outbox hands each queued message to `TwilioMessagingSender.send`, which calls Twilio's
Messages API through the real twilio client (`twilio_client.rest_client`). Long texts become
several messages; the parts already accepted by Twilio are noted in the message's payload
(`payload["twilio"]["parts"]`) so a retry after a failure does not send them twice.

WhatsApp only allows free-form messages within 24 hours of the person's last message. Outside
that window the approved template of the person's language (`TWILIO_WHATSAPP_TEMPLATES`, else
the default language's) is sent instead, without variables, so nothing personal goes into it;
the message's payload records `payload["twilio"]["template"]` = the content SID, and the
message itself is held and sent when the person writes again (bot/delivery.py). Without a
template the message is undeliverable.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)

from bot.channels.twilio.account import configured, retry_after_seconds
from bot.channels.twilio.segments import (
    SMS,
    WHATSAPP,
    WHATSAPP_PREFIX,
    bodies_for,
)
from bot.channels.whatsapp_templates import choose_template, configured_templates
from bot.channels.whatsapp_window import window_open
from bot.config import Settings
from bot.delivery import Delivery, Outbox, Recipient, SendError
from bot.messages import OutboundMessage
from bot.storage.db import Database
from bot.storage.models import Message, MessageStatus

if TYPE_CHECKING:
    from bot.channels.twilio.client import TwilioApiHttpClient

log = logging.getLogger(__name__)

OUTSIDE_WINDOW = "outside WhatsApp 24-hour window"

# Twilio error codes that will not change on a retry, with a reason for the console. Twilio's
# own error text is not kept: it can quote the phone number.
PERMANENT_ERRORS: dict[int, str] = {
    21211: "invalid phone number",
    21408: "sending to this region is not enabled",
    21610: "the person unsubscribed (STOP)",
    21612: "this number cannot be reached from our sender",
    21614: "not a mobile number",
    21617: "message too long",
    63003: "not a WhatsApp number",
    63024: "not a valid WhatsApp recipient",
}
# Codes meaning our account or sender is misconfigured: retried, an administrator can fix them.
CONFIGURATION_ERRORS = {20003, 20404, 21606, 21659, 63007}


class OutsideWindow(SendError):
    """Twilio refused a free-form WhatsApp message: the 24-hour window is closed (63016)."""

    def __init__(self) -> None:
        super().__init__(OUTSIDE_WINDOW, retry=False)


class TwilioMessagingSender:
    """The outbox's sender for channel "sms" or "whatsapp"."""

    def __init__(self, channel: str, settings: Settings, db: Database) -> None:
        if channel not in (SMS, WHATSAPP):
            raise ValueError(channel)
        self.channel = channel
        self.settings = settings
        self.db = db
        self.templates = configured_templates(settings, channel)  # by bot language

    # -- what the outbox calls -----------------------------------------------------------
    async def send(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        if self.channel == WHATSAPP and not window_open(recipient.last_inbound_at):
            return await self._send_template(recipient, message)
        bodies = bodies_for(self.channel, message, self.settings.sms_max_segments)
        sent = await self._parts_sent(message) if len(bodies) > 1 else []
        sid: str | None = sent[-1] if sent else None
        for body in bodies[len(sent) :]:
            try:
                sid = await self._create(recipient, body=body)
            except OutsideWindow:
                if sent:  # some parts went out: the rest cannot follow now
                    raise
                # Twilio's clock disagrees with ours: the window has closed after all.
                return await self._send_template(recipient, message)
            if len(bodies) > 1:
                sent.append(sid)
                await self._note(message, parts=sent)
        return Delivery(provider_message_id=sid, status=MessageStatus.SENT)

    # -- WhatsApp's 24-hour window -------------------------------------------------------
    async def _send_template(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        """The person's language's template stands in; the message is held for their answer."""
        template = choose_template(
            self.templates,
            recipient.language or message.language,
            self.settings.default_language,
            self.channel,
        )
        if template is None:
            raise SendError(OUTSIDE_WINDOW, retry=False)
        sid = await self._create(recipient, content_sid=template.name)
        await self._note(message, template=template.name)
        log.info("whatsapp template sent outside the window: message=%s", message.message_id)
        return Delivery(
            provider_message_id=sid,
            status=MessageStatus.SENT,
            held=True,
            template=template.describe(),
        )

    # -- the Twilio call -----------------------------------------------------------------
    def _addresses(self, recipient: Recipient) -> dict[str, Any]:
        settings = self.settings
        fields: dict[str, Any] = {}
        if self.channel == WHATSAPP:
            fields["to"] = WHATSAPP_PREFIX + recipient.address
            number = settings.twilio_whatsapp_number
            if number:
                fields["from_"] = WHATSAPP_PREFIX + number.removeprefix(WHATSAPP_PREFIX)
        else:
            fields["to"] = recipient.address
            if settings.twilio_phone_number:
                fields["from_"] = settings.twilio_phone_number
        if "from_" not in fields:
            if not settings.twilio_messaging_service_sid:
                raise SendError(f"no Twilio sender configured for {self.channel}", retry=False)
            fields["messaging_service_sid"] = settings.twilio_messaging_service_sid
        if settings.twilio_status_callback and settings.public_base_url:
            fields["status_callback"] = (
                settings.public_base_url.rstrip("/") + "/webhooks/twilio/status"
            )
        return fields

    async def _create(self, recipient: Recipient, **content: Any) -> str:
        fields = self._addresses(recipient)
        # imported here: the twilio library's HTTP stack (~13 MB) only in a process that sends
        import aiohttp

        from bot.channels.twilio.client import TwilioApiHttpClient, rest_client

        http = TwilioApiHttpClient(self.settings.twilio_api_base_url)
        client = rest_client(self.settings, http)
        try:
            created = await client.messages.create_async(**fields, **content)
        except (TwilioRestException, TwilioServiceException) as error:  # legacy / RFC 9457
            raise send_error(error, http) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SendError(f"twilio unreachable: {type(error).__name__}") from None
        except TwilioException as error:  # e.g. an answer that is not Twilio's JSON
            raise SendError(f"twilio client error: {type(error).__name__}") from None
        if not created.sid:
            raise SendError("twilio answered without a message sid")
        return str(created.sid)

    # -- notes on the stored message -----------------------------------------------------
    async def _parts_sent(self, message: OutboundMessage) -> list[str]:
        if message.message_id is None:
            return []
        async with self.db.session() as session:
            row = await session.get(Message, message.message_id)
            notes = (row.payload or {}).get("twilio", {}) if row is not None else {}
            return list(notes.get("parts", []))

    async def _note(self, message: OutboundMessage, **notes: Any) -> None:
        if message.message_id is None:
            return
        async with self.db.session() as session, session.begin():
            row = await session.get(Message, message.message_id)
            if row is not None:
                payload = dict(row.payload or {})
                payload["twilio"] = {**payload.get("twilio", {}), **notes}
                row.payload = payload


def send_error(
    error: TwilioRestException | TwilioServiceException, http: TwilioApiHttpClient
) -> SendError:
    """Twilio's refusal as the outbox's error: retry on 429/5xx (when it says, after
    Retry-After), give up on refusals that a retry will not change."""
    status = int(error.status or 0)
    code = int(error.code) if isinstance(error.code, int | str) and str(error.code).isdigit() else 0
    headers = http.last_response.headers if http.last_response is not None else None
    if status == 429 or status >= 500:
        return SendError(
            f"twilio HTTP {status} (error {code})",
            retry=True,
            retry_after=retry_after_seconds(headers),
        )
    if code == 63016:
        return OutsideWindow()
    if code in PERMANENT_ERRORS:
        return SendError(f"twilio {code}: {PERMANENT_ERRORS[code]}", retry=False)
    if status in (401, 403) or code in CONFIGURATION_ERRORS:
        log.error("twilio refused our credentials or sender: status=%s code=%s", status, code)
        return SendError(f"twilio {code}: account or sender configuration", retry=True)
    return SendError(f"twilio {code}: refused (HTTP {status})", retry=False)


def register_twilio_senders(outbox: Outbox, settings: Settings, db: Database) -> list[str]:
    """Registers the channels Twilio can send for with these settings; returns their names.

    SMS needs TWILIO_PHONE_NUMBER or a Messaging Service; WhatsApp needs
    TWILIO_WHATSAPP_NUMBER or a Messaging Service (with a WhatsApp sender in its pool)."""
    if not configured(settings):
        return []
    channels: list[str] = []
    service = settings.twilio_messaging_service_sid
    if settings.twilio_phone_number or service:
        channels.append(SMS)
    if settings.twilio_whatsapp_number or service:
        channels.append(WHATSAPP)
    for channel in channels:
        outbox.register(TwilioMessagingSender(channel, settings, db))
    return channels


__all__ = [
    "OUTSIDE_WINDOW",
    "TwilioMessagingSender",
    "register_twilio_senders",
    "send_error",
]
