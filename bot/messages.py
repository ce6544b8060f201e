"""Channel-neutral messages: what a channel hands to the engine and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel: str  # "web", "rest", "terminal", "telegram", "sms", "whatsapp", "voice", ...
    address: str  # the sender on that channel: chat id, phone number, REST sender id
    text: str
    provider_message_id: str | None = None  # the provider's id; duplicates are dropped on it
    language_hint: str | None = None  # e.g. Telegram's language_code, a web chat's choice
    media: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A rendered reply in the contact's language, ready for a channel."""

    text: str
    language: str
    buttons: tuple[Button, ...] = ()
    direction: str = "ltr"  # "rtl" for Arabic and other right-to-left languages
    message_id: int | None = None  # the stored row, once stored
    from_operator: bool = False  # written by a person at the hotline, not by the bot

    def as_plain_text(self) -> str:
        """The text with its options numbered, for channels without buttons (SMS, terminal)."""
        if not self.buttons:
            return self.text
        return "\n".join([self.text, *(b.title for b in self.buttons)])

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "buttons": [b.to_dict() for b in self.buttons],
            "direction": self.direction,
        }
        if self.from_operator:  # kept with the message: the operator's row may go later
            payload["operator"] = True
        return payload

    @classmethod
    def from_stored(
        cls,
        text: str,
        language: str | None,
        payload: dict[str, Any],
        message_id: int,
        operator_id: int | None = None,
    ) -> OutboundMessage:
        buttons = tuple(Button(b["title"], b["payload"]) for b in payload.get("buttons", []))
        return cls(
            text=text,
            language=language or "",
            buttons=buttons,
            direction=payload.get("direction", "ltr"),
            message_id=message_id,
            # an operator's reply; a broadcast (also written by staff) is news, not a reply
            from_operator=bool(payload.get("operator"))
            or (operator_id is not None and not payload.get("broadcast")),
        )
