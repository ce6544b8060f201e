"""An operator's own account page: who they are, their API tokens, their second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from bot import second_factor
from bot.access import (
    SECOND_FACTOR_ROLES,
    SESSION_COOKIE,
    Principal,
    enrolment_form,
    operator_form,
    require_enrolment,
    require_operator,
)
from bot.accounts import AccountError, Accounts
from bot.console.i18n import N_
from bot.console.web import redirect, render
from bot.http import runtime_of

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


NOTICES = {
    "language": N_("The console's language is changed."),
    "second-factor-off": N_("The second factor is off."),
}


@router.get("/account")
async def account_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_operator)],
    notice: str | None = None,
) -> Response:
    accounts = Accounts(runtime_of(request).db)
    return render(
        request,
        "account.html",
        principal,
        notice=NOTICES.get(notice or ""),
        tokens=await accounts.tokens(principal.operator_id),
        phone=await accounts.phone(principal.operator_id),
    )


@router.post("/account/language")
async def set_language(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The console's language for this operator; empty: the deployment's default."""
    try:
        await Accounts(runtime_of(request).db).set_console_language(
            principal.operator_id, language.strip().lower() or None, actor=principal.actor
        )
    except AccountError as exc:
        return render(
            request,
            "account.html",
            principal,
            status_code=400,
            error=str(exc),
            tokens=await Accounts(runtime_of(request).db).tokens(principal.operator_id),
        )
    return redirect("/console/account?notice=language")


@router.post("/account/tokens")
async def create_token(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    name: Annotated[str, Form(max_length=64)],
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    accounts = Accounts(runtime_of(request).db)
    try:
        _, token = await accounts.create_token(
            principal.operator_id, name, actor=principal.actor, days=days
        )
    except AccountError as exc:
        return render(
            request,
            "account.html",
            principal,
            status_code=400,
            error=str(exc),
            tokens=await accounts.tokens(principal.operator_id),
            phone=await accounts.phone(principal.operator_id),
        )
    # shown once, in this answer only; only its hash is kept
    return render(
        request,
        "account.html",
        principal,
        new_token=token,
        new_token_name=name,
        tokens=await accounts.tokens(principal.operator_id),
        phone=await accounts.phone(principal.operator_id),
    )


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: int, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    await Accounts(runtime_of(request).db).revoke_token(
        principal.operator_id, token_id, actor=principal.actor
    )
    return redirect("/console/account")


@router.post("/account/phone")
async def set_phone(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    phone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The number the Calls page rings when this operator takes a caller."""
    accounts = Accounts(runtime_of(request).db)
    try:
        await accounts.set_phone(principal.operator_id, phone, actor=principal.actor)
    except AccountError as exc:
        return render(
            request,
            "account.html",
            principal,
            status_code=exc.status,
            error=str(exc),
            tokens=await accounts.tokens(principal.operator_id),
            phone=phone,
        )
    return redirect("/console/account#phone")


# -- the second factor -------------------------------------------------------------------------
async def _second_factor_page(
    request: Request,
    principal: Principal,
    *,
    status_code: int = 200,
    **context: object,
) -> Response:
    accounts = Accounts(runtime_of(request).db)
    values: dict[str, object] = {
        "enabled": principal.second_factor_enabled,
        "required": principal.role in SECOND_FACTOR_ROLES,
    }
    if "recovery_codes" in context:
        pass
    elif principal.second_factor_enabled:
        values["recovery_left"] = await accounts.recovery_codes_left(principal.operator_id)
    else:
        secret = await accounts.begin_enrolment(principal.operator_id)
        uri = second_factor.provisioning_uri(secret, principal.username)
        values.update(
            secret_spaced=second_factor.spaced(secret), uri=uri, qr=second_factor.qr_data_uri(uri)
        )
    return render(
        request,
        "second_factor.html",
        principal,
        status_code=status_code,
        **{**values, **context},
    )


@router.get("/second-factor")
async def second_factor_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_enrolment)],
    notice: str | None = None,
) -> Response:
    text = (
        N_("You signed in with a recovery code; it cannot be used again.")
        if notice == "recovery"
        else None
    )
    return await _second_factor_page(request, principal, notice=text)


@router.post("/second-factor")
async def enrol(
    request: Request,
    principal: Annotated[Principal, Depends(enrolment_form)],
    code: Annotated[str, Form(max_length=16)],
) -> Response:
    if principal.second_factor_enabled:
        return redirect("/console/second-factor")
    try:
        codes = await Accounts(runtime_of(request).db).confirm_enrolment(
            principal.operator_id, code, keep_session=request.cookies.get(SESSION_COOKIE)
        )
    except AccountError as exc:
        return await _second_factor_page(request, principal, error=str(exc), status_code=400)
    return await _second_factor_page(request, principal, recovery_codes=codes, enabled=True)


@router.post("/second-factor/recovery-codes")
async def new_recovery_codes(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    code: Annotated[str, Form(max_length=64)],
) -> Response:
    try:
        codes = await Accounts(runtime_of(request).db).new_recovery_codes(
            principal.operator_id, code
        )
    except AccountError as exc:
        return await _second_factor_page(request, principal, error=str(exc), status_code=400)
    return await _second_factor_page(request, principal, recovery_codes=codes)


@router.post("/second-factor/disable")
async def disable_second_factor(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    code: Annotated[str, Form(max_length=64)],
) -> Response:
    try:
        await Accounts(runtime_of(request).db).disable_second_factor(principal.operator_id, code)
    except AccountError as exc:
        return await _second_factor_page(request, principal, error=str(exc), status_code=400)
    return redirect("/console/account?notice=second-factor-off")
