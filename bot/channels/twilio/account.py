"""What the product knows of a Twilio account without loading the twilio library: the API's
base URL, whether an account is configured, and how long Twilio asks us to wait."""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)

TWILIO_API_BASE_URL = "https://api.twilio.com"


class TwilioNotConfigured(RuntimeError):
    """TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed to call Twilio."""


def configured(settings: Settings) -> bool:
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    return bool(settings.twilio_account_sid and token)


def retry_after_seconds(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent/unreadable."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        log.warning("unreadable Retry-After header from Twilio ignored")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
