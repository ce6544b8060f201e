"""The channels, declared in one place: each one's stored name, how operators see it, what it can
do, its routes and its sender.

A channel's name is its code in the database (`Contact.channel`, `Message.channel`); reports,
the console's filters and the metrics group by it. What a channel can do decides how the rest
of the bot treats it: a channel that answers in the HTTP response gets its replies there, one
that sends later goes through the outbox, a session window limits free-form messages, and a
call cannot carry a later message at all (its person is reached by SMS). `server.py` includes
`channel_routers()`, and `bot/runtime.py` calls `register_senders`: a new channel is a module
and an entry here (docs/architecture.md, "Where do I add… a channel").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from bot.config import Settings
    from bot.delivery import Outbox
    from bot.i18n import Catalogs
    from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class Channel:
    name: str  # stored with contacts and messages
    label: str  # what the (English) console shows
    answers_in_response: bool = False  # replies go back in the HTTP answer (REST, TwiML, web)
    sends_later: bool = False  # an outbox sender delivers later messages (operators, notices)
    later_messages: bool = True  # False for a call: a later message goes to the SMS contact
    session_window: timedelta | None = None  # free-form messages only this long after theirs
    buttons: bool = False  # replies can carry buttons (else numbered lines)
    routes: str | None = None  # the module whose `router` serves its webhooks or pages


CHANNELS: tuple[Channel, ...] = (
    Channel("web", "web chat", answers_in_response=True, buttons=True,
            routes="bot.channels.web.routes"),
    Channel("rest", "REST API", answers_in_response=True, buttons=True,
            routes="bot.channels.rest.routes"),
    Channel("telegram", "Telegram", sends_later=True, buttons=True,
            routes="bot.channels.telegram.routes"),
    Channel("sms", "SMS", answers_in_response=True, sends_later=True,
            routes="bot.channels.twilio.routes"),  # Twilio SMS and WhatsApp share the routes
    Channel("whatsapp", "WhatsApp", answers_in_response=True, sends_later=True,
            session_window=timedelta(hours=24)),
    Channel("whatsapp_cloud", "WhatsApp (Cloud API)", sends_later=True, buttons=True,
            session_window=timedelta(hours=24), routes="bot.channels.whatsapp_cloud.routes"),
    Channel("voice", "voice call", answers_in_response=True, later_messages=False,
            routes="bot.channels.voice"),
    Channel("terminal", "terminal", answers_in_response=True),
)  # fmt: skip
BY_NAME = {channel.name: channel for channel in CHANNELS}

CHANNEL_LABELS: dict[str, str] = {channel.name: channel.label for channel in CHANNELS}
# Channels that cannot carry a later message (a call ends): replies, notices and broadcasts go
# to the person's SMS contact instead, or not at all.
NO_LATER_MESSAGES = frozenset(c.name for c in CHANNELS if not c.later_messages)
# Channels with WhatsApp's customer-care window (bot/channels/whatsapp_window.py).
WINDOWED_CHANNELS = frozenset(c.name for c in CHANNELS if c.session_window is not None)


def channel_label(channel: str | None) -> str:
    if not channel:
        return ""
    return CHANNEL_LABELS.get(channel, channel)


def channel_routers() -> list[APIRouter]:
    """Every channel's routes, each module once (Twilio's SMS and WhatsApp share theirs)."""
    modules = dict.fromkeys(c.routes for c in CHANNELS if c.routes)
    return [importlib.import_module(module).router for module in modules if module]


def register_senders(
    outbox: Outbox, settings: Settings, db: Database, catalogs: Catalogs
) -> list[str]:
    """The senders of the channels these settings configure; returns their channel names."""
    if settings.telegram_bot_token:  # replies leave through the Bot API (python-telegram-bot)
        from bot.channels.telegram.sender import TelegramSender

        outbox.register(TelegramSender.from_settings(settings, db))
    if settings.whatsapp_access_token and settings.whatsapp_phone_number_id:  # Meta's Graph API
        from bot.channels.whatsapp_cloud.sender import WhatsAppCloudSender

        outbox.register(WhatsAppCloudSender.from_settings(settings, catalogs))
    # Twilio SMS and WhatsApp: senders "sms" and "whatsapp" when Twilio is configured
    from bot.channels.twilio.sender import register_twilio_senders

    register_twilio_senders(outbox, settings, db)
    senders = sorted(outbox.senders)
    unknown = [name for name in senders if name not in BY_NAME]
    if unknown:  # a sender for a channel not declared above
        raise ValueError(f"channels without a declaration in bot/channels: {unknown}")
    return senders
