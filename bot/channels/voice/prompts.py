"""What the caller hears: spoken text, recorded prompts, or neither.

The one place that decides, for each prompt, between

- **say**: Twilio's text-to-speech, in a voice of the prompt's language (catalog text);
- **play**: recorded prompts for languages Twilio cannot speak (Hausa): those made in the
  console's studio (``<data_dir>/voice_prompts/<lang>/<key>.mp3``, see studio.py), else any
  shipped in ``locales/<lang>/audio/<key>.mp3``; a prompt's recording says its fixed words, and
  its values (digits, countries, cities, services) follow as their own recordings;
- **unavailable**: neither is possible. Text is never spoken in another language's voice: the
  caller hears, in English, that recorded prompts are missing and is offered an operator
  (`PromptUnavailable`, turned into that notice by the menus), or, where a prompt allows it,
  an English version of the same prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel import Locale
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.i18n import Catalogs
from bot.resources import package_path
from nlu import yamlfile

ENGLISH = "en"
AUDIO_PATH = "/webhooks/twilio/voice/audio"
_AUDIO_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"))


@dataclass(frozen=True, slots=True)
class VoiceProfile:
    say_language: str  # <Say language=…>
    voice: str  # <Say voice=…>
    speech_language: str | None  # <Gather language=…> for speech input; None: keypad only


def load_voice_profiles(path: Path | None = None) -> dict[str, VoiceProfile]:
    """Twilio's voice and speech recognition per language, from voices.yml (data, so a language
    Twilio can speak needs no code). A language missing there is played from recordings."""
    source = path or package_path("bot", "channels", "voice", "voices.yml")
    raw = yamlfile.safe_load(source.read_text(encoding="utf-8")) or {}
    profiles: dict[str, VoiceProfile] = {}
    for code, entry in (raw.get("voices") or {}).items():
        if not _LANGUAGE.fullmatch(str(code)):
            raise ValueError(f"voices.yml: {code!r} is not a language code")
        profiles[str(code)] = VoiceProfile(
            say_language=str(entry["say_language"]),
            voice=str(entry["voice"]),
            speech_language=entry.get("speech_language") or None,
        )
    return profiles


VOICE_PROFILES: Mapping[str, VoiceProfile] = load_voice_profiles()


class PromptUnavailable(Exception):
    """A prompt can be neither spoken nor played in the caller's language."""

    def __init__(self, language: str, key: str) -> None:
        super().__init__(f"no voice and no recording for {key} in {language}")
        self.language = language
        self.key = key


# -- values inside prompts -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spell:
    """Read out one character at a time: a case reference, keypad digits, a menu digit."""

    chars: str

    def text(self, catalogs: Catalogs, language: str) -> str:
        return ", ".join(c for c in self.chars.upper() if c.isalnum())

    def audio(self) -> list[str] | None:
        return [f"spell.{c}" for c in self.chars.upper() if c.isalnum()]


@dataclass(frozen=True, slots=True)
class Label:
    """A catalog message used as a value (a need, a case stage); recorded under its key."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, catalogs: Catalogs, language: str) -> str:
        return catalogs.text(language, self.key, **self.values)

    def audio(self) -> list[str] | None:
        return None if self.values else [self.key]  # a date inside cannot be recorded


@dataclass(frozen=True, slots=True)
class Named:
    """A name from content (a country, a city, a service) in the language it is said in."""

    name: Callable[[str], str]
    recording: str | None

    def text(self, catalogs: Catalogs, language: str) -> str:
        return self.name(language)

    def audio(self) -> list[str] | None:
        return [self.recording] if self.recording else None


Value = Spell | Label | Named | int | str


def value_text(value: Value, catalogs: Catalogs, language: str) -> object:
    if isinstance(value, Spell | Label | Named):
        return value.text(catalogs, language)
    return value


def _value_audio(value: Value) -> list[str] | None:
    if isinstance(value, Spell | Label | Named):
        return value.audio()
    if isinstance(value, int):
        return Spell(str(value)).audio()
    return None  # free text cannot be recorded in advance


@dataclass(frozen=True, slots=True)
class Prompt:
    """One catalog message to be heard.

    `language` speaks it in another language than the caller's (the language menu);
    `optional` leaves it out when it cannot be heard; `fallback` is heard instead then;
    `recordings` replaces the usual recordings (the key's, then the values', in order)."""

    key: str
    values: Mapping[str, Value] = field(default_factory=dict)
    language: str | None = None
    optional: bool = False
    fallback: Prompt | None = None
    recordings: tuple[str, ...] | None = None


def option(label: Label | Named, digit: int) -> Prompt:
    """A numbered choice, "<label>: press <digit>"; played as the label, "press", the digit."""
    label_audio = label.audio()
    digits = Spell(str(digit)).audio() or []
    recordings = None if label_audio is None else (*label_audio, "voice.option", *digits)
    return Prompt("voice.option", {"label": label, "digit": digit}, recordings=recordings)


def say_slug(text: str) -> str:
    """A name as part of a recording's file name ("Bani Waleed" → "Bani_Waleed")."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def valid_audio_name(language: str, key: str) -> bool:
    return bool(_LANGUAGE.fullmatch(language) and _AUDIO_KEY.fullmatch(key)) and ".." not in key


