"""bot/handoffs.py as a service: the queue, silence while a case is open, timers, closing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.events import Event
from bot.handoffs import HandoffError
from bot.messages import InboundMessage
from bot.runtime import Runtime
from bot.storage.models import (
    AuditEvent,
    Direction,
    Handoff,
    Message,
    MessageStatus,
    as_utc,
    utcnow,
)
from tests.console_support import create_operator

ASK = {
    "en": "i want to talk to a person",
    "ha": "ina son magana da mutum",
    "ar": "أريد التحدث مع شخص",
    "fr": "je veux parler à une personne",
}
GREETING = {"en": "hello", "ha": "sannu", "ar": "مرحبا", "fr": "bonjour"}


async def say(runtime: Runtime, sender: str, text: str, language: str | None = None) -> list[str]:
    result = await runtime.engine.handle(
        InboundMessage(channel="rest", address=sender, text=text, language_hint=language)
    )
    return [reply.text for reply in result.replies]


async def ask_for_person(runtime: Runtime, sender: str, language: str = "en") -> int:
    await say(runtime, sender, GREETING[language], language)
    await say(runtime, sender, ASK[language], language)
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None, "asking for a person opens a case"
    return case.id


async def contact_id(runtime: Runtime, sender: str) -> int:
    return (await runtime.store.contact_for("rest", sender)).id


def drain(queue: asyncio.Queue[Event]) -> list[tuple[str, dict[str, Any]]]:
    events = []
    while not queue.empty():
        event = queue.get_nowait()
        events.append((event.kind, event.data))
    return events


async def test_queue_position_follows_priority_then_age(runtime: Runtime) -> None:
    handoffs = runtime.handoffs
    ids = {}
    for name, priority in (
        ("first", "normal"),
        ("second", "normal"),
        ("urgent", "urgent"),
        ("emergency", "emergency"),
    ):
        contact = await runtime.store.contact_for("rest", f"queue-{name}")
        ids[name], created = await handoffs.open(
            contact.id, reason="requested", priority=priority, channel="rest", language="en"
        )
        assert created
    positions = {name: await handoffs.queue_position(i) for name, i in ids.items()}
    assert positions == {"emergency": 1, "urgent": 2, "first": 3, "second": 4}
    operator = await create_operator(runtime, "queue-op", "operator")
    await handoffs.claim(ids["urgent"], operator)
    assert await handoffs.queue_position(ids["urgent"]) == 0  # taken: no longer waiting
    assert await handoffs.queue_position(ids["first"]) == 2
    assert await handoffs.queue_position(ids["second"]) == 3


async def test_opening_again_raises_priority_never_lowers_it(runtime: Runtime) -> None:
    contact = await runtime.store.contact_for("rest", "again")
    first, created = await runtime.handoffs.open(
        contact.id, reason="requested", priority="normal", channel="rest", language="en"
    )
    same, created_again = await runtime.handoffs.open(
        contact.id, reason="emergency", priority="emergency", channel="rest", language="en"
    )
    assert (same, created, created_again) == (first, True, False)
    await runtime.handoffs.open(
        contact.id, reason="requested", priority="normal", channel="rest", language="en"
    )
    case = await runtime.handoffs.get(first)
    assert case is not None and (case.priority, case.reason) == ("emergency", "emergency")


async def test_bot_is_silent_while_a_case_is_open(runtime: Runtime) -> None:
    async with runtime.events.subscription() as events:
        case_id = await ask_for_person(runtime, "silent")
        assert ("handoff.opened", {"handoff_id": case_id, "priority": "normal"}) in drain(events)
        # the first message is acknowledged (passed on, place in the queue), nothing else
        passed_on = runtime.catalogs.text("en", "handoff.passed_on", position=1)
        assert await say(runtime, "silent", "hello?") == [passed_on]
        assert await say(runtime, "silent", "1") == []  # not even the menu answers
        published = drain(events)
    assert [kind for kind, _ in published] == ["message", "message"]
    assert all(data["handoff_id"] == case_id for _, data in published)
    async with runtime.db.session() as session:  # stored, and marked handled
        rows = list(
            await session.scalars(
                select(Message)
                .where(
                    Message.contact_id == await contact_id(runtime, "silent"),
                    Message.direction == Direction.INBOUND,
                )
                .order_by(Message.id)
            )
        )
    assert [(m.text, m.status) for m in rows[-2:]] == [("hello?", "processed"), ("1", "processed")]


async def test_the_person_is_told_their_place_and_the_hours(make_runtime: Any) -> None:
    # opening hours on a day that is not today in Libya: certainly closed now
    today = utcnow().astimezone(ZoneInfo("Africa/Tripoli")).weekday()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today + 3) % 7]
    runtime = await make_runtime(operator_hours=f"{day} 08:00-17:00")
    await say(runtime, "hours", "hello")
    replies = await say(runtime, "hours", ASK["en"])
    catalogs = runtime.catalogs
    assert catalogs.text("en", "handoff.requested") in replies
    notice = replies[-1]
    assert catalogs.text("en", "handoff.position", position=1) in notice
    hours = runtime.handoffs.hours.describe("en")
    assert catalogs.text("en", "handoff.hours", hours=hours) in notice


async def test_operator_reply_is_queued_for_the_persons_channel(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "replied")
    operator = await create_operator(runtime, "replier", "operator")
    message_id = await runtime.handoffs.reply(case_id, operator, "  We are here to help.  ")
    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
        case = await session.get(Handoff, case_id)
    assert message is not None and case is not None
    assert (message.text, message.status, message.operator_id, message.channel) == (
        "We are here to help.",
        MessageStatus.QUEUED,
        operator,
        "rest",
    )
    assert (case.status, case.assigned_to_id, case.waiting_since) == ("claimed", operator, None)
    assert case.first_response_at is not None
    collected = await runtime.store.take_queued(await contact_id(runtime, "replied"))
    assert [m.text for m in collected] == ["We are here to help."]
    with pytest.raises(HandoffError):
        await runtime.handoffs.reply(case_id, operator, "   ")


async def test_snooze_wakes_when_the_person_writes(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "snoozer")
    operator = await create_operator(runtime, "snoozing", "operator")
    await runtime.handoffs.claim(case_id, operator)
    info = await runtime.handoffs.snooze(case_id, operator)
    assert info.status == "snoozed"
    # the case is active: only the note that the message reached the operator holding it
    assert await say(runtime, "snoozer", "I am back") == [
        runtime.catalogs.text("en", "handoff.passed_on_taken")
    ]
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.status == "claimed" and case.waiting_since is not None


async def test_snooze_wakes_when_its_time_comes(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "later")
    until = utcnow() + timedelta(hours=2)
    operator = await create_operator(runtime, "snooze-timer", "operator")
    await runtime.handoffs.snooze(case_id, operator, until)
    async with runtime.events.subscription() as events:
        assert await runtime.handoffs.run_timers(until - timedelta(seconds=1)) == {
            "escalated": 0,
            "woken": 0,
        }
        assert await runtime.handoffs.run_timers(until) == {"escalated": 0, "woken": 1}
        assert drain(events) == [("handoff.updated", {"handoff_id": case_id})]
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.status == "open" and case.waiting_since is not None
    assert await runtime.handoffs.queue_position(case_id) == 1


async def test_unanswered_cases_escalate(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "waiting")
    start = await runtime.handoffs.get(case_id)
    assert start is not None and start.waiting_since is not None
    since = as_utc(start.waiting_since)
    assert since is not None
    after = runtime.handoffs.escalate_after
    operator = await create_operator(runtime, "slow", "operator")
    await runtime.handoffs.claim(case_id, operator)
    async with runtime.events.subscription() as events:
        assert (await runtime.handoffs.run_timers(since + after - timedelta(seconds=1)))[
            "escalated"
        ] == 0
        assert (await runtime.handoffs.run_timers(since + after))["escalated"] == 1
        assert (await runtime.handoffs.run_timers(since + after))["escalated"] == 0  # once
        assert drain(events) == [("handoff.escalated", {"handoff_id": case_id})]
        # still unanswered after twice the time: back to everyone's queue
        assert (await runtime.handoffs.run_timers(since + 2 * after))["escalated"] == 1
    async with runtime.db.session() as session:
        row = await session.get(Handoff, case_id)
    assert row is not None
    assert (row.escalation_level, row.status, row.assigned_to_id) == (2, "open", None)
    # an answer stops the clock
    await runtime.handoffs.reply(case_id, operator, "Sorry for the wait.")
    assert (await runtime.handoffs.run_timers(since + 10 * after))["escalated"] == 0


@pytest.mark.parametrize("language", ["ar", "ha"])
async def test_close_tells_the_person_in_their_language_and_the_bot_resumes(
    runtime: Runtime, language: str
) -> None:
    sender = f"closing-{language}"
    case_id = await ask_for_person(runtime, sender, language)
    operator = await create_operator(runtime, f"closer-{language}", "operator")
    async with runtime.events.subscription() as events:
        info = await runtime.handoffs.close(case_id, operator, "resolved")
        assert drain(events) == [("handoff.closed", {"handoff_id": case_id})]
    assert info.status == "closed"
    collected = await runtime.store.take_queued(await contact_id(runtime, sender))
    assert [m.text for m in collected] == [runtime.catalogs.text(language, "handoff.closed")]
    assert collected[0].direction == runtime.catalogs.direction(language)
    assert await runtime.handoffs.active_for(await contact_id(runtime, sender)) is None
    assert await say(runtime, sender, GREETING[language], language) != []  # the bot is back
    with pytest.raises(HandoffError):
        await runtime.handoffs.close(case_id, operator, "resolved")  # already closed
    async with runtime.db.session() as session:
        audit = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "handoff.closed", AuditEvent.subject == str(case_id)
            )
        )
    assert audit is not None and audit.details == {"outcome": "resolved"}
    assert audit.actor == f"operator:{operator}"


async def test_danger_during_a_case_raises_priority_and_is_answered_once(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "danger")
    replies = await say(runtime, "danger", "my friend is bleeding a lot of blood")
    assert replies[0] == runtime.catalogs.text("en", "safety.emergency")
    # then honestly what happens next: no emergency number is configured in this test
    assert replies[1:] == [runtime.catalogs.text("en", "handoff.no_emergency_numbers")]
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.priority == "emergency"
    assert await runtime.handoffs.queue_position(case_id) == 1
    # the same danger again: the case is already an emergency, the bot stays silent
    assert await say(runtime, "danger", "he is bleeding") == []


async def test_one_active_case_per_person_even_when_opened_at_once(runtime: Runtime) -> None:
    person = await contact_id(runtime, "twice-at-once")
    results = await asyncio.gather(
        *(
            runtime.handoffs.open(
                person, reason="requested", priority=priority, channel="rest", language="en"
            )
            for priority in ("normal", "urgent", "normal", "emergency", "normal")
        )
    )
    assert len({handoff_id for handoff_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with runtime.db.session() as session:
        rows = list(await session.scalars(select(Handoff).where(Handoff.contact_id == person)))
    assert len(rows) == 1


async def test_two_operators_taking_one_case_the_second_is_told(runtime: Runtime) -> None:
    from bot.handoffs import HandoffTaken

    first = await create_operator(runtime, "first-op", "operator")
    second = await create_operator(runtime, "second-op", "operator")
    case_id = await ask_for_person(runtime, "wanted")
    await runtime.handoffs.claim(case_id, first)
    with pytest.raises(HandoffTaken):
        await runtime.handoffs.claim(case_id, second)
    assert (await runtime.handoffs.claim(case_id, first)).assigned_to_id == first  # again: fine
    case = await runtime.handoffs.get(case_id)
    assert case is not None and case.assigned_to_id == first


async def test_closing_does_not_message_a_person_who_sent_stop(runtime: Runtime) -> None:
    case_id = await ask_for_person(runtime, "stopper")
    person = await contact_id(runtime, "stopper")
    await runtime.store.set_opted_out(person, True)
    await runtime.handoffs.close(case_id, None, "resolved")
    assert await runtime.store.take_queued(person) == []


async def test_a_timer_pass_does_not_undo_an_operators_reply(runtime: Runtime) -> None:
    operator = await create_operator(runtime, "answering", "operator")
    case_id = await ask_for_person(runtime, "answered")
    await runtime.handoffs.claim(case_id, operator)
    handoffs = runtime.handoffs
    update_if = handoffs._update_if

    async def operator_answers_first(*args: Any, **kwargs: Any) -> bool:
        # the race: the timer has read the case as long unanswered; the operator answers
        # before the timer writes
        await handoffs.reply(case_id, operator, "I am here")
        return await update_if(*args, **kwargs)

    handoffs._update_if = operator_answers_first  # type: ignore[method-assign]
    long_after = utcnow() + handoffs.escalate_after * 3
    assert (await handoffs.run_timers(long_after))["escalated"] == 0
    case = await handoffs.get(case_id)
    assert case is not None and case.assigned_to_id == operator and case.status == "claimed"


async def test_a_message_arriving_as_the_case_closes_is_never_lost(runtime: Runtime) -> None:
    """Closing takes the person's lock: a turn already running finishes inside the case (the
    operator's case has the message and waits on it) before the close; the next message, after
    the close, is the bot's again."""
    sender = "race-close"
    case_id = await ask_for_person(runtime, sender)
    operator = await create_operator(runtime, "race-op", "operator")
    await runtime.handoffs.claim(case_id, operator)
    cid = await contact_id(runtime, sender)

    nlu = runtime.engine.nlu
    entered, release = asyncio.Event(), asyncio.Event()

    class SlowNLU:
        async def parse(self, text: str, language_hint: str | None = None) -> Any:
            entered.set()
            await release.wait()
            return await nlu.parse(text, language_hint)

    runtime.engine.nlu = SlowNLU()  # type: ignore[assignment]
    try:
        turn = asyncio.create_task(say(runtime, sender, "are you still there", "en"))
        await entered.wait()  # the turn holds the lock and has not yet looked at the case
        closing = asyncio.create_task(runtime.handoffs.close(case_id, operator, "resolved"))
        await asyncio.sleep(0.3)
        assert not closing.done(), "the close must wait for the person's turn"
        release.set()
        # handled inside the case: the bot only says it passed the message on
        assert await turn == [runtime.catalogs.text("en", "handoff.passed_on_taken")]
        await closing
    finally:
        runtime.engine.nlu = nlu
    async with runtime.db.session() as session:
        row = await session.get(Handoff, case_id)
        assert row is not None and row.status == "closed"
        last_in = await session.scalar(
            select(Message)
            .where(Message.contact_id == cid, Message.direction == Direction.INBOUND)
            .order_by(Message.id.desc())
        )
    assert last_in is not None and last_in.text == "are you still there"
    assert last_in.created_at <= row.closed_at  # seen by the case before it closed
    assert await say(runtime, sender, GREETING["en"], "en") != []  # after the close: the bot
