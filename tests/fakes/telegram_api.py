"""A local stand-in for Telegram's Bot API, for the real python-telegram-bot to talk to.

Serves `/bot{token}/{method}` for getMe, sendMessage, answerCallbackQuery, getUpdates,
deleteWebhook, setWebhook and sendChatAction, accepting form or JSON bodies as Telegram does,
and answering real Bot API JSON. Tests read what was sent (`.sent`, `.callback_answers`), queue
updates for polling (`.updates`) and inject errors (`.fail_next`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.http import serve_in_thread

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Hotline",
    "username": "hotline_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Form fields PTB sends JSON-encoded, and fields that are numbers or flags.
_JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "reply_parameters"}
_JSON_FIELDS |= {"link_preview_options"}
_INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "cache_time"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}
# The longest a getUpdates call waits for updates, whatever timeout PTB asks for: the
# server must be able to stop quickly at the end of a test.
_MAX_POLL_WAIT = 0.5


def _decode_form(form: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in form.items():
        if name in _JSON_FIELDS:
            params[name] = json.loads(value)
        elif name in _INT_FIELDS and value.lstrip("-").isdigit():
            params[name] = int(value)
        elif name in _BOOL_FIELDS:
            params[name] = value.lower() in ("true", "1")
        else:
            params[name] = value
    return params


class FakeTelegramAPI:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []  # every successful sendMessage's parameters
        self.callback_answers: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # what getUpdates hands out, in order
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every call, failed ones too
        self.get_updates_offsets: list[int | None] = []
        self.chat_actions: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self.webhook_deleted = 0
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._message_ids = itertools.count(1000)
        self._lock = threading.Lock()
        self.app = self._build_app()

    # -- for tests -----------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status_code: int,
        description: str,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """The next call to `method` (after `after` successful ones) answers this Bot API
        error instead."""
        error: dict[str, Any] = {
            "ok": False,
            "error_code": status_code,
            "description": description,
        }
        if retry_after is not None:
            error["parameters"] = {"retry_after": retry_after}
        with self._lock:
            self._failures.setdefault(method.lower(), []).append({"after": after, "error": error})

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method.lower()]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [message for message in self.sent if message["chat_id"] == chat_id]

    # -- the API -------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/bot{token}/{method}")
        @app.get("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> JSONResponse:
            params = await self._params(request)
            name = method.lower()
            with self._lock:
                self.calls.append((name, params))
                failure = self._take_failure(name)
            if failure is not None:
                return JSONResponse(failure, status_code=failure["error_code"])
            handler = getattr(self, f"_{name}", None)
            if handler is None:
                return JSONResponse(
                    {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                    status_code=404,
                )
            result = await handler(params, request)
            return JSONResponse({"ok": True, "result": result})

        return app

    def _take_failure(self, method: str) -> dict[str, Any] | None:
        failures = self._failures.get(method)
        if not failures:
            return None
        if failures[0]["after"] > 0:
            failures[0]["after"] -= 1
            return None
        return dict(failures.pop(0)["error"])

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            return dict(json.loads(body)) if body else {}
        form = await request.form()
        return _decode_form({name: str(value) for name, value in form.items()})

    async def _getme(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        return BOT_USER

    async def _sendmessage(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        chat_id = params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "group"},
            "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        with self._lock:
            self.sent.append(params)
        return message

    async def _answercallbackquery(self, params: dict[str, Any], request: Request) -> bool:
        with self._lock:
            self.callback_answers.append(params)
        return True

    async def _sendchataction(self, params: dict[str, Any], request: Request) -> bool:
        with self._lock:
            self.chat_actions.append(params)
        return True

    async def _setwebhook(self, params: dict[str, Any], request: Request) -> bool:
        with self._lock:
            self.webhook = params
        return True

    async def _deletewebhook(self, params: dict[str, Any], request: Request) -> bool:
        with self._lock:
            self.webhook = {}
            self.webhook_deleted += 1
            if params.get("drop_pending_updates"):
                self.updates.clear()
        return True

    async def _getupdates(self, params: dict[str, Any], request: Request) -> list[dict[str, Any]]:
        """Telegram's semantics: an offset confirms every update before it (they are gone);
        the call waits up to `timeout` seconds for one to arrive."""
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        with self._lock:
            self.get_updates_offsets.append(offset)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), _MAX_POLL_WAIT)
        while True:
            with self._lock:
                if offset is not None:
                    self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
                ready = self.updates[:limit]
            if ready or time.monotonic() >= deadline or await request.is_disconnected():
                return ready
            await asyncio.sleep(0.02)


@contextmanager
def running_fake_telegram() -> Iterator[tuple[FakeTelegramAPI, str]]:
    """The fake on a loopback port and the `base_url` to give PTB (".../bot")."""
    fake = FakeTelegramAPI()
    with serve_in_thread(fake.app) as url:
        yield fake, f"{url}/bot"


# -- real update JSON --------------------------------------------------------------------
def _user(chat_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
    if language_code is not None:
        user["language_code"] = language_code
    return user


def _chat(chat_id: int, first_name: str) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    language_code: str | None = "en",
    first_name: str = "Amina",
) -> dict[str, Any]:
    """A private text message, as Telegram posts it (commands carry their entity)."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": _chat(chat_id, first_name),
        "from": _user(chat_id, first_name, language_code),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int = 1,
    language_code: str | None = "en",
    first_name: str = "Amina",
) -> dict[str, Any]:
    """A press on an inline keyboard button under the bot's message `message_id`."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": _user(chat_id, first_name, language_code),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat(chat_id, first_name),
                "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
                "text": "…",
            },
        },
    }


def media_update(
    update_id: int,
    chat_id: int,
    kind: str,
    caption: str | None = None,
    language_code: str | None = "en",
    first_name: str = "Amina",
) -> dict[str, Any]:
    """A photo, voice note or document, with or without a caption."""
    file = {"file_id": f"{kind}-{update_id}", "file_unique_id": f"u{kind}{update_id}"}
    media: dict[str, Any]
    if kind == "photo":
        small = {**file, "file_id": f"small-{update_id}", "width": 90, "height": 90}
        media = {"photo": [small, {**file, "width": 800, "height": 800}]}  # smallest first
    elif kind == "voice":
        media = {"voice": {**file, "duration": 4, "mime_type": "audio/ogg"}}
    elif kind == "document":
        media = {"document": {**file, "file_name": "paper.pdf", "mime_type": "application/pdf"}}
    elif kind == "sticker":
        media = {
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        }
    else:
        raise ValueError(kind)
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": _chat(chat_id, first_name),
        "from": _user(chat_id, first_name, language_code),
        **media,
    }
    if caption is not None:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}
