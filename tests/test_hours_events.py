"""Opening hours and the live event bus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.events import EventBus
from bot.hours import OpeningHours


def tripoli(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    # Libya is UTC+2 all year
    return datetime(year, month, day, hour - 2, minute, tzinfo=UTC)


def test_opening_hours_in_libyan_time() -> None:
    hours = OpeningHours("sun-thu 08:00-17:00; sat 09:00-13:00")
    assert hours.is_open(tripoli(2026, 11, 22, 8))  # Sunday 08:00
    assert not hours.is_open(tripoli(2026, 11, 22, 7, 59))
    assert not hours.is_open(tripoli(2026, 11, 22, 17))  # closing time is exclusive
    assert hours.is_open(tripoli(2026, 11, 26, 16, 59))  # Thursday
    assert not hours.is_open(tripoli(2026, 11, 27, 10))  # Friday
    assert hours.is_open(tripoli(2026, 11, 28, 12))  # Saturday morning
    assert not hours.is_open(tripoli(2026, 11, 28, 14))


def test_hours_wrapping_the_week_and_always() -> None:
    assert OpeningHours("fri-mon 10:00-12:00").is_open(tripoli(2026, 11, 22, 11))  # Sunday
    always = OpeningHours("always")
    assert always.always and always.is_open(tripoli(2026, 11, 27, 3))


def test_hours_described_in_each_language() -> None:
    hours = OpeningHours("sun-thu 08:00-17:00")
    assert hours.describe("en") == "Sun–Thu 08:00–17:00"
    assert "08:00" in hours.describe("fr") and "dim" in hours.describe("fr")
    arabic = hours.describe("ar")
    assert "الأحد" in arabic and "الخميس" in arabic


def test_unreadable_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="opening hours"):
        OpeningHours("weekdays 8-5")


async def test_subscribers_receive_published_events() -> None:
    bus = EventBus()
    async with bus.subscription() as first, bus.subscription() as second:
        await bus.publish("handoff.opened", handoff_id=7)
        for queue in (first, second):
            event = await asyncio.wait_for(queue.get(), 1)
            assert (event.kind, event.data) == ("handoff.opened", {"handoff_id": 7})
    await bus.publish("handoff.opened", handoff_id=8)  # nobody listening: nothing breaks


async def test_a_slow_subscriber_loses_old_events_not_memory() -> None:
    bus = EventBus(queue_size=3)
    async with bus.subscription() as queue:
        for number in range(10):
            await bus.publish("message", message_id=number)
        received = [queue.get_nowait().data["message_id"] for _ in range(queue.qsize())]
    assert received == [7, 8, 9]


async def test_events_cross_processes_through_redis(redis_url: str) -> None:
    publisher, listener = EventBus(redis_url), EventBus(redis_url)
    await publisher.start()
    await listener.start()
    try:
        async with listener.subscription() as queue, publisher.subscription() as own:
            await publisher.publish("message", handoff_id=3, message_id=11)
            event = await asyncio.wait_for(queue.get(), 5)
            assert (event.kind, event.data) == ("message", {"handoff_id": 3, "message_id": 11})
            # the publisher's own subscribers get it once, not again through redis
            assert (await asyncio.wait_for(own.get(), 1)).data["message_id"] == 11
            await asyncio.sleep(0.2)
            assert own.empty()
    finally:
        await publisher.close()
        await listener.close()
