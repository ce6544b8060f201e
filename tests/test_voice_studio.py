"""The voice studio: which prompts a language without a Twilio voice needs, recording them
from the console (converted to MP3, stored in the data directory), and the voice line playing
them at once — a language is offered to callers only once every prompt is recorded.
"""

from __future__ import annotations

import array
import io
import math
import re
import wave
from pathlib import Path

import av
import httpx
import pytest

from bot import PROJECT_ROOT
from bot.channels.voice.ivr import MAX_COUNTRIES, service_directory
from bot.channels.voice.prompts import VOICE_PROFILES, load_voice_profiles, valid_audio_name
from bot.channels.voice.studio import (
    MAX_SECONDS,
    NOT_RECORDED,
    AudioRejected,
    Studio,
    needed,
    to_mp3,
)
from bot.runtime import Runtime
from flows.registration import KEYPAD_PROMPTS, vocabulary
from tests.console_support import DEFAULT_PASSWORD, create_operator, sign_in
from tests.test_channel_voice import (
    VOICE_URL,
    Caller,
    Line,
    open_line,  # noqa: F401  (the fixture)
    plays,
    recorded_locales,
)


@pytest.fixture
def backend() -> str:
    """SQLite only: these tests are about files and HTTP, not the database."""
    return "sqlite"


# -- sound made here ---------------------------------------------------------------------------


def wav(seconds: float, rate: int = 16_000, tone: float = 440.0) -> bytes:
    samples = array.array(
        "h",
        (int(8000 * math.sin(2 * math.pi * tone * n / rate)) for n in range(int(seconds * rate))),
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())
    return out.getvalue()


def browser_recording(seconds: float = 1.0) -> bytes:
    """What Chromium's MediaRecorder makes: WebM with Opus at 48 kHz."""
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(wav(seconds)), "r", format="wav") as source,
        av.open(out, "w", format="webm") as target,
    ):
        stream = target.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        for frame in source.decode(audio=0):
            for converted in resampler.resample(frame):
                target.mux(stream.encode(converted))
        target.mux(stream.encode(None))
    return out.getvalue()


def duration_of(mp3: bytes) -> tuple[float, int, int]:
    """Seconds, sample rate and channels of an MP3, decoded."""
    with av.open(io.BytesIO(mp3), "r", format="mp3") as source:
        stream = source.streams.audio[0]
        samples = sum(frame.samples for frame in source.decode(stream))
        return samples / stream.rate, stream.rate, stream.channels


def studio_for(runtime: Runtime, locales: Path | None = None) -> Studio:
    settings = runtime.settings
    return Studio(
        runtime.catalogs,
        locales or settings.locales_dir,
        settings.data_dir / "voice_prompts",
        service_directory(),
        vocabulary().common_countries[:MAX_COUNTRIES],
    )


# -- what must be recorded ---------------------------------------------------------------------


def test_voices_are_data_and_hausa_has_none() -> None:
    profiles = load_voice_profiles()
    assert set(profiles) == {"en", "fr", "ar", "bn"} and dict(VOICE_PROFILES) == profiles
    assert profiles["ar"].say_language == "ar-XA" and profiles["ar"].speech_language == "ar-EG"
    assert "ha" not in profiles


