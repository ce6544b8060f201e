"""The web chat: the page at GET /chat and its own channel, "web".

POST /chat/messages  {"sender", "message", "metadata"}
    → [{"recipient_id", "text", "buttons", "metadata", "author"}]
GET  /chat/messages?sender=ID  → messages sent later (operator replies, broadcasts), once each

The answers are the REST channel's plus `author`: "operator" when a person at the hotline wrote
the message, "bot" otherwise, so the page can show who is speaking. Contacts and messages are
stored with channel "web", apart from API clients on the REST channel.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.channels.rest.routes import (
    SENDER_PATTERN,
    RestMessage,
    RestReply,
    answer,
    fast_handler,
    queued,
    rest_dict,
)
from bot.http import runtime_of
from bot.i18n import Catalogs
from bot.messages import OutboundMessage
from bot.resources import package_path

CHANNEL = "web"
MESSAGES_PATH = "/chat/messages"

router = APIRouter(tags=["web chat"])
templates = Jinja2Templates(directory=package_path("bot", "templates"))


class WebReply(RestReply):
    author: Literal["bot", "operator"] = "bot"


def web_dict(sender: str, message: OutboundMessage) -> dict[str, Any]:
    """A reply in WebReply's shape, as plain data (the fast path writes it directly)."""
    return {
        **rest_dict(sender, message),
        "author": "operator" if message.from_operator else "bot",
    }


def to_web(sender: str, message: OutboundMessage) -> WebReply:
    return WebReply.model_validate(web_dict(sender, message))


fast_receive = fast_handler(CHANNEL, web_dict)


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


def first_screen(catalogs: Catalogs, language: str) -> list[dict[str, str]]:
    """What the hotline does, in every language of the bot's menu: the page's language first."""
    ordered = [language, *(code for code in catalogs.languages if code != language)]
    return [
        {
            "code": code,
            "name": catalogs.info(code).native_name,
            "direction": catalogs.direction(code),
            "intro": catalogs.text(code, "webchat.intro"),
            "danger": catalogs.text(code, "webchat.intro_danger"),
        }
        for code in ordered
    ]


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(
    request: Request, lang: Annotated[str | None, Query(max_length=16)] = None
) -> HTMLResponse:
    runtime = runtime_of(request)
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
            "operator": catalogs.text(language, "webchat.operator"),
            "clear": catalogs.text(language, "webchat.clear"),
            "clear_confirm": catalogs.text(language, "webchat.clear_confirm"),
            "first_screen": first_screen(catalogs, language),
            "messages_path": MESSAGES_PATH,
        },
    )
    response.headers["content-security-policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@router.post(MESSAGES_PATH, response_model=list[WebReply])
async def receive(
    body: RestMessage, request: Request, background: BackgroundTasks
) -> list[WebReply]:
    replies = await answer(body, request, background, CHANNEL)
    return [to_web(body.sender, reply) for reply in replies]


@router.get(MESSAGES_PATH, response_model=list[WebReply])
async def collect(
    request: Request, sender: Annotated[str, Query(pattern=SENDER_PATTERN)]
) -> list[WebReply]:
    """Messages queued for this page's sender since its last collect; each is returned once."""
    return [to_web(sender, message) for message in await queued(request, CHANNEL, sender)]
