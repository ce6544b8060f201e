"""/api/v1/cases: the queue, a case, and what operators do with it (as the console does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bot.access import Principal, operator_form, require_operator, supervisor_form
from bot.api.models import (
    Address,
    Assign,
    CannedOut,
    CaseOut,
    CaseSummary,
    Close,
    MessageOut,
    NoteCreated,
    NoteIn,
    OpenCase,
    Opened,
    Reply,
    Sent,
    Snooze,
    Typing,
)
from bot.handoffs import casework
from bot.handoffs.canned import canned_replies
from bot.handoffs.casework import CaseFilters
from bot.http import runtime_of

router = APIRouter(prefix="/api/v1", tags=["cases"])

Filter = Annotated[str | None, Query(max_length=32)]
Operator = Annotated[Principal, Depends(require_operator)]
OperatorAction = Annotated[Principal, Depends(operator_form)]


async def _detail(request: Request, handoff_id: int) -> CaseOut:
    runtime = runtime_of(request)
    detail = await casework.case_detail(runtime, handoff_id)
    if detail is None:
        raise HTTPException(404, detail="no such case")
    out = CaseOut.model_validate(detail)
    out.queue_position = await runtime.handoffs.queue_position(handoff_id)
    return out


@router.get("/cases", response_model=list[CaseSummary])
async def list_cases(
    request: Request,
    principal: Operator,
    language: Filter = None,
    priority: Filter = None,
    channel: Filter = None,
    city: Filter = None,
    assigned: Annotated[str | None, Query(description="me | unassigned")] = None,
    status: Annotated[str | None, Query(description="waiting (default) | snoozed | closed")] = None,
) -> list[CaseSummary]:
    """Active cases: emergency > urgent > normal, then the longest waiting first."""
    filters = CaseFilters.from_query(language, priority, channel, city, assigned, status)
    rows = await casework.list_cases(runtime_of(request), filters, principal)
    return [CaseSummary.model_validate(row) for row in rows]


@router.post("/cases", response_model=Opened, status_code=201)
async def open_case(request: Request, body: OpenCase, principal: OperatorAction) -> Opened:
    """Start a case for a contact found by channel and address (the bot goes silent)."""
    handoff_id, created = await casework.open_for_contact(
        runtime_of(request),
        principal,
        body.channel,
        body.address,
        priority=body.priority,
        language=body.language,
    )
    return Opened(id=handoff_id, created=created)


@router.get("/cases/{handoff_id}", response_model=CaseOut)
async def get_case(request: Request, handoff_id: int, principal: Operator) -> CaseOut:
    return await _detail(request, handoff_id)


@router.get("/cases/{handoff_id}/messages", response_model=list[MessageOut])
async def case_messages(
    request: Request,
    handoff_id: int,
    principal: Operator,
    after: Annotated[int, Query(ge=0, description="Only messages with a larger id")] = 0,
) -> list[MessageOut]:
    runtime = runtime_of(request)
    contact = await casework.contact_of(runtime, handoff_id)
    if contact is None:
        raise HTTPException(404, detail="no such case")
    messages = await casework.case_messages(runtime, contact.id, after=after)
    return [MessageOut.model_validate(m) for m in messages]


@router.post(
    "/cases/{handoff_id}/claim",
    response_model=CaseOut,
    responses={409: {"description": "Closed, or already taken by another operator"}},
)
async def claim(request: Request, handoff_id: int, principal: OperatorAction) -> CaseOut:
    """Take a case nobody holds (or you hold). A case another operator holds is refused with
    409 ("already taken by …"); supervisors move cases with /assign."""
    await casework.claim(runtime_of(request), principal, handoff_id)
    return await _detail(request, handoff_id)


@router.post("/cases/{handoff_id}/assign", response_model=CaseOut)
async def assign(
    request: Request,
    handoff_id: int,
    body: Assign,
    principal: Annotated[Principal, Depends(supervisor_form)],
) -> CaseOut:
    await casework.assign(runtime_of(request), principal, handoff_id, body.operator_id)
    return await _detail(request, handoff_id)


@router.post("/cases/{handoff_id}/reply", response_model=Sent, status_code=201)
async def reply(request: Request, handoff_id: int, body: Reply, principal: OperatorAction) -> Sent:
    """Free text, or a canned reply by name (sent in the person's language)."""
    runtime = runtime_of(request)
    if (body.text is None) == (body.canned is None):
        raise HTTPException(422, detail="send either text or canned")
    if body.canned is not None:
        message_id = await casework.send_canned(
            runtime, principal, handoff_id, body.canned, body.language
        )
    else:
        message_id = await casework.reply(runtime, principal, handoff_id, body.text or "")
    return Sent(message_id=message_id)


@router.post("/cases/{handoff_id}/note", response_model=NoteCreated, status_code=201)
async def note(
    request: Request, handoff_id: int, body: NoteIn, principal: OperatorAction
) -> NoteCreated:
    note_id = await casework.note(runtime_of(request), principal, handoff_id, body.text)
    return NoteCreated(note_id=note_id)


@router.post("/cases/{handoff_id}/snooze", response_model=CaseOut)
async def snooze(
    request: Request, handoff_id: int, body: Snooze, principal: OperatorAction
) -> CaseOut:
    await casework.snooze(runtime_of(request), principal, handoff_id, body.until)
    return await _detail(request, handoff_id)


@router.post("/cases/{handoff_id}/close", response_model=CaseOut)
async def close(
    request: Request, handoff_id: int, body: Close, principal: OperatorAction
) -> CaseOut:
    """Close with an outcome: the person is told, in their language, that the bot is back."""
    await casework.close(runtime_of(request), principal, handoff_id, body.outcome)
    return await _detail(request, handoff_id)


@router.post("/cases/{handoff_id}/typing", response_model=Typing)
async def typing(request: Request, handoff_id: int, principal: OperatorAction) -> Typing:
    """The operator is writing: other operators on the case see it (and Telegram users)."""
    shown = await casework.typing(runtime_of(request), principal, handoff_id)
    return Typing(shown_to_person=shown)


@router.post("/cases/{handoff_id}/address", response_model=Address)
async def reveal_address(request: Request, handoff_id: int, principal: OperatorAction) -> Address:
    """The contact's full address, for calling back. Every look is audited."""
    address = await casework.reveal_address(runtime_of(request), principal, handoff_id)
    return Address(address=address)


@router.get("/canned", response_model=list[CannedOut])
async def canned(
    request: Request,
    principal: Operator,
    language: Annotated[str | None, Query(max_length=16)] = None,
) -> list[CannedOut]:
    """Canned replies in a language, each with its English text."""
    runtime = runtime_of(request)
    code = language if runtime.catalogs.supports(language) else None
    values = casework.canned_values(runtime, principal, code or runtime.catalogs.default_language)
    return [
        CannedOut.model_validate(item) for item in canned_replies(runtime.catalogs, code, **values)
    ]
