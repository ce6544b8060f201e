"""The queue (/console), a case's page, starting a case, and the live event stream.

Pages are plain HTML forms (they work without scripts); console.js adds live updates: it
listens to /console/events (server-sent events carrying ids only) and re-fetches what changed
through /api/v1 with the same session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from bot.access import (
    Principal,
    current_principal,
    operator_form,
    require_operator,
    supervisor_form,
)
from bot.accounts import Accounts
from bot.console.i18n import N_
from bot.console.web import console_headers, page_language, redirect, render
from bot.handoffs import casework
from bot.handoffs.canned import canned_replies
from bot.handoffs.casework import OUTCOMES, PRIORITIES, STATUS_VIEWS, CaseError, CaseFilters
from bot.http import runtime_of
from bot.storage.models import Contact, Registration

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

# The live stream re-checks the session (signed out, expired, disabled) at least this often,
# busy or not, and after at most this many events; a quiet interval also sends a keep-alive.
SESSION_CHECK_SECONDS = 15.0
SESSION_CHECK_EVENTS = 50
NOTICES = {
    "password": N_("Your password is changed."),
    "closed": N_("The case is closed; the bot answers this person again."),
    "snoozed": N_("The case is snoozed; it comes back when the person writes or the time comes."),
}


async def _choices(runtime: Runtime) -> dict[str, list[str]]:
    """Values for the queue's filters: what exists in the records."""
    async with runtime.db.session() as session:
        channels = await session.scalars(select(Contact.channel).distinct())
        contact_cities = await session.scalars(
            select(Contact.city).where(Contact.city.is_not(None)).distinct()
        )
        registration_cities = await session.scalars(
            select(Registration.city).where(Registration.city.is_not(None)).distinct()
        )
        return {
            "channels": sorted(c for c in channels if c),
            "cities": sorted({*contact_cities, *registration_cities} - {None, ""}),
        }


Filter = Annotated[str | None, Query(max_length=32)]


@router.get("")
async def queue_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_operator)],
    language: Filter = None,
    priority: Filter = None,
    channel: Filter = None,
    city: Filter = None,
    assigned: Filter = None,
    status: Filter = None,
    notice: Filter = None,
) -> Response:
    runtime = runtime_of(request)
    filters = CaseFilters.from_query(language, priority, channel, city, assigned, status)
    rows = await casework.list_cases(runtime, filters, principal)
    choices = await _choices(runtime)
    return render(
        request,
        "queue.html",
        principal,
        rows=rows,
        filters=filters,
        priorities=PRIORITIES,
        statuses=STATUS_VIEWS,
        notice=NOTICES.get(notice or ""),
        channels=choices["channels"],
        cities=choices["cities"],
    )


# -- live events -------------------------------------------------------------------------------
async def still_signed_in(request: Request, principal: Principal) -> bool:
    """Is the stream's session still valid (not signed out, expired or disabled)?"""
    try:
        still = await current_principal(request, touch=False)
    except HTTPException:
        return False
    return still is not None and still.operator_id == principal.operator_id


@router.get("/events")
async def events(
    request: Request, principal: Annotated[Principal, Depends(require_operator)]
) -> StreamingResponse:
    """Server-sent events: kinds and ids only; pages fetch the records they show."""
    runtime = runtime_of(request)

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        async with runtime.events.subscription() as queue:
            yield "retry: 2000\n: connected\n\n"
            checked_at, since_check = loop.time(), 0
            while True:
                left = checked_at + SESSION_CHECK_SECONDS - loop.time()
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=max(0.0, left))
                except TimeoutError:
                    event = None
                if (
                    event is None
                    or since_check >= SESSION_CHECK_EVENTS
                    or loop.time() - checked_at >= SESSION_CHECK_SECONDS
                ):
                    # checked before the event goes out: a removed operator gets no more
                    if not await still_signed_in(request, principal):
                        yield "event: signed-out\ndata: {}\n\n"
                        return
                    checked_at, since_check = loop.time(), 0
                if event is None:
                    yield ": keep-alive\n\n"
                    continue
                if event.kind.startswith("internal."):  # between processes, not for pages
                    continue
                since_check += 1
                yield f"event: {event.kind}\ndata: {event.to_json()}\n\n"

    response = StreamingResponse(stream(), media_type="text/event-stream")
    response.headers["x-accel-buffering"] = "no"  # proxies must not hold events back
    console_headers(response)
    return response


# -- starting a case ---------------------------------------------------------------------------
@router.get("/cases/new")
async def new_case_page(
    request: Request, principal: Annotated[Principal, Depends(require_operator)]
) -> Response:
    choices = await _choices(runtime_of(request))
    return render(
        request,
        "new_case.html",
        principal,
        priorities=PRIORITIES,
        channels=choices["channels"],
        cities=choices["cities"],
    )