def audio_file(
    locales_dir: Path, language: str, key: str, recordings_dir: Path | None = None
) -> Path | None:
    """The recording of `key` in `language`, when the names are valid and the file exists:
    the deployment's own (made in the studio) first, then one shipped with the catalogs."""
    if not valid_audio_name(language, key):
        return None
    candidates = [locales_dir / language / "audio" / f"{key}.mp3"]
    if recordings_dir is not None:
        candidates.insert(0, recordings_dir / language / f"{key}.mp3")
    return next((path for path in candidates if path.is_file()), None)


def language_name(code: str, in_language: str) -> str:
    try:
        return Locale.parse(code).get_display_name(in_language) or code
    except (ValueError, LookupError):
        return code


class Prompter:
    """Adds what the caller hears to TwiML, for one request (audio URLs need its base URL)."""

    def __init__(
        self,
        catalogs: Catalogs,
        locales_dir: Path,
        base_url: str,
        recordings_dir: Path | None = None,
    ) -> None:
        self.catalogs = catalogs
        self.locales_dir = locales_dir
        self.recordings_dir = recordings_dir
        self.base_url = base_url.rstrip("/")

    # -- what a language can do -------------------------------------------------------------
    @staticmethod
    def profile(language: str) -> VoiceProfile | None:
        return VOICE_PROFILES.get(language)

    def speech_language(self, language: str) -> str | None:
        profile = self.profile(language)
        return profile.speech_language if profile else None

    def can_speak(self, language: str) -> bool:
        return self.profile(language) is not None

    # -- the decision ---------------------------------------------------------------------
    def _plan(self, language: str, prompt: Prompt) -> list[tuple[str, str]] | None:
        """[("say", text) | ("play", url)] for the prompt in `language`, or None."""
        profile = self.profile(language)
        if profile is not None:
            if not self.catalogs.has(language, prompt.key):
                return None  # the catalog would give English text to this language's voice
            values: dict[str, Any] = {
                name: value_text(value, self.catalogs, language)
                for name, value in prompt.values.items()
            }
            text = self.catalogs.text(language, prompt.key, **values)
            return [("say", spoken(text))]
        recordings: list[str] = []
        if prompt.recordings is not None:
            recordings = list(prompt.recordings)
        else:
            recordings = [prompt.key]
            for value in prompt.values.values():
                parts = _value_audio(value)
                if parts is None:
                    return None
                recordings.extend(parts)
        plan: list[tuple[str, str]] = []
        for key in recordings:
            if audio_file(self.locales_dir, language, key, self.recordings_dir) is None:
                return None
            plan.append(("play", self.audio_url(language, key)))
        return plan

    def audio_url(self, language: str, key: str) -> str:
        return f"{self.base_url}{AUDIO_PATH}/{language}/{quote(key)}.mp3"

    def add(
        self, node: VoiceResponse | Gather, language: str, *prompts: Prompt, english: bool = False
    ) -> None:
        """Append the prompts to `node`. `english`: say a prompt in English when it cannot be
        heard in `language` (after the caller was told; hold messages, goodbye); otherwise
        raise PromptUnavailable."""
        for prompt in prompts:
            spoken_in = prompt.language or language
            plan = self._plan(spoken_in, prompt)
            if plan is None and prompt.optional:
                continue
            if plan is None and prompt.fallback is not None:
                spoken_in = prompt.fallback.language or ENGLISH
                plan = self._plan(spoken_in, prompt.fallback)
            if plan is None and english:
                spoken_in = ENGLISH
                plan = self._plan(ENGLISH, prompt)
            if plan is None:
                raise PromptUnavailable(spoken_in, prompt.key)
            profile = self.profile(spoken_in)
            for kind, content in plan:
                if kind == "play":
                    node.play(content)
                elif profile is not None:
                    node.say(content, voice=profile.voice, language=profile.say_language)

    def gather(
        self,
        response: VoiceResponse,
        language: str,
        action: str,
        *,
        num_digits: int | None = None,
        finish_on_key: str | None = None,
        speech: bool = False,
        hints: str | None = None,
        timeout: int = 6,
    ) -> Gather:
        """A <Gather> posting to `action` even on no input; speech too where it is supported."""
        speech_language = self.speech_language(language) if speech else None
        options: dict[str, object] = {
            "action": action,
            "method": "POST",
            "timeout": timeout,
            "action_on_empty_result": True,
        }
        if num_digits is not None:
            options["num_digits"] = num_digits
        if finish_on_key is not None:
            options["finish_on_key"] = finish_on_key
        if speech_language:
            options.update(input="dtmf speech", language=speech_language, speech_timeout="auto")
            if hints:
                options["hints"] = hints
        else:
            options["input"] = "dtmf"
        return response.gather(**options)


# Marks that already end a sentence: Latin, Arabic "؟", the danda of Bengali (and Devanagari)
# "।", Ethiopic "።" and "፧", Urdu "۔": no "." is added after them.
_SENTENCE_ENDS = frozenset(".!?:؟।॥።፧۔")


def spoken(text: str) -> str:
    """Catalog text made for the ear: no direction marks; a line break becomes a pause."""
    lines = [line.strip() for line in text.translate(_BIDI_MARKS).splitlines() if line.strip()]
    return " ".join(line if line[-1] in _SENTENCE_ENDS else line + "." for line in lines)


def notice_prompt(language: str) -> Prompt:
    """Said in English: this language's recorded prompts are missing; 0 for a person."""
    return Prompt(
        "voice.audio_unavailable",
        {"name": language_name(language, ENGLISH)},
        language=ENGLISH,
    )
