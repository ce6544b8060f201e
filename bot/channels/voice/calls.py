"""Call records: one row per Twilio call (CallSid), its path through the menus and its outcome.

The call's state between two webhooks lives here (`Call.steps`, JSON), never in the URLs Twilio
calls back. Twilio sends one request at a time for a call's menus, but the status callback may
arrive at any moment, so each write updates only the columns it owns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database
from bot.storage.models import Call, utcnow

# Twilio's CallStatus values after which the call is over.
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
# What a call achieved, for reports (Call.outcome; the full list is kept in steps["outcomes"]).
OUTCOMES = frozenset(
    {
        "registered",
        "already_registered",
        "no_consent",
        "services",
        "services_sms",
        "case_status",
        "case_not_found",
        "queued",
        "operator",
        "callback",
        "abandoned",
    }
)


@dataclass(slots=True)
class CallState:
    """A call as the menus see it; `steps` is changed in place and saved after the answer."""

    id: int
    call_sid: str
    contact_id: int | None
    language: str | None
    status: str
    outcome: str | None
    steps: dict[str, Any] = field(default_factory=dict)

    # -- the state kept in steps -----------------------------------------------------------
    def visit(self, step: str) -> None:
        """Record the path through the menus (step names only: no answers)."""
        path: list[str] = self.steps.setdefault("path", [])
        if not path or path[-1] != step:
            path.append(step)

    def tries(self, step: str) -> int:
        current = self.steps.get("tries") or {}
        return int(current.get("count", 0)) if current.get("step") == step else 0

    def failed(self, step: str) -> int:
        """One more no-input or unexpected answer at `step`; returns how many so far."""
        count = self.tries(step) + 1
        self.steps["tries"] = {"step": step, "count": count}
        return count

    def reset_tries(self) -> None:
        self.steps.pop("tries", None)

    def achieve(self, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown call outcome {outcome!r}")
        self.outcome = outcome
        self.steps.setdefault("outcomes", []).append(outcome)


def _state(row: Call) -> CallState:
    return CallState(
        id=row.id,
        call_sid=row.call_sid,
        contact_id=row.contact_id,
        language=row.language,
        status=row.status,
        outcome=row.outcome,
        steps=dict(row.steps or {}),
    )


class CallRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, call_sid: str) -> CallState | None:
        async with self.db.session() as session:
            row = await session.scalar(select(Call).where(Call.call_sid == call_sid))
            return _state(row) if row is not None else None

    async def start(self, call_sid: str, contact_id: int | None, language: str | None) -> CallState:
        """The call's row, created on its first webhook; a retried webhook finds the same row."""
        for _ in range(2):
            existing = await self.get(call_sid)
            if existing is not None:
                return existing
            async with self.db.session() as session:
                row = Call(call_sid=call_sid, contact_id=contact_id, language=language, steps={})
                session.add(row)
                try:
                    await session.commit()
                except IntegrityError:  # the same webhook, delivered twice at once
                    await session.rollback()
                    continue
                return _state(row)
        raise RuntimeError("could not store the call")

    async def save(self, call: CallState) -> None:
        """The menus' part of the row: language, outcome and steps."""
        values: dict[str, Any] = {"language": call.language, "steps": call.steps}
        if call.outcome is not None:  # never undo the status callback's "abandoned"
            values["outcome"] = call.outcome
        async with self.db.session() as session, session.begin():
            await session.execute(update(Call).where(Call.id == call.id).values(**values))

    async def store_recording(self, call_id: int, url: str, seconds: int | None) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Call)
                .where(Call.id == call_id)
                .values(recording_url=url, recording_seconds=seconds)
            )

    # -- the operators' queue (see bot/channels/voice/taking.py) ------------------------------
    async def enter_queue(self, call_id: int) -> None:
        """The caller is put in the operators' queue now (again, after a message: anew)."""
        values = dict(queued_at=utcnow(), dequeued_at=None, queue_sid=None, taken_by_id=None)
        values.update(taken_at=None, operator_call_sid=None, take_queue_sid=None)
        await self._set(call_id, **values)

    async def note_queue(self, call_id: int, queue_sid: str) -> None:
        """Twilio's QueueSid of the operators' queue, from the first waitUrl request."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Call)
                .where(Call.id == call_id, Call.queue_sid.is_(None), Call.taken_by_id.is_(None))
                .values(queue_sid=queue_sid[:64])
            )

    async def left_queue(self, call_id: int) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Call)
                .where(Call.id == call_id, Call.dequeued_at.is_(None))
                .values(dequeued_at=utcnow())
            )

    async def take(self, call_id: int, operator_id: int) -> Call | None:
        """An operator takes a waiting caller: only one operator, only while the caller waits."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(Call)
                .where(
                    Call.id == call_id,
                    Call.queued_at.is_not(None),
                    Call.dequeued_at.is_(None),
                    Call.ended_at.is_(None),
                    Call.taken_by_id.is_(None),
                )
                .values(taken_by_id=operator_id, taken_at=utcnow())
            )
            assert isinstance(result, CursorResult)
            if result.rowcount != 1:
                return None
            return await session.get(Call, call_id)

    async def release(self, call_id: int) -> None:
        """The take did not connect: the caller waits for anyone again."""
        await self._set(call_id, taken_by_id=None, taken_at=None, operator_call_sid=None)

    async def back_in_queue(self, call_id: int) -> None:
        """A caller whose operator hung up before the bridge waits in the operators' queue
        again (their QueueSid stays: it is the same queue)."""
        await self._set(
            call_id,
            dequeued_at=None,
            taken_by_id=None,
            taken_at=None,
            operator_call_sid=None,
            take_queue_sid=None,
        )

    async def ringing(self, call_id: int, operator_call_sid: str, take_queue_sid: str) -> None:
        await self._set(call_id, operator_call_sid=operator_call_sid, take_queue_sid=take_queue_sid)

    async def by_operator_call(self, operator_call_sid: str) -> Call | None:
        async with self.db.session() as session:
            return await session.scalar(
                select(Call).where(Call.operator_call_sid == operator_call_sid)
            )

    async def row(self, call_id: int) -> Call | None:
        async with self.db.session() as session:
            return await session.get(Call, call_id)

    async def _set(self, call_id: int, **values: Any) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(update(Call).where(Call.id == call_id).values(**values))

    async def end(self, call_sid: str, status: str, duration: int | None) -> CallState | None:
        """Twilio's status callback: the call's status, and its end once final.

        A call that ends before achieving anything is counted as abandoned. The
        registration's progress ("answers": the flow's step and answers, see registration.py)
        of a call that did not finish registering is dropped with the call's end."""
        async with self.db.session() as session, session.begin():
            row = await session.scalar(select(Call).where(Call.call_sid == call_sid))
            if row is None:
                return None
            row.status = status[:24]
            if status in FINAL_STATUSES:
                row.ended_at = row.ended_at or utcnow()
                if duration is not None:
                    row.duration_seconds = duration
                steps = dict(row.steps or {})
                if "answers" in steps:
                    steps.pop("answers")
                    row.steps = steps
                if row.outcome is None:
                    row.outcome = "abandoned"
            return _state(row)
