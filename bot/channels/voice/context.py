"""One webhook of one call, as the voice line's menus read it: the call, what Twilio posted
(`Answer`), and where the next answer goes. Below both the IVR (ivr.py) and the registration
it asks (registration.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.voice.calls import CallState
from bot.channels.voice.prompts import Prompter
from bot.inputs import small_int

CHANNEL = "voice"
VOICE_PATH = "/webhooks/twilio/voice"
MAX_SECONDS = 86_400  # a call's or a recording's length, a wait: a day at most


@dataclass(frozen=True, slots=True)
class Answer:
    """What Twilio posted back to a step."""

    digits: str
    speech: str
    recording_url: str
    recording_sid: str
    recording_seconds: int | None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Answer:
        digits = params.get("Digits", "").strip()
        seconds = params.get("RecordingDuration", "").strip()
        return cls(
            digits="" if digits == "hangup" else digits,
            speech=params.get("SpeechResult", "").strip(),
            recording_url=params.get("RecordingUrl", "").strip(),
            recording_sid=params.get("RecordingSid", "").strip(),
            recording_seconds=small_int(seconds, MAX_SECONDS),
        )

    @property
    def empty(self) -> bool:
        return not (self.digits or self.speech or self.recording_url)

    def number(self) -> int | None:
        keyed = self.digits.rstrip("#*")
        return small_int(keyed) if len(keyed) <= 6 else None


@dataclass(slots=True)
class CallContext:
    """One webhook of one call."""

    call: CallState
    params: Mapping[str, str]
    caller: str | None  # the caller's number in E.164, when Twilio gave a real one
    prompter: Prompter
    base_url: str
    default_language: str

    @property
    def language(self) -> str:
        return self.call.language or self.default_language

    def url(self, step: str) -> str:
        return f"{self.base_url}{VOICE_PATH}/{step}"
