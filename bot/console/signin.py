"""Signing in (the password, then the second factor's code) and out, and the password change
forced after a one-time password."""

from __future__ import annotations

import math
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response

from bot.access import (
    CODE_PATH,
    SESSION_COOKIE,
    Principal,
    audit,
    code_form,
    current_principal,
    password_form,
    public_route,
    require_code_due,
    require_signed_in,
    signout_form,
)
from bot.accounts import FIRST_ADMIN_DISPLAY_NAME, AccountError, Accounts
from bot.console.i18n import N_
from bot.console.throttle import SignInThrottle
from bot.console.web import redirect, render, translated
from bot.http import runtime_of

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

# Before there is a session, the sign-in form is protected by a double-submit token: a cookie
# and the same value in the form (a foreign site can post the form but cannot read the cookie).
LOGIN_CSRF_COOKIE = "hotline_login_csrf"


def login_limiter(request: Request) -> SignInThrottle:
    """The app's sign-in throttle; shared through Redis when the runtime has Redis."""
    throttle: SignInThrottle | None = getattr(request.app.state, "login_limiter", None)
    if throttle is None:
        throttle = request.app.state.login_limiter = SignInThrottle()
    if not getattr(throttle, "bound", False):
        redis = getattr(runtime_of(request).sessions, "redis", None)
        if redis is not None:
            throttle.use_redis(redis)
        throttle.bound = True  # type: ignore[attr-defined]
    return throttle


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
    base = runtime_of(request).settings.public_base_url or ""
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
    if principal is not None and principal.via == "session" and principal.second_factor != "code":
        return redirect(safe_next(next))
    return _login_form(
        request, next, notice=N_("Your session ended; sign in again.") if expired else None
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


def _too_many(request: Request, next_path: str | None, wait: float, message: str) -> Response:
    response = _login_form(request, next_path, error=message, status_code=429)
    response.headers["retry-after"] = str(max(1, math.ceil(wait)))
    return response


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=int(runtime_of(request).settings.console_session_hours * 3600),
    )


@router.post("/login", dependencies=[Depends(public_route)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str | None, Form(max_length=512)] = None,
) -> Response:
    throttle, address = login_limiter(request), client_address(request)
    wait = await throttle.take(address)
    if wait:
        return _too_many(
            request,
            next,
            wait,
            N_("Too many sign-in attempts from your address; wait a minute and try again."),
        )
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not expected or not secrets.compare_digest(csrf_token, expected):
        return _login_form(
            request, next, error=N_("The form expired; please sign in again."), status_code=403
        )
    # this account from this address only: the same account elsewhere is not slowed
    wait = await throttle.pair_wait(username, address)
    if wait:
        return _too_many(
            request,
            next,
            wait,
            translated(
                request,
                None,
                N_(
                    "Too many sign-in attempts for this account from your address; "
                    "try again in %(seconds)s seconds."
                ),
            )
            % {"seconds": max(1, math.ceil(wait))},
        )
    runtime = runtime_of(request)
    accounts = Accounts(runtime.db)
    result = await accounts.sign_in(username, password, address=address)
    if result.operator_id is None:
        await throttle.failed(username, address)
        return _login_form(request, next, error=N_("Wrong username or password."), status_code=401)
    if result.second_factor:  # the code is due: a session that reaches only the code page
        token, _csrf = await accounts.start_session(
            result.operator_id, runtime.settings.console_session_hours, second_factor_due=True
        )
        response = redirect(f"{CODE_PATH}?next={quote(safe_next(next), safe='/')}")
    else:
        await throttle.succeeded(username, address)
        await accounts.signed_in(result.operator_id, second_factor="none", address=address)
        token, _csrf = await accounts.start_session(
            result.operator_id, runtime.settings.console_session_hours
        )
        # the password first, then (supervisors, administrators) setting up a second factor:
        # `require_role` sends them on
        response = redirect("/console/password" if result.must_change_password else safe_next(next))
    _set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


