"""Console pages for broadcasts (supervisors): compose in every language, preview with the
count of people reached, send once, and follow delivery."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bot import broadcasts
from bot.access import Principal, new_secret, require_supervisor, supervisor_form
from bot.broadcasts import Segment
from bot.console.i18n import N_
from bot.console.records import choices, field_errors, local_time
from bot.console.web import redirect, render
from bot.http import runtime_of
from bot.registrations import RecordError

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


def _languages(request: Request) -> list[dict[str, str]]:
    catalogs = runtime_of(request).catalogs
    return [
        {
            "code": code,
            "name": catalogs.info(code).native_name,
            "direction": catalogs.direction(code),
        }
        for code in catalogs.languages
    ]


def _read_form(form: FormData, languages: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    texts = {lang: str(form.get(f"text_{lang}") or "") for lang in languages}
    segment = {k: str(form.get(k) or "").strip() for k in ("nationality", "city", "stage")}
    return texts, segment


async def _compose(
    request: Request,
    principal: Principal,
    *,
    texts: dict[str, str] | None = None,
    segment: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: broadcasts.Preview | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "broadcast_new.html",
        principal,
        status_code=status_code,
        broadcast_languages=_languages(request),
        texts=texts or {},
        segment=segment or {},
        errors=errors or {},
        preview=preview,
        idempotency_key=new_secret() if preview else "",
        max_chars=broadcasts.MAX_TEXT_CHARS,
        default_language=runtime_of(request).settings.default_language,
        **choices(),
    )


@router.get("/broadcasts")
async def broadcasts_page(
    request: Request, principal: Annotated[Principal, Depends(require_supervisor)]
) -> Response:
    items = await broadcasts.list_broadcasts(runtime_of(request))
    return render(request, "broadcasts.html", principal, items=items, when=local_time(request))


@router.get("/broadcasts/new")
async def new_broadcast(
    request: Request, principal: Annotated[Principal, Depends(require_supervisor)]
) -> Response:
    return await _compose(request, principal)


def _checked(
    request: Request, texts: dict[str, str], raw_segment: dict[str, str]
) -> tuple[dict[str, str], Segment | None, dict[str, str]]:
    errors: dict[str, str] = {}
    clean: dict[str, str] = texts
    segment: Segment | None = None
    try:
        clean = broadcasts.check_texts(texts, runtime_of(request).catalogs.languages)
    except RecordError as exc:
        errors |= exc.errors
    try:
        segment = Segment(**{k: v or None for k, v in raw_segment.items()})
    except ValidationError as exc:
        errors |= field_errors(exc)
    return clean, segment, errors


@router.post("/broadcasts/preview")
async def preview_broadcast(
    request: Request, principal: Annotated[Principal, Depends(supervisor_form)]
) -> Response:
    runtime = runtime_of(request)
    texts, raw_segment = _read_form(await request.form(), runtime.catalogs.languages)
    clean, segment, errors = _checked(request, texts, raw_segment)
    if errors or segment is None:
        return await _compose(
            request, principal, texts=texts, segment=raw_segment, errors=errors, status_code=422
        )
    preview = await broadcasts.preview(runtime, segment)
    return await _compose(request, principal, texts=clean, segment=raw_segment, preview=preview)


@router.post("/broadcasts")
async def send_broadcast(
    request: Request, principal: Annotated[Principal, Depends(supervisor_form)]
) -> Response:
    runtime = runtime_of(request)
    form = await request.form()
    texts, raw_segment = _read_form(form, runtime.catalogs.languages)
    clean, segment, errors = _checked(request, texts, raw_segment)
    key = str(form.get("idempotency_key") or "")
    if not key:
        errors["idempotency_key"] = "missing; preview the broadcast first"
    if errors or segment is None:
        return await _compose(
            request, principal, texts=texts, segment=raw_segment, errors=errors, status_code=422
        )
    created = await broadcasts.send_broadcast(
        runtime,
        operator_id=principal.operator_id,
        texts=clean,
        segment=segment,
        idempotency_key=key,
    )
    return redirect(f"/console/broadcasts/{created.broadcast_id}")


@router.get("/broadcasts/{broadcast_id}")
async def broadcast_page(
    request: Request,
    broadcast_id: int,
    principal: Annotated[Principal, Depends(require_supervisor)],
) -> Response:
    item = await broadcasts.get_broadcast(runtime_of(request), broadcast_id)
    context: dict[str, Any] = {"item": item, "when": local_time(request)}
    if item is None:
        return render(
            request,
            "broadcast.html",
            principal,
            status_code=404,
            error=N_("No such broadcast."),
            **context,
        )
    return render(
        request, "broadcast.html", principal, broadcast_languages=_languages(request), **context
    )
