"""The REST channel's contract and its answers to bad input; the web chat page; health."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from bot import parse_endpoint
from bot.messages import InboundMessage, OutboundMessage
from bot.runtime import Runtime


async def test_rasa_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": "shape", "message": "hello", "metadata": {}}
    )
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and body
    for reply in body:
        assert reply["recipient_id"] == "shape"
        assert isinstance(reply["text"], str) and reply["text"]
        assert all(set(b) == {"title", "payload"} for b in reply["buttons"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b'{"message": "hi"}', 422),  # no sender
        (b'{"sender": "", "message": "hi"}', 422),
        (b'{"sender": "a b<script>", "message": "hi"}', 422),
        (b'{"sender": "ok", "message": 5}', 422),
        (b"\xff\xfe\xfa", 400),  # not UTF-8
        (b"[]", 422),
    ],
)
async def test_bad_requests_get_clear_errors(
    client: httpx.AsyncClient, runtime: Runtime, body: bytes, status: int
) -> None:
    response = await client.post(
        "/webhooks/rest/webhook", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert "detail" in response.json()
    assert await runtime.store.open_handoffs() == []


async def test_huge_body_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/rest/webhook",
        content=b'{"sender": "big", "message": "' + b"a" * 200_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_later_messages_are_collected_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await client.post("/webhooks/rest/webhook", json={"sender": "later", "message": "hello"})
    contact = await runtime.store.contact_for("rest", "later")
    await runtime.engine.send_later(
        contact.id, "rest", OutboundMessage(text="An operator writes <b>hi</b>", language="en")
    )
    first = await client.get("/webhooks/rest/messages", params={"sender": "later"})
    assert [m["text"] for m in first.json()] == ["An operator writes <b>hi</b>"]
    second = await client.get("/webhooks/rest/messages", params={"sender": "later"})
    assert second.json() == []


async def test_chat_page_is_localized_and_right_to_left_in_arabic(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page = await client.get("/chat", params={"lang": "ar"})
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    assert runtime.catalogs.text("ar", "webchat.send") in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    english = await client.get("/chat", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr" dir="ltr">' in english.text
    script = await client.get("/static/chat.js")
    assert script.status_code == 200
    assert "innerHTML" not in script.text  # migrants' text is only ever set as text


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_model_parse_answers_rasa_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/model/parse", json={"text": "nbi nrja3 l bladi"})
    assert response.status_code == 200
    body = response.json()
    assert body["intent"]["name"] == "register_return"
    assert body["language"] == "ar"
    assert {"text", "intent", "intent_ranking", "entities"} <= set(body)
    assert (await client.post("/model/parse", json={})).status_code == 422


async def test_model_parse_rejects_bad_bodies_clearly(client: httpx.AsyncClient) -> None:
    not_json = await client.post(
        "/model/parse", content=b"\xff\xfe not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["detail"]
    wrong_type = await client.post("/model/parse", json={"text": 5})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["detail"][0]["loc"] == ["body", "text"]
    huge = await client.post("/model/parse", json={"text": "a" * 70_000})
    assert huge.status_code == 413
    ok = await client.post("/model/parse", json={"text": "مرحبا", "language": "ar"})
    assert ok.headers["x-content-type-options"] == "nosniff"  # the shared security headers
    assert ok.json()["text"] == "مرحبا"


async def test_model_parse_is_documented_and_served_without_the_fast_path(
    runtime: Runtime,
) -> None:
    from server import create_app

    app = create_app(runtime=runtime)
    assert "/model/parse" in app.openapi()["paths"]
    # the documented route gives the same answer as the fast path in front of it
    request_body = b'{"text": "I want to go home"}'
    status, payload = await parse_endpoint.answer(runtime, request_body)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        fast = await http.post("/model/parse", content=request_body)
    assert (status, payload) == (fast.status_code, fast.content)
    route = next(r for r in app.routes if getattr(r, "path", "") == "/model/parse")
    response = await route.endpoint(_request(app, request_body))
    assert response.body == payload


def _request(app: object, body: bytes) -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/model/parse", "headers": [], "app": app}
    return Request(scope, receive)


async def test_a_retry_after_a_lost_answer_gets_the_same_replies(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # The turn ran and its replies were stored, then the answer was lost (the process died
    # before sending it): the client's retry with the same message id gets those replies.
    lost = await runtime.engine.handle(
        InboundMessage("rest", "kim", "hello", provider_message_id="k-1"), confirm_later=True
    )
    body = {"sender": "kim", "message": "hello", "metadata": {"message_id": "k-1"}}
    retry = await client.post("/webhooks/rest/webhook", json=body)
    assert retry.status_code == 200
    assert [r["text"] for r in retry.json()] == [r.text for r in lost.replies]
    # that answer went out: the next retry is answered once, with nothing new
    again = await client.post("/webhooks/rest/webhook", json=body)
    assert again.status_code == 200 and again.json() == []
    contact = await runtime.store.contact_for("rest", "kim")
    transcript = await runtime.store.transcript(contact.id)
    assert [d for d, _, _ in transcript] == ["in"] + ["out"] * len(lost.replies)


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/chat/messages"])
async def test_the_fast_path_answers_as_the_route_does(runtime: Runtime, path: str) -> None:
    """A conversation through bot/fastpath.py and the same one through the FastAPI route (the
    middleware taken out) get the same answers, byte for byte but for the sender's id; a body
    the fast path does not take (not JSON, invalid) gets the route's own answer."""
    from bot.fastpath import FastPaths
    from server import create_app

    fast_app = create_app(runtime=runtime)
    route_app = create_app(runtime=runtime)
    route_app.user_middleware = [m for m in route_app.user_middleware if m.cls is not FastPaths]
    conversation = ["hello", "1", "I want to go home", "0", "clinic in tripoli"]
    answers: dict[str, list[tuple[int, bytes]]] = {}
    for name, app in (("fast", fast_app), ("route", route_app)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            sender = f"same-{name}-{path.count('chat')}"
            answers[name] = []
            for number, text in enumerate(conversation):
                metadata = {"message_id": f"{sender}-{number}"}
                body = {"sender": sender, "message": text, "metadata": metadata}
                response = await http.post(path, json=body)
                answers[name].append(
                    (response.status_code, response.content.replace(sender.encode(), b"S"))
                )
            for raw, content_type in (
                (b'{"sender": "x y", "message": "hi"}', "application/json"),
                (b'{"sender": "plain", "message": "hi"}', "text/plain"),
                (b"{not json", "application/json"),
            ):
                response = await http.post(
                    path, content=raw, headers={"content-type": content_type}
                )
                answers[name].append((response.status_code, response.content))
    assert answers["fast"] == answers["route"]
    assert [status for status, _ in answers["fast"]] == [200] * 5 + [422] * 3
    assert all(b'"recipient_id":"S"' in body for _, body in answers["fast"][:5])
