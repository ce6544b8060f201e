"""The REST channel, in the shape of Rasa's REST channel so Rasa's clients work.

POST /webhooks/rest/webhook  {"sender", "message", "metadata"}
    → [{"recipient_id", "text", "buttons"}]
GET  /webhooks/rest/messages?sender=ID  → messages sent later (operator replies, broadcasts)

The sender id is the contact's identity on this channel: clients use long random ids.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel, Field, ValidationError

from bot.fastpath import FastAnswer, is_json
from bot.http import runtime_of
from bot.inputs import clean_id, valid_text
from bot.messages import InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from bot.engine import HandleResult
    from bot.runtime import Runtime

CHANNEL = "rest"
SENDER_PATTERN = r"^[A-Za-z0-9_.:@+\-]{1,128}$"

router = APIRouter(tags=["rest channel"])


class RestMessage(BaseModel):
    sender: str = Field(pattern=SENDER_PATTERN, description="The conversation's id")
    message: str = Field(default="", max_length=20_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class RestButton(BaseModel):
    title: str
    payload: str


class RestReply(BaseModel):
    recipient_id: str
    text: str
    buttons: list[RestButton] = []
    metadata: dict[str, str] = {}


def rest_dict(sender: str, message: OutboundMessage) -> dict[str, Any]:
    """A reply in RestReply's shape, as plain data (the fast path writes it directly)."""
    return {
        "recipient_id": sender,
        "text": message.text,
        "buttons": [button.to_dict() for button in message.buttons],
        "metadata": {"language": message.language, "direction": message.direction},
    }


def to_rest(sender: str, message: OutboundMessage) -> RestReply:
    return RestReply.model_validate(rest_dict(sender, message))


async def handle_json(runtime: Runtime, body: RestMessage, channel: str) -> HandleResult:
    """One JSON message through the engine, answered in the response (REST and web chat).
    The caller confirms the answer once it went out (`engine.confirm_answered`)."""
    metadata = body.metadata
    inbound = InboundMessage(
        channel=channel,
        address=body.sender,
        text=valid_text(body.message),
        # any other id (an object, a lone surrogate, 2**70) is no id: the message still counts
        provider_message_id=clean_id(metadata.get("message_id")),
        language_hint=clean_id(metadata.get("language"), 16),
    )
    # A retry of this message (the answer was lost) gets the same replies, until the answer
    # is known to have gone out.
    return await runtime.engine.handle(inbound, confirm_later=True)


async def answer(
    body: RestMessage, request: Request, background: BackgroundTasks, channel: str
) -> list[OutboundMessage]:
    """The route's way: the confirmation runs as a background task after the response."""
    runtime = runtime_of(request)
    result = await handle_json(runtime, body, channel)
    background.add_task(runtime.engine.confirm_answered, result)
    return list(result.replies)


def fast_handler(
    channel: str, shape: Callable[[str, OutboundMessage], dict[str, Any]]
) -> Callable[[Runtime, bytes, bytes], Any]:
    """The route's work for bot/fastpath.py: a well-formed JSON message is answered there;
    anything else goes to the route, whose validation answers it."""

    async def handle(runtime: Runtime, raw: bytes, content_type: bytes) -> FastAnswer | None:
        if not is_json(content_type):
            return None
        try:
            body = RestMessage.model_validate_json(raw)
        except ValidationError:
            return None
        result = await handle_json(runtime, body, channel)
        payload = orjson.dumps([shape(body.sender, reply) for reply in result.replies])
        return FastAnswer(200, payload, partial(runtime.engine.confirm_answered, result))

    return handle


async def queued(request: Request, channel: str, sender: str) -> list[OutboundMessage]:
    """Messages queued for this sender since its last collect; each is returned once."""
    store = runtime_of(request).store
    contact = await store.contact_for(channel, sender)
    return list(await store.take_queued(contact.id))


WEBHOOK_PATH = "/webhooks/rest/webhook"
fast_receive = fast_handler(CHANNEL, rest_dict)


@router.post(WEBHOOK_PATH, response_model=list[RestReply])
async def receive(
    body: RestMessage, request: Request, background: BackgroundTasks
) -> list[RestReply]:
    replies = await answer(body, request, background, CHANNEL)
    return [to_rest(body.sender, reply) for reply in replies]


@router.get("/webhooks/rest/messages", response_model=list[RestReply])
async def collect(
    request: Request, sender: Annotated[str, Query(pattern=SENDER_PATTERN)]
) -> list[RestReply]:
    """Messages queued for this sender since its last collect; each is returned once."""
    return [to_rest(sender, message) for message in await queued(request, CHANNEL, sender)]
