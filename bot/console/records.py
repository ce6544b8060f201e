"""Console pages for registrations: the list and search, one registration with its history,
editing (operators), the case stage (supervisors) and embassy lists (supervisors).

Searching by name or phone is a POST, so personal data never lands in URLs (access logs,
browser history); the other filters are plain GET links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bot import registrations
from bot.access import (
    Principal,
    audit,
    operator_form,
    require_operator,
    require_supervisor,
    supervisor_form,
)
from bot.console.i18n import N_
from bot.console.web import console_headers, redirect, render
from bot.http import attachment, runtime_of
from bot.registrations import (
    EXPORT_COLUMNS,
    PRIORITIES,
    SEXES,
    VULNERABILITY_FLAGS,
    ExportQuery,
    NotFound,
    RecordError,
    RegistrationEdit,
    RegistrationQuery,
    StageChange,
)
from flows.case_status import STAGES
from flows.registration import DOCUMENTS

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

# Filters that may appear in a URL (no personal data)
LINK_FILTERS = (
    "reference", "nationality", "city", "stage", "priority", "needs_review", "date_from", "date_to",
)  # fmt: skip
PERSONAL_FILTERS = ("name", "phone")
EDIT_TEXT_FIELDS = (
    "full_name", "country", "age", "birth_year", "sex", "phone", "city", "detention_place",
    "document", "passport_number", "priority",
)  # fmt: skip
EDIT_CHECKBOXES = ("detained", "needs_review")


def timezone_of(request: Request) -> ZoneInfo:
    return ZoneInfo(runtime_of(request).settings.operator_timezone)


def choices() -> dict[str, Any]:
    """The vocabularies forms offer."""
    return {
        "countries": registrations.country_choices(),
        "country_options": [
            (code, f"{name} ({code})") for code, name in registrations.country_choices()
        ],
        "cities": registrations.canonical_cities(),
        "stages": STAGES,
        "priorities": PRIORITIES,
        "sexes": SEXES,
        "documents": DOCUMENTS,
        "flags": VULNERABILITY_FLAGS,
        "country_name": registrations.country_name,
    }


def local_time(request: Request) -> Any:
    zone = timezone_of(request)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return when


def field_errors(exc: ValidationError) -> dict[str, str]:
    return {
        str(error["loc"][0]) if error["loc"] else "form": error["msg"].removeprefix("Value error, ")
        for error in exc.errors()
    }


# -- the list ---------------------------------------------------------------------------------


async def _list_page(
    request: Request,
    principal: Principal,
    raw: dict[str, str],
    *,
    page: int,
    personal: bool,
) -> Response:
    runtime = runtime_of(request)
    zone = timezone_of(request)
    form = {k: raw.get(k, "") for k in (*LINK_FILTERS, *PERSONAL_FILTERS)}
    try:
        query = RegistrationQuery.parse(raw, zone)
    except RecordError as exc:
        return render(
            request,
            "registrations.html",
            principal,
            status_code=422,
            form=form,
            errors=exc.errors,
            result=None,
            personal=personal,
            link_query="",
            when=local_time(request),
            **choices(),
        )
    result = await registrations.search(runtime.db, query, zone, page=page)
    if personal:  # who looked for which kind of person, never the name or number itself
        await audit(
            runtime,
            principal,
            "registration.search",
            None,
            by=[k for k in PERSONAL_FILTERS if raw.get(k)],
            results=result.total,
        )
    link = {k: v for k, v in raw.items() if k in LINK_FILTERS and v}
    return render(
        request,
        "registrations.html",
        principal,
        form=form,
        errors={},
        result=result,
        personal=personal,
        link_query=urlencode(link),
        when=local_time(request),
        **choices(),
    )


@router.get("/registrations")
async def registrations_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_operator)],
    page: int = 1,
) -> Response:
    raw = {k: v for k, v in request.query_params.items() if k in LINK_FILTERS}
    return await _list_page(request, principal, raw, page=page, personal=False)


@router.post("/registrations")
async def search_registrations(
    request: Request, principal: Annotated[Principal, Depends(operator_form)]
) -> Response:
    """The search form. Without a name or phone it becomes a shareable GET link."""
    form = await request.form()
    raw = {k: str(form.get(k) or "").strip() for k in (*LINK_FILTERS, *PERSONAL_FILTERS)}
    try:
        page = max(1, int(str(form.get("page") or "1")))
    except ValueError:
        page = 1
    if not any(raw[k] for k in PERSONAL_FILTERS):
        link = urlencode({k: v for k, v in raw.items() if v})
        return redirect("/console/registrations" + (f"?{link}" if link else ""))
    return await _list_page(request, principal, raw, page=page, personal=True)


# -- embassy lists (before /registrations/{id} so "export" is not taken for an id) --------


@router.get("/registrations/export")
async def export_page(
    request: Request, principal: Annotated[Principal, Depends(require_supervisor)]
) -> Response:
    return render(
        request,
        "registrations_export.html",
        principal,
        form={},
        errors={},
        columns=EXPORT_COLUMNS,
        **choices(),
    )


@router.post("/registrations/export")
async def export_csv(
    request: Request, principal: Annotated[Principal, Depends(supervisor_form)]
) -> Response:
    form = await request.form()
    raw = {
        k: str(form.get(k) or "").strip() for k in ("nationality", "date_from", "date_to", "stage")
    }
    zone = timezone_of(request)
    try:
        query = ExportQuery.parse(raw, zone)
    except RecordError as exc:
        return render(
            request,
            "registrations_export.html",
            principal,
            status_code=422,
            form=raw,
            errors=exc.errors,
            columns=EXPORT_COLUMNS,
            **choices(),
        )
    return await stream_export(request, query, principal)


async def stream_export(request: Request, query: ExportQuery, principal: Principal) -> Response:
    """Audit, then stream the CSV."""
    db = runtime_of(request).db
    zone = timezone_of(request)
    _, last_id = await registrations.start_export(db, query, zone, principal.operator_id)
    csv = registrations.embassy_csv(db, query, zone, last_id)
    return console_headers(attachment(csv, registrations.CSV_TYPE, query.filename()))


# -- one registration -----------------------------------------------------------------------


async def _detail_page(
    request: Request,
    principal: Principal,
    registration_id: int,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    runtime = runtime_of(request)
    try:
        detail = await registrations.get_registration(runtime.db, registration_id)
    except NotFound:
        return render(request, "registration.html", principal, status_code=404, detail=None,
                      error=N_("No such registration."))  # fmt: skip
    await audit(runtime, principal, "registration.viewed", detail.reference)
    context.setdefault("form", {})
    context.setdefault("errors", {})
    context.setdefault("stage_errors", {})
    return render(
        request,
        "registration.html",
        principal,
        status_code=status_code,
        detail=detail,
        when=local_time(request),
        can_set_stage=principal.at_least("supervisor"),
        **choices(),
        **context,
    )


@router.get("/registrations/{registration_id}")
async def registration_page(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(require_operator)],
) -> Response:
    notice = {
        "saved": N_("Saved."),
        "unchanged": N_("Nothing was changed."),
        "queued": N_("Stage set; the person is being told in their language."),
        "opted_out": N_("Stage set; the person opted out of messages and was not told."),
        "no_channel": N_("Stage set; there is no way to reach the person, so they were not told."),
    }.get(request.query_params.get("done", ""))
    return await _detail_page(request, principal, registration_id, notice=notice)


def edit_from_form(form: FormData) -> RegistrationEdit:
    """The edit form as a RegistrationEdit: empty text means "clear", checkboxes are bools."""
    data: dict[str, Any] = {}
    for name in EDIT_TEXT_FIELDS:
        if name in form:
            data[name] = str(form.get(name) or "").strip() or None
    for name in EDIT_CHECKBOXES:
        data[name] = form.get(name) == "on"
    data["vulnerabilities"] = [str(v) for v in form.getlist("vulnerabilities")]
    return RegistrationEdit(**data)


@router.post("/registrations/{registration_id}")
async def edit_registration(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(operator_form)],
) -> Response:
    form = await request.form()
    shown = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        edit = edit_from_form(form)
        changed = await registrations.edit_registration(
            runtime_of(request).db, registration_id, edit, principal.operator_id
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except RecordError as exc:
        errors = exc.errors
    except NotFound:
        return await _detail_page(request, principal, registration_id)
    else:
        done = "saved" if changed else "unchanged"
        return redirect(f"/console/registrations/{registration_id}?done={done}")
    return await _detail_page(
        request, principal, registration_id, status_code=422, form=shown, errors=errors,
        error=N_("Not saved: please correct the marked fields."),
    )  # fmt: skip


@router.post("/registrations/{registration_id}/stage")
async def set_stage(
    request: Request,
    registration_id: int,
    principal: Annotated[Principal, Depends(supervisor_form)],
) -> Response:
    form = await request.form()
    try:
        # the form's date is text: validation parses it as the API's JSON would
        change = StageChange.model_validate(
            {
                "stage": str(form.get("stage") or ""),
                "flight_date": str(form.get("flight_date") or "").strip() or None,
            }
        )
        result = await registrations.set_stage(
            runtime_of(request), registration_id, change, principal.operator_id
        )
    except ValidationError as exc:
        errors = field_errors(exc)
    except NotFound:
        return await _detail_page(request, principal, registration_id)
    else:
        return redirect(f"/console/registrations/{registration_id}?done={result.notification}")
    return await _detail_page(
        request, principal, registration_id, status_code=422, stage_errors=errors,
        error=N_("The stage was not changed: please correct the marked fields."),
    )  # fmt: skip
