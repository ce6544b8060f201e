"""HTTP plumbing shared by all routes: body size limit, security headers, and errors that
never echo the input nor put it in the log."""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # bot.runtime imports the channels, which import this module
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# set by `hotline serve`: the address the app announces once its start-up is done
LISTEN_URL_ENV = "HOTLINE_LISTEN_URL"


class LimitsAndHeaders:
    """Refuses bodies over the limit with 413 (before reading them whole) and sets safe headers."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _too_large(send, self.max_body)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in _SECURITY_HEADERS:
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if too_large:
                await _too_large(send, self.max_body)


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI turns it into a 413 answer."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), *_SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- errors that never echo the input --------------------------------------------------------
MAX_REPORTED_ERRORS = 20
MAX_FRAMES = 40
# The parts of a validation error's context that come from the schema, never from the input.
_SAFE_CONTEXT = {
    "pattern",
    "expected",
    "gt",
    "ge",
    "lt",
    "le",
    "min_length",
    "max_length",
    "multiple_of",
    "max_digits",
    "decimal_places",
    "class_name",
}
_LOCATIONS = {"body", "query", "path", "header", "cookie"}
API_PATH = "/api/"
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


def safe_traceback(exc: BaseException) -> str:
    """The exception (and what it was raised from) as types and code lines, without messages:
    an exception's message may hold a request's values, a SQL statement's parameters."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 5:
        seen.add(id(current))
        lines = [f"{type(current).__module__}.{type(current).__qualname__} (message withheld)"]
        for frame in traceback.extract_tb(current.__traceback__)[-MAX_FRAMES:]:
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line.strip()}")
        parts.append("\n".join(lines))
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\nwhile handling:\n".join(parts)


def install_safe_exception_logging() -> None:
    """Every log record with an exception carries `safe_traceback` as its formatted text, so
    no handler (ours, uvicorn's, a library's) writes an exception's message to the log."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "hotline_safe", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
        return record

    factory.hotline_safe = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# Libraries that log request parameters, SQL parameters or URLs with tokens at INFO/DEBUG:
# held at WARNING whatever the root level, so `--log-level debug` shows no personal data.
CHATTY_LOGGERS = (
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "aiosqlite",
    "httpx",
    "httpcore",
    "telegram",
    "twilio",
    "urllib3",
    "multipart",
    "python_multipart",
    "asyncio",
)


def quiet_chatty_loggers() -> None:
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _schema_names(node: Any) -> Iterator[str]:
    """Property and parameter names anywhere in an OpenAPI document."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            properties = item.get("properties")
            if isinstance(properties, dict):
                yield from properties
            if isinstance(item.get("name"), str) and "in" in item:
                yield item["name"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def known_names(app: Any) -> frozenset[str]:
    """The field names the app's routes declare: an error's location may show these only."""
    names = getattr(app.state, "validation_names", None)
    if names is None:
        try:
            names = frozenset(_schema_names(app.openapi()))
        except Exception:  # a schema that cannot be built must not turn a 422 into a 500
            names = frozenset()
        app.state.validation_names = names
    return frozenset(names)


def safe_error(error: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """A validation error without the input: its location cut at the first part that is not a
    declared field (a dict key comes from the input), its message only when the message is
    made of the schema alone."""
    loc: list[str | int] = []
    for part in error.get("loc", ()):
        if isinstance(part, int) and not isinstance(part, bool):
            loc.append(part)
        elif isinstance(part, str) and (
            (not loc and part in _LOCATIONS) or (part in names and _FIELD_NAME.match(part))
        ):
            loc.append(part)
        else:
            break
    context = error.get("ctx") or {}
    kind = str(error.get("type", "invalid"))
    plain = set(context) <= _SAFE_CONTEXT and kind not in ("value_error", "assertion_error")
    message = str(error.get("msg", "")) if plain else "Invalid value"
    return {"loc": loc, "msg": message, "type": kind}


async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number too big for a column or a date (an id of 2**70, a timestamp of 1e308), or a
    value the database refuses: the input's fault, answered 400 without the value."""
    log.warning(
        "refused out-of-range input: %s on %s %s",
        type(exc).__name__,
        request.method,
        route_template(request.scope),
    )
    return JSONResponse(
        {"detail": "a value is out of range", "code": "out_of_range"}, status_code=400
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, except that a 422 of the JSON API has the documented shape (a list of
    errors, as its OpenAPI schema promises) even when a route raises it with a sentence."""
    assert isinstance(exc, HTTPException)
    if (
        exc.status_code == 422
        and isinstance(exc.detail, str)
        and request.url.path.startswith(API_PATH)
    ):
        error = {"loc": ["body"], "msg": exc.detail, "type": "value_error"}
        return JSONResponse({"detail": [error]}, status_code=422, headers=exc.headers)
    return await http_exception_handler(request, exc)


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    names = known_names(request.app)
    errors = [safe_error(error, names) for error in exc.errors()[:MAX_REPORTED_ERRORS]]
    return JSONResponse({"detail": errors}, status_code=422)


def route_template(scope: Scope) -> str:
    """The matched route's template ("/api/v1/cases/{case_id}"), never the path itself."""
    route = scope.get("route")
    template = getattr(route, "path", None) or getattr(route, "path_format", None)
    return template if isinstance(template, str) else "(no route)"


class GuardErrors:
    """The last resort: an exception no handler took becomes a generic 500 (or, once the
    answer has started, a closed answer), logged with its type, the route and the code lines
    only. Nothing is re-raised, so the server does not log it again with its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method", "?"),
                route_template(scope),
                safe_traceback(exc),
            )
            if started:
                return
            body = json.dumps({"detail": "internal error", "code": "internal_error"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *_SECURITY_HEADERS,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def install_error_handling(app: FastAPI) -> None:
    """4xx without the input for malformed requests, the last-resort guard for the rest."""
    install_safe_exception_logging()
    quiet_chatty_loggers()
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(sqlalchemy.exc.DataError, out_of_range)
    app.add_middleware(GuardErrors)  # outermost: added after every other middleware


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The app's runtime, typed (FastAPI keeps it in ``app.state``, where it is untyped)."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


def attachment(
    body: AsyncIterator[bytes] | AsyncIterator[str], media_type: str, filename: str
) -> StreamingResponse:
    """A file to download, streamed as it is made; never cached (it holds personal data)."""
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )
