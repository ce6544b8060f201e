"""The REST channel, in the shape of Rasa's REST channel so Rasa's clients work.

POST /webhooks/rest/webhook  {"sender", "message", "metadata"}
    → [{"recipient_id", "text", "buttons"}]
GET  /webhooks/rest/messages?sender=ID  → messages sent later (operator replies, broadcasts)

The sender id is the contact's identity on this channel: clients use long random ids.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel, Field

from bot.http import runtime_of
from bot.inputs import clean_id, valid_text
from bot.messages import InboundMessage, OutboundMessage

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


def to_rest(sender: str, message: OutboundMessage) -> RestReply:
    return RestReply(
        recipient_id=sender,
        text=message.text,
        buttons=[RestButton(title=b.title, payload=b.payload) for b in message.buttons],
        metadata={"language": message.language, "direction": message.direction},
    )


async def answer(
    body: RestMessage, request: Request, background: BackgroundTasks, channel: str
) -> list[OutboundMessage]:
    """One JSON message through the engine, answered in the response (REST and web chat)."""
    engine = runtime_of(request).engine
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
    result = await engine.handle(inbound, confirm_later=True)
    background.add_task(engine.confirm_answered, result)
    return list(result.replies)


async def queued(request: Request, channel: str, sender: str) -> list[OutboundMessage]:
    """Messages queued for this sender since its last collect; each is returned once."""
    store = runtime_of(request).store
    contact = await store.contact_for(channel, sender)
    return list(await store.take_queued(contact.id))


@router.post("/webhooks/rest/webhook", response_model=list[RestReply])
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
