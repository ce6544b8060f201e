"""The turn on real storage: stored before answered, duplicates once, order, restarts.

Every test runs on SQLite (in-process sessions) and on PostgreSQL with Redis sessions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.messages import InboundMessage
from bot.runtime import Runtime
from bot.storage.models import Message
from tests.conftest import RuntimeFactory


def message(address: str, text: str, provider_id: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="rest", address=address, text=text, provider_message_id=provider_id
    )


async def count(runtime: Runtime, **where: object) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(Message)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return int(await session.scalar(query) or 0)


async def test_every_message_in_and_out_is_stored(runtime: Runtime) -> None:
    result = await runtime.engine.handle(message("alice", "hello"))
    assert result.replies and not result.duplicate
    assert await count(runtime, direction="in") == 1
    assert await count(runtime, direction="out") == len(result.replies)
    transcript = await runtime.store.transcript(result.contact_id)
    assert transcript[0][:2] == ("in", "hello")
    assert [t for d, t, _ in transcript if d == "out"] == [r.text for r in result.replies]


async def test_same_provider_message_is_handled_once(runtime: Runtime) -> None:
    first = await runtime.engine.handle(message("bob", "hello", "m-1"))
    again = await runtime.engine.handle(message("bob", "hello", "m-1"))
    assert again.duplicate and again.replies == []
    assert again.message_id == first.message_id
    assert await count(runtime, direction="in") == 1
    assert await count(runtime, direction="out") == len(first.replies)


async def test_a_message_whose_request_failed_is_answered_later_not_lost(
    runtime: Runtime,
) -> None:
    # A request stored its message, then failed before handling it (a crash); the person
    # writes again. The new message is answered in its own HTTP answer; the replies to the
    # earlier one go to the outbox (here: queued for the REST client to fetch), not lost.
    contact = await runtime.store.contact_for("rest", "dora")
    await runtime.store.record_inbound(contact.id, message("dora", "hello", "x-1"), "hello")
    later = await runtime.engine.handle(message("dora", "0", "x-2"))
    assert later.replies
    earlier = await runtime.store.take_queued(contact.id)
    assert earlier and not {r.message_id for r in earlier} & {r.message_id for r in later.replies}
    assert await count(runtime, direction="in", status="received") == 0


async def test_a_retry_of_a_never_handled_message_gets_its_answer(runtime: Runtime) -> None:
    contact = await runtime.store.contact_for("rest", "emma")
    await runtime.store.record_inbound(contact.id, message("emma", "hello", "p-9"), "hello")
    retry = await runtime.engine.handle(message("emma", "hello", "p-9"))
    assert retry.duplicate and retry.replies  # stored once, and this time answered
    assert await count(runtime, direction="in") == 1


async def test_a_retry_whose_answer_was_lost_gets_the_same_replies(runtime: Runtime) -> None:
    # The turn was stored, then the process died before its HTTP answer went out (it was
    # never confirmed): the provider's retry gets the stored replies, not a second turn.
    first = await runtime.engine.handle(
        message("ida", "I want to go home", "lost-1"), confirm_later=True
    )
    assert first.replies
    retry = await runtime.engine.handle(
        message("ida", "I want to go home", "lost-1"), confirm_later=True
    )
    assert retry.duplicate and retry.message_id == first.message_id
    assert [(r.text, r.message_id) for r in retry.replies] == [
        (r.text, r.message_id) for r in first.replies
    ]
    assert await count(runtime, direction="in") == 1
    assert await count(runtime, direction="out") == len(first.replies)
    # once an answer is known to have gone out, a later retry repeats nothing
    await runtime.engine.confirm_answered(retry)
    again = await runtime.engine.handle(
        message("ida", "I want to go home", "lost-1"), confirm_later=True
    )
    assert again.duplicate and again.replies == []
    # and the conversation goes on from that one turn: consent given, the name is asked
    follow = await runtime.engine.handle(message("ida", "1", "lost-2"))
    assert follow.replies[0].text == runtime.catalogs.text("en", "registration.ask_name")


async def test_a_retry_of_a_message_another_request_answered_takes_over_its_queued_replies(
    runtime: Runtime,
) -> None:
    # Handled with a later message (its own request failed), its replies were queued; its
    # retry gets them in its answer, and they are no longer waiting to be fetched (once).
    contact = await runtime.store.contact_for("rest", "jay")
    await runtime.store.record_inbound(contact.id, message("jay", "hello", "q-1"), "hello")
    await runtime.engine.handle(message("jay", "0", "q-2"))
    retry = await runtime.engine.handle(message("jay", "hello", "q-1"))
    assert retry.duplicate and retry.replies
    assert await runtime.store.take_queued(contact.id) == []
    assert await count(runtime, direction="in") == 2


async def test_concurrent_deliveries_of_one_message_are_answered_once(runtime: Runtime) -> None:
    results = await asyncio.gather(
        *(runtime.engine.handle(message("carol", "hello", "dup-7")) for _ in range(6))
    )
    assert sum(not r.duplicate for r in results) == 1
    assert await count(runtime, direction="in") == 1


async def test_one_persons_messages_are_handled_in_order(runtime: Runtime) -> None:
    # Ten messages sent at once: each reply must answer its own message, in arrival order.
    await runtime.engine.handle(message("dan", "hello"))
    texts = [f"zzqx{i}" for i in range(10)]
    results = await asyncio.gather(*(runtime.engine.handle(message("dan", t)) for t in texts))
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Message.id, Message.text, Message.processed_at)
                .where(Message.direction == "in", Message.text.in_(texts))
                .order_by(Message.id)
            )
        ).all()
    processed = [row.processed_at for row in rows]
    assert processed == sorted(processed)
    assert all(r.replies for r in results)


async def test_huge_and_broken_text_is_cleaned_and_answered(runtime: Runtime) -> None:
    result = await runtime.engine.handle(message("erin", "\ud800 hello\x00 " + "a" * 10_000))
    keys = runtime.catalogs.text("en", "error.too_long")
    assert result.replies[0].text == keys
    async with runtime.db.session() as session:
        stored = await session.scalar(select(Message.text).where(Message.direction == "in"))
    assert stored is not None and len(stored) <= runtime.settings.max_message_chars
    assert "\x00" not in stored


async def test_empty_message_gets_a_clear_answer(runtime: Runtime) -> None:
    result = await runtime.engine.handle(message("fay", "   "))
    assert [r.text for r in result.replies] == [runtime.catalogs.text("en", "error.empty")]


async def test_messages_and_sessions_survive_a_restart(make_runtime: RuntimeFactory) -> None:
    first = await make_runtime()
    await first.engine.handle(message("gus", "I want to go home"))
    await first.engine.handle(message("gus", "1"))  # consent given: asked for the name
    await first.close()

    second = await make_runtime()
    contact = await second.store.contact_for("rest", "gus")
    transcript = await second.store.transcript(contact.id)
    assert [t for d, t, _ in transcript if d == "in"] == ["I want to go home", "1"]
    state = await second.sessions.load(contact.id)
    assert state.flow == "registration" and state.language == "en"


async def test_two_servers_share_state_through_the_database_and_sessions(
    make_runtime: RuntimeFactory, backend: str
) -> None:
    # Two runtimes on the same database (and Redis) stand for two server processes.
    one = await make_runtime()
    two = await make_runtime()
    await one.engine.handle(message("hal", "hello"))
    result = await two.engine.handle(message("hal", "1"))
    assert result.replies[0].text == two.catalogs.text("en", "registration.intro.1")


async def test_personal_data_is_encrypted_at_rest_when_a_key_is_set(
    make_runtime: RuntimeFactory,
) -> None:
    from cryptography.fernet import Fernet

    runtime = await make_runtime(hotline_encryption_key=Fernet.generate_key().decode())
    await runtime.engine.handle(message("+218911234567", "my name is Amina"))
    async with runtime.db.engine.connect() as connection:
        raw_text = (await connection.exec_driver_sql("SELECT text FROM messages")).scalars().all()
        raw_address = (await connection.exec_driver_sql("SELECT address FROM contacts")).scalar()
    assert all(value.startswith("enc:v1:") for value in raw_text)
    assert raw_address.startswith("enc:v1:") and "218911234567" not in raw_address
    contact = await runtime.store.contact_for("rest", "+218911234567")
    assert contact.address == "+218911234567"


async def confirmed(runtime: Runtime, ids: list[int | None]) -> list[bool]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(Message.id, Message.sent_at).where(Message.id.in_(ids)))
        return [sent is not None for _, sent in sorted(rows.all())]


async def test_a_confirmation_goes_with_the_next_transaction_or_soon_on_its_own(
    runtime: Runtime,
) -> None:
    # Confirming an answer costs no commit of its own while turns run: the next turn's
    # transaction marks it. With nothing else running it is written within moments.
    engine = runtime.engine
    engine.turns.confirm_seconds = 3600  # no timer in the first part: only a transaction
    first = await engine.handle(message("gus", "hello", "c-1"), confirm_later=True)
    ids = [r.message_id for r in first.replies]
    await engine.confirm_answered(first)
    assert await confirmed(runtime, ids) == [False] * len(ids)  # not yet: no commit of its own
    other = await engine.handle(message("hana", "hello", "c-2"), confirm_later=True)
    assert await confirmed(runtime, ids) == [True] * len(ids)  # with hana's turn
    engine.turns.confirm_seconds = 0.02
    await engine.confirm_answered(other)
    other_ids = [r.message_id for r in other.replies]
    for _ in range(100):  # on its own, once nothing else came (20 ms; generous for CI)
        if await confirmed(runtime, other_ids) == [True] * len(other_ids):
            break
        await asyncio.sleep(0.02)
    assert await confirmed(runtime, other_ids) == [True] * len(other_ids)
    # a confirmed answer is never repeated to a retry
    again = await engine.handle(message("hana", "hello", "c-2"), confirm_later=True)
    assert again.duplicate and again.replies == []


# -- one commit a turn (SQLite): the storing transaction is joined by the turn's write --------


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_sqlite_turn_commits_once(runtime: Runtime) -> None:
    engine = runtime.engine
    for sender in ("kofi", "lena"):  # first contact creates the contact in its own commit
        await engine.handle(message(sender, "hello"))
    connection = engine.turns._loop_connection
    assert connection is not None
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    try:
        for n, sender in enumerate(("kofi", "lena", "kofi", "lena")):
            result = await engine.handle(message(sender, "I want to go home", f"one-{n}"))
            assert result.replies
    finally:
        connection.set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 4
    assert statements.count("COMMIT") == 4
    assert await count(runtime, direction="in", status="received") == 0


class _WaitingNLU:
    """The built-in NLU behind a wait (as a remote NLU's request would be)."""

    def __init__(self, inner: Any, runtime: Runtime) -> None:
        self.inner = inner
        self.runtime = runtime
        self.stored_while_waiting: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def parse(self, text: str, hint: str | None = None) -> Any:
        # while the decision waits, the message is committed: another connection sees it
        self.stored_while_waiting.append(await count(self.runtime, direction="in"))
        await asyncio.sleep(0.01)
        return await self.inner.parse(text, hint)


async def test_a_decision_that_waits_commits_the_message_first_and_others_go_on(
    runtime: Runtime,
) -> None:
    engine = runtime.engine
    waiting = _WaitingNLU(engine.nlu, runtime)
    engine.nlu = waiting
    results = await asyncio.gather(
        *(engine.handle(message(f"wait-{n}", "hello", f"w-{n}")) for n in range(6))
    )
    assert all(r.replies for r in results)
    assert len(waiting.stored_while_waiting) == 6 and min(waiting.stored_while_waiting) >= 1
    assert await count(runtime, direction="in") == 6
    assert await count(runtime, direction="in", status="received") == 0
    assert await count(runtime, direction="out") == sum(len(r.replies) for r in results)


async def test_a_failed_write_keeps_the_message_for_the_next_turn(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage.turns import TurnStore

    engine = runtime.engine
    await engine.handle(message("mona", "hello"))
    real = TurnStore._finish_turn

    async def failing(cursor: Any, write: Any) -> Any:
        await real(cursor, write)  # its statements ran: the rollback must undo them
        raise RuntimeError("disk full")

    monkeypatch.setattr(TurnStore, "_finish_turn", staticmethod(failing))
    with pytest.raises(RuntimeError, match="disk full"):
        await engine.handle(message("mona", "I want to go home", "f-1"))
    monkeypatch.setattr(TurnStore, "_finish_turn", staticmethod(real))
    # stored, not handled, nothing of the failed turn's write kept
    assert await count(runtime, direction="in", status="received") == 1
    outbound = await count(runtime, direction="out")
    later = await engine.handle(message("mona", "hello", "f-2"))
    assert later.replies
    assert await count(runtime, direction="in", status="received") == 0
    contact = await runtime.store.contact_for("rest", "mona")
    queued = await runtime.store.take_queued(contact.id)  # the earlier message's answer
    assert queued
    assert await count(runtime, direction="out") == outbound + len(later.replies) + len(queued)


async def test_a_decision_that_fails_before_writing_keeps_the_message(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = runtime.engine
    await engine.handle(message("nuru", "hello"))

    async def broken(text: str, hint: str | None = None) -> Any:
        raise RuntimeError("NLU down")

    real = engine.nlu.parse
    monkeypatch.setattr(engine.nlu, "parse", broken)
    with pytest.raises(RuntimeError, match="NLU down"):
        await engine.handle(message("nuru", "I want to go home", "n-1"))
    monkeypatch.setattr(engine.nlu, "parse", real)
    assert await count(runtime, direction="in", status="received") == 1
    later = await engine.handle(message("nuru", "hello", "n-2"))
    assert later.replies
    assert await count(runtime, direction="in", status="received") == 0
