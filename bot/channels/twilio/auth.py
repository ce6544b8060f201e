"""Checks that a webhook request really comes from Twilio (`X-Twilio-Signature`).

Twilio signs the full URL it called plus the POST parameters with the account's auth token.
Behind a proxy the URL the app sees differs from the one Twilio called, so the public base URL
(`PUBLIC_BASE_URL`) replaces the scheme and host when it is set.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.http import route_template
from bot.inputs import valid_text

log = logging.getLogger(__name__)


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called: the public base URL with this request's path and query."""
    url = str(request.url)
    if settings.public_base_url:
        base = settings.public_base_url.rstrip("/")
        url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return url


async def verified_form(request: Request, settings: Settings) -> dict[str, str]:
    """The request's form parameters, once its signature checks out; 403 otherwise."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token:
        raise HTTPException(503, detail="twilio is not configured")
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        form = await request.form()
    except Exception as exc:  # a body that is not a form
        raise HTTPException(400, detail="expected form-encoded parameters") from exc
    params = {key: str(value) for key, value in form.multi_items() if isinstance(value, str)}
    if not signature or not RequestValidator(token).validate(
        public_url(request, settings), params, signature
    ):
        # the route's template: a voice step's path is the sender's to choose
        route = route_template(request.scope)
        log.warning("twilio request with a bad signature refused: %s", route)
        raise HTTPException(403, detail="invalid Twilio signature")
    # Checked as received; read as storable text (no NUL bytes, no lone surrogates).
    return {valid_text(key): valid_text(value) for key, value in params.items()}
