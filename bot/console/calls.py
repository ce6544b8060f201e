"""Calls (/console/calls): callers waiting for an operator now, taking one on your phone, and
the messages callers left to be called back, played through the console.

The page works without scripts (a take is a form post); calls.js refreshes the waiting list
from /console/calls/waiting when the event stream says a caller came or went, and every few
seconds besides. Recordings are fetched from Twilio by the server with the account's
credentials and streamed to signed-in operators: the browser never sees Twilio's URL.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import select

from bot.access import Principal, audit, operator_form, require_operator
from bot.accounts import Accounts
from bot.channels.voice.prompts import language_name
from bot.channels.voice.taking import TakeError, base_url, open_recording, take_call
from bot.console.i18n import N_
from bot.console.web import NAV, NavItem, console_headers, redirect, render
from bot.http import runtime_of
from bot.storage.models import ACTIVE_HANDOFF, Call, Handoff, as_utc, utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

NAV.insert(1, NavItem(N_("Calls"), "/console/calls", "operator"))
NOTICES = {"ringing": N_("Your phone is ringing: answer it to talk with the caller.")}
MAX_CALLBACKS = 100


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    id: int
    language: str | None
    language_name: str
    queued_at: datetime
    waited_seconds: int
    taken_by: str | None  # the operator whose phone rings for this caller
    handoff_id: int | None


@dataclass(frozen=True, slots=True)
class Callback:
    call_id: int
    handoff_id: int
    language: str | None
    language_name: str
    status: str
    assigned_to: str | None
    left_at: datetime
    seconds: int | None
    playable: bool


def _language_name(code: str | None) -> str:
    return language_name(code, "en") if code else "—"


async def waiting_callers(runtime: Runtime) -> list[WaitingCaller]:
    """Callers in the operators' queue now, longest waiting first."""
    async with runtime.db.session() as session:
        rows = list(
            await session.scalars(
                select(Call)
                .where(
                    Call.queued_at.is_not(None),
                    Call.dequeued_at.is_(None),
                    Call.ended_at.is_(None),
                )
                .order_by(Call.queued_at)
            )
        )
    names = await Accounts(runtime.db).names() if any(r.taken_by_id for r in rows) else {}
    now = utcnow()
    found = []
    for row in rows:
        queued_at = as_utc(row.queued_at) or now
        handoff_id = (row.steps or {}).get("handoff_id")
        found.append(
            WaitingCaller(
                id=row.id,
                language=row.language,
                language_name=_language_name(row.language),
                queued_at=queued_at,
                waited_seconds=max(0, int((now - queued_at).total_seconds())),
                taken_by=names.get(row.taken_by_id) if row.taken_by_id else None,
                handoff_id=handoff_id if isinstance(handoff_id, int) else None,
            )
        )
    return found


async def callbacks(runtime: Runtime) -> list[Callback]:
    """Messages callers left to be called back, whose cases are still active."""
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Handoff, Call)
                .join(Call, Handoff.call_id == Call.id)
                .where(Handoff.reason == "callback", Handoff.status.in_(ACTIVE_HANDOFF))
                .order_by(Handoff.created_at.desc())
                .limit(MAX_CALLBACKS)
            )
        ).all()
    names = await Accounts(runtime.db).names() if rows else {}
    return [
        Callback(
            call_id=call.id,
            handoff_id=handoff.id,
            language=handoff.language,
            language_name=_language_name(handoff.language),
            status=handoff.status,
            assigned_to=names.get(handoff.assigned_to_id or 0),
            left_at=as_utc(handoff.created_at) or utcnow(),
            seconds=call.recording_seconds,
            playable=bool(call.recording_url),
        )
        for handoff, call in rows
    ]


async def _page(
    request: Request,
    principal: Principal,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    return render(
        request,
        "calls.html",
        principal,
        waiting=await waiting_callers(runtime),
        callbacks=await callbacks(runtime),
        has_phone=bool(await Accounts(runtime.db).phone(principal.operator_id)),
        error=error,
        notice=notice,
        status_code=status_code,
    )


@router.get("/calls")
async def calls_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_operator)],
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _page(request, principal, notice=NOTICES.get(notice or ""))


@router.get("/calls/waiting")
async def waiting_json(
    request: Request, principal: Annotated[Principal, Depends(require_operator)]
) -> Response:
    """The waiting list for calls.js: ids, languages and waits, no personal data."""
    rows = await waiting_callers(runtime_of(request))
    body = [{**asdict(row), "queued_at": row.queued_at.isoformat()} for row in rows]
    response = JSONResponse({"waiting": body})
    console_headers(response)
    return response


@router.post("/calls/{call_id}/take")
async def take(
    request: Request, call_id: int, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    runtime = runtime_of(request)
    try:
        await take_call(runtime, principal, call_id, base_url(request, runtime.settings))
    except TakeError as exc:
        return await _page(request, principal, error=str(exc), status_code=exc.status)
    return redirect("/console/calls?notice=ringing")


@router.get("/calls/{call_id}/recording")
async def recording(
    request: Request, call_id: int, principal: Annotated[Principal, Depends(require_operator)]
) -> Response:
    """A call's recording (a message or a name), streamed from Twilio; audited."""
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        url = await session.scalar(select(Call.recording_url).where(Call.id == call_id))
    if not url:
        raise HTTPException(404, detail="this call has no recording")
    try:
        stream = await open_recording(runtime.settings, url)
    except httpx.HTTPError as exc:
        log.warning("voice: recording of call %s not fetched: %s", call_id, type(exc).__name__)
        raise HTTPException(502, detail="Twilio did not give the recording; try again") from exc
    if stream is None:
        raise HTTPException(404, detail="this recording is not one of this Twilio account")
    await audit(runtime, principal, "call.recording", str(call_id))
    response = StreamingResponse(stream.chunks, media_type=stream.media_type)
    console_headers(response)
    return response
