"""Administration pages: accounts, mobilizers, and the effective settings and canned replies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from bot.access import ROLES, Principal, admin_form, require_admin
from bot.accounts import AccountError, Accounts, parse_languages
from bot.alerts import DEFAULT_CITY, NumbersError, OnCallError, read_oncall_lines
from bot.console.i18n import N_
from bot.console.web import redirect, render
from bot.contacts import CONTACT_ROLES, find_contact, mobilizers
from bot.handoffs.canned import canned_replies
from bot.handoffs.casework import canned_values, mask
from bot.http import runtime_of
from bot.registrations import canonical_cities
from bot.shown_settings import effective_settings

if TYPE_CHECKING:
    pass

router = APIRouter(prefix="/console/admin", tags=["console"], include_in_schema=False)


# -- accounts ----------------------------------------------------------------------------------
async def _accounts_page(request: Request, principal: Principal, **context: Any) -> Response:
    runtime = runtime_of(request)
    return render(
        request,
        "admin_operators.html",
        principal,
        roles=ROLES,
        operators=await Accounts(runtime.db).operators(),
        **context,
    )


@router.get("/operators")
async def operators_page(
    request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> Response:
    return await _accounts_page(request, principal)


@router.post("/operators")
async def add_operator(
    request: Request,
    principal: Annotated[Principal, Depends(admin_form)],
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    display_name: Annotated[str | None, Form(max_length=128)] = None,
    languages: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    runtime = runtime_of(request)
    try:
        codes = parse_languages(languages, runtime.catalogs.languages)
        _, password = await Accounts(runtime.db).create(
            username, role, actor=principal.actor, display_name=display_name, languages=codes
        )
    except AccountError as exc:
        return await _accounts_page(request, principal, error=str(exc), status_code=400)
    return await _accounts_page(request, principal, one_time=(username.strip().lower(), password))


@router.post("/operators/{operator_id}/role")
async def set_operator_role(
    request: Request,
    operator_id: int,
    principal: Annotated[Principal, Depends(admin_form)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    return await _update(request, principal, operator_id, role=role)


@router.post("/operators/{operator_id}/disable")
async def disable_operator(
    request: Request, operator_id: int, principal: Annotated[Principal, Depends(admin_form)]
) -> Response:
    if operator_id == principal.operator_id:
        return await _accounts_page(
            request, principal, status_code=400, error=N_("You cannot disable your own account.")
        )
    return await _update(request, principal, operator_id, active=False)


@router.post("/operators/{operator_id}/enable")
async def enable_operator(
    request: Request, operator_id: int, principal: Annotated[Principal, Depends(admin_form)]
) -> Response:
    return await _update(request, principal, operator_id, active=True)


async def _update(
    request: Request, principal: Principal, operator_id: int, **changes: Any
) -> Response:
    try:
        await Accounts(runtime_of(request).db).update(operator_id, actor=principal.actor, **changes)
    except AccountError as exc:
        return await _accounts_page(request, principal, error=str(exc), status_code=400)
    return redirect("/console/admin/operators")


@router.post("/operators/{operator_id}/reset-password")
async def reset_password(
    request: Request, operator_id: int, principal: Annotated[Principal, Depends(admin_form)]
) -> Response:
    accounts = Accounts(runtime_of(request).db)
    try:
        password = await accounts.reset_password(operator_id, actor=principal.actor)
    except AccountError as exc:
        return await _accounts_page(request, principal, error=str(exc), status_code=400)
    target = await accounts.get(operator_id)
    return await _accounts_page(
        request, principal, one_time=(target.username if target else "?", password)
    )


@router.post("/operators/{operator_id}/reset-second-factor")
async def reset_second_factor(
    request: Request, operator_id: int, principal: Annotated[Principal, Depends(admin_form)]
) -> Response:
    """A lost phone: the account's second factor goes and its sessions end; it sets up a new
    one at its next sign-in (required for supervisors and administrators)."""
    accounts = Accounts(runtime_of(request).db)
    try:
        await accounts.reset_second_factor(operator_id, actor=principal.actor)
    except AccountError as exc:
        return await _accounts_page(request, principal, error=str(exc), status_code=400)
    return redirect("/console/admin/operators")


# -- mobilizers --------------------------------------------------------------------------------
@router.get("/mobilizers")
async def mobilizers_page(
    request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> Response:
    runtime = runtime_of(request)
    return render(
        request,
        "admin_mobilizers.html",
        principal,
        roles=CONTACT_ROLES,
        mobilizers=await mobilizers(runtime),
    )


@router.post("/mobilizers")
async def set_contact_role(
    request: Request,
    principal: Annotated[Principal, Depends(admin_form)],
    channel: Annotated[str, Form(max_length=32)],
    address: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    runtime = runtime_of(request)
    error = None
    if role not in CONTACT_ROLES:
        error = N_("The role must be migrant or mobilizer.")
    else:
        contact = await find_contact(runtime, channel, address)
        if contact is None:
            error = N_(
                "No contact with that address on that channel (they must have written once)."
            )
        else:
            await runtime.store.set_role(contact.id, role, actor=principal.actor)
    if error:
        return render(
            request,
            "admin_mobilizers.html",
            principal,
            roles=CONTACT_ROLES,
            mobilizers=await mobilizers(runtime),
            error=error,
            status_code=400,
        )
    return redirect("/console/admin/mobilizers")


# -- content and settings ----------------------------------------------------------------------
@router.get("/settings")
async def settings_page(
    request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> Response:
    runtime = runtime_of(request)
    catalogs = runtime.catalogs
    canned = {
        code: canned_replies(catalogs, code, **canned_values(runtime, principal, code))
        for code in catalogs.languages
    }
    return await _settings_page(request, principal, canned=canned)


async def _settings_page(request: Request, principal: Principal, **context: Any) -> Response:
    runtime = runtime_of(request)
    if "canned" not in context:
        catalogs = runtime.catalogs
        context["canned"] = {
            code: canned_replies(catalogs, code, **canned_values(runtime, principal, code))
            for code in catalogs.languages
        }
    numbers = await runtime.handoffs.numbers.all()
    people, source = await runtime.handoffs.alerts.people()
    return render(
        request,
        "admin_settings.html",
        principal,
        settings=effective_settings(runtime.settings),
        emergency_default=numbers.get(DEFAULT_CITY, ""),
        emergency_cities=[(city, numbers.get(city, "")) for city in canonical_cities()],
        oncall=[(person.name, mask(person.address)) for person in people],
        oncall_source=source,
        oncall_channel=runtime.settings.oncall_channel,
        **context,
    )


@router.post("/settings/emergency-numbers")
async def set_emergency_numbers(
    request: Request, principal: Annotated[Principal, Depends(admin_form)]
) -> Response:
    """The default numbers and the cities' own ("city:<name>" fields; empty: the default)."""
    form = await request.form()
    wanted = {DEFAULT_CITY: str(form.get("default", ""))[:200]}
    for city in canonical_cities():
        wanted[city] = str(form.get(f"city:{city}", ""))[:200]
    try:
        await runtime_of(request).handoffs.numbers.replace(wanted, actor=principal.actor)
    except NumbersError as exc:
        return await _settings_page(request, principal, error=str(exc), status_code=400)
    return redirect("/console/admin/settings?saved=numbers")


@router.post("/settings/oncall")
async def set_oncall(
    request: Request,
    principal: Annotated[Principal, Depends(admin_form)],
    people: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The on-call escalation list, one "Name=address" a line (empty: back to the setting)."""
    try:
        wanted = read_oncall_lines(people)
    except OnCallError as exc:
        return await _settings_page(request, principal, error=str(exc), status_code=400)
    await runtime_of(request).handoffs.alerts.replace_people(wanted, actor=principal.actor)
    return redirect("/console/admin/settings?saved=oncall")
