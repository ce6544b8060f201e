"""The audit trail: every view of a registration, edit, stage change, export, erasure,
sign-in, second-factor and role change leaves an event (who, when, what; never the personal
values); supervisors read and filter it; no route changes or deletes it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from bot import PROJECT_ROOT
from bot.runtime import Runtime
from bot.storage.models import AuditEvent
from server import create_app
from tests.console_support import (
    DEFAULT_PASSWORD,
    api_token,
    create_operator,
    csrf_from,
    sign_in,
)
from tests.test_console_auth import UNSAFE, route_table
from tests.test_records import person, register

TRIPOLI = ZoneInfo("Africa/Tripoli")


async def events(runtime: Runtime) -> list[AuditEvent]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


async def test_every_listed_action_leaves_an_event_without_personal_values(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    admin_id = await create_operator(runtime, "auditor", "admin")
    worker_id = await create_operator(runtime, "worker", "operator")
    contact = await person(runtime, "rest", "audit-person", language="en")
    row = await register(runtime, "Amina Secretname", contact_id=contact, phone="+218911234567")
    page = await client.get("/console/login")
    failed = await client.post(
        "/console/login",
        data={"username": "auditor", "password": "wrong!", "csrf_token": csrf_from(page.text)},
    )
    assert failed.status_code == 401
    csrf = await sign_in(client, "auditor", DEFAULT_PASSWORD)
    bearer = {"authorization": f"Bearer {await api_token(runtime, admin_id)}"}
    # a view in the console and through the API
    assert (await client.get(f"/console/registrations/{row.id}")).status_code == 200
    assert (await client.get(f"/api/v1/registrations/{row.id}", headers=bearer)).status_code == 200
    # an edit of personal fields, a stage change, an export
    edited = await client.patch(
        f"/api/v1/registrations/{row.id}",
        headers=bearer,
        json={"full_name": "Amina Othername", "phone": "+218927654321"},
    )
    assert edited.status_code == 200, edited.text
    staged = await client.post(
        f"/console/registrations/{row.id}/stage", data={"stage": "screening", "csrf_token": csrf}
    )
    assert staged.status_code == 303
    today = datetime.now(TRIPOLI).date().isoformat()
    exported = await client.get(
        "/api/v1/exports/embassy.csv",
        headers=bearer,
        params={"nationality": "NG", "date_from": today, "date_to": today},
    )
    assert exported.status_code == 200
    # a role change and a second-factor reset by the administrator
    assert (
        await client.post(
            f"/console/admin/operators/{worker_id}/role",
            data={"role": "supervisor", "csrf_token": csrf},
        )
    ).status_code == 303
    assert (
        await client.post(
            f"/console/admin/operators/{worker_id}/reset-second-factor",
            data={"csrf_token": csrf},
        )
    ).status_code == 303
    # the person erases their data
    assert await runtime.store.erase_contact(contact)
    trail = await events(runtime)
    by_action = {event.action: event for event in trail}
    actor = f"operator:{admin_id}"
    expected = {
        "signin.failed": (actor, str(admin_id)),
        "signin": (actor, str(admin_id)),
        "registration.viewed": (actor, row.reference),
        "registration.edited": (actor, row.reference),
        "registration.stage": (actor, row.reference),
        "registration.export": (actor, "NG"),
        "operator.role": (actor, str(worker_id)),
        "second_factor.reset": (actor, str(worker_id)),
        "contact.erased": ("contact", str(contact)),
    }
    for action, (who, subject) in expected.items():
        assert action in by_action, action
        assert (by_action[action].actor, by_action[action].subject) == (who, subject), action
        assert by_action[action].created_at is not None
    views = [e for e in trail if e.action == "registration.viewed"]
    assert len(views) >= 3  # console page, API detail, the API edit's answer
    # the edit names the fields, never their values
    assert by_action["registration.edited"].details == {"fields": ["full_name", "phone"]}
    assert by_action["operator.role"].details == {"role": ["operator", "supervisor"]}
    everything = json.dumps(
        [[e.actor, e.action, e.subject, e.details] for e in trail], ensure_ascii=False
    )
    for value in ("Secretname", "Othername", "218911234567", "218927654321", "audit-person"):
        assert value not in everything, value


async def test_supervisors_read_and_filter_the_trail_operators_cannot(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    sara = await create_operator(runtime, "sara", "supervisor")
    olu = await create_operator(runtime, "olu", "operator")
    old = datetime(2026, 1, 10, 12, 0, tzinfo=TRIPOLI)
    async with runtime.db.session() as session, session.begin():
        for n in range(120):
            session.add(
                AuditEvent(
                    actor=f"operator:{olu}",
                    action="registration.viewed",
                    subject=f"REF-{n:03d}",
                    details={},
                    created_at=old + timedelta(minutes=n),
                )
            )
        session.add(
            AuditEvent(
                actor=f"operator:{sara}",
                action="registration.export",
                subject="NG",
                details={"rows": 3},
                created_at=old + timedelta(days=1),
            )
        )
    # an operator: no link, and the page and the API refuse
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, "olu", DEFAULT_PASSWORD)
        assert "/console/audit" not in (await other.get("/console")).text
        assert (await other.get("/console/audit")).status_code == 403
        assert (await other.get("/api/v1/audit")).status_code == 403
    await sign_in(client, "sara", DEFAULT_PASSWORD)
    assert 'href="/console/audit"' in (await client.get("/console")).text
    page = await client.get("/console/audit", params={"actor": f"operator:{olu}"})
    assert page.status_code == 200
    assert "121 events · page 1 of 3" in page.text  # 120 views and olu's sign-in
    assert page.text.count("<tr data-audit=") == 50
    assert "REF-119" in page.text and "REF-069" not in page.text  # newest first
    older = re.search(r'href="(/console/audit\?[^"]+)" rel="next"', page.text)
    assert older is not None
    second = await client.get(older.group(1).replace("&amp;", "&"))
    assert "REF-069" in second.text and "page 2 of 3" in second.text
    by_action = await client.get("/console/audit", params={"action": "registration.export"})
    assert "1 event" in by_action.text and "rows: 3" in by_action.text
    grouped = await client.get("/console/audit", params={"action": "registration."})
    assert "121 events" in grouped.text
    day = await client.get(
        "/console/audit", params={"date_from": "2026-01-11", "date_to": "2026-01-11"}
    )
    assert "1 event" in day.text and "registration.export" in day.text
    api = await client.get("/api/v1/audit", params={"actor": f"operator:{olu}", "page": 3})
    assert api.status_code == 200
    body = api.json()
    assert (body["total"], body["page"], body["pages"], len(body["events"])) == (121, 3, 3, 21)
    assert body["events"][-1]["subject"] == "REF-000"


def _sources_matching(pattern: re.Pattern[str]) -> list[str]:
    return [
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("bot", "flows", "nlu")
        for path in Path(PROJECT_ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text(encoding="utf-8"))
    ]


async def test_no_route_changes_or_deletes_the_trail(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    table = route_table(app)
    audit_routes = [r for r in table if "audit" in r.path]
    assert {(r.method, r.path) for r in audit_routes} == {
        ("GET", "/console/audit"),
        ("GET", "/api/v1/audit"),
    }
    assert not [r for r in audit_routes if r.method in UNSAFE]
    # and no code anywhere in the app updates or deletes audit events
    pattern = re.compile(
        r"(update|delete)\(\s*AuditEvent|AuditEvent\.__table__\.(update|delete)"
        r"|(UPDATE|DELETE\s+FROM)\s+audit_events",
        re.IGNORECASE,
    )
    assert _sources_matching(pattern) == []
    assert pattern.search("await session.execute(delete(AuditEvent))")  # the check works
    # the unsafe methods on the trail's own URLs are not routed at all
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        admin_id = await create_operator(runtime, "admin-x", "admin")
        bearer = {"authorization": f"Bearer {await api_token(runtime, admin_id)}"}
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in ("/api/v1/audit", "/api/v1/audit/1", "/console/audit", "/console/audit/1"):
                answer = await client.request(method, path, headers=bearer)
                assert answer.status_code in (404, 405), (method, path, answer.status_code)


async def test_stage_and_erasure_events_survive_the_record(runtime: Runtime) -> None:
    """The events outlive what they describe: an erasure does not remove the trail of who
    looked at the person's registration before."""
    operator_id = await create_operator(runtime, "looker", "operator")
    contact = await person(runtime, "rest", "short-lived", language="en")
    row = await register(runtime, "Gone Soon", contact_id=contact)
    async with runtime.db.session() as session, session.begin():
        session.add(
            AuditEvent(
                actor=f"operator:{operator_id}",
                action="registration.viewed",
                subject=row.reference,
                details={},
            )
        )
    await runtime.store.erase_contact(contact)
    async with runtime.db.session() as session:
        kept = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert kept[-2:] == ["registration.viewed", "contact.erased"]
    async with runtime.db.session() as session, session.begin():  # a sanity check of the model
        await session.execute(update(AuditEvent).where(AuditEvent.id < 0).values(action="x"))
