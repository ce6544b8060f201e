"""Sending to Telegram through python-telegram-bot: inline keyboards, long texts split, the
flood limits kept, and PTB's errors turned into the outbox's retry decisions.

The sender owns one PTB `Application` built without an updater: its bot sends the outbox's
messages and also answers the webhook's callback queries (`routes.py` beside it). The parts of
a long text already sent are noted in the stored message (`payload["telegram"]["parts"]`), so
a retry after a failure halfway does not send them twice, whichever process retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder

from bot.channels.telegram.limits import SendLimiter
from bot.config import Settings
from bot.delivery import Delivery, Recipient, SendError
from bot.messages import OutboundMessage
from bot.storage.db import Database
from bot.storage.models import Message

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Telegram refuses texts over 4096 characters (counted in UTF-16 code units); a margin stays.
TEXT_LIMIT = 4000
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for a button's callback_data

# PTB 22 hands out time periods (RetryAfter.retry_after, …) as ints with a deprecation warning
# unless this documented switch opts in to the timedelta of its next major version.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def build_application(settings: Settings, *, polling: bool = False) -> Application:
    """A PTB Application on the configured Bot API; with an updater only for polling."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
    )
    if not polling:
        builder = builder.updater(None)  # updates arrive through our own webhook route
    return builder.build()


# -- splitting ---------------------------------------------------------------------------
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    if _utf16_len(text) <= limit:
        return len(text)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, else a line, else a word.

    The whitespace at a cut is dropped; nothing else is lost or reordered."""
    parts: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        window = rest[: _fitting_prefix(rest, limit)]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:  # one long word: cut it where it must be
            cut = len(window)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


# -- keyboards ---------------------------------------------------------------------------
def keyboard_for(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    """One button per row (titles stay readable on small phones); None when a payload does
    not fit Telegram's 64 bytes, and the options then go as numbered text."""
    if not message.buttons:
        return None
    if any(len(b.payload.encode()) > CALLBACK_DATA_LIMIT for b in message.buttons):
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.title, callback_data=b.payload)] for b in message.buttons]
    )


# -- errors ------------------------------------------------------------------------------
def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def send_error(error: TelegramError) -> SendError:
    """PTB's exception → whether the outbox should try again, and when."""
    if isinstance(error, RetryAfter):
        return SendError("telegram flood limit", retry_after=_seconds(error.retry_after))
    if isinstance(error, Forbidden):  # blocked by the person, or the bot was removed
        return SendError(f"telegram forbidden: {error.message}", retry=False)
    if isinstance(error, ChatMigrated):
        return SendError("telegram chat migrated to a supergroup", retry=False)
    if isinstance(error, BadRequest):  # chat not found, bad markup: trying again cannot help
        return SendError(f"telegram bad request: {error.message}", retry=False)
    if isinstance(error, InvalidToken):  # a configuration fault: keep the message for later
        return SendError("telegram rejected the bot token")
    if isinstance(error, NetworkError):  # includes TimedOut
        return SendError(f"telegram network error: {type(error).__name__}")
    return SendError(f"telegram error: {type(error).__name__}")


class TelegramSender:
    """The outbox's way out to Telegram (bot/delivery.py's `Sender`)."""

    channel = CHANNEL

    def __init__(
        self, application: Application, limiter: SendLimiter, db: Database | None = None
    ) -> None:
        self.application = application
        self.limiter = limiter
        self.db = db  # where the parts of a split message already sent are noted
        self._start_lock = asyncio.Lock()
        self._started = False

    @classmethod
    def from_settings(cls, settings: Settings, db: Database | None = None) -> TelegramSender:
        limiter = SendLimiter(
            chat_rate=settings.telegram_chat_rate,
            chat_burst=settings.telegram_chat_burst,
            global_rate=settings.telegram_global_rate,
        )
        return cls(build_application(settings), limiter, db)

    @property
    def bot(self) -> Bot:
        return self.application.bot

    async def start(self) -> None:
        """Initialise the Application once (PTB checks the token with getMe)."""
        async with self._start_lock:
            if not self._started:
                await self.application.initialize()
                self._started = True

    async def aclose(self) -> None:
        async with self._start_lock:
            if self._started:
                await self.application.shutdown()
                self._started = False

    async def send(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        try:
            chat_id = int(recipient.address)
        except ValueError:
            raise SendError("not a Telegram chat id", retry=False) from None
        markup = keyboard_for(message)
        plain = bool(message.buttons) and markup is None  # options that fit no button
        parts = split_text(message.as_plain_text() if plain else message.text)
        if not any(part.strip() for part in parts):
            raise SendError("empty message", retry=False)
        # A retry after a failure in the middle of a split text goes on where it stopped.
        sent = await self._parts_sent(message) if len(parts) > 1 else []
        try:
            await self.start()
            for index in range(len(sent), len(parts)):
                await self.limiter.acquire(chat_id)
                last = index == len(parts) - 1
                result = await self.bot.send_message(
                    chat_id, parts[index], reply_markup=markup if last else None
                )
                sent.append(result.message_id)
                if len(parts) > 1:
                    await self._note_parts(message, sent)
        except TelegramError as error:
            raise send_error(error) from error
        # Telegram numbers messages per chat: the chat makes the id unique in the channel
        return Delivery(provider_message_id=f"{chat_id}:{sent[-1]}")

    # -- the parts of a split message, noted on the stored message -----------------------
    async def _parts_sent(self, message: OutboundMessage) -> list[int]:
        if self.db is None or message.message_id is None:
            return []
        async with self.db.session() as session:
            row = await session.get(Message, message.message_id)
            notes = (row.payload or {}).get("telegram", {}) if row is not None else {}
            return [int(part) for part in notes.get("parts", [])]

    async def _note_parts(self, message: OutboundMessage, parts: list[int]) -> None:
        if self.db is None or message.message_id is None:
            return
        async with self.db.session() as session, session.begin():
            row = await session.get(Message, message.message_id)
            if row is not None:
                payload = dict(row.payload or {})
                payload["telegram"] = {**payload.get("telegram", {}), "parts": list(parts)}
                row.payload = payload
