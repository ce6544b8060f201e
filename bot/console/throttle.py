"""Slowing down password guessing without letting a stranger lock anyone out.

Two limits on POST /console/login (and the second factor's code):

- per client address, across accounts: a token bucket (a burst of `per_minute`, then one
  attempt every 60/N seconds); a successful sign-in gives its token back, so an office behind
  one address is not stopped by its own colleagues;
- per (account, address) pair: after `free_failures` wrong answers in a row, each further
  wrong answer doubles the wait before the next try from that address (2 s, 4 s, … up to
  `max_delay`). Attempts during the wait are refused without being checked or counted. A
  success clears the pair.

Nothing is ever locked per account: the right password (and code) from another address still
signs in while someone hammers the account from elsewhere. With Redis (`REDIS_URL`) the
counts live there, shared by every process (atomic Lua scripts); otherwise in this process.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

PER_MINUTE = 10
FREE_FAILURES = 5
MAX_DELAY = 15 * 60.0
FORGET_AFTER = 24 * 3600  # a pair's failures are forgotten a day after the last one


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def delay_after(failures: int, free: int = FREE_FAILURES, cap: float = MAX_DELAY) -> float:
    if failures <= free:
        return 0.0
    return float(min(cap, 2.0 ** min(failures - free, 30)))


class _Store(Protocol):
    async def take(self, address: str, now: float, give: bool) -> float: ...
    async def pair_until(self, pair: str) -> float: ...
    async def fail(self, pair: str, now: float) -> float: ...
    async def clear(self, pair: str) -> None: ...


class MemoryStore:
    """In this process only (no Redis configured)."""

    MAX_ENTRIES = 10_000

    def __init__(self, capacity: float, rate: float, free: int, cap: float) -> None:
        self.capacity, self.rate, self.free, self.cap = capacity, rate, free, cap
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)
        self._pairs: dict[str, tuple[int, float, float]] = {}  # pair -> (failures, until, last)

    def _tokens(self, address: str, now: float) -> float:
        tokens, when = self._buckets.get(address, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - when) * self.rate)

    async def take(self, address: str, now: float, give: bool) -> float:
        tokens = self._tokens(address, now)
        if give:
            if address in self._buckets:
                self._buckets[address] = (min(self.capacity, tokens + 1), now)
            return 0.0
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= self.MAX_ENTRIES:
            full = [a for a in self._buckets if self._tokens(a, now) >= self.capacity]
            for known in full:
                del self._buckets[known]
            if len(self._buckets) >= self.MAX_ENTRIES:  # a flood of addresses: start afresh
                self._buckets.clear()
        self._buckets[address] = (tokens - 1, now)
        return 0.0

    async def pair_until(self, pair: str) -> float:
        return self._pairs.get(pair, (0, 0.0, 0.0))[1]

    async def fail(self, pair: str, now: float) -> float:
        failures, _, last = self._pairs.get(pair, (0, 0.0, now))
        if now - last > FORGET_AFTER:
            failures = 0
        failures += 1
        delay = delay_after(failures, self.free, self.cap)
        if len(self._pairs) >= self.MAX_ENTRIES:
            stale = [p for p, (_, until, seen) in self._pairs.items() if until <= now]
            for old in stale:
                del self._pairs[old]
        self._pairs[pair] = (failures, now + delay, now)
        return delay

    async def clear(self, pair: str) -> None:
        self._pairs.pop(pair, None)


_TAKE = """
local cap, rate, now, give = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local v = redis.call('HMGET', KEYS[1], 't', 'w')
local tokens, when = tonumber(v[1]), tonumber(v[2])
if tokens == nil then
  if give == '1' then return '0' end
  tokens, when = cap, now
end
tokens = math.min(cap, tokens + math.max(0, now - when) * rate)
local wait = 0
if give == '1' then
  tokens = math.min(cap, tokens + 1)
elseif tokens < 1 then
  wait = (1 - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'w', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 60)
return tostring(wait)
"""

_FAIL = """
local now, free, cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
local delay = 0
if failures > free then delay = math.min(cap, 2 ^ math.min(failures - free, 30)) end
redis.call('HSET', KEYS[1], 'u', tostring(now + delay))
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(delay)
"""


class RedisStore:
    """Shared by every process through Redis; each change is one atomic script."""

    def __init__(
        self, redis: Any, capacity: float, rate: float, free: int, cap: float, prefix: str
    ) -> None:
        self.redis, self.capacity, self.rate, self.free, self.cap = redis, capacity, rate, free, cap
        self.prefix = prefix
        self._take = redis.register_script(_TAKE)
        self._fail = redis.register_script(_FAIL)

    async def take(self, address: str, now: float, give: bool) -> float:
        key = f"{self.prefix}:signin:address:{_key(address)}"
        args = [self.capacity, self.rate, now, "1" if give else "0"]
        return float(await self._take(keys=[key], args=args))

    async def pair_until(self, pair: str) -> float:
        value = await self.redis.hget(f"{self.prefix}:signin:pair:{pair}", "u")
        return float(value) if value else 0.0

    async def fail(self, pair: str, now: float) -> float:
        key = f"{self.prefix}:signin:pair:{pair}"
        return float(await self._fail(keys=[key], args=[now, self.free, self.cap, FORGET_AFTER]))

    async def clear(self, pair: str) -> None:
        await self.redis.delete(f"{self.prefix}:signin:pair:{pair}")


class SignInThrottle:
    def __init__(
        self,
        per_minute: int = PER_MINUTE,
        free_failures: int = FREE_FAILURES,
        max_delay: float = MAX_DELAY,
        clock: Callable[[], float] = time.time,  # wall clock: comparable across processes
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.free_failures = free_failures
        self.max_delay = max_delay
        self.clock = clock
        self._store: _Store = MemoryStore(self.capacity, self.rate, free_failures, max_delay)
        self.shared = False

    def use_redis(self, redis: Any, prefix: str = "hotline") -> None:
        self._store = RedisStore(
            redis, self.capacity, self.rate, self.free_failures, self.max_delay, prefix
        )
        self.shared = True

    @staticmethod
    def pair(account: str, address: str) -> str:
        return _key(account.strip().lower(), address)

    async def take(self, address: str) -> float:
        """0 when an attempt from `address` may go ahead (it uses a token), else the wait."""
        return await self._store.take(address, self.clock(), False)

    async def pair_wait(self, account: str, address: str) -> float:
        """Seconds before `account` may be tried again from `address` (0: now)."""
        return max(0.0, await self._store.pair_until(self.pair(account, address)) - self.clock())

    async def failed(self, account: str, address: str) -> float:
        """Counts a wrong password or code; returns the wait it imposes from now."""
        return await self._store.fail(self.pair(account, address), self.clock())

    async def succeeded(self, account: str, address: str) -> None:
        await self._store.clear(self.pair(account, address))
        await self._store.take(address, self.clock(), True)  # the token back
