"""/api/v1 registrations: list and search, one registration, edits, the case stage, and
embassy lists (CSV). The same roles as the console: operators read, search and edit;
supervisors set stages and export.

Searching by name or phone is a POST with a JSON body, so personal data stays out of URLs
(and so out of access logs)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bot import registrations
from bot.access import (
    Principal,
    audit,
    operator_form,
    require_operator,
    require_supervisor,
    supervisor_form,
)
from bot.http import attachment, runtime_of
from bot.registrations import (
    ExportQuery,
    RegistrationDetail,
    RegistrationEdit,
    RegistrationPage,
    RegistrationQuery,
    StageChange,
    StageResult,
)

router = APIRouter(prefix="/api/v1", tags=["registrations"])


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(runtime_of(request).settings.operator_timezone)


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    pages: int
    name_scan_truncated: bool = Field(
        description="A name was matched only among the newest registrations the other "
        "filters selected (names are encrypted); narrow the filters to be complete"
    )


def _page(result: RegistrationPage) -> PageOut:
    return PageOut(
        items=[item.__dict__ for item in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
        name_scan_truncated=result.name_scan_truncated,
    )


@router.get("/registrations", response_model=PageOut)
async def list_registrations(
    request: Request,
    principal: Annotated[Principal, Depends(require_operator)],
    reference: str | None = None,
    nationality: Annotated[str | None, Query(description="ISO 3166 alpha-2")] = None,
    city: str | None = None,
    stage: str | None = None,
    priority: str | None = None,
    needs_review: bool | None = None,
    date_from: Annotated[date | None, Query(description="Registered on or after")] = None,
    date_to: Annotated[date | None, Query(description="Registered on or before")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=registrations.MAX_PER_PAGE)] = 50,
) -> PageOut:
    """Registrations, newest first, by the filters that are not personal data."""
    raw = {
        "reference": reference,
        "nationality": nationality,
        "city": city,
        "stage": stage,
        "priority": priority,
        "needs_review": None if needs_review is None else str(needs_review),
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    return await _search(request, raw, page, per_page)


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, max_length=32)
    reference: str | None = None
    nationality: str | None = None
    city: str | None = None
    stage: str | None = None
    priority: str | None = None
    needs_review: bool | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=50, ge=1, le=registrations.MAX_PER_PAGE)


@router.post("/registrations/search", response_model=PageOut)
async def search_registrations(
    request: Request,
    principal: Annotated[Principal, Depends(operator_form)],
    body: SearchBody,
) -> PageOut:
    """Search including name (matched after decryption) and phone (by its keyed hash)."""
    raw = body.model_dump(exclude={"page", "per_page"})
    for key in ("date_from", "date_to"):
        raw[key] = raw[key].isoformat() if raw[key] else None
    if raw["needs_review"] is not None:
        raw["needs_review"] = str(raw["needs_review"])
    result = await _search(request, raw, body.page, body.per_page)
    if body.name or body.phone:
        await audit(
            runtime_of(request),
            principal,
            "registration.search",
            None,
            by=[k for k in ("name", "phone") if raw.get(k)],
            results=result.total,
        )
    return result


async def _search(request: Request, raw: dict[str, Any], page: int, per_page: int) -> PageOut:
    zone = _zone(request)
    query = RegistrationQuery.parse(raw, zone)
    runtime = runtime_of(request)
    return _page(await registrations.search(runtime.db, query, zone, page=page, per_page=per_page))


async def _detail(request: Request, principal: Principal, registration_id: int) -> dict[str, Any]:
    runtime = runtime_of(request)
    detail: RegistrationDetail = await registrations.get_registration(runtime.db, registration_id)
    await audit(runtime, principal, "registration.viewed", detail.reference)
    return detail.as_json()


@router.get("/registrations/{registration_id}")
async def get_registration(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(require_operator)],
) -> dict[str, Any]:
    """Every field, vulnerability flags, family and the history of changes."""
    return await _detail(request, principal, registration_id)


@router.patch("/registrations/{registration_id}")
async def edit_registration(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
    edit: RegistrationEdit,
) -> dict[str, Any]:
    """Change the given fields (null clears one); each change is kept in the history."""
    changed = await registrations.edit_registration(
        runtime_of(request).db, registration_id, edit, principal.operator_id
    )
    return {"changed": changed, "registration": await _detail(request, principal, registration_id)}


class StageOut(BaseModel):
    stage: str
    flight_date: date | None
    changed: bool
    notification: Literal["queued", "opted_out", "no_channel", "unchanged"]
    channel: str | None
    message_id: int | None


@router.post("/registrations/{registration_id}/stage", response_model=StageOut)
async def set_stage(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(supervisor_form)],
    change: Annotated[StageChange, Body()],
) -> StageOut:
    """Set the case stage; the person is told in their language (not when opted out)."""
    result: StageResult = await registrations.set_stage(
        runtime_of(request), registration_id, change, principal.operator_id
    )
    return StageOut(**result.__dict__)


@router.get(
    "/exports/embassy.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM"}},
)
async def embassy_export(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    nationality: Annotated[str, Query(description="ISO 3166 alpha-2, e.g. NG")],
    date_from: Annotated[date, Query(description="Registered on or after")],
    date_to: Annotated[date, Query(description="Registered on or before")],
    stage: str | None = None,
) -> Response:
    """An embassy list for nationality screening (audited: who, filters, row count)."""
    raw = {
        "nationality": nationality,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "stage": stage,
    }
    zone = _zone(request)
    query = ExportQuery.parse(raw, zone)
    db = runtime_of(request).db
    _, last_id = await registrations.start_export(db, query, zone, principal.operator_id)
    csv = registrations.embassy_csv(db, query, zone, last_id)
    return attachment(csv, registrations.CSV_TYPE, query.filename())
