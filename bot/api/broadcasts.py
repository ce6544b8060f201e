"""/api/v1 broadcasts (supervisors): count a segment, send once per idempotency key, follow
delivery."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot import broadcasts
from bot.access import Principal, require_supervisor, supervisor_form
from bot.broadcasts import Segment
from bot.http import runtime_of

router = APIRouter(prefix="/api/v1", tags=["broadcasts"])


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: Segment = Field(default_factory=Segment)


class BroadcastBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: dict[str, str] = Field(description='One text per enabled language: {"en": …}')
    segment: Segment = Field(default_factory=Segment)
    idempotency_key: str = Field(
        min_length=1,
        max_length=128,
        description="Any unique string; repeating a request with it returns the first broadcast",
    )


@router.post("/broadcasts/preview")
async def preview_broadcast(
    request: Request,
    principal: Annotated[Principal, Depends(supervisor_form)],
    body: PreviewBody,
) -> dict[str, Any]:
    """How many people sending would reach now, and why others would be skipped."""
    preview = await broadcasts.preview(runtime_of(request), body.segment)
    return {
        "counts": preview.counts,
        "by_language": preview.by_language,
        "by_channel": preview.by_channel,
    }


@router.post("/broadcasts", status_code=201)
async def create_broadcast(
    request: Request,
    principal: Annotated[Principal, Depends(supervisor_form)],
    body: BroadcastBody,
) -> JSONResponse:
    """Queue the broadcast: 201 when created, 200 with the same broadcast for a repeat."""
    runtime = runtime_of(request)
    created = await broadcasts.send_broadcast(
        runtime,
        operator_id=principal.operator_id,
        texts=body.texts,
        segment=body.segment,
        idempotency_key=body.idempotency_key,
    )
    view = await broadcasts.get_broadcast(runtime, created.broadcast_id)
    assert view is not None
    return JSONResponse(
        {**view.as_json(), "created": created.created}, status_code=201 if created.created else 200
    )


@router.get("/broadcasts")
async def list_broadcasts(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    limit: int = 50,
) -> list[dict[str, Any]]:
    items = await broadcasts.list_broadcasts(runtime_of(request), min(max(limit, 1), 500))
    return [item.as_json() for item in items]


@router.get("/broadcasts/{broadcast_id}")
async def get_broadcast(
    request: Request,
    broadcast_id: int,
    principal: Annotated[Principal, Depends(require_supervisor)],
) -> dict[str, Any]:
    """The broadcast, its counts at sending and live delivery counts from its messages."""
    view = await broadcasts.get_broadcast(runtime_of(request), broadcast_id)
    if view is None:
        raise HTTPException(404, detail="no such broadcast")
    return view.as_json()
