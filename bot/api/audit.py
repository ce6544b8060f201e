"""GET /api/v1/audit: the audit trail for supervisors (read-only; there is no write route)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from bot.access import Principal, require_supervisor
from bot.audit import PAGE_SIZE, AuditFilter, read_audit
from bot.http import runtime_of

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    created_at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


class AuditPageOut(BaseModel):
    events: list[AuditEventOut]
    total: int
    page: int
    pages: int


@router.get("/audit", response_model=AuditPageOut)
async def audit_events(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    actor: Annotated[str | None, Query(max_length=64, description="e.g. operator:12")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description='exact, or a group ending in "."')
    ] = None,
    date_from: Annotated[date | None, Query(description="on or after (local date)")] = None,
    date_to: Annotated[date | None, Query(description="on or before")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> AuditPageOut:
    """Newest first, 50 a page. Records and field names only, never personal values."""
    runtime = runtime_of(request)
    zone = ZoneInfo(runtime.settings.operator_timezone)
    result = await read_audit(
        runtime.db, AuditFilter(actor or None, action or None, date_from, date_to), zone,
        page=page, size=PAGE_SIZE,
    )  # fmt: skip
    return AuditPageOut(
        events=[AuditEventOut(**asdict(row)) for row in result.rows],
        total=result.total,
        page=result.page,
        pages=result.pages,
    )
