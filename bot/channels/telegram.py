"""The Telegram channel (python-telegram-bot): updates in, through the webhook or by polling.

POST /webhooks/telegram   Telegram's updates. The `X-Telegram-Bot-Api-Secret-Token` header must
                          equal TELEGRAM_WEBHOOK_SECRET (set with setWebhook's secret_token).

Text messages, captions of photos / voice notes / documents, and inline keyboard presses become
the bot's messages; the update_id is the provider id, so an update Telegram delivers twice is
handled once. Replies are stored as queued and sent by the outbox through `TelegramSender`
(bot/channels/telegram_sender.py), which keeps Telegram's flood limits. Only private chats are
served: in a group, one person's answers (name, nationality, city) would be read by all.

Polling (`hotline serve --telegram-polling`) is for development: PTB's own updater fetches the
updates (it deletes the webhook first) and the same handling runs in the server's process.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from types import TracebackType
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from telegram import CallbackQuery, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram_sender import CHANNEL, TelegramSender, build_application
from bot.engine import HandleResult
from bot.messages import InboundMessage
from bot.runtime import Runtime

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# The update kinds the bot answers; Telegram sends only these when asked (setWebhook, polling).
ALLOWED_UPDATES = ("message", "callback_query")

router = APIRouter(tags=["telegram channel"])


# -- updates → messages ------------------------------------------------------------------
def _language_hint(code: str | None, languages: tuple[str, ...]) -> str | None:
    """Telegram's language_code ("ha", "en-US") as a hint, only for an enabled language."""
    short = (code or "")[:2].lower()
    return short if short in languages else None


def _command_text(message: Message) -> str:
    """The text with "/start@HotlineBot" read as "/start" (a command naming this bot)."""
    text = message.text or ""
    entity = (message.entities or ())[:1]
    if entity and entity[0].type == MessageEntity.BOT_COMMAND and entity[0].offset == 0:
        command = text[: entity[0].length]
        text = command.split("@", 1)[0] + text[entity[0].length :]
    return text


def _media_file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id  # the largest size
    for item in (message.voice, message.document, message.audio, message.video, message.video_note):
        if item is not None:
            return item.file_id
    return None


def _private(message: Message | None) -> bool:
    return message is not None and message.chat.type == ChatType.PRIVATE


def to_inbound(update: Update, languages: tuple[str, ...]) -> InboundMessage | None:
    """The bot's message for this update, or None for kinds the bot does not handle (edits,
    stickers, channel posts, groups, other bots)."""
    provider_id = str(update.update_id)
    message = update.message
    if message is not None:
        user = message.from_user
        if not _private(message) or user is None or user.is_bot:
            return None
        media = _media_file_id(message)
        if message.text is not None:
            text = _command_text(message)
        elif media is not None:  # a photo or voice note: its caption, or nothing to read
            text = message.caption or ""
        else:
            return None
        return InboundMessage(
            channel=CHANNEL,
            address=str(message.chat.id),
            text=text,
            provider_message_id=provider_id,
            language_hint=_language_hint(user.language_code, languages),
            media=(media,) if media else (),
        )
    query = update.callback_query
    if query is not None and query.data is not None:
        chat_message = query.message
        if chat_message is not None and chat_message.chat.type != ChatType.PRIVATE:
            return None
        # The button's payload is what the person would otherwise have typed.
        chat_id = chat_message.chat.id if chat_message is not None else query.from_user.id
        return InboundMessage(
            channel=CHANNEL,
            address=str(chat_id),
            text=query.data,
            provider_message_id=provider_id,
            language_hint=_language_hint(query.from_user.language_code, languages),
        )
    return None


async def _answer_callback(query: CallbackQuery) -> None:
    """Stops the button's spinner. Best effort: the message is stored and answered anyway."""
    try:
        await query.answer()
    except TelegramError as error:
        log.warning("telegram callback answer failed: %s", type(error).__name__)


async def handle_update(runtime: Runtime, update: Update) -> HandleResult | None:
    """Store and handle one update; None when its kind is ignored. Replies wait in the outbox."""
    inbound = to_inbound(update, tuple(runtime.catalogs.languages))
    result = None
    if inbound is not None:
        result = await runtime.engine.handle(inbound, answered_in_response=False)
        runtime.outbox.kick()
        log.debug(
            "telegram update %s: message=%s duplicate=%s",
            update.update_id,
            result.message_id,
            result.duplicate,
        )
    if update.callback_query is not None:
        await _answer_callback(update.callback_query)
    return result


# -- the webhook -------------------------------------------------------------------------
def _sender(runtime: Runtime) -> TelegramSender | None:
    sender = runtime.outbox.senders.get(CHANNEL)
    return sender if isinstance(sender, TelegramSender) else None


def _secret_matches(request: Request, expected: str) -> bool:
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@router.post("/webhooks/telegram")
async def webhook(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.telegram_webhook_secret
    sender = _sender(runtime)
    if sender is None or secret is None or not secret.get_secret_value():
        raise HTTPException(503, detail="the Telegram channel is not configured")
    if not _secret_matches(request, secret.get_secret_value()):
        raise HTTPException(403, detail="wrong or missing secret token")
    try:
        data = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(400, detail="the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise HTTPException(400, detail="not a Telegram update")
    try:
        update = Update.de_json(data, sender.bot)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # Sent by Telegram (the secret matched) but not readable by this PTB version, e.g. a
        # kind from a newer Bot API: a retry cannot help, so it is acknowledged and dropped.
        log.warning("telegram update %s unreadable: %s", data["update_id"], type(error).__name__)
        return {"ok": True, "handled": False}
    # Handled before the answer: an error here answers 500 and Telegram delivers it again,
    # which the update_id makes harmless. Anything else gets 200, or Telegram retries forever.
    result = await handle_update(runtime, update)
    return {"ok": True, "handled": result is not None}


# -- polling (development) ---------------------------------------------------------------
class TelegramPolling:
    """PTB's Application with its updater, feeding updates to `handle_update`."""

    def __init__(self, runtime: Runtime, *, poll_timeout: float = 10) -> None:
        self.runtime = runtime
        self.poll_timeout = poll_timeout
        self.application: Application = build_application(runtime.settings, polling=True)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await handle_update(self.runtime, update)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the kind of error: an update's repr carries the person's words.
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error(
            "telegram polling: update %s failed: %s",
            update_id,
            type(error).__name__,
            exc_info=error if not isinstance(error, TelegramError) else None,
        )

    async def start(self) -> None:
        application = self.application
        await application.initialize()
        assert application.updater is not None
        # PTB deletes the webhook before it polls (Telegram sends to one or the other).
        await application.updater.start_polling(
            timeout=dt.timedelta(seconds=self.poll_timeout), allowed_updates=list(ALLOWED_UPDATES)
        )
        await application.start()
        log.info("telegram: polling for updates")

    async def stop(self) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def __aenter__(self) -> TelegramPolling:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
