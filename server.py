"""The FastAPI application: channels, web chat, NLU parse, health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text

from bot import PROJECT_ROOT
from bot.channels import rest, webchat
from bot.config import Settings, get_settings
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


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The app. Pass a built `runtime` to share one (tests); otherwise it is built at start-up."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await build_runtime(settings)
        app.state.started = time.monotonic()
        if own:
            await app.state.runtime.start_background()
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

    @app.post(
        "/model/parse",
        tags=["nlu"],
        response_class=JSONResponse,
        openapi_extra={"requestBody": _PARSE_REQUEST_BODY},
    )
    async def parse(request: Request) -> JSONResponse:
        """Rasa's parse answer for one text, plus its language.

        The hot path of the NLU: the body is validated straight from its JSON bytes (one
        pydantic call) and the answer, plain JSON types already, is serialised without
        FastAPI's generic encoder."""
        try:
            body = ParseRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        result = await request.app.state.runtime.nlu.parse(body.text, body.language)
        return JSONResponse(result.to_rasa_dict())

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
