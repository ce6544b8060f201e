"""Who is asking: console sessions (cookie) and API tokens (bearer), roles, CSRF, audit.

Every /console and /api/v1 route declares its minimum role through one of the dependencies
below (or `public_route`); the dependency objects carry that declaration as attributes
(`min_role`, `csrf`, `public`), so a test can walk the app's routes and check each one.
Tokens and session ids are random; only their SHA-256 hashes are stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, select

from bot.http import runtime_of
from bot.storage.models import ApiToken, AuditEvent, Operator, OperatorSession, as_utc, utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

ROLE_RANK = {"operator": 0, "supervisor": 1, "admin": 2}
ROLES = tuple(ROLE_RANK)
# these roles reach the console only with a second factor (optional for operators)
SECOND_FACTOR_ROLES = frozenset({"supervisor", "admin"})

SESSION_COOKIE = "hotline_console"
LOGIN_PATH = "/console/login"
PASSWORD_PATH = "/console/password"  # noqa: S105 (a page, not a password)
CODE_PATH = "/console/login/code"
ENROL_PATH = "/console/second-factor"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# last_seen_at / last_used_at are written at most this often (not on every request)
TOUCH_EVERY = timedelta(seconds=30)
# Sent by the console's own background fetches (live refreshes): they are not the operator
# at work, so they do not keep an idle session alive.
BACKGROUND_HEADER = "x-console-background"

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check an unknown username's password against, so that both answers take
    about as long. Made at the first such sign-in, not at import: argon2 takes ~0.5 s and
    64 MB of memory, which every process (and every command) paid at start."""
    return _hasher.hash("no such operator " + secrets.token_hex(8))


# Documented in the OpenAPI schema; read by `require_role` (auto_error off: we answer ourselves).
bearer_scheme = HTTPBearer(
    auto_error=False, description="API token from `hotline operators token` or /console/account"
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Console session (browser sign-in)"
)


@dataclass(frozen=True)
class Principal:
    operator_id: int
    username: str
    display_name: str
    role: str
    via: str  # "session" | "token"
    csrf_token: str | None
    must_change_password: bool = False
    languages: tuple[str, ...] = field(default=())
    # "ok"; "code": the password was right, the second factor's code is still due (this
    # session reaches only the code page); "enrol": the role needs a second factor and the
    # account has none yet (only the enrolment and password pages)
    second_factor: str = "ok"
    second_factor_enabled: bool = False
    console_language: str | None = None  # None: the deployment's CONSOLE_LANGUAGE

    @property
    def actor(self) -> str:
        return f"operator:{self.operator_id}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]


# -- secrets ---------------------------------------------------------------------------------
def hash_password(p: str) -> str:
    return _hasher.hash(p)


def verify_password(hash: str, p: str) -> bool:
    try:
        return _hasher.verify(hash, p)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_password_check(p: str) -> None:
    """The work of one password check, for an unknown username (constant-ish time)."""
    verify_password(_dummy_hash(), p)


# argon2 takes ~100 ms of CPU per call: from async code it runs in a worker thread, so the
# event loop keeps serving other requests (and the bot's channels) meanwhile.
async def hash_password_async(p: str) -> str:
    return await asyncio.to_thread(hash_password, p)


async def verify_password_async(hash: str, p: str) -> bool:
    return await asyncio.to_thread(verify_password, hash, p)


async def burn_password_check_async(p: str) -> None:
    await asyncio.to_thread(burn_password_check, p)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A one-time password that is easy to read out: four groups of letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


# -- answering the unauthorised ----------------------------------------------------------------
def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _local_next(request: Request) -> str:
    if request.method != "GET":
        return "/console"
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return target


def _clear_cookie_header() -> str:
    return f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"


def not_signed_in(request: Request, *, expired: bool = False) -> HTTPException:
    headers: dict[str, str] = {}
    if expired:
        headers["set-cookie"] = _clear_cookie_header()
    if is_api(request):
        headers["www-authenticate"] = "Bearer"
        return HTTPException(401, detail="sign in or send a valid API token", headers=headers)
    location = f"{LOGIN_PATH}?next={quote(_local_next(request), safe='/')}"
    if expired:
        location += "&expired=1"
    headers["location"] = location
    return HTTPException(303, detail="sign in", headers=headers)


