"""The app's OpenAPI schema and its documentation pages, only after sign-in.

FastAPI's own `/docs`, `/redoc` and `/openapi.json` are public; the app turns them off
(`docs_url=None` …) and serves them here behind a console session or an API token, like the
rest of the API: the schema maps every route an attacker could try.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from bot.access import Principal, require_operator

OPENAPI_PATH = "/openapi.json"
DOCS_PATHS = ("/docs", "/redoc", OPENAPI_PATH)

router = APIRouter(include_in_schema=False)

SignedIn = Annotated[Principal, Depends(require_operator)]


@router.get(OPENAPI_PATH)
async def openapi(request: Request, principal: SignedIn) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def swagger(request: Request, principal: SignedIn) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} – API")


@router.get("/redoc")
async def redoc(request: Request, principal: SignedIn) -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} – API")
