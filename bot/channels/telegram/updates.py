"""The Telegram channel (python-telegram-bot): updates in, through the webhook or by polling.

POST /webhooks/telegram   Telegram's updates. The `X-Telegram-Bot-Api-Secret-Token` header must
                          equal TELEGRAM_WEBHOOK_SECRET (set with setWebhook's secret_token).

Text messages, captions of photos / voice notes / documents, and inline keyboard presses become
the bot's messages; the update_id is the provider id, so an update Telegram delivers twice is
handled once. Replies are stored as queued and sent by the outbox through `TelegramSender`
(bot/channels/telegram/sender.py), which keeps Telegram's flood limits. Only private chats are
served: in a group, one person's answers (name, nationality, city) would be read by all.

Polling (`hotline serve --telegram-polling`) is for development: PTB's own updater fetches the
updates (it deletes the webhook first) and the same handling runs in the server's process.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from telegram import CallbackQuery, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram.sender import CHANNEL, TelegramSender, build_application
from bot.engine import HandleResult
from bot.http import runtime_of
from bot.inputs import MAX_INT, BadInput, as_text, clean_id, load_json, small_int
from bot.messages import InboundMessage

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# The update kinds the bot answers; Telegram sends only these when asked (setWebhook, polling).
ALLOWED_UPDATES = ("message", "callback_query")


# -- updates → messages ------------------------------------------------------------------
def _language_hint(code: object, languages: tuple[str, ...]) -> str | None:
    """Telegram's language_code ("ha", "en-US") as a hint, only for an enabled language."""
    short = code[:2].lower() if isinstance(code, str) else ""
    return short if short in languages else None


def _command_text(message: Message, text: str) -> str:
    """The text with "/start@HotlineBot" read as "/start" (a command naming this bot)."""
    entities = message.entities if isinstance(message.entities, tuple) else ()
    entity = entities[0] if entities else None
    length = getattr(entity, "length", None)
    if (
        entity is not None
        and entity.type == MessageEntity.BOT_COMMAND
        and entity.offset == 0
        and isinstance(length, int)
        and 0 < length <= len(text)
    ):
        text = text[:length].split("@", 1)[0] + text[length:]
    return text


def _media_file_id(message: Message) -> str | None:
    if message.photo:
        return clean_id(getattr(message.photo[-1], "file_id", None), 256)  # the largest size
    for item in (message.voice, message.document, message.audio, message.video, message.video_note):
        if item is not None:
            return clean_id(getattr(item, "file_id", None), 256)
    return None


def _chat_address(chat_id: object) -> str | None:
    """A chat id is an integer (negative for groups); anything else is not Telegram's."""
    if isinstance(chat_id, bool) or not isinstance(chat_id, int) or abs(chat_id) > MAX_INT:
        return None
    return str(chat_id)


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
        address = _chat_address(message.chat.id)
        media = _media_file_id(message)
        if message.text is not None:
            text = as_text(message.text)  # None for a number or an object: not Telegram's
            text = _command_text(message, text) if text is not None else None
        elif media is not None:  # a photo or voice note: its caption, or nothing to read
            text = as_text(message.caption) if message.caption is not None else ""
        else:
            return None
        if text is None or address is None:
            return None
        return InboundMessage(
            channel=CHANNEL,
            address=address,
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
        address, data = _chat_address(chat_id), as_text(query.data)
        if address is None or data is None:
            return None
        return InboundMessage(
            channel=CHANNEL,
            address=address,
            text=data,
            provider_message_id=provider_id,
            language_hint=_language_hint(query.from_user.language_code, languages),
        )
    return None


async def _answer_callback(query: CallbackQuery) -> None:
    """Stops the button's spinner. Best effort: the message is stored and answered anyway."""
    try:
        await query.answer()
    except Exception as error:  # TelegramError, or a query the update made unanswerable
        log.warning("telegram callback answer failed: %s", type(error).__name__)


async def handle_update(runtime: Runtime, update: Update) -> HandleResult | None:
    """Store and handle one update; None when its kind is ignored. Replies wait in the outbox."""
    return await handle_inbound(runtime, update, to_inbound(update, runtime_languages(runtime)))


def runtime_languages(runtime: Runtime) -> tuple[str, ...]:
    return tuple(runtime.catalogs.languages)


async def handle_inbound(
    runtime: Runtime, update: Update, inbound: InboundMessage | None
) -> HandleResult | None:
    """`handle_update` for an update already read."""
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


async def receive(request: Request) -> dict[str, Any]:
    """POST /webhooks/telegram (the route is in `routes.py`)."""
    runtime: Runtime = runtime_of(request)
    secret = runtime.settings.telegram_webhook_secret
    sender = _sender(runtime)
    if sender is None or secret is None or not secret.get_secret_value():
        raise HTTPException(503, detail="the Telegram channel is not configured")
    if not _secret_matches(request, secret.get_secret_value()):
        raise HTTPException(403, detail="wrong or missing secret token")
    try:
        data = load_json(await request.body())
    except BadInput as error:  # not JSON, nested too deep, a number no column keeps
        raise HTTPException(400, detail=f"the body is not a JSON update ({error.code})") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or small_int(update_id) is None:
        raise HTTPException(400, detail="not a Telegram update")
    try:
        update = Update.de_json(data, sender.bot)
        inbound = to_inbound(update, runtime_languages(runtime))
    except Exception as error:
        # Sent by Telegram (the secret matched) but not readable: a kind from a newer Bot API,
        # a date of 1e308, a field of the wrong type. A retry cannot help, so it is
        # acknowledged and dropped; the log names the kind of error, never the update.
        log.warning("telegram update %s unreadable: %s", update_id, type(error).__name__)
        return {"ok": True, "handled": False}
    # Handled before the answer: an error here answers 500 and Telegram delivers it again,
    # which the update_id makes harmless. Anything else gets 200, or Telegram retries forever.
    result = await handle_inbound(runtime, update, inbound)
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
