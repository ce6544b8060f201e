"""Sending through the Graph API from the outbox: text, buttons and lists, templates outside
the 24-hour window, and Graph's errors turned into retry decisions."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from bot.channels.whatsapp_cloud import CHANNEL, secret
from bot.channels.whatsapp_templates import Template, choose_template, configured_templates
from bot.channels.whatsapp_window import window_open
from bot.config import Settings
from bot.delivery import Delivery, Recipient, SendError
from bot.messages import Button, OutboundMessage

if TYPE_CHECKING:
    from bot.i18n import Catalogs

log = logging.getLogger(__name__)


TEXT_LIMIT = 4096
BUTTON_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
MAX_BUTTONS = 3
LIST_BUTTON_LIMIT = 20
ROW_TITLE_LIMIT = 24
SECTION_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_ROWS = 10
TEMPLATE_PARAMETER_LIMIT = 900  # a template body is at most 1024 with its fixed words
# Graph error codes: throttling (retry later), and refusals that will not change.
_THROTTLED = {4, 80007, 130429, 131056}
_OUTSIDE_WINDOW = 131047
_UNDELIVERABLE = 131026
_TOKEN_REFUSED = {0, 190}


class WhatsAppCloudSender:
    """Sends the outbox's messages through the Graph API (one HTTP client, reused)."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        choose_label: Callable[[str], str],
        base_url: str = "https://graph.facebook.com",
        version: str = "v21.0",
        templates: dict[str, Template] | None = None,
        default_language: str = "en",
        timeout: float = 15.0,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self.choose_label = choose_label  # the list button's text, by language
        self.templates = templates or {}  # by bot language (whatsapp_templates.py)
        self.default_language = default_language
        self._http = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {access_token}"}
        )

    @classmethod
    def from_settings(cls, settings: Settings, catalogs: Catalogs) -> WhatsAppCloudSender:
        return cls(
            access_token=secret(settings.whatsapp_access_token),
            phone_number_id=settings.whatsapp_phone_number_id or "",
            choose_label=lambda language: catalogs.text(language, "whatsapp.choose"),
            base_url=settings.whatsapp_graph_base_url,
            version=settings.whatsapp_graph_version,
            templates=configured_templates(settings, CHANNEL),
            default_language=settings.default_language,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        if not window_open(recipient.last_inbound_at):
            return await self._send_template(recipient, message)
        # A long message goes in parts; when a later part fails and is retried, the earlier
        # parts go again: rare, and better than losing the rest. Reports follow the last part.
        try:
            ids = [
                await self._post(request)
                for request in build_requests(
                    recipient.address, message, self.choose_label(message.language)
                )
            ]
        except GraphError as error:
            if error.code != _OUTSIDE_WINDOW:
                raise
            # Meta's clock says the window closed (our last_inbound_at was near its end).
            return await self._send_template(recipient, message)
        return Delivery(provider_message_id=ids[-1])

    async def _send_template(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        """The person's language's template stands in; the message is held for their answer."""
        template = choose_template(
            self.templates,
            recipient.language or message.language,
            self.default_language,
            CHANNEL,
        )
        if template is None:
            raise SendError("outside the 24-hour window and no template configured", retry=False)
        request = template_request(recipient.address, template.name, template.language, message)
        return Delivery(
            provider_message_id=await self._post(request), held=True, template=template.describe()
        )

    async def _post(self, request: dict[str, Any]) -> str:
        try:
            response = await self._http.post(self.url, json=request)
        except httpx.HTTPError as exc:
            raise SendError(f"graph api unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            try:
                return str(response.json()["messages"][0]["id"])
            except (ValueError, LookupError, TypeError) as exc:
                raise SendError("graph api answered without a message id") from exc
        raise graph_error(response)


class GraphError(SendError):
    """A refusal from the Graph API, with its error code."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None,
        retry: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, retry=retry, retry_after=retry_after)
        self.code = code


def graph_error(response: httpx.Response) -> GraphError:
    """How to treat a Graph API error answer: retry later, or give up on this message."""
    code: int | None = None
    title = ""
    try:
        error = response.json().get("error", {})
        code = error.get("code") if isinstance(error.get("code"), int) else None
        title = str(error.get("message", ""))[:120]
    except (ValueError, AttributeError):
        pass
    status = response.status_code
    reason = f"graph {status} code {code}: {title}".strip()
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if status == 401 or code in _TOKEN_REFUSED:
        # The reason only: the token itself never reaches a log.
        log.error(
            "whatsapp cloud: the access token was refused (code %s); renew WHATSAPP_ACCESS_TOKEN",
            code,
        )
        return GraphError(f"access token refused: {reason}", code=code, retry=False)
    if status == 429 or code in _THROTTLED:
        return GraphError(reason, code=code, retry=True, retry_after=retry_after)
    if code in (_OUTSIDE_WINDOW, _UNDELIVERABLE):
        return GraphError(reason, code=code, retry=False)
    if status >= 500:
        return GraphError(reason, code=code, retry=True, retry_after=retry_after)
    return GraphError(reason, code=code, retry=False)  # a request Meta will never accept


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds > 0 else None


# -- building Graph requests ---------------------------------------------------------------
def build_requests(to: str, message: OutboundMessage, choose_label: str) -> list[dict[str, Any]]:
    """The Graph requests for one message: buttons for 1-3 options, a list for 4-10,
    numbered text otherwise; text over Meta's limits goes first, in parts."""
    options = message.buttons
    if 1 <= len(options) <= MAX_BUTTONS:
        body_limit = BUTTON_BODY_LIMIT
    elif MAX_BUTTONS < len(options) <= MAX_ROWS:
        body_limit = TEXT_LIMIT
    else:
        return [_text(to, part) for part in split_text(message.as_plain_text(), TEXT_LIMIT)]
    parts = split_text(message.text, TEXT_LIMIT) or [choose_label]
    if len(parts[-1]) > body_limit:
        parts = parts[:-1] + split_text(parts[-1], body_limit)
    *leading, body = parts
    requests = [_text(to, part) for part in leading]
    if len(options) <= MAX_BUTTONS:
        requests.append(_buttons(to, body, options))
    else:
        requests.append(_list(to, body, options, choose_label))
    return requests


def _envelope(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def _text(to: str, body: str) -> dict[str, Any]:
    return _envelope(to, "text", {"preview_url": False, "body": body})


def _buttons(to: str, body: str, options: tuple[Button, ...]) -> dict[str, Any]:
    buttons = [
        {"type": "reply", "reply": {"id": b.payload, "title": shorten(b.title, BUTTON_TITLE_LIMIT)}}
        for b in options
    ]
    return _envelope(
        to,
        "interactive",
        {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    )


def _list(to: str, body: str, options: tuple[Button, ...], choose_label: str) -> dict[str, Any]:
    rows = []
    for option in options:
        row = {"id": option.payload, "title": shorten(option.title, ROW_TITLE_LIMIT)}
        if len(option.title) > ROW_TITLE_LIMIT:  # the whole label stays readable below
            row["description"] = shorten(option.title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    label = shorten(choose_label, LIST_BUTTON_LIMIT)
    action = {
        "button": label,
        "sections": [{"title": shorten(choose_label, SECTION_TITLE_LIMIT), "rows": rows}],
    }
    return _envelope(to, "interactive", {"type": "list", "body": {"text": body}, "action": action})


def template_request(to: str, name: str, language: str, message: OutboundMessage) -> dict[str, Any]:
    """The approved template; its one body variable carries the message on a single line
    (Meta refuses newlines, tabs and long runs of spaces in template parameters)."""
    flat = " · ".join(line.strip() for line in message.as_plain_text().splitlines() if line.strip())
    flat = re.sub(r"\s{4,}", " ", flat)
    return _envelope(
        to,
        "template",
        {
            "name": name,
            "language": {"code": language},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": shorten(flat, TEMPLATE_PARAMETER_LIMIT)}
                    ],
                }
            ],
        },
    )


def shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` characters, cut at a paragraph, a line or a space if any."""
    parts: list[str] = []
    text = text.strip()
    while len(text) > limit:
        window = text[:limit]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut >= limit // 2:
                break
        else:  # no good place in the second half: cut the word
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].strip()
    if text:
        parts.append(text)
    return parts