def test_a_language_added_to_the_voices_file_needs_no_code(tmp_path: Path) -> None:
    path = tmp_path / "voices.yml"
    path.write_text(
        "voices:\n  so:\n    say_language: so-SO\n    voice: Google.so-SO-Standard-A\n"
        "    speech_language: null\n",
        encoding="utf-8",
    )
    profile = load_voice_profiles(path)["so"]
    assert profile.voice == "Google.so-SO-Standard-A" and profile.speech_language is None
    path.write_text("voices:\n  ../x:\n    say_language: a\n    voice: b\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_voice_profiles(path)


async def test_every_prompt_the_voice_line_plays_is_listed(runtime: Runtime) -> None:
    """The IVR's messages (read from its source) are each recorded, or never played."""
    items = needed(
        runtime.catalogs, "ha", service_directory(), vocabulary().common_countries[:MAX_COUNTRIES]
    )
    keys = [item.key for item in items]
    assert len(keys) == len(set(keys))
    assert all(valid_audio_name("ha", key) for key in keys)  # each can be stored and served
    voice = PROJECT_ROOT / "bot" / "channels" / "voice"
    source = "".join(
        (voice / name).read_text(encoding="utf-8") for name in ("ivr.py", "registration.py")
    )
    used = set(re.findall(r'"((?:voice|services|case)\.[a-z_.]+)"', source))
    assert "voice.menu.main" in used and "services.entry" in used
    # the registration's prompts are the flow's keypad wording (flows/registration.py)
    used |= set(KEYPAD_PROMPTS)
    assert {"voice.registration.consent", "voice.registration.name"} <= used
    # services.entry is played as each service's own recording (service.<id>)
    missing = used - set(keys) - NOT_RECORDED - {"services.entry"}
    assert not missing, missing
    # values recorded once and composed: digits, letters of references, countries, cities
    assert {"spell.0", "spell.9", "spell.K", "country.NG", "city.Tripoli"} <= set(keys)
    assert "case.stage.flight_scheduled" not in keys  # it holds a date
    # the text to say, in Hausa where the catalog has it
    welcome = next(item for item in items if item.key == "voice.welcome")
    assert welcome.translated and welcome.text == runtime.catalogs.text("ha", "voice.welcome")
    assert items[0].section == "Every call"


async def test_completeness_counts_recordings_in_the_data_directory(
    make_runtime: object, tmp_path: Path
) -> None:
    runtime = await make_runtime(data_dir=tmp_path / "data")  # type: ignore[operator]
    locales = recorded_locales(tmp_path)
    studio = studio_for(runtime, locales)
    total = len(studio.needed("ha"))
    assert studio.progress("ha").recorded == total and studio.choosable("ha")
    (locales / "ha" / "audio" / "voice.goodbye.mp3").unlink()
    progress = studio.progress("ha")
    assert (progress.recorded, progress.total, progress.complete) == (total - 1, total, False)
    assert progress.percent == (total - 1) * 100 // total
    assert not studio.choosable("ha") and studio.choosable("fr")  # French has a voice
    studio.keep("ha", "voice.goodbye", to_mp3(wav(0.5), "audio/wav"))
    assert (tmp_path / "data" / "voice_prompts" / "ha" / "voice.goodbye.mp3").is_file()
    assert studio.progress("ha").complete and studio.choosable("ha")
    assert not list((tmp_path / "data" / "voice_prompts" / "ha").glob(".upload-*"))
    assert studio.remove("ha", "voice.goodbye") and not studio.is_complete("ha")


# -- conversion --------------------------------------------------------------------------------


def test_a_browser_recording_becomes_mono_mp3() -> None:
    mp3 = to_mp3(browser_recording(1.5), "audio/webm;codecs=opus")
    seconds, rate, channels = duration_of(mp3)
    assert 1.3 < seconds < 1.8 and rate == 22_050 and channels == 1
    for kind, body in (("audio/wav", wav(1.0, rate=8000)), ("audio/mpeg", mp3)):
        assert 0.9 < duration_of(to_mp3(body, kind))[0] < 1.8


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"<html>not sound</html>", "text/html", 415),
        (b"", "application/octet-stream", 415),
        (b"RIFF" + b"\x00" * 200, "audio/wav", 422),
        (b"\x1aE\xdf\xa3 not webm at all" * 20, "audio/webm", 422),
        (b"", "audio/webm", 422),
        (wav(0.05), "audio/wav", 422),  # no real sound
        (wav(MAX_SECONDS + 2, rate=8000), "audio/wav", 413),
    ],
)
def test_what_cannot_be_a_prompt_is_refused(body: bytes, kind: str, status: int) -> None:
    with pytest.raises(AudioRejected) as refused:
        to_mp3(body, kind)
    assert refused.value.status == status and refused.value.message


