"""GET /chat: a small mobile-friendly chat page on the REST channel."""

from __future__ import annotations

from typing import Annotated

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.resources import package_path

router = APIRouter(tags=["web chat"])
templates = Jinja2Templates(directory=package_path("bot", "templates"))


def _page_language(request: Request, asked: str | None, available: list[str], default: str) -> str:
    if asked in available:
        return str(asked)
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().replace("-", "_")
        try:
            language = Locale.parse(code).language if code else None
        except (ValueError, UnknownLocaleError):
            continue
        if language in available:
            return language
    return default


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(
    request: Request, lang: Annotated[str | None, Query(max_length=16)] = None
) -> HTMLResponse:
    runtime = request.app.state.runtime
    catalogs = runtime.catalogs
    language = _page_language(request, lang, catalogs.languages, runtime.settings.default_language)
    response = templates.TemplateResponse(
        request,
        "chat.html",
        {
            "language": language,
            "direction": catalogs.direction(language),
            "title": catalogs.text(language, "webchat.title"),
            "placeholder": catalogs.text(language, "webchat.placeholder"),
            "send": catalogs.text(language, "webchat.send"),
            "offline": catalogs.text(language, "webchat.offline"),
        },
    )
    response.headers["content-security-policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response
