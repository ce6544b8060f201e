"""/api/v1 with tokens: cases from the queue to closing, accounts, administration."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.events import Event
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Contact, utcnow
from tests.console_support import (
    DEFAULT_PASSWORD,
    api_token,
    create_operator,
    rest_ask_for_person,
    rest_collect,
    rest_say,
    sign_in,
)


@pytest.fixture
async def operator(runtime: Runtime) -> dict[str, str]:
    operator_id = await create_operator(runtime, "api-op", "operator", display_name="Api Op")
    return {"authorization": f"Bearer {await api_token(runtime, operator_id)}"}


@pytest.fixture
async def supervisor(runtime: Runtime) -> dict[str, str]:
    operator_id = await create_operator(runtime, "api-sup", "supervisor")
    return {"authorization": f"Bearer {await api_token(runtime, operator_id)}"}


@pytest.fixture
async def admin(runtime: Runtime) -> dict[str, str]:
    operator_id = await create_operator(runtime, "api-admin", "admin")
    return {"authorization": f"Bearer {await api_token(runtime, operator_id)}"}


def drain(queue: asyncio.Queue[Event]) -> list[tuple[str, dict[str, Any]]]:
    events = []
    while not queue.empty():
        event = queue.get_nowait()
        events.append((event.kind, event.data))
    return events


async def test_a_case_from_the_queue_to_closing(
    runtime: Runtime, client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    await rest_ask_for_person(client, "api-person", "ha")
    await rest_say(client, "api-person", "Ina cikin Sabha", "ha")
    queue = await client.get("/api/v1/cases", headers=operator)
    assert queue.status_code == 200
    [row] = queue.json()
    assert (row["status"], row["priority"], row["language"], row["channel"]) == (
        "open",
        "normal",
        "ha",
        "rest",
    )
    assert row["preview"] == "Ina cikin Sabha" and row["assigned_to_id"] is None
    assert row["channel_label"] == "REST API"  # what the console's live queue shows
    case_id = row["id"]
    assert (
        await client.get("/api/v1/cases", headers=operator, params={"language": "ar"})
    ).json() == []
    detail = await client.get(f"/api/v1/cases/{case_id}", headers=operator)
    body = detail.json()
    assert body["queue_position"] == 1
    assert body["contact"]["address_masked"].endswith("son") and "api-person" not in detail.text
    # the person's message, then the bot's note that it was passed on
    assert [m["author"] for m in body["messages"]][-2:] == ["person", "bot"]
    assert body["messages"][-1]["text"] == runtime.catalogs.text(
        "ha", "handoff.passed_on", position=1
    )
    last_id = body["messages"][-1]["id"]

    claimed = await client.post(f"/api/v1/cases/{case_id}/claim", headers=operator)
    assert claimed.json()["assigned_to_name"] == "Api Op" and claimed.json()["status"] == "claimed"
    assert claimed.json()["queue_position"] == 0
    text = await client.post(
        f"/api/v1/cases/{case_id}/reply",
        headers=operator,
        json={"text": "Muna nan don taimaka maka."},
    )
    assert text.status_code == 201
    canned = await client.post(
        f"/api/v1/cases/{case_id}/reply", headers=operator, json={"canned": "ask_safe"}
    )
    assert canned.status_code == 201
    both = await client.post(
        f"/api/v1/cases/{case_id}/reply", headers=operator, json={"text": "x", "canned": "ask_safe"}
    )
    assert both.status_code == 422
    unknown = await client.post(
        f"/api/v1/cases/{case_id}/reply", headers=operator, json={"canned": "no_such_reply"}
    )
    assert unknown.status_code == 422
    ask_safe = runtime.catalogs.text("ha", "canned.ask_safe")
    assert await rest_collect(client, "api-person") == ["Muna nan don taimaka maka.", ask_safe]
    newer = await client.get(
        f"/api/v1/cases/{case_id}/messages", headers=operator, params={"after": last_id}
    )
    assert [(m["author"], m["status"]) for m in newer.json()] == [
        ("Api Op", "delivered"),
        ("Api Op", "delivered"),
    ]

    note = await client.post(
        f"/api/v1/cases/{case_id}/note", headers=operator, json={"text": "Asked if safe"}
    )
    assert note.status_code == 201
    snoozed = await client.post(
        f"/api/v1/cases/{case_id}/snooze",
        headers=operator,
        json={"until": (utcnow() + timedelta(hours=3)).isoformat()},
    )
    assert snoozed.json()["status"] == "snoozed"
    bad = await client.post(
        f"/api/v1/cases/{case_id}/close", headers=operator, json={"outcome": "gone fishing"}
    )
    assert bad.status_code == 422
    closed = await client.post(
        f"/api/v1/cases/{case_id}/close", headers=operator, json={"outcome": "resolved"}
    )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "resolved")
    assert [n["text"] for n in closed.json()["notes"]] == ["Asked if safe"]
    again = await client.post(
        f"/api/v1/cases/{case_id}/reply", headers=operator, json={"text": "hello?"}
    )
    assert again.status_code == 409 and "closed" in again.json()["detail"]
    assert await rest_collect(client, "api-person") == [
        runtime.catalogs.text("ha", "handoff.closed")
    ]
    missing = await client.get("/api/v1/cases/999999", headers=operator)
    assert missing.status_code == 404


async def test_open_a_case_for_a_contact(
    runtime: Runtime, client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    await rest_say(client, "api-known", "hello")
    opened = await client.post(
        "/api/v1/cases",
        headers=operator,
        json={"channel": "rest", "address": "api-known", "priority": "urgent"},
    )
    assert opened.status_code == 201 and opened.json()["created"] is True
    again = await client.post(
        "/api/v1/cases", headers=operator, json={"channel": "rest", "address": "api-known"}
    )
    assert again.json() == {"id": opened.json()["id"], "created": False}
    nobody = await client.post(
        "/api/v1/cases", headers=operator, json={"channel": "rest", "address": "api-unknown"}
    )
    assert nobody.status_code == 404
    invalid = await client.post(
        "/api/v1/cases", headers=operator, json={"channel": "rest", "priority": "whenever"}
    )
    assert invalid.status_code == 422 and invalid.json()["detail"]
    malformed = await client.post(
        "/api/v1/cases", headers={**operator, "content-type": "application/json"}, content=b"{nope"
    )
    assert malformed.status_code == 422


async def test_assign_needs_a_supervisor_and_an_active_operator(
    runtime: Runtime,
    client: httpx.AsyncClient,
    supervisor: dict[str, str],
    operator: dict[str, str],
) -> None:
    await rest_ask_for_person(client, "api-assign")
    [row] = (await client.get("/api/v1/cases", headers=supervisor)).json()
    team = (await client.get("/api/v1/operators", headers=operator)).json()
    worker = next(o for o in team if o["username"] == "api-op")
    assert set(worker) == {"id", "username", "display_name", "role", "languages"}
    assigned = await client.post(
        f"/api/v1/cases/{row['id']}/assign", headers=supervisor, json={"operator_id": worker["id"]}
    )
    assert assigned.json()["assigned_to_id"] == worker["id"]
    ghost = await client.post(
        f"/api/v1/cases/{row['id']}/assign", headers=supervisor, json={"operator_id": 424242}
    )
    assert ghost.status_code == 422
    mine = await client.get("/api/v1/cases", headers=operator, params={"assigned": "me"})
    assert [r["id"] for r in mine.json()] == [row["id"]]


async def test_typing_reaches_other_operators(
    runtime: Runtime, client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    await rest_ask_for_person(client, "api-typing")
    [row] = (await client.get("/api/v1/cases", headers=operator)).json()
    async with runtime.events.subscription() as events:
        answer = await client.post(f"/api/v1/cases/{row['id']}/typing", headers=operator)
        assert answer.json() == {"shown_to_person": False}  # REST has no typing indicator
        published = drain(events)
    me = (await client.get("/api/v1/me", headers=operator)).json()
    assert published == [
        ("typing", {"handoff_id": row["id"], "operator_id": me["id"], "name": "Api Op"})
    ]


async def test_session_calls_need_the_csrf_header(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "browser-user", "operator")
    csrf = await sign_in(client, "browser-user", DEFAULT_PASSWORD)
    await rest_ask_for_person(client, "api-csrf")
    [row] = (await client.get("/api/v1/cases")).json()
    refused = await client.post(f"/api/v1/cases/{row['id']}/typing")
    assert refused.status_code == 403
    allowed = await client.post(f"/api/v1/cases/{row['id']}/typing", headers={"x-csrf-token": csrf})
    assert allowed.status_code == 200
    assert (await client.get("/api/v1/me")).json()["via"] == "session"


async def test_administration(
    runtime: Runtime, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/admin/operators",
        headers=admin,
        json={
            "username": "zainab",
            "role": "operator",
            "display_name": "Zainab",
            "languages": ["en", "fr"],
        },
    )
    assert created.status_code == 201
    one_time = created.json()["one_time_password"]
    duplicate = await client.post(
        "/api/v1/admin/operators", headers=admin, json={"username": "zainab"}
    )
    assert duplicate.status_code == 409
    bad_language = await client.post(
        "/api/v1/admin/operators", headers=admin, json={"username": "xavier", "languages": ["tlh"]}
    )
    assert bad_language.status_code == 422
    zainab = created.json()["id"]
    promoted = await client.patch(
        f"/api/v1/admin/operators/{zainab}", headers=admin, json={"role": "supervisor"}
    )
    assert promoted.json()["role"] == "supervisor"
    assert promoted.json()["must_change_password"] is True
    reset = await client.post(f"/api/v1/admin/operators/{zainab}/reset-password", headers=admin)
    assert reset.json()["one_time_password"] != one_time
    everyone = await client.get("/api/v1/admin/operators", headers=admin)
    assert {o["username"] for o in everyone.json()} >= {"zainab", "api-admin"}
    me = (await client.get("/api/v1/me", headers=admin)).json()
    myself = await client.patch(
        f"/api/v1/admin/operators/{me['id']}", headers=admin, json={"active": False}
    )
    assert myself.status_code == 422
    disabled = await client.patch(
        f"/api/v1/admin/operators/{zainab}", headers=admin, json={"active": False}
    )
    assert disabled.json()["active"] is False
    enabled = await client.patch(
        f"/api/v1/admin/operators/{zainab}", headers=admin, json={"active": True}
    )
    assert enabled.json()["active"] is True
    removed = await client.delete(f"/api/v1/admin/operators/{zainab}", headers=admin)
    assert removed.status_code == 204
    listed = await client.get("/api/v1/admin/operators", headers=admin)
    assert next(o for o in listed.json() if o["id"] == zainab)["active"] is False  # kept

    await rest_say(client, "api-mobilizer", "hello")
    role = await client.put(
        "/api/v1/admin/contacts/role",
        headers=admin,
        json={"channel": "rest", "address": "api-mobilizer", "role": "mobilizer"},
    )
    assert role.status_code == 200 and role.json()["role"] == "mobilizer"
    async with runtime.db.session() as session:
        contact = await session.get(Contact, role.json()["contact_id"])
        assert contact is not None and contact.role == "mobilizer"
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("contact.role") == 1
    assert {
        "operator.created",
        "operator.role",
        "operator.password_reset",
        "operator.disabled",
    } <= set(actions)
    no_contact = await client.put(
        "/api/v1/admin/contacts/role",
        headers=admin,
        json={"channel": "rest", "address": "nobody", "role": "mobilizer"},
    )
    assert no_contact.status_code == 404
    settings = await client.get("/api/v1/admin/settings", headers=admin)
    values = {s["name"]: s["value"] for s in settings.json()}
    assert values["console_idle_minutes"] == "60.0"
    assert values["hotline_secret_key"] in ("(set)", "(not set)")
    assert values["telegram_bot_token"] == "(not set)"


async def test_a_case_taken_by_one_operator_cannot_be_taken_by_another(
    runtime: Runtime,
    client: httpx.AsyncClient,
    operator: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    other_id = await create_operator(runtime, "api-op2", "operator", display_name="Second Op")
    other = {"authorization": f"Bearer {await api_token(runtime, other_id)}"}
    await rest_ask_for_person(client, "contested")
    [row] = (await client.get("/api/v1/cases", headers=operator)).json()
    case_id = row["id"]
    first = await client.post(f"/api/v1/cases/{case_id}/claim", headers=operator)
    assert first.status_code == 200 and first.json()["assigned_to_name"] == "Api Op"
    second = await client.post(f"/api/v1/cases/{case_id}/claim", headers=other)
    assert second.status_code == 409
    assert second.json()["detail"] == "already taken by Api Op"
    detail = (await client.get(f"/api/v1/cases/{case_id}", headers=other)).json()
    assert (detail["assigned_to_name"], detail["status"]) == ("Api Op", "claimed")
    # the holder taking it again is fine; a supervisor's "take" is refused too
    assert (
        await client.post(f"/api/v1/cases/{case_id}/claim", headers=operator)
    ).status_code == 200
    boss = await client.post(f"/api/v1/cases/{case_id}/claim", headers=supervisor)
    assert boss.status_code == 409
    # supervisors reassign through the assign route
    moved = await client.post(
        f"/api/v1/cases/{case_id}/assign", headers=supervisor, json={"operator_id": other_id}
    )
    assert moved.status_code == 200 and moved.json()["assigned_to_name"] == "Second Op"


async def test_two_operators_taking_a_case_at_the_same_moment(
    runtime: Runtime, client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    other_id = await create_operator(runtime, "api-op3", "operator", display_name="Third Op")
    other = {"authorization": f"Bearer {await api_token(runtime, other_id)}"}
    await rest_ask_for_person(client, "contested-at-once")
    [row] = (await client.get("/api/v1/cases", headers=operator)).json()
    answers = await asyncio.gather(
        client.post(f"/api/v1/cases/{row['id']}/claim", headers=operator),
        client.post(f"/api/v1/cases/{row['id']}/claim", headers=other),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    winner = next(answer for answer in answers if answer.status_code == 200)
    loser = next(answer for answer in answers if answer.status_code == 409)
    name = winner.json()["assigned_to_name"]
    assert loser.json()["detail"] == f"already taken by {name}"
    detail = (await client.get(f"/api/v1/cases/{row['id']}", headers=operator)).json()
    assert detail["assigned_to_name"] == name
