"""The FastAPI application: channels, web chat, NLU parse, health."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from bot import metrics, parse_endpoint
from bot.channels import channel_routers
from bot.channels.rest import routes as rest_routes
from bot.channels.web import routes as web_routes
from bot.config import Settings, get_settings
from bot.console.app import first_start, include_console
from bot.fastpath import FastPaths
from bot.http import LISTEN_URL_ENV, LimitsAndHeaders, install_error_handling
from bot.resources import package_path
from bot.runtime import Runtime, build_runtime

if TYPE_CHECKING:  # python-telegram-bot is imported only when polling is on
    from bot.channels.telegram.updates import TelegramPolling


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
        polling: TelegramPolling | None = None
        if own and settings.telegram_polling and settings.telegram_bot_token:
            from bot.channels.telegram.updates import TelegramPolling

            polling = TelegramPolling(app.state.runtime)
            await polling.start()
        listen_url = os.environ.get(LISTEN_URL_ENV)
        if own and listen_url:  # `hotline serve`: said when the app can answer, not before
            print(f"hotline listening on {listen_url}  (web chat: {listen_url}/chat)", flush=True)
        try:
            yield
        finally:
            if polling is not None:
                await polling.stop()
            if own:
                await app.state.runtime.close()

    # the schema and docs pages only after sign-in (bot/api/docs.py), not FastAPI's public ones
    app = FastAPI(
        title="hotline",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime
    # the hot JSON endpoints answered before routing, inside the limits and headers
    app.add_middleware(
        FastPaths,
        routes={
            parse_endpoint.PATH: parse_endpoint.fast_parse,
            rest_routes.WEBHOOK_PATH: rest_routes.fast_receive,
            web_routes.MESSAGES_PATH: web_routes.fast_receive,
        },
    )
    app.add_middleware(LimitsAndHeaders)
    install_error_handling(app)  # 4xx that never echo the input; a last-resort 500
    for router in channel_routers():  # every channel declared in bot/channels
        app.include_router(router)
    app.include_router(metrics.router)  # /metrics, behind METRICS_TOKEN
    include_console(app)  # the operators' side: /console, /api/v1, their docs
    app.mount("/static", StaticFiles(directory=package_path("bot", "static")), name="static")

    app.router.add_api_route(
        parse_endpoint.PATH,
        parse_endpoint.parse_route,
        methods=["POST"],
        tags=["nlu"],
        openapi_extra={"requestBody": parse_endpoint.REQUEST_BODY},
        response_class=JSONResponse,
    )

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
