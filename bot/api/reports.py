"""/api/v1 reports (supervisors): the numbers behind the console's charts, as JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from bot.access import Principal, require_supervisor
from bot.http import runtime_of
from bot.reports import build_report, report_range

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/reports")
async def get_report(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    date_from: Annotated[date | None, Query(description="First day (default: 30 days ago)")] = None,
    date_to: Annotated[date | None, Query(description="Last day (default: today)")] = None,
) -> dict[str, Any]:
    """Conversations and calls by day, channel and language; people by sex and nationality;
    registrations by nationality, city and stage; handoff waiting and first-response times
    (median and 90th percentile, minutes) by day. Days are in the operators' time zone."""
    runtime = runtime_of(request)
    zone = ZoneInfo(runtime.settings.operator_timezone)
    try:
        dates = report_range(
            date_from.isoformat() if date_from else None,
            date_to.isoformat() if date_to else None,
            zone,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    report = await build_report(runtime.db, dates, zone)
    return report.as_json()
