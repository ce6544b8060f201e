"""Rendering console pages: templates, the navigation by role, safe headers.

Templates autoescape everything; nothing a migrant wrote is ever marked safe. Pages load
scripts only from /console/static (the CSP has no 'unsafe-inline'), and the scripts put text
into the page with textContent only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.access import ROLE_RANK, Principal
from bot.channels import channel_label
from bot.http import runtime_of
from bot.resources import package_path
from bot.storage.models import as_utc

CONSOLE_DIR = package_path("bot", "console")
STATIC_PREFIX = "/console/static"

templates = Jinja2Templates(directory=CONSOLE_DIR / "templates")
assert templates.env.autoescape, "console templates must autoescape"

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class NavItem:
    title: str
    href: str
    min_role: str


# Other console modules append their pages (Registrations, Broadcasts, Reports, …).
NAV: list[NavItem] = [
    NavItem("Queue", "/console", "operator"),
    NavItem("New case", "/console/cases/new", "operator"),
    NavItem("Accounts", "/console/admin/operators", "admin"),
    NavItem("Mobilizers", "/console/admin/mobilizers", "admin"),
    NavItem("Content & settings", "/console/admin/settings", "admin"),
    # console records (embassy exports live inside Registrations, for supervisors)
    NavItem("Registrations", "/console/registrations", "operator"),
    NavItem("Broadcasts", "/console/broadcasts", "supervisor"),
    NavItem("Reports", "/console/reports", "supervisor"),
    NavItem("Voice studio", "/console/studio", "supervisor"),
]


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    rank = ROLE_RANK.get(principal.role, -1)
    return [item for item in NAV if ROLE_RANK[item.min_role] <= rank]


def static(path: str) -> str:
    return f"{STATIC_PREFIX}/{path.lstrip('/')}"


def console_headers(response: Response) -> Response:
    """Console pages hold personal data: strict CSP and never cached."""
    response.headers["content-security-policy"] = CONSOLE_CSP
    response.headers["cache-control"] = "no-store"
    return response


def when_formatter(timezone: str) -> Any:
    """`when(moment)` for templates: a stored UTC time in the operators' time zone."""
    zone = ZoneInfo(timezone)

    def when(moment: datetime | None, pattern: str = "%d %b, %H:%M") -> str:
        if moment is None:
            return ""
        return as_utc(moment).astimezone(zone).strftime(pattern)

    return when


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    runtime = runtime_of(request)
    values = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else context.pop("csrf_token", None),
        "nav": nav_for(principal),
        "languages": runtime.catalogs.languages,
        "static": static,
        "channel_label": channel_label,
        "current_path": request.url.path,
        "when": when_formatter(runtime.settings.operator_timezone),
        "timezone": runtime.settings.operator_timezone,
        **context,
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    console_headers(response)
    return response


def redirect(location: str) -> RedirectResponse:
    """After a form post: back to a page (303 so the browser follows with GET)."""
    response = RedirectResponse(location, status_code=303)
    console_headers(response)
    return response