def _code_form(
    request: Request,
    principal: Principal,
    next_path: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    # rendered without the principal: no navigation until the code is given
    return render(
        request,
        "login_code.html",
        None,
        status_code=status_code,
        csrf_token=principal.csrf_token,
        next=safe_next(next_path),
        error=error,
    )


@router.get("/login/code")
async def code_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_code_due)],
    next: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    if principal.second_factor != "code":
        return redirect(safe_next(next))
    return _code_form(request, principal, next)


@router.post("/login/code")
async def submit_code(
    request: Request,
    principal: Annotated[Principal, Depends(code_form)],
    code: Annotated[str, Form(max_length=64)],
    next: Annotated[str | None, Form(max_length=512)] = None,
) -> Response:
    if principal.second_factor != "code":
        return redirect(safe_next(next))
    throttle, address = login_limiter(request), client_address(request)
    wait = await throttle.take(address) or await throttle.pair_wait(principal.username, address)
    if wait:
        response = _code_form(
            request,
            principal,
            next,
            error=translated(
                request, principal, N_("Too many attempts; try again in %(seconds)s seconds.")
            )
            % {"seconds": max(1, math.ceil(wait))},
            status_code=429,
        )
        response.headers["retry-after"] = str(max(1, math.ceil(wait)))
        return response
    runtime = runtime_of(request)
    accounts = Accounts(runtime.db)
    method = await accounts.check_code(principal.operator_id, code)
    if method is None:
        await throttle.failed(principal.username, address)
        await audit(
            runtime,
            principal,
            "signin.failed",
            str(principal.operator_id),
            reason="code",
            address=address,
        )
        return _code_form(
            request,
            principal,
            next,
            error=N_("That code is wrong or was already used; wait for the next one."),
            status_code=401,
        )
    await throttle.succeeded(principal.username, address)
    # a fresh session (a new token) replaces the one that only reached this page
    pending = request.cookies.get(SESSION_COOKIE)
    if pending:
        await accounts.end_session(pending)
    await accounts.signed_in(principal.operator_id, second_factor=method, address=address)
    token, _csrf = await accounts.start_session(
        principal.operator_id, runtime.settings.console_session_hours
    )
    target = "/console/password" if principal.must_change_password else safe_next(next)
    if method == "recovery":
        target = "/console/second-factor?notice=recovery"
    response = redirect(target)
    _set_session_cookie(request, response, token)
    return response


@router.post("/logout")
async def logout(
    request: Request, principal: Annotated[Principal, Depends(signout_form)]
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await Accounts(runtime_of(request).db).end_session(token)
    await audit(runtime_of(request), principal, "signout", str(principal.operator_id))
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
async def password_page(
    request: Request, principal: Annotated[Principal, Depends(require_signed_in)]
) -> Response:
    return render(
        request,
        "password.html",
        principal,
        forced=principal.must_change_password,
        suggested_name=_suggested_name(principal),
    )


def _suggested_name(principal: Principal) -> str:
    """The name offered at the first sign-in: the account's own, not a placeholder."""
    name = principal.display_name or ""
    return "" if name in (FIRST_ADMIN_DISPLAY_NAME, principal.username) else name


@router.post("/password")
async def change_password(
    request: Request,
    principal: Annotated[Principal, Depends(password_form)],
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    confirm: Annotated[str, Form(max_length=256)],
    display_name: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    error = None
    if new != confirm:
        error = N_("The two new passwords differ.")
    else:
        try:
            await Accounts(runtime_of(request).db).change_password(
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
            suggested_name=display_name.strip() or _suggested_name(principal),
            error=error,
            status_code=400,
        )
    if principal.must_change_password and display_name.strip():
        await Accounts(runtime_of(request).db).update(
            principal.operator_id, actor=principal.actor, display_name=display_name
        )
    return redirect("/console?notice=password")
