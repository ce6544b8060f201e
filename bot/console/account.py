"""An operator's own account page: who they are, their API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from bot.console.accounts import AccountError, Accounts
from bot.console.auth import Principal, operator_form, require_operator
from bot.console.web import redirect, render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/account")
async def account_page(
    request: Request, principal: Annotated[Principal, Depends(require_operator)]
) -> Response:
    accounts = Accounts(request.app.state.runtime.db)
    return render(
        request,
        "account.html",
        principal,
        tokens=await accounts.tokens(principal.operator_id),
    )


@router.post("/account/tokens")
async def create_token(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    name: Annotated[str, Form(max_length=64)],
    days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    accounts = Accounts(request.app.state.runtime.db)
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
        )
    # shown once, in this answer only; only its hash is kept
    return render(
        request,
        "account.html",
        principal,
        new_token=token,
        new_token_name=name,
        tokens=await accounts.tokens(principal.operator_id),
    )


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: int, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    await Accounts(request.app.state.runtime.db).revoke_token(
        principal.operator_id, token_id, actor=principal.actor
    )
    return redirect("/console/account")
