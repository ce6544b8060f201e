"""Notifications from the Cloud API read defensively: messages in, delivery statuses."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.channels.whatsapp_cloud import CHANNEL
from bot.inputs import as_text, clean_id, small_int
from bot.messages import InboundMessage
from bot.storage.models import MessageStatus

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_WA_ID = re.compile(r"^[0-9]{5,20}$")
_MEDIA_KINDS = ("image", "audio", "document", "video", "sticker")
_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,  # read implies delivered; the store has no "read"
    "failed": MessageStatus.UNDELIVERABLE,
}


@dataclass(frozen=True, slots=True)
class StatusReport:
    message_id: str
    status: MessageStatus
    error: str | None


def parse_notification(
    payload: dict[str, Any], phone_number_id: str
) -> tuple[list[InboundMessage], list[StatusReport]]:
    """The messages and delivery reports for our number; anything else is skipped."""
    messages: list[InboundMessage] = []
    statuses: list[StatusReport] = []
    if payload.get("object") != "whatsapp_business_account":
        return messages, statuses
    for value in _values(payload):
        metadata = value.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("phone_number_id") != phone_number_id:
            continue  # another number of the same business account
        for item in _dicts(value.get("messages")):
            inbound = _inbound(item)
            if inbound is not None:
                messages.append(inbound)
        for item in _dicts(value.get("statuses")):
            report = _status(item)
            if report is not None:
                statuses.append(report)
    return messages, statuses


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _values(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") == "messages" and isinstance(value, dict):
                yield value


def _string(container: Any, key: str) -> str | None:
    """A text field (lone surrogates and NUL bytes made storable); None if not a string."""
    return as_text(container.get(key)) if isinstance(container, dict) else None


def _id(container: Any, key: str, max_length: int = 128) -> str | None:
    """An id field: printable, within `max_length`; None otherwise."""
    value = container.get(key) if isinstance(container, dict) else None
    return clean_id(value, max_length) if isinstance(value, str) else None


def _inbound(item: dict[str, Any]) -> InboundMessage | None:
    sender, wamid, kind = _id(item, "from"), _id(item, "id"), _id(item, "type", 32)
    if not sender or not _WA_ID.fullmatch(sender) or not wamid:
        return None
    media: tuple[str, ...] = ()
    if kind == "text":
        text = _string(item.get("text"), "body")
    elif kind == "interactive":
        # The option's id is the payload we sent (the option number): the flows read it as text.
        interactive = item.get("interactive")
        reply_kind = _string(interactive, "type")
        if not isinstance(interactive, dict) or reply_kind not in ("button_reply", "list_reply"):
            return None
        text = _id(interactive.get(reply_kind), "id", 256)
    elif kind == "button":  # a quick-reply button of a template
        button = item.get("button")
        text = _string(button, "payload") or _string(button, "text")
    elif kind in _MEDIA_KINDS:
        attachment = item.get(kind)
        media_id = _id(attachment, "id", 256)
        if not media_id:
            return None
        text, media = _string(attachment, "caption") or "", (media_id,)
    else:  # reactions, locations, contacts, orders, system notices, unsupported
        return None
    if text is None:
        return None
    return InboundMessage(
        channel=CHANNEL,
        address=sender,
        text=text,
        provider_message_id=wamid,
        media=media,
        metadata={"kind": kind},
    )


def _status(item: dict[str, Any]) -> StatusReport | None:
    wamid, status = _id(item, "id"), _STATUSES.get(_string(item, "status") or "")
    if not wamid or status is None:
        return None
    error = None
    for problem in _dicts(item.get("errors")):
        code = small_int(problem.get("code"))
        title = (_string(problem, "title") or "")[:200]
        error = f"{code if code is not None else ''} {title}".strip()
        break
    return StatusReport(wamid, status, error)
