"""WhatsApp's 24-hour customer-care window, for both WhatsApp channels (Twilio and Cloud API).

Outside it WhatsApp accepts only approved templates, so every sender, broadcast and console
page asks here."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.channels import BY_NAME, WINDOWED_CHANNELS
from bot.storage.models import as_utc, utcnow

WHATSAPP_CHANNELS = WINDOWED_CHANNELS
WINDOW: timedelta = BY_NAME["whatsapp"].session_window or timedelta(hours=24)


def window_open(last_inbound_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a free-form message may be sent: the person wrote within 24 hours."""
    if last_inbound_at is None:
        return False
    return (now or utcnow()) - as_utc(last_inbound_at) < WINDOW
