"""WhatsApp through Meta's Cloud API, without a provider in between.

In:  GET  /webhooks/whatsapp  the verification handshake (hub.mode, hub.verify_token,
                              hub.challenge) Meta makes when the webhook is configured.
     POST /webhooks/whatsapp  `entry[].changes[].value` with `messages[]` (text, replies to
                              interactive buttons and lists, media) and `statuses[]`
                              (sent / delivered / read / failed). Every request carries
                              `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body, keyed
                              with the app secret>`; it is checked on the bytes as received,
                              before anything is parsed.
Out: POST {graph}/{version}/{phone_number_id}/messages with the access token, from the outbox.

The address of a person is their WhatsApp id (`wa_id`, digits). Their profile name is never
read: it is personal data the hotline does not need. Meta retries a webhook until it gets a
200, so a message id (`wamid…`) seen twice is handled once (the engine drops duplicates).
"""

from __future__ import annotations

from typing import Any

CHANNEL = "whatsapp_cloud"


def secret(value: Any) -> str:
    """A setting's secret text ('' when unset)."""
    return value.get_secret_value() if value is not None else ""
