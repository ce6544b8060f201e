"""Rendering console pages: templates, the navigation by role, safe headers.

Templates autoescape everything; nothing a migrant wrote is ever marked safe. Pages load
scripts only from /console/static (the CSP has no 'unsafe-inline'), and the scripts put text
into the page with textContent only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.access import ROLE_RANK, Principal
from bot.channels import channel_label
from bot.console import i18n
from bot.console.i18n import N_
from bot.http import runtime_of
from bot.resources import package_path

CONSOLE_DIR = package_path("bot", "console")
STATIC_PREFIX = "/console/static"

templates = Jinja2Templates(directory=CONSOLE_DIR / "templates")
assert templates.env.autoescape, "console templates must autoescape"
templates.env.add_extension("jinja2.ext.i18n")
# {% trans %} blocks lose their line breaks and indentation: one message id per sentence
templates.env.policies["ext.i18n.trimmed"] = True

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class NavItem:
    title: str  # English, marked with N_; the page shows it in the operator's language
    href: str
    min_role: str


# Other console modules append their pages (Registrations, Broadcasts, Reports, …).
NAV: list[NavItem] = [
    NavItem(N_("Queue"), "/console", "operator"),
    NavItem(N_("New case"), "/console/cases/new", "operator"),
    NavItem(N_("Accounts"), "/console/admin/operators", "admin"),
    NavItem(N_("Mobilizers"), "/console/admin/mobilizers", "admin"),
    NavItem(N_("Content & settings"), "/console/admin/settings", "admin"),
    # console records (embassy exports live inside Registrations, for supervisors)
    NavItem(N_("Registrations"), "/console/registrations", "operator"),
    NavItem(N_("Broadcasts"), "/console/broadcasts", "supervisor"),
    NavItem(N_("Reports"), "/console/reports", "supervisor"),
    NavItem(N_("Voice studio"), "/console/studio", "supervisor"),
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


def page_language(request: Request, principal: Principal | None) -> str:
    """The console's language for this page: the operator's choice, else the deployment's
    CONSOLE_LANGUAGE; before sign-in, what the browser asks for (Accept-Language)."""
    default = i18n.supported(runtime_of(request).settings.console_language) or "en"
    if principal is None:
        return i18n.from_accept_language(request.headers.get("accept-language"), default)
    return i18n.supported(principal.console_language) or default


def translated(request: Request, principal: Principal | None, text: str) -> str:
    """A text marked with N_ in the page's language (for texts outside a rendered page)."""
    return i18n.gettext(page_language(request, principal))(text)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    runtime = runtime_of(request)
    language = page_language(request, principal)
    translations = i18n.translations(language)
    # notices and errors set in Python are English message ids (N_ or a domain's message)
    for key in ("notice", "error"):
        if isinstance(context.get(key), str):
            context[key] = translations.gettext(context[key])
    values = {
        "principal": principal,
        "language": language,
        "direction": i18n.direction(language),
        "console_languages": i18n.language_choices(),
        "csrf_token": principal.csrf_token if principal else context.pop("csrf_token", None),
        "nav": nav_for(principal),
        "languages": runtime.catalogs.languages,
        "static": static,
        "channel_label": channel_label,
        "current_path": request.url.path,
        "when": i18n.when_formatter(runtime.settings.operator_timezone, language),
        "term": i18n.term_translator(language),
        "timezone": runtime.settings.operator_timezone,
        "js_strings": i18n.js_strings(language),
        **context,
    }
    if language != "en" and "country_name" in values:  # nationalities in the page's language
        values["country_name"] = lambda code: i18n.country_name(code, language)
    # installed and used without an await in between (the template renders inside
    # TemplateResponse), so concurrent requests in other languages cannot interleave
    templates.env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    console_headers(response)
    return response


def redirect(location: str) -> RedirectResponse:
    """After a form post: back to a page (303 so the browser follows with GET)."""
    response = RedirectResponse(location, status_code=303)
    console_headers(response)
    return response
