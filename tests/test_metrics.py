"""/metrics: Prometheus figures for the turn, the outbox and the cases, only with the token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.messages import OutboundMessage
from bot.runtime import Runtime
from bot.storage.models import Message, MessageStatus
from tests.conftest import RuntimeFactory

TOKEN = "scrape-" + "x" * 24


@pytest.fixture
async def scraped(make_runtime: RuntimeFactory) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    from server import create_app

    runtime = await make_runtime(metrics_token=TOKEN)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, runtime


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def say(http: httpx.AsyncClient, sender: str, text: str, message_id: str) -> list[str]:
    body = {"sender": sender, "message": text, "metadata": {"message_id": message_id}}
    response = await http.post("/webhooks/rest/webhook", json=body)
    assert response.status_code == 200
    return [reply["text"] for reply in response.json()]


async def test_metrics_need_the_token(scraped: tuple[httpx.AsyncClient, Runtime]) -> None:
    http, _ = scraped
    assert (await http.get("/metrics")).status_code == 401
    wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")


async def test_without_a_token_set_there_is_no_metrics_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
    anyone = await client.get("/metrics", headers={"Authorization": "Bearer "})
    assert anyone.status_code == 404


async def test_turns_replies_and_cases_are_counted(
    scraped: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = scraped
    first = await say(http, "mia", "hello", "m-1")
    await say(http, "mia", "hello", "m-1")  # a provider's retry: a duplicate
    await say(http, "mia", "I want to talk to a person", "m-2")  # opens a case
    contact = await runtime.store.contact_for("rest", "mia")
    await runtime.handoffs.open(contact.id, reason="requested", channel="rest", language="en")
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    found = samples(response.text)
    rest_new = (("channel", "rest"), ("status", "new"))
    assert found[("hotline_messages_in_total", rest_new)] == 2
    rest_dup = (("channel", "rest"), ("status", "duplicate"))
    assert found[("hotline_messages_in_total", rest_dup)] == 1
    answered = found[("hotline_messages_out_total", (("channel", "rest"), ("status", "answered")))]
    assert answered >= len(first) + 1
    assert found[("hotline_turn_seconds_count", ())] == 3
    assert found[("hotline_nlu_seconds_count", ())] == 2
    cases = {
        labels: value for (name, labels), value in found.items() if name == "hotline_cases_active"
    }
    assert sum(cases.values()) == 1
    assert found[("hotline_cases_waiting", ())] == 1
    assert found[("hotline_cases_longest_wait_seconds", ())] >= 0


async def test_outbox_depth_and_send_failures(scraped: tuple[httpx.AsyncClient, Runtime]) -> None:
    http, runtime = scraped
    contact = await runtime.store.contact_for("rest", "noa")
    for text in ("one", "two"):
        await runtime.engine.send_later(contact.id, "rest", OutboundMessage(text, "en"))
    given_up = await runtime.engine.send_later(contact.id, "sms", OutboundMessage("x", "en"))
    held = await runtime.engine.send_later(contact.id, "whatsapp", OutboundMessage("y", "en"))
    async with runtime.db.session() as session, session.begin():  # as the outbox leaves them
        await session.execute(
            update(Message)
            .where(Message.id == given_up)
            .values(status=MessageStatus.UNDELIVERABLE, attempts=3)
        )
        await session.execute(
            update(Message).where(Message.id == held).values(status=MessageStatus.HELD)
        )
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    found = samples(response.text)
    assert found[("hotline_outbox_depth", (("channel", "rest"),))] == 2
    assert found[("hotline_outbox_undeliverable", (("channel", "sms"),))] == 1
    assert found[("hotline_outbox_held", (("channel", "whatsapp"),))] == 1
    assert ("hotline_outbox_depth", (("channel", "whatsapp"),)) not in found  # not due
    assert found[("hotline_outbox_retries", (("channel", "sms"),))] == 2
    await runtime.store.take_queued(contact.id)  # collected by the REST client
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ("hotline_outbox_depth", (("channel", "rest"),)) not in samples(response.text)