def test_damaged_recordings_are_refused_or_converted_never_an_error() -> None:
    """Cut short or overwritten anywhere, an upload is converted (what is left of it) or
    refused with a 4xx reason; FFmpeg's failures never escape as a server error."""
    recordings = {
        "audio/webm": browser_recording(0.6),
        "audio/wav": wav(0.6),
        "audio/mpeg": to_mp3(wav(0.6), "audio/wav"),
    }
    for kind, body in recordings.items():
        for cut in (8, 40, 200, len(body) // 3, len(body) // 2, len(body) - 7):
            damaged = [body[:cut], body[:cut] + bytes(range(256)) * 4 + body[cut + 1024 :]]
            for sample in damaged:
                try:
                    to_mp3(sample, kind)
                except AudioRejected as refused:
                    assert 400 <= refused.status < 500


# -- the console -------------------------------------------------------------------------------


async def supervisor(runtime: Runtime, http: httpx.AsyncClient, role: str = "supervisor") -> str:
    name = f"{role}1"
    await create_operator(runtime, name, role)
    return await sign_in(http, name, DEFAULT_PASSWORD)


def upload(body: bytes, kind: str = "audio/webm;codecs=opus") -> dict[str, tuple[str, bytes, str]]:
    return {"audio": ("take.webm", body, kind)}


async def test_a_supervisor_records_a_prompt_and_the_next_hausa_call_plays_it(
    open_line: Line,  # noqa: F811
    tmp_path: Path,
) -> None:
    locales = recorded_locales(tmp_path)
    (locales / "ha" / "audio" / "voice.welcome.mp3").unlink()  # the one prompt still missing
    runtime, http = await open_line(locales_dir=locales, data_dir=tmp_path / "data")
    assert not plays(await Caller(http).dial())  # Hausa is not offered yet
    csrf = await supervisor(runtime, http)

    overview = await http.get("/console/studio")
    assert overview.status_code == 200
    total = len(studio_for(runtime, locales).needed("ha"))
    assert (
        f"{total - 1} of {total}" in overview.text and "Not offered until complete" in overview.text
    )
    page = await http.get("/console/studio/ha")
    assert page.status_code == 200
    assert 'data-prompt="voice.welcome"' in page.text
    assert runtime.catalogs.text("ha", "voice.welcome") in page.text

    answer = await http.post(
        "/console/studio/ha/voice.welcome",
        files=upload(browser_recording()),
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["recorded"], result["total"], result["complete"]) == (total, total, True)
    stored = tmp_path / "data" / "voice_prompts" / "ha" / "voice.welcome.mp3"
    assert stored.is_file() and not (locales / "ha" / "audio" / "voice.welcome.mp3").exists()
    assert 0.8 < duration_of(stored.read_bytes())[0] < 1.3

    # The next call offers Hausa and plays the new recording, served as it was stored.
    caller = Caller(http)
    menu = await caller.dial()
    assert f"{VOICE_URL}/audio/ha/voice.language.choose.mp3" in plays(menu)
    welcome = await caller.press(menu, str(runtime.catalogs.languages.index("ha") + 1))
    url = f"{VOICE_URL}/audio/ha/voice.welcome.mp3"
    assert plays(welcome)[0] == url
    served = await http.get(url.removeprefix("http://testserver"))
    assert served.status_code == 200 and served.content == stored.read_bytes()
    assert result["url"].startswith("/webhooks/twilio/voice/audio/ha/voice.welcome.mp3?v=")

    # The plain form (no script) works too and comes back to the page.
    again = await http.post(
        "/console/studio/ha/voice.welcome",
        files=upload(wav(0.7), "audio/wav"),
        data={"csrf_token": csrf},
    )
    assert again.status_code == 303 and again.headers["location"].startswith("/console/studio/ha")
    assert 0.5 < duration_of(stored.read_bytes())[0] < 0.9
    removed = await http.post("/console/studio/ha/voice.welcome/delete", data={"csrf_token": csrf})
    assert removed.status_code == 303 and not stored.exists()
    assert not plays(await Caller(http).dial())  # incomplete again: not offered


async def test_bad_uploads_get_a_clear_4xx(open_line: Line, tmp_path: Path) -> None:  # noqa: F811
    runtime, http = await open_line(data_dir=tmp_path / "data")
    csrf = await supervisor(runtime, http)
    json_headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    url = "/console/studio/ha/voice.welcome"
    cases: list[tuple[dict[str, object], int]] = [
        ({"files": upload(b"MZ\x90\x00 a program", "application/x-msdownload")}, 415),
        ({"files": upload(b"\x1aE\xdf\xa3 truncated webm")}, 422),
        ({"files": upload(wav(0.05), "audio/wav")}, 422),
        ({"data": {"note": "no file"}}, 400),
        ({"content": b"raw bytes", "headers_extra": {"content-type": "audio/webm"}}, 400),
        (
            {
                "content": b"--x\r\nbroken",
                "headers_extra": {"content-type": "multipart/form-data; boundary=x"},
            },
            400,
        ),
    ]
    for arguments, status in cases:
        headers = {**json_headers, **arguments.pop("headers_extra", {})}  # type: ignore[dict-item]
        answer = await http.post(url, headers=headers, **arguments)  # type: ignore[arg-type]
        assert answer.status_code == status, (arguments, answer.text)
        assert answer.json()["detail"]
    # the plain form gets the page back with the reason
    page = await http.post(url, files=upload(b"not sound", "text/plain"), data={"csrf_token": csrf})
    assert page.status_code == 415 and "Not a sound file" in page.text
    # too large: refused from its declared length, before it is read
    big = await http.post(
        url,
        content=b"0" * 100,
        headers={**json_headers, "content-length": str(6 * 2**20), "content-type": "audio/webm"},
    )
    assert big.status_code == 413
    # without the CSRF token; a prompt the voice line does not have; a language with a voice
    assert (await http.post(url, files=upload(browser_recording()))).status_code == 403
    assert (
        await http.post(
            "/console/studio/ha/voice.nothing", files=upload(b"x"), headers=json_headers
        )
    ).status_code == 404
    assert (
        await http.post(
            "/console/studio/fr/voice.welcome", files=upload(b"x"), headers=json_headers
        )
    ).status_code == 404
    assert (await http.get("/console/studio/fr")).status_code == 404
    assert (await http.get("/console/studio/xx")).status_code == 404
    assert not (tmp_path / "data" / "voice_prompts" / "ha").exists()  # nothing was kept


async def test_the_studio_is_for_supervisors_and_administrators(
    open_line: Line,  # noqa: F811
    tmp_path: Path,
) -> None:
    runtime, http = await open_line(data_dir=tmp_path / "data")
    csrf = await supervisor(runtime, http, "operator")
    assert (await http.get("/console/studio")).status_code == 403
    assert (await http.get("/console/studio/ha")).status_code == 403
    answer = await http.post(
        "/console/studio/ha/voice.welcome",
        files=upload(browser_recording()),
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert answer.status_code == 403
    home = await http.get("/console")
    assert "/console/studio" not in home.text  # not in an operator's navigation
    await http.post("/console/logout", data={"csrf_token": csrf})
    csrf = await supervisor(runtime, http, "admin")
    page = await http.get("/console/studio")
    assert page.status_code == 200 and 'href="/console/studio"' in page.text
    assert "Hausa" in page.text
