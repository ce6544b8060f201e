"""Hostile input for every route (no tests here): a corpus with recognisable personal values,
payload builders for each provider, and a client that signs like each provider signs.

Used by tests/test_hostile_input.py and bench/fuzz_routes.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from bot import PROJECT_ROOT
from bot.config import Settings
from bot.runtime import Runtime, build_runtime

TELEGRAM_SECRET = "hostile-telegram-secret"
TWILIO_TOKEN = "hostile-twilio-auth-token"
WHATSAPP_SECRET = "hostile-whatsapp-app-secret"
WHATSAPP_PHONE_ID = "106540352242922"
PUBLIC = "https://hotline.example.org"

# Recognisable personal values: none of them may ever be found in the log.
PERSONAL = {
    "name": "Zainab Okonkwo-Hadizat",
    "phone": "+218925550147",
    "passport": "A09182736",
    "place": "Qasr Bin Ghashir detention",
    "family": "Obiageli Okonkwo",
}
PHONE_DIGITS = PERSONAL["phone"].removeprefix("+")
TELEGRAM_CHAT = 730_555_0147  # a chat id, also personal (it is the person's address)

_SAY = " ".join(PERSONAL.values())
HOSTILE_TEXTS: list[str] = [
    _SAY,
    f"\ud800 {PERSONAL['name']} \udfff",  # lone surrogates
    f"\u202e{PERSONAL['name']}\u202c \u2066{PERSONAL['phone']}\u2069",  # bidi controls
    f"<script>alert('{PERSONAL['passport']}')</script>",
    f"'; DROP TABLE contacts; -- {PERSONAL['phone']}",
    f"{PERSONAL['name']}\x00\x07\x1b[31m",  # NUL, bell, terminal escape
    f"اسمي {PERSONAL['name']} ورقمي {PERSONAL['phone']}",
    "9" * 400 + PERSONAL["passport"],
    f"{{{{7*7}}}} ${{{PERSONAL['family']}}} %s%n {PERSONAL['place']}",
    PERSONAL["name"] * 300,  # long
    "\u0301" * 50 + PERSONAL["place"],  # combining marks
    "\ufeff\u200b" + PERSONAL["family"],
]
HUGE_NUMBERS: list[Any] = [10**30, -(10**30), 1e308, -1e308, 2**63, 2**64 + 1, 0.5, -1, True]


def deep_json(depth: int, inner: str = '"x"') -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


def values_in(text: str) -> list[str]:
    """The personal values found in `text` (also as the JSON-escaped forms)."""
    found = []
    for value in (*PERSONAL.values(), PHONE_DIGITS, str(TELEGRAM_CHAT)):
        if value in text or json.dumps(value)[1:-1] in text:
            found.append(value)
    return found


# -- settings and a runtime with every channel ---------------------------------------------
CHANNEL_SETTINGS: dict[str, Any] = {
    "telegram_bot_token": "123456:HOSTILE-token",
    "telegram_webhook_secret": TELEGRAM_SECRET,
    # the outbox is not started: nothing is sent; a callback's answer fails fast
    "telegram_api_base_url": "http://127.0.0.1:9/bot",
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": TWILIO_TOKEN,
    "twilio_phone_number": "+15005550006",
    "twilio_api_base_url": "http://127.0.0.1:9",
    "public_base_url": PUBLIC,
    "whatsapp_access_token": "EAAG-hostile",
    "whatsapp_app_secret": WHATSAPP_SECRET,
    "whatsapp_verify_token": "hostile-verify",
    "whatsapp_phone_number_id": WHATSAPP_PHONE_ID,
    "whatsapp_graph_base_url": "http://127.0.0.1:9",
}


def hostile_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "cache_dir": PROJECT_ROOT / "var" / "cache",
        "operator_hours": "always",
        **CHANNEL_SETTINGS,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def hostile_runtime(database_url: str, builtin_nlu: Any = None, **overrides: Any) -> Runtime:
    return await build_runtime(hostile_settings(database_url, **overrides), builtin_nlu=builtin_nlu)


# -- provider payloads -----------------------------------------------------------------------
def telegram_update(text: Any = _SAY, **message: Any) -> dict[str, Any]:
    update_id = int(uuid.uuid4().int % 10**9)
    body: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": TELEGRAM_CHAT, "type": "private", "first_name": PERSONAL["name"]},
        "from": {
            "id": TELEGRAM_CHAT,
            "is_bot": False,
            "first_name": PERSONAL["name"],
            "language_code": "en",
        },
        "text": text,
    }
    body.update(message)
    return {"update_id": update_id, "message": body}


def telegram_callback(data: Any = "1") -> dict[str, Any]:
    update_id = int(uuid.uuid4().int % 10**9)
    user = {"id": TELEGRAM_CHAT, "is_bot": False, "first_name": PERSONAL["name"]}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": user,
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": TELEGRAM_CHAT, "type": "private"},
            },
        },
    }


def whatsapp_payload(message: dict[str, Any] | None = None, **value: Any) -> dict[str, Any]:
    message = message or {
        "from": PHONE_DIGITS,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": _SAY},
    }
    change_value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": WHATSAPP_PHONE_ID},
        "contacts": [{"profile": {"name": PERSONAL["name"]}, "wa_id": PHONE_DIGITS}],
        "messages": [message],
    }
    change_value.update(value)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": change_value}]}],
    }


def twilio_message(**params: str) -> dict[str, str]:
    values = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": PERSONAL["phone"],
        "To": "+15005550006",
        "Body": _SAY,
        "NumMedia": "0",
    }
    values.update(params)
    return values


def voice_call(**params: str) -> dict[str, str]:
    values = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": PERSONAL["phone"],
        "To": "+218910000000",
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    values.update(params)
    return values


VOICE_PATHS = (
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice/status",
    "/webhooks/twilio/voice/recording",
    "/webhooks/twilio/voice/wait",
    "/webhooks/twilio/voice/queue",
    "/webhooks/twilio/voice/message",
    "/webhooks/twilio/voice/language",
    "/webhooks/twilio/voice/menu",
    "/webhooks/twilio/voice/name",
    "/webhooks/twilio/voice/city",
    "/webhooks/twilio/voice/age",
    "/webhooks/twilio/voice/people",
    "/webhooks/twilio/voice/reference",
    "/webhooks/twilio/voice/case",
    "/webhooks/twilio/voice/operator",
    "/webhooks/twilio/voice/operator/status",
    "/webhooks/twilio/voice/taken",
    "/webhooks/twilio/voice/requeue",
)


# -- a client that signs like each provider ----------------------------------------------------
def whatsapp_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(WHATSAPP_SECRET.encode(), body, hashlib.sha256).hexdigest()


JSON = {"content-type": "application/json"}


def encode(payload: Any) -> bytes:
    """JSON as a provider sends it; lone surrogates stay escaped, as they would on the wire."""
    return json.dumps(payload).encode()


def wire(text: str) -> str:
    """`text` as a server reads it from a form or a URL: bytes decoded as UTF-8, so a lone
    surrogate arrives as U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@dataclass