# -- finding the principal ---------------------------------------------------------------------
async def _from_session(request: Request, token: str, *, touch: bool) -> Principal | None:
    runtime = runtime_of(request)
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.session() as session, session.begin():
        row = await session.scalar(
            select(OperatorSession).where(OperatorSession.token_hash == token_hash(token))
        )
        if row is None:
            return None
        operator = await session.get(Operator, row.operator_id)
        expires = as_utc(row.expires_at)
        last_seen = as_utc(row.last_seen_at)
        idle = timedelta(minutes=settings.console_idle_minutes)
        if (
            operator is None
            or not operator.active
            or expires is None
            or expires <= now
            or last_seen is None
            or last_seen + idle <= now
        ):
            await session.execute(delete(OperatorSession).where(OperatorSession.id == row.id))
            expired = True
        else:
            expired = False
            if touch and now - last_seen >= TOUCH_EVERY:
                row.last_seen_at = now
            principal = _principal(operator, "session", row.csrf_token, row.second_factor)
    if expired:  # raised after the commit, so the deletion stays
        raise not_signed_in(request, expired=True)
    return principal


async def _from_token(request: Request, token: str) -> Principal | None:
    runtime = runtime_of(request)
    now = utcnow()
    async with runtime.db.session() as session, session.begin():
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        if row is None or row.revoked_at is not None:
            return None
        expires = as_utc(row.expires_at)
        if expires is not None and expires <= now:
            return None
        operator = await session.get(Operator, row.operator_id)
        if operator is None or not operator.active:
            return None
        used = as_utc(row.last_used_at)
        if used is None or now - used >= TOUCH_EVERY:
            row.last_used_at = now
        return _principal(operator, "token", None)


def second_factor_state(operator: Operator, verified: bool) -> str:
    enabled = operator.totp_enabled_at is not None
    if enabled and not verified:
        return "code"
    if not enabled and operator.role in SECOND_FACTOR_ROLES:
        return "enrol"
    return "ok"


def _principal(operator: Operator, via: str, csrf: str | None, verified: bool = True) -> Principal:
    languages = operator.languages.get("read", []) if isinstance(operator.languages, dict) else []
    # API tokens stay as they are: the second factor guards the browser sign-in
    state = second_factor_state(operator, verified) if via == "session" else "ok"
    return Principal(
        operator_id=operator.id,
        username=operator.username,
        display_name=operator.display_name or operator.username,
        role=operator.role,
        via=via,
        csrf_token=csrf,
        must_change_password=operator.must_change_password,
        languages=tuple(str(code) for code in languages),
        second_factor=state,
        second_factor_enabled=operator.totp_enabled_at is not None,
        console_language=operator.console_language,
    )


