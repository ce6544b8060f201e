"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), and real webhook payloads.

The fake answers `POST /{version}/{phone_number_id}/messages` the way Graph does: a Bearer token
is required (401 with a Graph error body otherwise), requests breaking Meta's documented limits
(3 buttons of 20 characters, 10 list rows of 24 with descriptions of 72, bodies of 1024/4096)
are refused with error 131009, and accepted ones get `{"messaging_product", "contacts",
"messages": [{"id": "wamid…"}]}`. `fail_next` makes the next answers fail (429, 5xx, Graph
error codes) to test retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.http import serve_in_thread


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    message: str
    retry_after: str | None = None


def graph_error(status: int, code: int, message: str, **headers: str) -> JSONResponse:
    body = {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": "AbCdEfGhIjK",
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def limits_broken(request: dict[str, Any]) -> str | None:
    """What in a send request Meta would refuse, or None."""
    if request.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not str(request.get("to", "")).isdigit():
        return "to must be a WhatsApp id"
    kind = request.get("type")
    if kind == "text":
        body = request["text"]["body"]
        return None if 0 < len(body) <= 4096 else "text body length"
    if kind == "template":
        template = request["template"]
        return None if template.get("name") and template["language"].get("code") else "template"
    if kind != "interactive":
        return f"unsupported type {kind}"
    interactive = request["interactive"]
    body = interactive["body"]["text"]
    action = interactive["action"]
    if interactive["type"] == "button":
        buttons = action["buttons"]
        titles = [b["reply"]["title"] for b in buttons]
        if not 1 <= len(buttons) <= 3 or len(set(titles)) != len(titles):
            return "buttons: 1 to 3 with unique titles"
        if any(not 0 < len(title) <= 20 for title in titles) or not 0 < len(body) <= 1024:
            return "button title or body length"
        return None
    if interactive["type"] == "list":
        rows = [row for section in action["sections"] for row in section["rows"]]
        if not 1 <= len(rows) <= 10 or not 0 < len(action["button"]) <= 20:
            return "list: 1 to 10 rows and a button of 20"
        if any(
            not 0 < len(row["title"]) <= 24 or len(row.get("description", "")) > 72 for row in rows
        ):
            return "row title or description length"
        return None if 0 < len(body) <= 4096 else "list body length"
    return f"unsupported interactive {interactive['type']}"


class FakeGraph:
    def __init__(self, token: str, phone_number_id: str) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.sent: list[dict[str, Any]] = []  # accepted requests, in order
        self.ids: list[str] = []  # the wamid given to each accepted request
        self.refused: list[tuple[int, dict[str, Any]]] = []  # (status, request)
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.app = self._build()

    def fail_next(
        self,
        status: int,
        code: int,
        message: str,
        *,
        times: int = 1,
        retry_after: str | None = None,
    ) -> None:
        with self._lock:
            self._failures.extend([Failure(status, code, message, retry_after)] * times)

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        return [request for request in self.sent if request["to"] == wa_id]

    def _wamid(self) -> str:
        raw = f"fake-{next(self._counter):08d}".encode()
        return "wamid." + base64.b64encode(raw).decode()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{version}/{phone_number_id}/messages")
        async def messages(version: str, phone_number_id: str, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return graph_error(401, 190, "Invalid OAuth access token - Cannot parse token")
            try:
                body = await request.json()
            except ValueError:
                return graph_error(400, 100, "Invalid parameter")
            if phone_number_id != self.phone_number_id:
                self.refused.append((400, body))
                return graph_error(400, 100, f"Object with ID '{phone_number_id}' does not exist")
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                self.refused.append((failure.status, body))
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return graph_error(failure.status, failure.code, failure.message, **headers)
            try:
                problem = limits_broken(body)
            except (KeyError, TypeError, AttributeError):
                problem = "malformed request"
            if problem is not None:
                self.refused.append((400, body))
                return graph_error(400, 131009, f"Parameter value is not valid: {problem}")
            wamid = self._wamid()
            with self._lock:
                self.sent.append(body)
                self.ids.append(wamid)
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                }
            )

        return app


@contextmanager
def running_fake_graph(token: str, phone_number_id: str) -> Iterator[tuple[FakeGraph, str]]:
    fake = FakeGraph(token, phone_number_id)
    with serve_in_thread(fake.app) as base_url:
        yield fake, base_url


# -- webhook payloads, as Meta sends them ---------------------------------------------------
_wamids = itertools.count(1)


def new_wamid() -> str:
    return "wamid." + base64.b64encode(f"in-{next(_wamids):010d}".encode()).decode()


def notification(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def incoming(
    phone_number_id: str, message: dict[str, Any], *, profile_name: str = "Profile Name"
) -> dict[str, Any]:
    """A `messages` notification for one message, with the sender's profile as Meta adds it."""
    contact = {"profile": {"name": profile_name}, "wa_id": message["from"]}
    return notification(phone_number_id, {"contacts": [contact], "messages": [message]})


def _message(wa_id: str, kind: str, content: dict[str, Any], wamid: str | None) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid or new_wamid(),
        "timestamp": "1739321024",
        "type": kind,
        kind: content,
    }


def text_message(wa_id: str, body: str, *, wamid: str | None = None) -> dict[str, Any]:
    return _message(wa_id, "text", {"body": body}, wamid)


def button_reply(
    wa_id: str, button_id: str, title: str, *, wamid: str | None = None
) -> dict[str, Any]:
    message = _message(
        wa_id,
        "interactive",
        {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
        wamid,
    )
    message["context"] = {"from": "15550783881", "id": new_wamid()}
    return message


def list_reply(
    wa_id: str, row_id: str, title: str, description: str = "", *, wamid: str | None = None
) -> dict[str, Any]:
    reply = {"id": row_id, "title": title, "description": description}
    message = _message(wa_id, "interactive", {"type": "list_reply", "list_reply": reply}, wamid)
    message["context"] = {"from": "15550783881", "id": new_wamid()}
    return message


def image_message(
    wa_id: str, media_id: str, caption: str | None = None, *, wamid: str | None = None
) -> dict[str, Any]:
    image = {
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(media_id.encode()).hexdigest(),
        "id": media_id,
    }
    if caption is not None:
        image["caption"] = caption
    return _message(wa_id, "image", image, wamid)


def status_update(
    phone_number_id: str,
    wamid: str,
    status: str,
    recipient: str,
    *,
    error_code: int | None = None,
    error_title: str = "",
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": "1750857384",
        "recipient_id": recipient,
    }
    if error_code is not None:
        report["errors"] = [
            {
                "code": error_code,
                "title": error_title,
                "message": error_title,
                "error_data": {"details": error_title},
            }
        ]
    return notification(phone_number_id, {"statuses": [report]})


def encode(payload: dict[str, Any]) -> bytes:
    """The body as Meta sends it: compact JSON, UTF-8, non-ASCII escaped."""
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header Meta puts on `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
