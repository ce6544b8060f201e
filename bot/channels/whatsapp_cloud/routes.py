"""The webhook: Meta's verification handshake, and notifications checked against the app
secret's signature before anything is parsed."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from bot.channels.whatsapp_cloud import CHANNEL, secret
from bot.channels.whatsapp_cloud.inbound import parse_notification
from bot.config import Settings
from bot.http import runtime_of
from bot.inputs import BadInput, load_json

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


router = APIRouter(tags=["whatsapp cloud channel"])


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=` + the hex HMAC-SHA256 of exactly these bytes."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


@router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
async def verify(request: Request) -> PlainTextResponse:
    """Meta's subscription handshake: echo the challenge when the verify token matches."""
    settings: Settings = runtime_of(request).settings
    expected = secret(settings.whatsapp_verify_token)
    if not expected:
        raise HTTPException(503, detail="whatsapp cloud is not configured")
    params = request.query_params
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        log.warning("whatsapp cloud verification refused")
        raise HTTPException(403, detail="verification failed")
    return PlainTextResponse(params.get("hub.challenge", ""))


@router.post("/webhooks/whatsapp")
async def receive(request: Request) -> dict[str, int]:
    runtime: Runtime = runtime_of(request)
    settings = runtime.settings
    app_secret = secret(settings.whatsapp_app_secret)
    if not app_secret or not settings.whatsapp_phone_number_id:
        raise HTTPException(503, detail="whatsapp cloud is not configured")
    body = await request.body()
    if not signature_valid(app_secret, body, request.headers.get("X-Hub-Signature-256")):
        log.warning("whatsapp cloud request with a bad signature refused")
        raise HTTPException(403, detail="invalid X-Hub-Signature-256")
    try:
        payload = load_json(body)
    except BadInput as error:  # not UTF-8 JSON, nested too deep, a number no column keeps
        raise HTTPException(400, detail=f"the body is not valid JSON ({error.code})") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, detail="expected a JSON object")
    messages, statuses = parse_notification(payload, settings.whatsapp_phone_number_id)
    handled = 0
    for inbound in messages:
        result = await runtime.engine.handle(inbound, answered_in_response=False)
        if not result.duplicate:
            handled += 1
    if handled:
        runtime.outbox.kick()
    for report in statuses:
        await runtime.outbox.record_status(CHANNEL, report.message_id, report.status, report.error)
    log.info(
        "whatsapp cloud webhook: messages=%s new=%s statuses=%s",
        len(messages),
        handled,
        len(statuses),
    )
    return {"messages": len(messages), "statuses": len(statuses)}
