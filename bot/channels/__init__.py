"""The channels' names as stored with contacts and messages, and how operators see them.

A channel's name is its code in the database (`Contact.channel`, `Message.channel`); reports,
the console's filters and the metrics group by it. The labels are what the (English) console
shows; an unknown name shows as itself.
"""

from __future__ import annotations

CHANNEL_LABELS: dict[str, str] = {
    "web": "web chat",
    "rest": "REST API",
    "telegram": "Telegram",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "whatsapp_cloud": "WhatsApp (Cloud API)",
    "voice": "voice call",
    "terminal": "terminal",
}


def channel_label(channel: str | None) -> str:
    if not channel:
        return ""
    return CHANNEL_LABELS.get(channel, channel)
