"""Telegram's flood limits on our side: about 1 message a second to one chat, about 30 a second
over all chats. Going over them earns 429 answers and, repeated, a temporary ban of the bot.

Each limit is a token bucket kept as a "theoretical arrival time" (GCRA): a send reserves its
slot at once, then sleeps until the slot comes. Reserving before sleeping keeps concurrent
senders in order without a lock. The clock and the sleep are injected so tests run on a fake
clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """`rate` sends a second on average, up to `burst` at once after a quiet time."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.next_free = float("-inf")  # when the bucket is full again

    def earliest(self, now: float) -> float:
        """The first moment from `now` on at which one more send fits."""
        return max(now, self.next_free - self.tolerance)

    def take(self, at: float) -> None:
        """Count a send made at `at` (not before `earliest`)."""
        self.next_free = max(self.next_free, at) + self.interval

    def idle(self, now: float) -> bool:
        return self.next_free <= now


class SendLimiter:
    """Waits as long as both the chat's bucket and the overall bucket require."""

    def __init__(
        self,
        *,
        chat_rate: float = 1.0,
        chat_burst: int = 1,
        global_rate: float = 30.0,
        global_burst: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        prune_above: int = 1000,
    ) -> None:
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self.overall = TokenBucket(global_rate, global_burst or max(1, int(global_rate)))
        self.chats: dict[int | str, TokenBucket] = {}
        self.clock = clock
        self.sleep = sleep
        self.prune_above = prune_above

    def reserve(self, chat_id: int | str) -> float:
        """Reserve the next send to this chat; returns the wait in seconds."""
        now = self.clock()
        if len(self.chats) > self.prune_above:  # forget chats that are quiet again
            self.chats = {key: b for key, b in self.chats.items() if not b.idle(now)}
        bucket = self.chats.get(chat_id)
        if bucket is None:
            bucket = self.chats[chat_id] = TokenBucket(self.chat_rate, self.chat_burst)
        # Both buckets count the send at the same moment: when both allow it.
        at = max(bucket.earliest(now), self.overall.earliest(now))
        bucket.take(at)
        self.overall.take(at)
        return at - now

    async def acquire(self, chat_id: int | str) -> float:
        """Wait until a message to this chat may go; returns how long it waited."""
        wait = self.reserve(chat_id)
        if wait > 0:
            await self.sleep(wait)
        return wait
