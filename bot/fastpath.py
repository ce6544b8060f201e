"""The server's hot JSON endpoints, answered before routing.

`POST /model/parse`, the REST channel's webhook and the web chat's messages carry almost all of
a busy server's requests. Routing them through the app's ~150 console and channel routes and
FastAPI's request handling cost more CPU than the bot's own turn (measured,
docs/benchmarks.md), so this ASGI middleware answers them itself: the body is read, validated
straight from its JSON bytes, handled, and the answer written directly.

Each endpoint is still a documented FastAPI route doing the same thing, and a handler may hand
a request back (returns None): it then goes through the route with its body replayed, so every
malformed or unusual request gets exactly the route's answer. The body-size limit and security
headers (bot/http.py) wrap this middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class FastAnswer:
    status: int
    body: bytes  # JSON
    after: Callable[[], Awaitable[None]] | None = None  # once the answer went out


# (runtime, body, content type) → the answer, or None: let the route answer it
FastHandler = Callable[["Runtime", bytes, bytes], Awaitable[FastAnswer | None]]


def is_json(content_type: bytes) -> bool:
    """FastAPI reads a body as JSON for these content types only."""
    main = content_type.split(b";", 1)[0].strip().lower()
    return main == b"application/json" or (
        main.startswith(b"application/") and main.endswith(b"+json")
    )


class FastPaths:
    def __init__(self, app: ASGIApp, routes: Mapping[str, FastHandler]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = (
            self.routes.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if handler is None:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = b""
        for name, value in scope.get("headers") or ():
            if name == b"content-type":
                content_type = value
                break
        answer = await handler(scope["app"].state.runtime, body, content_type)
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})
        if answer.after is not None:
            await answer.after()


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, given again to the app; then the client's own messages."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