class Hostile:
    http: httpx.AsyncClient
    runtime: Runtime

    async def telegram(self, body: bytes) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        headers["content-type"] = "application/json"
        return await self.http.post("/webhooks/telegram", content=body, headers=headers)

    async def whatsapp(self, body: bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        headers["X-Hub-Signature-256"] = whatsapp_signature(body)
        return await self.http.post("/webhooks/whatsapp", content=body, headers=headers)

    async def twilio(self, path: str, params: dict[str, str]) -> httpx.Response:
        # A form is bytes on the wire: a lone surrogate arrives as the UTF-8 decoder's U+FFFD.
        params = {wire(key): wire(value) for key, value in params.items()}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
        return await self.http.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def post_json(
        self, path: str, value: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        content = value if isinstance(value, bytes) else encode(value)
        return await self.http.post(path, content=content, headers={**JSON, **(headers or {})})

    async def rest(self, body: bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return await self.http.post("/webhooks/rest/webhook", content=body, headers=headers)

    async def web(self, body: bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return await self.http.post("/chat/messages", content=body, headers=headers)

    async def parse(self, body: bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return await self.http.post("/model/parse", content=body, headers=headers)


@contextmanager
def app_in_own_loop(database: Path, builtin_nlu: Any) -> Iterator[tuple[asyncio.Runner, Hostile]]:
    """The app with every channel on a fresh SQLite file, in an event loop of its own, so that
    synchronous hypothesis tests can drive it example after example."""
    from server import create_app

    runner = asyncio.Runner()
    runtime = runner.run(hostile_runtime(f"sqlite:///{database}", builtin_nlu))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    http = httpx.AsyncClient(transport=transport, base_url="https://testserver")
    try:
        yield runner, Hostile(http, runtime)
    finally:
        runner.run(http.aclose())
        runner.run(runtime.close())
        runner.close()
