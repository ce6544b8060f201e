"""Retention with the clock moved: older personal data is anonymised on schedule, the report's
figures stay as they were, and nothing personal is found again. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.messages import InboundMessage, OutboundMessage
from bot.reports import DateRange, build_report
from bot.runtime import Runtime
from bot.storage import crypto
from bot.storage.models import (
    AuditEvent,
    Contact,
    HandoffNote,
    Message,
    MessageStatus,
    Registration,
    RegistrationChange,
    SessionRecord,
    utcnow,
)
from tests.conftest import RuntimeFactory
from tests.console_support import create_operator

ZONE = ZoneInfo("Africa/Tripoli")
REGISTRATION = ["hello", "1", "yes", "Amina Bello", "1", "30", "1", "0912345678", "Sabha"]
REGISTRATION += ["1", "Tarik al Sikka detention centre", "3", "0", "2", "2", "2", "1"]


async def say(runtime: Runtime, sender: str, *texts: str) -> None:
    for text in texts:
        await runtime.engine.handle(InboundMessage(channel="rest", address=sender, text=text))


async def figures(runtime: Runtime) -> dict[str, Any]:
    today = utcnow().astimezone(ZONE).date()
    report = await build_report(runtime.db, DateRange(today - timedelta(days=2), today), ZONE)
    return report.as_json()


async def rows(runtime: Runtime, model: Any) -> list[Any]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(model)))


async def redis_session(runtime: Runtime, contact_id: int) -> str | None:
    redis: Any = runtime.sessions._redis  # type: ignore[attr-defined]
    value: str | None = await redis.get(f"hotline:session:{contact_id}")
    return value


async def people_and_a_closed_case(runtime: Runtime) -> None:
    await say(runtime, "amina", *REGISTRATION)
    await say(runtime, "amina", "I want to talk to a person")
    [case] = await runtime.store.open_handoffs()
    operator = await create_operator(runtime, "olga", "operator")
    await runtime.handoffs.claim(case.id, operator)
    await runtime.handoffs.reply(case.id, operator, "we call you tomorrow")
    await runtime.handoffs.note(case.id, operator, "Amina's brother is Yusuf")
    await runtime.handoffs.close(case.id, operator, "resolved")
    await say(runtime, "bashir", "hello", "what services are in Tripoli")


async def test_nothing_younger_than_its_period_is_touched(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime()
    await people_and_a_closed_case(runtime)
    assert await runtime.retention.run_once(utcnow() + timedelta(days=30)) == {}
    [registration] = await rows(runtime, Registration)
    assert registration.full_name == "Amina Bello"
    assert all(m.text for m in await rows(runtime, Message) if m.direction == "in")


async def test_each_kind_goes_after_its_own_period(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime()
    await people_and_a_closed_case(runtime)
    before = await figures(runtime)

    bashir = (await runtime.store.contact_for("rest", "bashir")).id
    assert bashir in {r.contact_id for r in await rows(runtime, SessionRecord)}
    if runtime.settings.redis_url:  # a state an earlier version kept in Redis goes too
        redis: Any = runtime.sessions._redis  # type: ignore[attr-defined]
        await redis.set(f"hotline:session:{bashir}", crypto.encrypt("{}"))
        assert await redis_session(runtime, bashir) is not None

    # 200 days on: conversations (180) are due; closed cases (365) and registrations (730) not
    done = await runtime.retention.run_once(utcnow() + timedelta(days=200))
    assert done["messages"] > 20 and done["contacts"] == 1  # bashir; amina has a registration
    assert "registrations" not in done and "case_notes" not in done
    assert {m.text for m in await rows(runtime, Message)} == {""}
    assert await rows(runtime, SessionRecord) == []
    if runtime.settings.redis_url:  # Redis too
        assert await redis_session(runtime, bashir) is None
    addresses = {c.address for c in await rows(runtime, Contact)}
    assert addresses == {"amina", ""}
    assert [n.text for n in await rows(runtime, HandoffNote)] == ["Amina's brother is Yusuf"]
    assert await figures(runtime) == before

    # 800 days on: everything is due
    done = await runtime.retention.run_once(utcnow() + timedelta(days=800))
    assert done == {"case_notes": 1, "registrations": 1, "contacts": 1}
    [registration] = await rows(runtime, Registration)
    assert (registration.full_name, registration.phone, registration.detention_place) == (
        "",
        None,
        None,
    )
    assert (registration.country, registration.city, registration.sex) == ("NG", "Sebha", "female")
    assert {c.address for c in await rows(runtime, Contact)} == {""}
    assert await rows(runtime, HandoffNote) == [] and await rows(runtime, RegistrationChange) == []
    assert await figures(runtime) == before  # the same figures after the purge
    async with runtime.db.session() as session:
        purges = await session.scalar(
            select(func.count()).where(AuditEvent.action == "retention.purged")
        )
    assert purges == 2
    assert await runtime.retention.run_once(utcnow() + timedelta(days=800)) == {}  # done once

    # nothing leads back to the person: the same address and name start afresh
    contacts = len(await rows(runtime, Contact))
    await say(runtime, "amina", *REGISTRATION)
    assert len(await rows(runtime, Contact)) == contacts + 1
    assert len(await rows(runtime, Registration)) == 2  # not found as a duplicate


async def test_retention_runs_on_the_servers_timer(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime(retention_messages_days=0.000001)  # about 0.1 s
    await say(runtime, "carla", "hello")
    runtime.retention.interval_seconds = 0.05
    await runtime.start_background()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if {m.text for m in await rows(runtime, Message)} == {""}:
            break
    assert {m.text for m in await rows(runtime, Message)} == {""}


async def test_a_message_still_held_when_its_period_ends_is_never_sent(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = await make_runtime()
    contact = await runtime.store.contact_for("whatsapp_cloud", "218912345099")
    message_id = await runtime.engine.send_later(
        contact.id, "whatsapp_cloud", OutboundMessage("Your papers are ready.", "en")
    )
    async with runtime.db.session() as session, session.begin():  # a template stood in for it
        await session.execute(
            update(Message).where(Message.id == message_id).values(status=MessageStatus.HELD)
        )
    await runtime.retention.run_once(utcnow() + timedelta(days=200))
    async with runtime.db.session() as session:
        row = await session.get(Message, message_id)
    assert row is not None and (row.status, row.text) == (MessageStatus.UNDELIVERABLE, "")
