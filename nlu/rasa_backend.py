"""Optional Rasa backend: intents from a Rasa server, everything else from the built-in NLU.

With ``RASA_URL`` set, the bot asks a Rasa server's ``POST /model/parse`` for the intent, its
confidence and the intent ranking. Language, script and entities still come from the built-in
NLU, so the rest of the bot sees the same :class:`~nlu.types.ParseResult` either way. If the Rasa
server cannot be reached, times out or answers with an error, the built-in intent is used and a
warning is logged; for ``retry_after`` seconds after a failure Rasa is not asked at all, so a
dead server does not add its timeout to every message. Message text is personal data: it never
goes into a log line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any, Protocol

import httpx

from nlu.types import FALLBACK_INTENT, ParseResult

__all__ = ["RasaNLU", "RasaUnavailable"]

log = logging.getLogger(__name__)


class _SyncParser(Protocol):
    def parse_sync(self, text: str, language_hint: str | None = None) -> ParseResult: ...


class RasaUnavailable(RuntimeError):
    """The Rasa server did not give a usable answer (the reason, never the message text)."""


def _as_float(value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 0.0
    if f != f:  # NaN
        return 0.0
    return min(max(f, 0.0), 1.0)


def _intent_from_rasa(data: Any) -> tuple[str, float, tuple[tuple[str, float], ...]]:
    """Intent name, confidence and ranking out of a Rasa ``/model/parse`` answer."""
    if not isinstance(data, dict):
        raise RasaUnavailable("answer is not a JSON object")
    intent = data.get("intent")
    if not isinstance(intent, dict) or not intent.get("name"):
        raise RasaUnavailable("answer has no intent (model without an intent classifier?)")
    name = str(intent["name"])
    confidence = _as_float(intent.get("confidence"))
    ranking: list[tuple[str, float]] = []
    for item in data.get("intent_ranking") or ():
        if isinstance(item, dict) and item.get("name"):
            ranking.append((str(item["name"]), _as_float(item.get("confidence"))))
    if not ranking:
        ranking.append((name, confidence))
    return name, confidence, tuple(ranking)


class RasaNLU:
    """:class:`nlu.types.NLUService` whose intents come from a Rasa server.

    ``builtin`` is the built-in NLU (anything with ``parse_sync(text, language_hint)``); it
    supplies language, script and entities, and the intent when Rasa fails.
    """

    def __init__(
        self,
        rasa_url: str,
        builtin: _SyncParser,
        timeout: float = 3.0,
        *,
        retry_after: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        base = httpx.URL(rasa_url.strip())
        # a query (Rasa's `?token=...` for --auth-token) is kept on the parse URL, never logged
        self.parse_url = base.copy_with(path=base.path.rstrip("/") + "/model/parse")
        self.rasa_url = str(base.copy_with(query=None, fragment=None)).rstrip("/")
        self._log_url = f"{base.scheme}://{base.host}" + (f":{base.port}" if base.port else "")
        self.builtin = builtin
        self.timeout = timeout
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"Content-Type": "application/json"},
        )
        self.retry_after = retry_after
        self.failures = 0  # Rasa calls that failed (the built-in intent was used)
        self.skipped = 0  # messages not sent to Rasa while it was marked down
        self._down_until = 0.0  # time.monotonic() before which Rasa is not asked
        self._healthy = True

    async def _rasa_parse(self, text: str) -> tuple[str, float, tuple[tuple[str, float], ...]]:
        try:
            response = await self._client.post(self.parse_url, json={"text": text})
        except httpx.TimeoutException as exc:
            raise RasaUnavailable(f"timed out after {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"request failed ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise RasaUnavailable("answer is not JSON") from exc
        return _intent_from_rasa(data)

    async def parse(self, text: str, language_hint: str | None = None) -> ParseResult:
        if self._down_until and time.monotonic() < self._down_until:
            self.skipped += 1
            return self.builtin.parse_sync(text, language_hint)
        # Start the request, then run the (fast, synchronous) built-in parse while Rasa works.
        rasa_task = asyncio.ensure_future(self._rasa_parse(text))
        await asyncio.sleep(0)
        try:
            base = self.builtin.parse_sync(text, language_hint)
        except BaseException:
            rasa_task.cancel()
            raise
        try:
            name, confidence, ranking = await rasa_task
        except RasaUnavailable as exc:
            self.failures += 1
            self._down_until = time.monotonic() + self.retry_after
            self._healthy = False
            log.warning(
                "Rasa NLU at %s unavailable (%s); using the built-in intent for %gs",
                self._log_url,
                exc,
                self.retry_after,
            )
            return base
        self._down_until = 0.0
        if not self._healthy:
            log.info("Rasa NLU at %s answers again", self._log_url)
            self._healthy = True
        if not name:
            name = FALLBACK_INTENT
        return dataclasses.replace(base, intent=name, confidence=confidence, intent_ranking=ranking)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> RasaNLU:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
