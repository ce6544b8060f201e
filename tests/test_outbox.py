"""The outbox: queued messages go out once, in each person's order, with retries and reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from bot.delivery import Delivery, Outbox, Recipient, SendError
from bot.messages import OutboundMessage
from bot.runtime import Runtime
from bot.storage.models import Message, MessageStatus, utcnow


@dataclass
class RecordingSender:
    """A channel that records what it was asked to send and fails on request."""

    channel: str = "test"
    sent: list[tuple[str, str]] = field(default_factory=list)
    failures: list[SendError | Exception] = field(default_factory=list)
    calls: int = 0
    prefix: str = "p"

    async def send(self, recipient: Recipient, message: OutboundMessage) -> Delivery:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((recipient.address, message.text))
        return Delivery(provider_message_id=f"{self.prefix}{self.calls}")


async def queue(runtime: Runtime, address: str, *texts: str) -> tuple[int, list[int]]:
    contact = await runtime.store.contact_for("test", address)
    ids = [
        await runtime.engine.send_later(contact.id, "test", OutboundMessage(text, "en"))
        for text in texts
    ]
    return contact.id, ids


async def statuses(runtime: Runtime, ids: list[int]) -> list[str]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.id.in_(ids)).order_by(Message.id)
        rows = await session.scalars(query)
        return [row.status for row in rows]


async def test_queued_messages_are_sent_once_in_order(runtime: Runtime) -> None:
    sender = RecordingSender()
    runtime.outbox.register(sender)
    _, ids = await queue(runtime, "+218910000001", "one", "two", "three")
    await queue(runtime, "+218910000002", "other")
    assert await runtime.outbox.drain() == 4
    assert [text for address, text in sender.sent if address == "+218910000001"] == [
        "one",
        "two",
        "three",
    ]
    assert await statuses(runtime, ids) == ["sent"] * 3
    assert await runtime.outbox.drain() == 0  # nothing is sent twice
    assert len(sender.sent) == 4


async def test_two_outboxes_on_one_database_send_each_message_once(
    runtime: Runtime,
) -> None:
    first, second = RecordingSender(prefix="a"), RecordingSender(prefix="b")
    runtime.outbox.register(first)
    other = Outbox(runtime.db)
    other.register(second)
    await queue(runtime, "+218910000003", *[f"m{i}" for i in range(10)])
    await queue(runtime, "+218910000004", *[f"n{i}" for i in range(10)])
    await asyncio.gather(runtime.outbox.drain(), other.drain())
    texts = sorted(text for _, text in first.sent + second.sent)
    assert texts == sorted([f"m{i}" for i in range(10)] + [f"n{i}" for i in range(10)])


async def test_a_temporary_failure_is_retried_and_keeps_the_order(runtime: Runtime) -> None:
    sender = RecordingSender(failures=[SendError("429 too many requests", retry_after=0)])
    runtime.outbox.register(sender)
    _, ids = await queue(runtime, "+218910000005", "first", "second")
    await runtime.outbox.drain()
    # the first failed and waits; the second must not overtake it
    assert sender.sent == [("+218910000005", "first"), ("+218910000005", "second")]
    assert await statuses(runtime, ids) == ["sent", "sent"]


async def test_a_permanent_failure_is_not_retried(runtime: Runtime) -> None:
    sender = RecordingSender(failures=[SendError("blocked by the user", retry=False)])
    runtime.outbox.register(sender)
    _, ids = await queue(runtime, "+218910000006", "hello")
    await runtime.outbox.drain()
    assert await statuses(runtime, ids) == ["undeliverable"]
    assert sender.calls == 1
    async with runtime.db.session() as session:
        row = await session.get(Message, ids[0])
        assert row is not None and row.last_error == "blocked by the user"


async def test_gives_up_after_max_attempts(runtime: Runtime) -> None:
    runtime.outbox.max_attempts = 3
    sender = RecordingSender(failures=[SendError("timeout", retry_after=0) for _ in range(5)])
    runtime.outbox.register(sender)
    _, ids = await queue(runtime, "+218910000007", "hello")
    await runtime.outbox.drain()
    assert sender.calls == 3
    assert await statuses(runtime, ids) == ["undeliverable"]


async def test_a_crashing_sender_does_not_stop_the_outbox(runtime: Runtime) -> None:
    sender = RecordingSender(failures=[RuntimeError("bug")])
    runtime.outbox.register(sender)
    runtime.outbox.base_delay = 0
    _, ids = await queue(runtime, "+218910000008", "hello")
    await runtime.outbox.drain()
    assert await statuses(runtime, ids) == ["sent"]


async def test_channels_without_a_sender_stay_queued_for_pickup(runtime: Runtime) -> None:
    runtime.outbox.register(RecordingSender())
    contact = await runtime.store.contact_for("rest", "pickup")
    message_id = await runtime.engine.send_later(contact.id, "rest", OutboundMessage("hi", "en"))
    await runtime.outbox.drain()
    assert await statuses(runtime, [message_id]) == ["queued"]


async def test_delivery_reports_never_move_a_message_backwards(runtime: Runtime) -> None:
    runtime.outbox.register(RecordingSender())
    _, ids = await queue(runtime, "+218910000009", "hello")
    await runtime.outbox.drain()
    outbox = runtime.outbox
    assert await outbox.record_status("test", "p1", MessageStatus.DELIVERED, None)
    assert await outbox.record_status("test", "p1", MessageStatus.SENT, None)  # late report
    assert await statuses(runtime, ids) == ["delivered"]
    assert not await outbox.record_status("test", "unknown", MessageStatus.SENT, None)


async def test_the_background_loop_sends_when_kicked(runtime: Runtime) -> None:
    sender = RecordingSender()
    runtime.outbox.register(sender)
    runtime.outbox.poll_interval = 60  # only the kick can wake it in time
    runtime.outbox.start()
    try:
        await queue(runtime, "+218910000010", "wake up")
        runtime.outbox.kick()
        for _ in range(200):
            if sender.sent:
                break
            await asyncio.sleep(0.02)
        assert sender.sent == [("+218910000010", "wake up")]
    finally:
        await runtime.outbox.stop()


async def test_a_backlog_waiting_for_retries_does_not_hold_up_other_messages(
    runtime: Runtime,
) -> None:
    sender = RecordingSender()
    runtime.outbox.register(sender)
    runtime.outbox.batch_size = 5
    backlog = []
    for number in range(12):  # twelve people whose messages wait for a retry in an hour
        _, ids = await queue(runtime, f"+21891100{number:04d}", "later")
        backlog += ids
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Message)
            .where(Message.id.in_(backlog))
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
    await queue(runtime, "+218912222222", "operator reply")
    assert await runtime.outbox.drain() == 1
    assert sender.sent == [("+218912222222", "operator reply")]


async def test_a_message_being_sent_holds_back_the_same_persons_next_one(
    runtime: Runtime,
) -> None:
    sender = RecordingSender()
    runtime.outbox.register(sender)
    _, ids = await queue(runtime, "+218913333333", "first", "second")
    async with runtime.db.session() as session, session.begin():  # another process has it
        await session.execute(
            update(Message)
            .where(Message.id == ids[0])
            .values(status=MessageStatus.SENDING, next_attempt_at=utcnow())
        )
    assert await runtime.outbox.drain() == 0
    assert sender.sent == []


async def test_a_claim_taken_back_after_its_lease_ran_out_is_not_sent_twice(
    runtime: Runtime,
) -> None:
    slow, other = RecordingSender(prefix="s"), RecordingSender(prefix="o")
    runtime.outbox.register(slow)
    _, ids = await queue(runtime, "+218914444444", "once")
    [claim] = await runtime.outbox._claim()
    # the lease runs out (a crashed or very slow process); another outbox takes it over
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(Message)
            .where(Message.id == ids[0])
            .values(next_attempt_at=utcnow() - timedelta(hours=1))
        )
    second = Outbox(runtime.db)
    second.register(other)
    assert await second.drain() == 1
    await runtime.outbox._send_one(claim)  # the first outbox wakes up: it must not send
    assert slow.sent == [] and other.sent == [("+218914444444", "once")]
    assert await statuses(runtime, ids) == ["sent"]
