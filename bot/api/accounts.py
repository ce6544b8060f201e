"""/api/v1: who am I, my tokens, operators (for assignment), administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from bot.access import Principal, admin_form, operator_form, require_admin, require_operator
from bot.accounts import Accounts, parse_languages
from bot.api.models import (
    ContactRole,
    ContactRoleSet,
    Me,
    OperatorBrief,
    OperatorCreate,
    OperatorCreated,
    OperatorOut,
    OperatorUpdate,
    PasswordReset,
    SettingOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
)
from bot.contacts import find_contact
from bot.http import runtime_of
from bot.shown_settings import effective_settings

router = APIRouter(prefix="/api/v1", tags=["accounts"])

Operator = Annotated[Principal, Depends(require_operator)]
OperatorAction = Annotated[Principal, Depends(operator_form)]
Admin = Annotated[Principal, Depends(require_admin)]
AdminAction = Annotated[Principal, Depends(admin_form)]


def _accounts(request: Request) -> Accounts:
    return Accounts(runtime_of(request).db)


@router.get("/me", response_model=Me)
async def me(principal: Operator) -> Me:
    return Me(
        id=principal.operator_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,  # type: ignore[arg-type]
        languages=list(principal.languages),
        via=principal.via,  # type: ignore[arg-type]
    )


@router.get("/me/tokens", response_model=list[TokenOut])
async def my_tokens(request: Request, principal: Operator) -> list[TokenOut]:
    tokens = await _accounts(request).tokens(principal.operator_id)
    return [TokenOut.model_validate(token) for token in tokens]


@router.post("/me/tokens", response_model=TokenCreated, status_code=201)
async def create_token(
    request: Request, body: TokenCreate, principal: OperatorAction
) -> TokenCreated:
    token_id, token = await _accounts(request).create_token(
        principal.operator_id, body.name, actor=principal.actor, days=body.days
    )
    return TokenCreated(id=token_id, token=token)


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_token(request: Request, token_id: int, principal: OperatorAction) -> Response:
    done = await _accounts(request).revoke_token(
        principal.operator_id, token_id, actor=principal.actor
    )
    if not done:
        raise HTTPException(404, detail="no such active token")
    return Response(status_code=204)


@router.get("/operators", response_model=list[OperatorBrief])
async def operators(request: Request, principal: Operator) -> list[OperatorBrief]:
    """Active operators (names and the languages they read), e.g. for assigning a case."""
    return [
        OperatorBrief.model_validate(view)
        for view in await _accounts(request).operators(active_only=True)
    ]


# -- administration ----------------------------------------------------------------------------
@router.get("/admin/operators", response_model=list[OperatorOut], tags=["admin"])
async def all_operators(request: Request, principal: Admin) -> list[OperatorOut]:
    return [OperatorOut.model_validate(view) for view in await _accounts(request).operators()]


@router.post("/admin/operators", response_model=OperatorCreated, status_code=201, tags=["admin"])
async def add_operator(
    request: Request, body: OperatorCreate, principal: AdminAction
) -> OperatorCreated:
    runtime = runtime_of(request)
    languages = parse_languages(",".join(body.languages), runtime.catalogs.languages)
    operator_id, password = await _accounts(request).create(
        body.username,
        body.role,
        actor=principal.actor,
        display_name=body.display_name,
        languages=languages,
    )
    return OperatorCreated(id=operator_id, username=body.username, one_time_password=password)


@router.patch("/admin/operators/{operator_id}", response_model=OperatorOut, tags=["admin"])
async def update_operator(
    request: Request, operator_id: int, body: OperatorUpdate, principal: AdminAction
) -> OperatorOut:
    """Change role, name or languages; `active: false` disables the account."""
    runtime = runtime_of(request)
    if body.active is False and operator_id == principal.operator_id:
        raise HTTPException(422, detail="you cannot disable your own account")
    languages = (
        parse_languages(",".join(body.languages), runtime.catalogs.languages)
        if body.languages is not None
        else None
    )
    view = await _accounts(request).update(
        operator_id,
        actor=principal.actor,
        role=body.role,
        display_name=body.display_name,
        languages=languages,
        active=body.active,
    )
    return OperatorOut.model_validate(view)


@router.delete("/admin/operators/{operator_id}", status_code=204, tags=["admin"])
async def disable_operator(request: Request, operator_id: int, principal: AdminAction) -> Response:
    """Removes the account from use: it is disabled, not erased, so the records of who did
    what (messages, notes, audit) keep their author."""
    if operator_id == principal.operator_id:
        raise HTTPException(422, detail="you cannot disable your own account")
    await _accounts(request).update(operator_id, actor=principal.actor, active=False)
    return Response(status_code=204)


@router.post(
    "/admin/operators/{operator_id}/reset-password", response_model=PasswordReset, tags=["admin"]
)
async def reset_password(
    request: Request, operator_id: int, principal: AdminAction
) -> PasswordReset:
    password = await _accounts(request).reset_password(operator_id, actor=principal.actor)
    return PasswordReset(one_time_password=password)


@router.post("/admin/operators/{operator_id}/reset-second-factor", status_code=204, tags=["admin"])
async def reset_second_factor(
    request: Request, operator_id: int, principal: AdminAction
) -> Response:
    """Removes the account's second factor (a lost phone) and ends its sessions; it sets up
    a new one at its next sign-in."""
    await _accounts(request).reset_second_factor(operator_id, actor=principal.actor)
    return Response(status_code=204)


@router.put("/admin/contacts/role", response_model=ContactRoleSet, tags=["admin"])
async def set_contact_role(
    request: Request, body: ContactRole, principal: AdminAction
) -> ContactRoleSet:
    """Make a contact a community mobilizer, or a migrant again."""
    runtime = runtime_of(request)
    contact = await find_contact(runtime, body.channel, body.address)
    if contact is None:
        raise HTTPException(404, detail="no contact with that address on that channel")
    await runtime.store.set_role(contact.id, body.role, actor=principal.actor)
    return ContactRoleSet(contact_id=contact.id, role=body.role)


@router.get("/admin/settings", response_model=list[SettingOut], tags=["admin"])
async def settings(request: Request, principal: Admin) -> list[SettingOut]:
    """The effective settings, secrets hidden (read-only)."""
    return [
        SettingOut(name=name, value=value, description=description)
        for name, value, description in effective_settings(runtime_of(request).settings)
    ]
