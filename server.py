"""The FastAPI application: channels, web chat, NLU parse, health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text

from bot import PROJECT_ROOT
from bot.api import broadcasts as api_broadcasts  # console records
from bot.api import records as api_records  # console records
from bot.api import reports as api_reports  # console records
from bot.channels import rest, telegram, twilio_messaging, webchat, whatsapp_cloud
from bot.channels.voice import router as voice_router  # voice hotline
from bot.config import Settings, get_settings
from bot.console import broadcasts as console_broadcasts  # console records
from bot.console import records as console_records  # console records
from bot.console import reports as console_reports  # console records
from bot.console.app import first_start, include_console  # console core
from bot.http import LimitsAndHeaders
from bot.runtime import Runtime, build_runtime


class ParseRequest(BaseModel):
    text: str = Field(max_length=20_000)
    language: str | None = Field(default=None, max_length=16, description="Known language (hint)")


# /model/parse reads its body itself (see the route): its schema is declared for the docs.
_PARSE_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": ParseRequest.model_json_schema()}},
}


class _RequestRoute(APIRoute):
    """A documented API route whose endpoint takes the request and returns the response
    itself: no per-request dependency solving or response encoding by FastAPI (/model/parse,
    the hot path of the NLU)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint  # type: ignore[return-value]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The app. Pass a built `runtime` to share one (tests); otherwise it is built at start-up."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await build_runtime(settings)
        app.state.started = time.monotonic()
        await first_start(app.state.runtime)  # console core: the first administrator
        if own:
            await app.state.runtime.start_background()
        # Telegram polling (development): `hotline serve --telegram-polling`
        polling: telegram.TelegramPolling | None = None
        if own and settings.telegram_polling and settings.telegram_bot_token:
            polling = telegram.TelegramPolling(app.state.runtime)
            await polling.start()
        try:
            yield
        finally:
            if polling is not None:
                await polling.stop()
            if own:
                await app.state.runtime.close()

    app = FastAPI(title="hotline", version="0.1.0", lifespan=lifespan)
    if runtime is not None:
        app.state.runtime = runtime
    app.add_middleware(LimitsAndHeaders)
    app.include_router(rest.router)
    app.include_router(webchat.router)
    app.include_router(whatsapp_cloud.router)
    app.include_router(twilio_messaging.router)  # Twilio SMS and WhatsApp
    app.include_router(telegram.router)  # Telegram
    app.include_router(voice_router)  # voice hotline (Twilio Voice)
    include_console(app)  # console core: /console and /api/v1
    for records_router in (  # console records: registrations, exports, broadcasts, reports
        console_records.router,
        console_broadcasts.router,
        console_reports.router,
        api_records.router,
        api_broadcasts.router,
        api_reports.router,
    ):
        app.include_router(records_router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "bot" / "static"), name="static")

    async def parse(request: Request) -> JSONResponse:
        """Rasa's parse answer for one text, plus its language."""
        # The NLU's hot path: the body is validated straight from its JSON bytes (one pydantic
        # call) and the answer, plain JSON types already, skips FastAPI's generic encoder.
        try:
            body = ParseRequest.model_validate_json(await request.body())
        except ValidationError as exc:  # 422, in FastAPI's shape
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None
        result = await request.app.state.runtime.nlu.parse(body.text, body.language)
        return JSONResponse(result.to_rasa_dict())

    app.router.add_api_route(
        "/model/parse",
        parse,
        methods=["POST"],
        tags=["nlu"],
        response_class=JSONResponse,
        openapi_extra={"requestBody": _PARSE_REQUEST_BODY},
        route_class_override=_RequestRoute,
    )
    # The NLU's hot path is matched first, not after every channel router's routes.
    parse_route = next(r for r in app.router.routes if getattr(r, "endpoint", None) is parse)
    app.router.routes.remove(parse_route)
    app.router.routes.insert(0, parse_route)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> dict[str, str]:
        rt: Runtime = request.app.state.runtime
        checks = {"status": "ok"}
        try:
            async with rt.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            raise HTTPException(503, detail="database unavailable") from exc
        ping = getattr(rt.sessions, "ping", None)
        if ping is not None:
            try:
                await ping()
                checks["sessions"] = "ok"
            except Exception as exc:
                raise HTTPException(503, detail="session store unavailable") from exc
        checks["languages"] = ",".join(rt.catalogs.languages)
        return checks

    return app
