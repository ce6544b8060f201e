"""How long an SMS or WhatsApp text is for the networks, and splitting text that is too long.

An SMS is sent in GSM-7 when every character is in the GSM 03.38 alphabet: 160 characters in
one segment, 153 per segment once it needs several (the rest carries the joining header);
characters of the extension table (€ [ ] { } | ^ ~ \\ and form feed) take two places. Any
other character (Arabic, most emoji) switches the whole message to UCS-2: 70 UTF-16 units in
one segment, 67 per segment when several. A character never straddles two segments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.messages import OutboundMessage

# Twilio's two messaging channels, as stored (WhatsApp addresses come as "whatsapp:+E164")
SMS = "sms"
WHATSAPP = "whatsapp"
WHATSAPP_PREFIX = "whatsapp:"

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
WHATSAPP_MAX_CHARS = 1600  # Twilio's limit for one WhatsApp message body


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segments(text: str) -> int:
    """How many SMS segments `text` is sent in (an empty text is still one message)."""
    if is_gsm7(text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        single, multi = GSM7_SINGLE, GSM7_MULTI
    else:
        costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # surrogate pairs
        single, multi = UCS2_SINGLE, UCS2_MULTI
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_sms(text: str, max_segments: int) -> list[str]:
    """`text` as one or more SMS, each within `max_segments` segments."""
    return split_text(text, lambda part: segments(part) <= max_segments)


def split_whatsapp(text: str, limit: int = WHATSAPP_MAX_CHARS) -> list[str]:
    return split_text(text, lambda part: utf16_length(part) <= limit)


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Parts that each `fit`, cut at line breaks, else between words, else (one overlong word)
    between characters. Only the whitespace at a cut is lost, never words."""
    if fits(text):
        return [text]
    return [part for part in _pack(text, fits, ("\n", " ")) if part.strip()]


def _pack(text: str, fits: Callable[[str], bool], separators: tuple[str, ...]) -> list[str]:
    if fits(text):
        return [text]
    if not separators:
        return _by_characters(text, fits)
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current: str | None = None
    for piece in text.split(separator):
        if current is not None and fits(current + separator + piece):
            current += separator + piece
            continue
        if current is not None:
            parts.append(current)
        if fits(piece):
            current = piece
        else:
            smaller = _pack(piece, fits, finer)
            parts.extend(smaller[:-1])
            current = smaller[-1]
    if current is not None:
        parts.append(current)
    return parts


def _by_characters(text: str, fits: Callable[[str], bool]) -> list[str]:
    parts: list[str] = []
    current = ""
    for ch in text:
        if current and not fits(current + ch):
            parts.append(current)
            current = ""
        current += ch
    return [*parts, current]


def bodies_for(channel: str, message: OutboundMessage, sms_max_segments: int) -> list[str]:
    """The message as text bodies for `channel`: options numbered, long texts split."""
    text = message.as_plain_text()
    if channel == WHATSAPP:
        return split_whatsapp(text)
    return split_sms(text, sms_max_segments)