@router.post("/cases/new")
async def new_case(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    channel: Annotated[str, Form(max_length=32)],
    address: Annotated[str, Form(max_length=128)],
    priority: Annotated[str, Form(max_length=16)] = "normal",
    language: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    runtime = runtime_of(request)
    try:
        handoff_id, _ = await casework.open_for_contact(
            runtime, principal, channel, address, priority=priority, language=language or None
        )
    except CaseError as exc:
        choices = await _choices(runtime)
        return render(
            request,
            "new_case.html",
            principal,
            priorities=PRIORITIES,
            error=str(exc),
            status_code=exc.status,
            channels=choices["channels"],
            cities=choices["cities"],
        )
    return redirect(f"/console/cases/{handoff_id}")


# -- one case ----------------------------------------------------------------------------------
async def case_page(
    request: Request,
    principal: Principal,
    handoff_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
    revealed_address: str | None = None,
    notice: str | None = None,
) -> Response:
    runtime = runtime_of(request)
    detail = await casework.case_detail(runtime, handoff_id)
    if detail is None:
        raise HTTPException(404, detail="no such case")
    language = detail.language or detail.contact.language
    canned_language = language if runtime.catalogs.supports(language) else None
    values = casework.canned_values(runtime, principal, canned_language or "en")
    operators = (
        await Accounts(runtime.db).operators(active_only=True)
        if principal.at_least("supervisor")
        else []
    )
    return render(
        request,
        "case.html",
        principal,
        case=detail,
        canned=canned_replies(
            runtime.catalogs, canned_language, reader=page_language(request, principal), **values
        ),
        outcomes=OUTCOMES,
        operators=operators,
        error=error,
        notice=notice,
        status_code=status_code,
        revealed_address=revealed_address,
        alerts=await runtime.handoffs.alerts.for_case(handoff_id),
        alerts_configured=await runtime.handoffs.alerts.configured(),
    )


@router.get("/cases/{handoff_id}")
async def case_view(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(require_operator)],
    notice: Filter = None,
) -> Response:
    return await case_page(request, principal, handoff_id, notice=NOTICES.get(notice or ""))


async def _act(
    request: Request,
    principal: Principal,
    handoff_id: int,
    action: Awaitable[Any],
    *,
    done: str | None = None,
) -> Response:
    """Runs an action on the case; back to its page, or the page with the reason it failed."""
    try:
        await action
    except CaseError as exc:
        if exc.status == 404:
            raise HTTPException(404, detail=str(exc)) from exc
        return await case_page(
            request, principal, handoff_id, error=str(exc), status_code=exc.status
        )
    suffix = f"?notice={done}" if done else ""
    return redirect(f"/console/cases/{handoff_id}{suffix}")


@router.post("/cases/{handoff_id}/claim")
async def claim(
    request: Request, handoff_id: int, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    runtime = runtime_of(request)
    return await _act(
        request, principal, handoff_id, casework.claim(runtime, principal, handoff_id)
    )


@router.post("/cases/{handoff_id}/assign")
async def assign(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(supervisor_form)],
    operator_id: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    runtime = runtime_of(request)
    target = int(operator_id) if operator_id.isdigit() else None
    return await _act(
        request, principal, handoff_id, casework.assign(runtime, principal, handoff_id, target)
    )


@router.post("/cases/{handoff_id}/reply")
async def reply(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    runtime = runtime_of(request)
    return await _act(
        request, principal, handoff_id, casework.reply(runtime, principal, handoff_id, text)
    )


@router.post("/cases/{handoff_id}/canned")
async def canned(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    name: Annotated[str, Form(max_length=64)],
    language: Annotated[str | None, Form(max_length=16)] = None,
) -> Response:
    runtime = runtime_of(request)
    return await _act(
        request,
        principal,
        handoff_id,
        casework.send_canned(runtime, principal, handoff_id, name, language or None),
    )


@router.post("/cases/{handoff_id}/note")
async def note(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    runtime = runtime_of(request)
    return await _act(
        request, principal, handoff_id, casework.note(runtime, principal, handoff_id, text)
    )


def parse_local_time(value: str, timezone: str) -> datetime:
    """A datetime-local field ("2025-03-01T14:30") in the operators' time zone."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


@router.post("/cases/{handoff_id}/snooze")
async def snooze(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    until: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    runtime = runtime_of(request)
    moment = None
    if until.strip():
        try:
            moment = parse_local_time(until.strip(), runtime.settings.operator_timezone)
        except ValueError:
            return await case_page(
                request,
                principal,
                handoff_id,
                status_code=422,
                error=N_("The snooze time is not a valid date and time."),
            )
    return await _act(
        request,
        principal,
        handoff_id,
        casework.snooze(runtime, principal, handoff_id, moment),
        done="snoozed",
    )


@router.post("/cases/{handoff_id}/close")
async def close(
    request: Request,
    handoff_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    outcome: Annotated[str, Form(max_length=32)],
) -> Response:
    runtime = runtime_of(request)
    return await _act(
        request,
        principal,
        handoff_id,
        casework.close(runtime, principal, handoff_id, outcome),
        done="closed",
    )


@router.post("/cases/{handoff_id}/address")
async def reveal_address(
    request: Request, handoff_id: int, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    """Shows the full address on the page (for calling back); audited."""
    runtime = runtime_of(request)
    try:
        address = await casework.reveal_address(runtime, principal, handoff_id)
    except CaseError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    return await case_page(request, principal, handoff_id, revealed_address=address)
