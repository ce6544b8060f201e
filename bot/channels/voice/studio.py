"""The voice studio: what a language without a Twilio voice must have recorded, what it has,
and keeping a new recording.

Every prompt the voice line can play is listed here once (`needed`): the catalog's voice
messages, and the values that are recorded once and composed into sentences (digits and
letters, countries, cities, kinds of help, case stages, services). A language is offered on the
voice line's language menu when Twilio can speak it (voices.yml) or when all of these are
recorded (`is_complete`).

Recordings made in the console live with the deployment's data, never in the repository:
``<data_dir>/voice_prompts/<lang>/<key>.mp3``. Whatever a browser records (WebM or Ogg with
Opus) or a person uploads (MP3, WAV, M4A, Ogg, WebM) is converted here to mono MP3, which
Twilio's <Play> plays, with PyAV (FFmpeg's libraries inside its wheel, so no program has to be
installed on the server). The voice line picks a new file up on its next request.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.channels.voice.prompts import ENGLISH, VOICE_PROFILES, audio_file, say_slug
from bot.i18n import catalog_entries
from bot.registrations.store import LETTERS
from flows.case_status import STAGES
from flows.registration import country_name

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.i18n import Catalogs
    from flows.services import ServiceDirectory

log = logging.getLogger(__name__)

RECORDINGS_FOLDER = "voice_prompts"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a minute of browser Opus is ~0.5 MB; uploads get room
MAX_SECONDS = 120
MIN_SECONDS = 0.2
SAMPLE_RATE = 22_050  # plenty for a phone line (8 kHz), small files
BITRATE = 48_000
# What a browser's MediaRecorder or an upload may be, and the one demuxer each may use: the
# content is never probed against every FFmpeg format (some read other files or URLs).
DEMUXERS = {
    "audio/webm": "webm",
    "video/webm": "webm",  # some browsers label audio-only WebM this way
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mp4": "mp4",
    "audio/x-m4a": "mp4",
    "audio/aac": "aac",
}
# Catalog voice messages that are never played from a recording: said in English (the notice,
# an unvoiced language's option), sent by SMS, spoken only where speech input exists, or free
# text (opening hours).
NOT_RECORDED = frozenset(
    {
        "voice.language.choose_named",
        "voice.audio_unavailable",
        "voice.sms.reference",
        "voice.menu.speech",
        "voice.services.city_speech",
        "voice.operator.hours",
    }
)
# Messages outside voice.* that the voice line plays.
SHARED_MESSAGES = (
    "services.result_header",
    "services.none",
    "services.sample_notice",
    "case.status",
)
EVERY_CALL = (
    "voice.language.choose",
    "voice.welcome",
    "voice.menu.main",
    "voice.not_understood",
    "voice.goodbye",
    "voice.option",
)
# Sections in the order a supervisor works through them (the first prompts make a call usable).
SECTIONS = (
    "Every call",
    "Registration",
    "Services",
    "Case status",
    "Operators and messages",
    "Digits and letters",
    "Kinds of help",
    "Case stages",
    "Countries",
    "Cities",
    "Services in the directory",
)


class AudioRejected(Exception):
    """An upload that cannot become a prompt; `status` is the HTTP answer (413, 415, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Needed:
    """One recording the voice line can play."""

    key: str
    section: str
    text: str  # what to say, in the language being recorded
    translated: bool  # False: the catalog has no text in this language yet (English shown)


@dataclass(frozen=True, slots=True)
class Progress:
    language: str
    recorded: int
    total: int

    @property
    def complete(self) -> bool:
        return self.recorded == self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.recorded * 100 // self.total


def recordings_dir(settings: Settings) -> Path:
    return settings.data_dir / RECORDINGS_FOLDER


def has_voice(language: str) -> bool:
    return language in VOICE_PROFILES


def languages_to_record(catalogs: Catalogs) -> list[str]:
    """The enabled languages Twilio cannot speak: their prompts are recorded."""
    return [code for code in catalogs.languages if not has_voice(code)]


@lru_cache(maxsize=4)
def _voice_messages(po_path: Path, modified: float) -> tuple[str, ...]:
    keys = [k for k in catalog_entries(po_path) if k.startswith("voice.") and k not in NOT_RECORDED]
    return tuple(keys)


def voice_messages(catalogs: Catalogs) -> tuple[str, ...]:
    """The catalog's voice messages (from the English catalog, where every key is)."""
    po_path = catalogs.locales_dir / ENGLISH / "LC_MESSAGES" / "messages.po"
    return _voice_messages(po_path, po_path.stat().st_mtime)


def _section(key: str) -> str:
    if key in EVERY_CALL:
        return "Every call"
    if key.startswith("voice.registration.") or key == "voice.sms.sent":
        return "Registration"
    if key.startswith(("voice.services.", "services.")):
        return "Services"
    if key.startswith("voice.case.") or key == "case.status":
        return "Case status"
    return "Operators and messages"


def needed(
    catalogs: Catalogs, language: str, directory: ServiceDirectory, countries: Sequence[str]
) -> list[Needed]:
    """Every recording the voice line can play in `language`, in the studio's order."""

    def message(key: str, section: str) -> Needed:
        translated = catalogs.has(language, key)
        text = catalogs.text(language if translated else ENGLISH, key)
        return Needed(key, section, text, translated)

    items = [message(k, _section(k)) for k in (*voice_messages(catalogs), *SHARED_MESSAGES)]
    items += [Needed(f"spell.{c}", "Digits and letters", c, True) for c in "0123456789" + LETTERS]
    items += [message(f"services.need.{need}", "Kinds of help") for need in directory.needs]
    items += [
        message(f"case.stage.{stage}", "Case stages")
        for stage in STAGES
        if stage != "flight_scheduled"  # it says a date, which cannot be recorded
    ]
    items += [
        Needed(f"country.{code}", "Countries", country_name(code, language), True)
        for code in countries
    ]
    items += [
        Needed(f"city.{say_slug(city)}", "Cities", directory.city_name(city, language), True)
        for city in directory.cities
    ]
    items += [
        Needed(
            f"service.{service.id}",
            "Services in the directory",
            " · ".join(service.text(field, language) for field in ("name", "days", "contact")),
            True,
        )
        for service in directory.services
    ]
    order = {name: number for number, name in enumerate(SECTIONS)}
    return sorted(items, key=lambda item: order[item.section])  # stable: catalog order inside


class Studio:
    """The recordings of one deployment: where they are, which exist, keeping new ones."""

    def __init__(
        self,
        catalogs: Catalogs,
        locales_dir: Path,
        recordings: Path,
        directory: ServiceDirectory,
        countries: Sequence[str],
    ) -> None:
        self.catalogs = catalogs
        self.locales_dir = locales_dir
        self.recordings = recordings
        self.directory = directory
        self.countries = tuple(countries)

    def needed(self, language: str) -> list[Needed]:
        return needed(self.catalogs, language, self.directory, self.countries)

    def file(self, language: str, key: str) -> Path | None:
        return audio_file(self.locales_dir, language, key, self.recordings)

    def progress(self, language: str) -> Progress:
        items = self.needed(language)
        recorded = sum(1 for item in items if self.file(language, item.key) is not None)
        return Progress(language, recorded, len(items))

    def is_complete(self, language: str) -> bool:
        return all(self.file(language, item.key) is not None for item in self.needed(language))

    def choosable(self, language: str) -> bool:
        """On the voice line's language menu: spoken by Twilio, or every prompt recorded."""
        return has_voice(language) or self.is_complete(language)

    def keep(self, language: str, key: str, mp3: bytes) -> Path:
        """Store a converted recording (replacing an earlier one) in one atomic step, so a call
        never plays half a file."""
        folder = self.recordings / language
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(mp3)
            target = folder / f"{key}.mp3"
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def remove(self, language: str, key: str) -> bool:
        """Delete the studio's recording of `key` (a shipped one, if any, plays again)."""
        path = self.recordings / language / f"{key}.mp3"
        if not path.is_file():
            return False
        path.unlink()
        return True


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def to_mp3(data: bytes, content_type: str | None) -> bytes:
    """Any accepted recording as mono MP3 for Twilio's <Play>; AudioRejected otherwise.

    CPU work of a second or so: call it in a worker thread."""
    kind = media_type(content_type)
    demuxer = DEMUXERS.get(kind)
    if demuxer is None:
        raise AudioRejected(415, f"Not a sound file the studio takes ({kind or 'no type'}).")
    if len(data) > MAX_UPLOAD_BYTES:
        raise AudioRejected(413, "The recording is too large.")
    if not data:
        raise AudioRejected(422, "The recording is empty.")
    import av  # FFmpeg's libraries: loaded only when a recording is converted (~27 MB)

    out = io.BytesIO()
    seconds = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r", format=demuxer) as source:
            if not source.streams.audio:
                raise AudioRejected(422, "The file has no sound in it.")
            stream = source.streams.audio[0]
            with av.open(out, mode="w", format="mp3") as target:
                encoder = target.add_stream("libmp3lame", rate=SAMPLE_RATE)
                encoder.bit_rate = BITRATE
                encoder.layout = "mono"
                resampler = av.AudioResampler(format="s16p", layout="mono", rate=SAMPLE_RATE)
                for frame in source.decode(stream):
                    for converted in resampler.resample(frame):
                        seconds += converted.samples / SAMPLE_RATE
                        if seconds > MAX_SECONDS:
                            raise AudioRejected(
                                413, f"The recording is longer than {MAX_SECONDS} seconds."
                            )
                        target.mux(encoder.encode(converted))
                for converted in resampler.resample(None):
                    target.mux(encoder.encode(converted))
                target.mux(encoder.encode(None))
    except AudioRejected:
        raise
    except Exception as exc:  # FFmpeg's many ways to fail on a bad file: the upload's fault
        log.info("voice studio: an upload (%s) could not be converted: %r", kind, exc)
        raise AudioRejected(422, "The file could not be read as sound.") from exc
    if seconds < MIN_SECONDS:
        raise AudioRejected(422, "The recording has no sound in it.")
    return out.getvalue()
