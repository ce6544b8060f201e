"""The FastAPI application: channels, web chat, NLU parse, health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import text

from bot import PROJECT_ROOT
from bot.channels import rest, webchat
from bot.config import Settings, get_settings
from bot.http import LimitsAndHeaders
from bot.runtime import Runtime, build_runtime


class ParseRequest(BaseModel):
    text: str = Field(max_length=20_000)
    language: str | None = Field(default=None, max_length=16, description="Known language (hint)")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The app. Pass a built `runtime` to share one (tests); otherwise it is built at start-up."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await build_runtime(settings)
        app.state.started = time.monotonic()
        try:
            yield
        finally:
            if own:
                await app.state.runtime.close()

    app = FastAPI(title="hotline", version="0.1.0", lifespan=lifespan)
    if runtime is not None:
        app.state.runtime = runtime
    app.add_middleware(LimitsAndHeaders)
    app.include_router(rest.router)
    app.include_router(webchat.router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "bot" / "static"), name="static")

    @app.post("/model/parse", tags=["nlu"])
    async def parse(body: ParseRequest, request: Request) -> dict[str, Any]:
        """Rasa's parse answer for one text, plus its language."""
        result = await request.app.state.runtime.nlu.parse(body.text, body.language)
        return result.to_rasa_dict()

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
