"""Signing in and out, and the password change forced after a one-time password."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response

from bot.console.accounts import AccountError, Accounts
from bot.console.auth import (
    SESSION_COOKIE,
    Principal,
    audit,
    current_principal,
    password_form,
    public_route,
    require_signed_in,
)
from bot.console.web import redirect, render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

# Before there is a session, the sign-in form is protected by a double-submit token: a cookie
# and the same value in the form (a foreign site can post the form but cannot read the cookie).
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
# Sign-in attempts per client address: a burst of this many, then one every 60/N seconds.
LOGIN_ATTEMPTS_PER_MINUTE = 10


class LoginLimiter:
    """A token bucket per client address for POST /console/login, in this process (each
    worker counts its own). Each attempt takes a token; a successful sign-in gives it back,
    so an office behind one address is not locked out by its own colleagues signing in."""

    MAX_ADDRESSES = 10_000

    def __init__(
        self,
        per_minute: int = LOGIN_ATTEMPTS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)

    def _tokens(self, address: str, now: float) -> float:
        tokens, when = self._buckets.get(address, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - when) * self.rate)

    def take(self, address: str) -> float:
        """0 when the attempt may go ahead (a token is used), else the seconds to wait."""
        now = self.clock()
        tokens = self._tokens(address, now)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= self.MAX_ADDRESSES:
            self._forget_full(now)
        self._buckets[address] = (tokens - 1, now)
        return 0.0

    def give_back(self, address: str) -> None:
        if address in self._buckets:
            now = self.clock()
            self._buckets[address] = (min(self.capacity, self._tokens(address, now) + 1), now)

    def _forget_full(self, now: float) -> None:
        """Addresses whose bucket has refilled are the same as unknown ones: drop them."""
        full = [a for a in self._buckets if self._tokens(a, now) >= self.capacity]
        for address in full:
            del self._buckets[address]
        if len(self._buckets) >= self.MAX_ADDRESSES:  # a flood of addresses: start afresh
            self._buckets.clear()


def login_limiter(request: Request) -> LoginLimiter:
    limiter = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = request.app.state.login_limiter = LoginLimiter()
    return limiter


def client_address(request: Request) -> str:
    # behind a proxy, uvicorn's proxy_headers put the X-Forwarded-For address here
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None) -> str:
    """Only console paths on this site (no open redirect to another host)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        if "\\" not in target and "\n" not in target and "\r" not in target:
            return target
    return "/console"


def _secure(request: Request) -> bool:
    base = request.app.state.runtime.settings.public_base_url or ""
    return base.startswith("https://")


@router.get("/login", dependencies=[Depends(public_route)])
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=512)] = None,
    expired: Annotated[bool, Query()] = False,
) -> Response:
    try:
        principal = await current_principal(request)
    except HTTPException:  # an expired session: show the form
        principal = None
    if principal is not None and principal.via == "session":
        return redirect(safe_next(next))
    return _login_form(
        request, next, notice="Your session ended; sign in again." if expired else None
    )


def _login_form(
    request: Request,
    next_path: str | None,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf_token=token,
        next=safe_next(next_path),
        error=error,
        notice=notice,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console/login",
        max_age=3600,
    )
    return response


@router.post("/login", dependencies=[Depends(public_route)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str | None, Form(max_length=512)] = None,
) -> Response:
    limiter, address = login_limiter(request), client_address(request)
    wait = limiter.take(address)
    if wait:
        response = _login_form(
            request,
            next,
            error="Too many sign-in attempts from your address; wait a minute and try again.",
            status_code=429,
        )
        response.headers["retry-after"] = str(max(1, math.ceil(wait)))
        return response
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not expected or not secrets.compare_digest(csrf_token, expected):
        return _login_form(
            request, next, error="The form expired; please sign in again.", status_code=403
        )
    runtime = request.app.state.runtime
    accounts = Accounts(runtime.db)
    result = await accounts.sign_in(username, password)
    if result.operator_id is not None:
        limiter.give_back(address)
    if result.operator_id is None:
        message = (
            "Too many wrong passwords: this account is locked for 15 minutes."
            if result.outcome == "locked"
            else "Wrong username or password."
        )
        return _login_form(request, next, error=message, status_code=401)
    token, _csrf = await accounts.start_session(
        result.operator_id, runtime.settings.console_session_hours
    )
    target = "/console/password" if result.must_change_password else safe_next(next)
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=int(runtime.settings.console_session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, principal: Annotated[Principal, Depends(password_form)]
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await Accounts(request.app.state.runtime.db).end_session(token)
    await audit(request.app.state.runtime, principal, "signout", str(principal.operator_id))
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
async def password_page(
    request: Request, principal: Annotated[Principal, Depends(require_signed_in)]
) -> Response:
    return render(request, "password.html", principal, forced=principal.must_change_password)


@router.post("/password")
async def change_password(
    request: Request,
    principal: Annotated[Principal, Depends(password_form)],
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    confirm: Annotated[str, Form(max_length=256)],
) -> Response:
    error = None
    if new != confirm:
        error = "The two new passwords differ."
    else:
        try:
            await Accounts(request.app.state.runtime.db).change_password(
                principal.operator_id,
                current,
                new,
                keep_session=request.cookies.get(SESSION_COOKIE),
            )
        except AccountError as exc:
            error = str(exc)
    if error:
        return render(
            request,
            "password.html",
            principal,
            forced=principal.must_change_password,
            error=error,
            status_code=400,
        )
    return redirect("/console?notice=password")
