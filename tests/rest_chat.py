"""A conversation over the REST channel, as the language and conversation tests hold it."""

from __future__ import annotations

import itertools

import httpx

_message_ids = itertools.count()


async def say(client: httpx.AsyncClient, sender: str, text: str) -> list[dict]:
    """Send one message (with its own provider id, as a provider would) and return the replies."""
    response = await client.post(
        "/webhooks/rest/webhook",
        json={
            "sender": sender,
            "message": text,
            "metadata": {"message_id": f"r{next(_message_ids)}"},
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def texts(replies: list[dict]) -> list[str]:
    return [r["text"] for r in replies]
