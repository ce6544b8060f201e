"""The voice studio (supervisors): record the voice line's prompts in languages Twilio cannot
speak, in the browser or by uploading a file, and see how complete each language is.

GET  /console/studio                        languages to record, how complete each is
GET  /console/studio/{lang}                 every prompt: its text, recorded or missing
POST /console/studio/{lang}/{key}           a recording (multipart field `audio`); JSON for
                                            the page's script, a redirect for the plain form
POST /console/studio/{lang}/{key}/delete    remove the studio's recording of a prompt

A new recording is converted to MP3 and stored in the data directory (see
bot/channels/voice/studio.py); the voice line plays it on its next request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from bot.access import Principal, audit, require_supervisor, supervisor_form
from bot.channels.voice.ivr import MAX_COUNTRIES, service_directory
from bot.channels.voice.prompts import AUDIO_PATH
from bot.channels.voice.studio import (
    MAX_UPLOAD_BYTES,
    SECTIONS,
    AudioRejected,
    Needed,
    Studio,
    has_voice,
    languages_to_record,
    recordings_dir,
    to_mp3,
)
from bot.console.i18n import N_
from bot.console.web import console_headers, redirect, render
from bot.http import runtime_of
from flows.registration import vocabulary

router = APIRouter(prefix="/console/studio", tags=["console"], include_in_schema=False)

# Room for the multipart envelope and the CSRF field around the largest accepted recording.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024


@dataclass(frozen=True, slots=True)
class PromptRow:
    item: Needed
    url: str | None  # where the console plays the recording; None: missing
    at: datetime | None  # when it was recorded


def studio_of(request: Request) -> Studio:
    runtime = runtime_of(request)
    settings = runtime.settings
    return Studio(
        runtime.catalogs,
        settings.locales_dir,
        recordings_dir(settings),
        service_directory(),
        vocabulary().common_countries[:MAX_COUNTRIES],
    )


def _language_or_404(request: Request, language: str) -> str:
    catalogs = runtime_of(request).catalogs
    if not catalogs.supports(language) or has_voice(language):
        raise HTTPException(404, detail="no recordings are made for this language")
    return language


def _key_or_404(studio: Studio, language: str, key: str) -> str:
    if key not in {item.key for item in studio.needed(language)}:
        raise HTTPException(404, detail="the voice line has no such prompt")
    return key


async def body_within_limit(request: Request) -> None:
    """Refuses an oversized upload from its declared length, before anything reads it."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, detail="the upload must say its length")
    if int(length) > MAX_BODY_BYTES:
        megabytes = MAX_UPLOAD_BYTES // 2**20
        raise HTTPException(413, detail=f"a recording may be at most {megabytes} MB")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _audio_url(language: str, key: str, studio: Studio) -> str | None:
    path = studio.file(language, key)
    if path is None:
        return None
    # the modification time makes the browser fetch a new recording under the same name
    return f"{AUDIO_PATH}/{language}/{key}.mp3?v={int(path.stat().st_mtime)}"


@router.get("")
async def studio_page(
    request: Request, principal: Annotated[Principal, Depends(require_supervisor)]
) -> Response:
    runtime = runtime_of(request)
    catalogs = runtime.catalogs
    studio = studio_of(request)
    to_record = [
        (catalogs.info(code), studio.progress(code)) for code in languages_to_record(catalogs)
    ]
    spoken = [catalogs.info(code) for code in catalogs.languages if has_voice(code)]
    return render(request, "studio.html", principal, to_record=to_record, spoken=spoken)


async def _language_page(
    request: Request, principal: Principal, language: str, **context: Any
) -> Response:
    runtime = runtime_of(request)
    studio = studio_of(request)
    items = studio.needed(language)
    rows = []
    for item in items:
        path = studio.file(language, item.key)
        at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path is not None else None
        rows.append(PromptRow(item, _audio_url(language, item.key, studio), at))
    sections = [(name, [row for row in rows if row.item.section == name]) for name in SECTIONS]
    return render(
        request,
        "studio_language.html",
        principal,
        recorded_language=runtime.catalogs.info(language),
        progress=studio.progress(language),
        sections=[(name, section) for name, section in sections if section],
        max_mb=MAX_UPLOAD_BYTES // 2**20,
        **context,
    )


@router.get("/{language}")
async def language_page(
    request: Request,
    language: str,
    principal: Annotated[Principal, Depends(require_supervisor)],
) -> Response:
    _language_or_404(request, language)
    # the kept prompt is marked "Recorded" in the list; the notice names no value
    notice = (
        N_("Recording kept: callers hear it from now on.")
        if request.query_params.get("saved")
        else None
    )
    return await _language_page(request, principal, language, notice=notice)


@router.post("/{language}/{key}", dependencies=[Depends(body_within_limit)])
async def keep_recording(
    request: Request,
    language: str,
    key: str,
    principal: Annotated[Principal, Depends(supervisor_form)],
) -> Response:
    """A recording from the browser or a file: converted, stored, played from the next call."""
    _language_or_404(request, language)
    studio = studio_of(request)
    _key_or_404(studio, language, key)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except (HTTPException, ValueError, KeyError):
        return await _refused(request, principal, language, 400, "The upload could not be read.")
    upload = form.get("audio")
    if not isinstance(upload, UploadFile):
        return await _refused(request, principal, language, 400, "No recording was sent.")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        mp3 = await asyncio.to_thread(to_mp3, data, upload.content_type)
    except AudioRejected as rejected:
        return await _refused(request, principal, language, rejected.status, rejected.message)
    studio.keep(language, key, mp3)
    runtime = runtime_of(request)
    await audit(runtime, principal, "voice_prompt.recorded", f"{language}/{key}", bytes=len(mp3))
    if not _wants_json(request):
        return redirect(f"/console/studio/{language}?saved={key}#{key}")
    progress = studio.progress(language)
    answer = JSONResponse(
        {
            "key": key,
            "url": _audio_url(language, key, studio),
            "recorded": progress.recorded,
            "total": progress.total,
            "percent": progress.percent,
            "complete": progress.complete,
        }
    )
    return console_headers(answer)


@router.post("/{language}/{key}/delete")
async def delete_recording(
    request: Request,
    language: str,
    key: str,
    principal: Annotated[Principal, Depends(supervisor_form)],
) -> Response:
    _language_or_404(request, language)
    studio = studio_of(request)
    _key_or_404(studio, language, key)
    if studio.remove(language, key):
        await audit(runtime_of(request), principal, "voice_prompt.removed", f"{language}/{key}")
    return redirect(f"/console/studio/{language}#{key}")


async def _refused(
    request: Request, principal: Principal, language: str, status: int, message: str
) -> Response:
    if _wants_json(request):
        return console_headers(JSONResponse({"detail": message}, status_code=status))
    return await _language_page(request, principal, language, error=message, status_code=status)