async def current_principal(request: Request, *, touch: bool = True) -> Principal | None:
    """The signed-in operator, or None. Raises (303/401) when a session has just expired.
    `touch`: this request is the operator's activity (it restarts the idle timeout)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return await _from_token(request, credentials.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        background = request.headers.get(BACKGROUND_HEADER) == "1"
        return await _from_session(request, cookie, touch=touch and not background)
    return None


Dependency = Callable[..., Awaitable[Principal]]


def require_role(
    role: str,
    *,
    allow_password_change: bool = False,
    allow_code: bool = False,
    allow_enrolment: bool = False,
) -> Dependency:
    """A dependency: the signed-in principal with at least `role`, or 303/401/403.

    A session whose second factor is due reaches only routes with `allow_code`; one whose
    role needs a second factor not yet set up reaches only `allow_enrolment` routes and the
    password page (the password comes first)."""
    if role not in ROLE_RANK:
        raise ValueError(role)

    async def dependency(
        request: Request,
        _bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
        _cookie: str | None = Depends(cookie_scheme),
    ) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            raise not_signed_in(request)
        if principal.second_factor == "code" and not allow_code:
            if is_api(request):  # not signed in until the code is given
                raise not_signed_in(request)
            raise HTTPException(303, detail="second factor", headers={"location": CODE_PATH})
        if principal.must_change_password and principal.via == "token":
            # a one-time password is pending (new account, or reset by an administrator):
            # the account's owner has not confirmed it yet, so its tokens do nothing until then
            raise HTTPException(
                403,
                detail="this account must change its password in the console "
                "before its API tokens work",
            )
        if (
            principal.must_change_password
            and principal.via == "session"
            and principal.second_factor != "code"  # the code comes first
        ):
            if not allow_password_change:
                if is_api(request):
                    raise HTTPException(403, detail="change your password first")
                raise HTTPException(
                    303, detail="change password", headers={"location": PASSWORD_PATH}
                )
        if (
            principal.second_factor == "enrol"
            and not (allow_enrolment or allow_password_change or allow_code)
            and not principal.must_change_password
        ):
            if is_api(request):
                raise HTTPException(403, detail="set up your second factor in the console first")
            raise HTTPException(303, detail="second factor", headers={"location": ENROL_PATH})
        if not principal.at_least(role):
            raise HTTPException(403, detail=f"this needs the {role} role")
        request.state.principal = principal
        return principal

    dependency.min_role = role  # type: ignore[attr-defined]
    dependency.csrf = False  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{role}"
    return dependency


require_operator = require_role("operator")
require_supervisor = require_role("supervisor")
require_admin = require_role("admin")
# the password page: signed in, but a pending password change must not redirect to itself
require_signed_in = require_role("operator", allow_password_change=True)


async def csrf_value(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def verify_csrf(request: Request, principal: Principal = Depends(require_operator)) -> None:  # noqa: B008
    """Unsafe requests from a browser session must carry the session's CSRF token
    (form field `csrf_token` or header `X-CSRF-Token`). Token-authenticated calls are exempt:
    a browser never sends a bearer token by itself."""
    if principal.via == "token":
        return
    sent = await csrf_value(request)
    expected = principal.csrf_token or ""
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, detail="missing or wrong CSRF token; reload the page")


def form_role(
    role: str,
    *,
    allow_password_change: bool = False,
    allow_code: bool = False,
    allow_enrolment: bool = False,
) -> Dependency:
    """A dependency for unsafe routes: the role AND the CSRF token."""
    check_role = require_role(
        role,
        allow_password_change=allow_password_change,
        allow_code=allow_code,
        allow_enrolment=allow_enrolment,
    )

    async def dependency(
        request: Request,
        principal: Principal = Depends(check_role),  # noqa: B008
    ) -> Principal:
        await verify_csrf(request, principal)
        return principal

    dependency.min_role = role  # type: ignore[attr-defined]
    dependency.csrf = True  # type: ignore[attr-defined]
    dependency.__name__ = f"{role}_form"
    return dependency


operator_form = form_role("operator")
supervisor_form = form_role("supervisor")
admin_form = form_role("admin")
password_form = form_role("operator", allow_password_change=True)
# the second factor's pages: the code after the password, and setting one up
require_code_due = require_role("operator", allow_code=True)
code_form = form_role("operator", allow_code=True)
require_enrolment = require_role("operator", allow_enrolment=True)
enrolment_form = form_role("operator", allow_enrolment=True)
# signing out works in every state
signout_form = form_role(
    "operator", allow_password_change=True, allow_code=True, allow_enrolment=True
)


async def public_route() -> None:
    """Declares a route open to everyone (the sign-in page, the API schema)."""


public_route.public = True  # type: ignore[attr-defined]


# -- audit -------------------------------------------------------------------------------------
async def audit(
    runtime: Runtime,
    principal_or_actor: Principal | str,
    action: str,
    subject: str | None,
    **details: Any,
) -> None:
    """One AuditEvent: who did what to which record. Details hold ids and facts, no text."""
    actor = (
        principal_or_actor.actor
        if isinstance(principal_or_actor, Principal)
        else str(principal_or_actor)
    )
    async with runtime.db.session() as session, session.begin():
        session.add(
            AuditEvent(actor=actor[:64], action=action[:64], subject=subject, details=details)
        )
