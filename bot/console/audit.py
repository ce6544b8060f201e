"""The audit trail, read-only: supervisors filter it by actor, action and date.

Events are written by the actions themselves (`bot.access.audit`, or an AuditEvent in
the action's own transaction). Nothing here, nor any other route, changes or deletes them:
this module only reads (a test walks every route and the source to hold that).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from bot.access import Principal, require_supervisor
from bot.audit import (
    ACTION_GROUPS,
    AuditFilter,
    actor_names,
    read_audit,
)
from bot.console.i18n import N_
from bot.console.web import NAV, NavItem, render
from bot.http import runtime_of

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
NAV.append(NavItem(N_("Audit"), "/console/audit", "supervisor"))


@router.get("/audit")
async def audit_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    runtime = runtime_of(request)
    zone = ZoneInfo(runtime.settings.operator_timezone)
    query = AuditFilter(actor or None, action or None, date_from, date_to)
    result = await read_audit(runtime.db, query, zone, page=page)
    return render(
        request,
        "audit.html",
        principal,
        result=result,
        query=query,
        link=query.as_query(),
        names=await actor_names(runtime.db),
        actions=ACTION_GROUPS,
    )
