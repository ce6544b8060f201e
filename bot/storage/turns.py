"""The turn's storage: one read before the decision, one write after it.

A turn goes down to the database twice: `open_turn` stores the message under the contact's
lock and reads everything the decision needs (contact, session, active case, the contact's
unhandled messages), and `finish_turn` writes everything the decision produced (session,
replies, processed mark, contact changes, the case's waiting mark) in one transaction. On
SQLite the two are one transaction and one commit (`holding`): a commit, mostly writing the
pages the turn touched to the WAL, cost a tenth of a turn. That an answer went out (so a retry
does not repeat it) is marked in whichever transaction comes next.

This is the hot path, so it speaks to the database driver directly, with a handful of fixed
statements: building and caching SQLAlchemy statements cost ten times the database's own
work per turn (measured, docs/benchmarks.md). SQLite's transactions run on the event loop
(tens of microseconds; they begin IMMEDIATE, and a turn that finds another writer waits on the
loop and tries again; a thread, not a turn's commit, copies the WAL back into the file);
PostgreSQL's on a few async connections, each transaction's statements pipelined in one round
trip. The ORM models stay the schema's description and serve
everything else. Values are written the way the models write them: `SecretText` encrypted,
JSON as text, SQLite times as SQLAlchemy stores them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.engine import make_url

from bot.activity import activity_day
from bot.channels import WINDOWED_CHANNELS
from bot.handoffs import PRIORITY_RANK, CaseInfo
from bot.messages import OutboundMessage
from bot.storage import crypto
from bot.storage.db import Database, driver_integrity_errors, sync_url
from bot.storage.models import ACTIVE_HANDOFF, Direction, HandoffStatus, MessageStatus
from bot.storage.repository import ContactInfo, StoredInbound

T = TypeVar("T")
log = logging.getLogger(__name__)

OPTED_OUT = "the person opted out"  # a held message's end when they send STOP
_CONTACT_CACHE_SIZE = 50_000
_POSTGRES_CONNECTIONS = 10  # a process's turns in flight at once
_SQLITE_WAIT_SECONDS = 10.0  # for another writer to release SQLite's lock
_SQLITE_FIRST_PAUSE, _SQLITE_LAST_PAUSE = 0.0005, 0.004
_CHECKPOINT_SECONDS = 0.5  # how often the WAL is copied back into the database file
_CONFIRM_SECONDS = 0.02  # an answer's confirmation waits this long at most for a transaction
_CONFIRM_BATCH = 500  # ids a statement: well under the drivers' limits on parameters
# ACTIVE_HANDOFF and HandoffStatus, spelled out in the statements below
assert {s.value for s in ACTIVE_HANDOFF} == {"open", "claimed", "snoozed"}
assert (HandoffStatus.OPEN, HandoffStatus.CLAIMED, HandoffStatus.SNOOZED) == (
    "open",
    "claimed",
    "snoozed",
)


class _ContactGone(Exception):
    """The cached contact was anonymised: roll the turn back and look the sender up again."""


@dataclass(slots=True)
class TurnContext:
    """What a turn reads, in one go, once its message is stored."""

    contact: ContactInfo
    message_id: int
    duplicate: bool
    pending: list[StoredInbound]  # received, not handled, oldest first (maybe this message)
    state_json: str | None  # the SQL session store's state (None: none yet, or Redis)
    case: CaseInfo | None  # the active handoff case


@dataclass(slots=True)
class TurnWrite:
    """What a turn decided, written in one transaction."""

    inbound_id: int
    contact_id: int
    channel: str
    replies: Sequence[OutboundMessage]
    status: MessageStatus  # of the replies: answered (in the HTTP answer) or queued
    inbound_status: MessageStatus
    language: str | None  # the message's detected language
    intent: str | None
    inbound_payload: dict[str, Any] = field(default_factory=dict)
    delivered: bool = False  # answered replies handed over for good (no later confirmation)
    state_json: str | None = None  # the SQL session store's new state
    contact_language: str | None = None
    opted_out: bool | None = None
    contact_city: str | None = None  # where the person said they are (canonical)
    case_id: int | None = None  # the active case the message went to
    released: int = 0  # set by the write: held WhatsApp messages it put back in the queue


class _Cursor:
    """Statements with `?` placeholders and Python values on both databases. Coroutines, so
    one transaction function serves both: on SQLite they never suspend (the transaction runs
    in one go); on PostgreSQL statements are pipelined: `send` queues one, and the first
    fetch sends everything queued in one round trip."""

    def __init__(self, connection: Any, sqlite_style: bool) -> None:
        self.connection = connection
        self.sqlite = sqlite_style

    async def send(self, sql: str, *params: Any) -> Any:
        """A statement's result, to fetch later (each statement its own cursor)."""
        if self.sqlite:
            # read at once: a statement left unread stays busy, and the next use of the same
            # SQL (a turn's second reply) is then compiled again (~100 us, measured)
            return self.connection.execute(sql, params).fetchall()
        return await self.connection.execute(sql.replace("?", "%s"), params)

    async def first(self, result: Any) -> Any:
        if self.sqlite:
            return result[0] if result else None
        return await result.fetchone()

    async def rows(self, result: Any) -> list[Any]:
        return list(result if self.sqlite else await result.fetchall())

    async def run(self, sql: str, *params: Any) -> Any:
        return await self.send(sql, *params)

    async def one(self, sql: str, *params: Any) -> Any:
        return await self.first(await self.send(sql, *params))

    async def all(self, sql: str, *params: Any) -> list[Any]:
        return await self.rows(await self.send(sql, *params))

    def time(self, moment: datetime) -> Any:
        # SQLAlchemy keeps SQLite times as naive UTC text; PostgreSQL takes the datetime
        if self.sqlite:
            # isoformat: the same text as strftime("%Y-%m-%d %H:%M:%S.%f"), a tenth the cost
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def day(self, value: date) -> Any:
        # SQLAlchemy keeps SQLite dates as ISO text; PostgreSQL takes the date
        return value.isoformat() if self.sqlite else value


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (SQLite's transactions) to its end, here."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a SQLite transaction suspended")


@types.coroutine
def _continue(coroutine: Coroutine[Any, Any, T], waiting: Any) -> Generator[Any, Any, T]:
    """The rest of a coroutine driven by hand until it first waited for `waiting`: the caller's
    task goes on with it exactly as if it had awaited the coroutine from the start."""
    while True:
        try:
            sent = yield waiting
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:  # the task's cancellation, or an awaited future's error
            try:
                waiting = coroutine.throw(exc)
            except StopIteration as done:
                return cast(T, done.value)
        else:
            try:
                waiting = coroutine.send(sent)
            except StopIteration as done:
                return cast(T, done.value)


@dataclass(slots=True)
class _Held:
    """A turn's first transaction, kept open on the loop's connection for its write."""

    work: Callable[..., Coroutine[Any, Any, Any]]
    args: tuple[Any, ...]
    confirms: list[int]


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _dumps(value: Any) -> str:
    """JSON text for a payload column (orjson: a fifth of json.dumps's time on the turn)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value)


def _decrypt(value: str | None) -> str:
    return crypto.decrypt(value) if value else ""


_CASE_COLUMNS = (
    "SELECT id, contact_id, status, priority, reason, channel, language, assigned_to_id,"
    " waiting_since, created_at, passed_on_at, first_response_at FROM handoffs"
)
_ACTIVE_CASE = (
    _CASE_COLUMNS + " WHERE contact_id = ?"
    " AND status IN ('open', 'claimed', 'snoozed') ORDER BY id DESC LIMIT 1"
)
_CASE_BY_ID = _CASE_COLUMNS + " WHERE id = ?"


# 1 + the open cases an operator will take before this one (priority, then age); 0 if it is
# not waiting. The ranks are HandoffPriority's order (PRIORITY_RANK), emergency first.
_QUEUE_POSITION = """
SELECT 1 + (
    SELECT count(*) FROM handoffs o
    WHERE o.status = 'open' AND o.id <> h.id AND (
        CASE o.priority WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 WHEN 'normal' THEN 2
                        ELSE 99 END
        < CASE h.priority WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 WHEN 'normal' THEN 2
                          ELSE 99 END
        OR (o.priority = h.priority AND o.id < h.id)))
FROM handoffs h WHERE h.id = ? AND h.status = 'open'
"""


def _case(row: Any) -> CaseInfo | None:
    if row is None:
        return None
    created_at = _time(row[9])
    if created_at is None:  # the column is NOT NULL
        raise ValueError("a handoff row without created_at")
    return CaseInfo(
        id=row[0],
        contact_id=row[1],
        status=row[2],
        priority=row[3],
        reason=row[4],
        channel=row[5],
        language=row[6],
        assigned_to_id=row[7],
        waiting_since=_time(row[8]),
        created_at=created_at,
        passed_on_at=_time(row[10]),
        answered=row[11] is not None,
    )


class TurnStore:
    def __init__(self, db: Database, activity_zone: ZoneInfo | None = None) -> None:
        self.db = db
        self.activity_zone = activity_zone or ZoneInfo("UTC")
        self.is_sqlite = db.is_sqlite
        target = sync_url(db.url)
        self._loop_connection: sqlite3.Connection | None = None
        self._idle: list[Any] = []  # PostgreSQL connections (psycopg, async) not in use
        # at most this many at once: a burst of turns waits here, not at the server's limit
        self._connections = asyncio.Semaphore(_POSTGRES_CONNECTIONS)
        if self.is_sqlite:
            self._path = target.database or ":memory:"
        else:
            self._conninfo = make_url(str(target.set(drivername="postgresql"))).render_as_string(
                hide_password=False
            )
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        # A SQLite turn's first transaction, left open for the turn's write to join: one
        # commit a turn instead of two (see `holding`).
        self._held: _Held | None = None
        # (channel, address hash) → contact id: ids never change; an erased contact is noticed
        # when its row is read, and forgotten here.
        self._contact_ids: OrderedDict[str, int] = OrderedDict()
        # Replies whose HTTP answer went out, not yet marked: written with the next transaction
        # (a turn's, usually within a millisecond), or on their own after _CONFIRM_SECONDS.
        # A commit of their own cost a third of a turn's database time (measured).
        self._unconfirmed: list[int] = []
        self.confirm_seconds = _CONFIRM_SECONDS
        self._confirm_timer: asyncio.TimerHandle | None = None
        self._confirm_tasks: set[asyncio.Task[None]] = set()

    # -- connections and transactions ------------------------------------------------------
    def _sqlite(self, busy_timeout_ms: int) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            isolation_level=None,
            timeout=busy_timeout_ms / 1000,
            check_same_thread=False,
        )
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        with self._opened_lock:
            self._opened.append(connection)
        return connection

    def _loop_sqlite(self) -> sqlite3.Connection:
        """The event loop's connection. Its commits never checkpoint: SQLite's automatic
        checkpoint (every 1,000 WAL pages, inside a commit) copied pages and synced the file on
        the loop, a tenth of a turn's time on average and 15-35 ms for the turn that met it
        (measured); a thread checkpoints instead."""
        connection = self._sqlite(0)
        if self._path != ":memory:":
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(
                target=self._checkpoint_until_closed, name="sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()
        return connection

    def _checkpoint_until_closed(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=1.0)
        try:
            while not self._stop_checkpoints.wait(_CHECKPOINT_SECONDS):
                try:
                    # PASSIVE: copies what it can without waiting for (or blocking) writers
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy with another checkpointer: try again later
                    log.debug("checkpoint skipped", exc_info=True)
        finally:
            connection.close()

    def _sqlite_transaction(
        self,
        connection: sqlite3.Connection,
        work: Callable[..., Coroutine[Any, Any, T]],
        args: tuple[Any, ...],
        *,
        hold: bool = False,
    ) -> T:
        if hold:
            self.release()  # never two turns' first transactions in one
        held, self._held = self._held, None
        if held is None:
            connection.execute("BEGIN IMMEDIATE")
            confirms = self._take_confirmations()
        else:  # the turn's first transaction is still open: this one joins it
            confirms = held.confirms
        try:
            cursor = _Cursor(connection, True)
            if confirms and held is None:
                _drive(self._confirm(cursor, confirms))
            result = _drive(work(cursor, *args))
            if hold:
                self._held = _Held(work, args, confirms)
            else:
                connection.execute("COMMIT")
            return result
        except BaseException:
            connection.rollback()
            self._requeue(confirms)
            if held is not None:
                # what the first transaction stored (the message) must not go with this one
                self._sqlite_transaction(connection, held.work, held.args)
            raise

    def release(self) -> None:
        """Commit a turn's first transaction if it is still open (nothing joined it)."""
        held, self._held = self._held, None
        if held is None or self._loop_connection is None:
            return
        try:
            self._loop_connection.execute("COMMIT")
        except BaseException:
            self._loop_connection.rollback()
            self._requeue(held.confirms)
            raise

    async def holding(self, decision: Coroutine[Any, Any, T]) -> T:
        """Run a turn's decision while its first transaction stays open (`open_turn(hold=True)`).

        The decision's write joins that transaction and commits both: one commit a turn. The
        decision runs on, in this task, until it first waits for anything; the transaction is
        committed just before it does, so no other coroutine ever finds the loop's connection
        inside a transaction, and no write of the ORM's (another connection) waits on this
        one's lock while the decision waits for it."""
        try:
            waiting = decision.send(None)
        except StopIteration as done:
            self.release()  # a decision that wrote nothing
            return cast(T, done.value)
        except BaseException:
            self.release()  # the message stays stored, for the next turn to handle
            raise
        try:
            self.release()
        except BaseException:
            decision.close()
            raise
        return await _continue(decision, waiting)

    async def _run(
        self, work: Callable[..., Coroutine[Any, Any, T]], *args: Any, hold: bool = False
    ) -> T:
        if self.is_sqlite:
            return await self._run_sqlite(work, args, hold=hold)
        async with self._connections:
            return await self._postgres_transaction(work, args)

    async def _run_sqlite(
        self, work: Callable[..., Coroutine[Any, Any, T]], args: tuple[Any, ...], *, hold: bool
    ) -> T:
        """On the event loop: a transaction takes tens of microseconds, less than a hop to a
        thread. When another connection (the ORM's, another process) holds the write lock,
        the turn waits on the loop and tries again within milliseconds of its release; SQLite's
        own busy wait (sleeps growing to 100 ms, no queue) let waiting turns starve behind the
        ones that kept finding the lock free (p99 near a second under load, measured)."""
        if self._loop_connection is None:
            self._loop_connection = self._loop_sqlite()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SQLITE_WAIT_SECONDS
        pause = _SQLITE_FIRST_PAUSE
        while True:
            try:
                return self._sqlite_transaction(self._loop_connection, work, args, hold=hold)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _SQLITE_LAST_PAUSE)

    async def _postgres_transaction(
        self, work: Callable[..., Coroutine[Any, Any, T]], args: tuple[Any, ...]
    ) -> T:
        connection = await self._postgres()
        confirms = self._take_confirmations()
        try:
            # BEGIN and COMMIT travel in the pipeline with the statements: a round trip less
            # than psycopg's own commit() after it (the connections are in autocommit mode)
            async with connection.pipeline():
                await connection.execute("BEGIN")
                cursor = _Cursor(connection, False)
                if confirms:
                    await self._confirm(cursor, confirms)
                result = await work(cursor, *args)
                await connection.execute("COMMIT")
        except BaseException:
            self._requeue(confirms)
            try:
                await connection.execute("ROLLBACK")
            except Exception:  # broken: not given back
                await self._discard(connection)
                raise
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return result

    async def _postgres(self) -> Any:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            await self._discard(connection)
        import psycopg  # PostgreSQL only: a SQLite process never loads the driver

        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _discard(self, connection: Any) -> None:
        try:
            await connection.close()
        except Exception:  # closing a broken connection
            log.debug("could not close a turn connection", exc_info=True)

    async def close(self) -> None:
        self.release()
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
            self._confirm_timer = None
        if self._confirm_tasks:
            await asyncio.gather(*self._confirm_tasks, return_exceptions=True)
        try:
            await self.write_confirmations()
        except Exception:  # at shutdown: a retry will repeat those answers, nothing is lost
            log.exception("could not confirm %d answered replies", len(self._unconfirmed))
        while self._idle:
            await self._discard(self._idle.pop())
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
            self._stop_checkpoints.clear()
        with self._opened_lock:
            for connection in self._opened:
                try:
                    connection.close()
                except Exception:  # closing at shutdown: nothing more to do about it
                    log.debug("could not close a turn connection", exc_info=True)
            self._opened.clear()
        self._loop_connection = None

    # -- contacts --------------------------------------------------------------------------
    async def contact_id(self, channel: str, address: str) -> int:
        """The contact for this sender, created on first contact (safe under races)."""
        key = crypto.lookup_hash(channel, address)
        known = self._contact_ids.get(key)
        if known is not None:
            self._contact_ids.move_to_end(key)
            return known
        # every live hash: during a key rotation a contact may still carry the old one
        hashes = crypto.lookup_hashes(channel, address)
        contact_id = await self._run(self._find_or_create, channel, key, address, hashes)
        self._contact_ids[key] = contact_id
        if len(self._contact_ids) > _CONTACT_CACHE_SIZE:
            self._contact_ids.popitem(last=False)
        return contact_id

    def forget_contact(self, channel: str, address: str) -> None:
        self._contact_ids.pop(crypto.lookup_hash(channel, address), None)

    @staticmethod
    async def _find_or_create(
        cursor: _Cursor, channel: str, key: str, address: str, hashes: list[str]
    ) -> int:
        marks = ", ".join("?" for _ in hashes)
        find = f"SELECT id FROM contacts WHERE channel = ? AND address_hash IN ({marks})"  # noqa: S608 - placeholders only
        found = await cursor.one(find, channel, *hashes)
        if found is not None:
            return int(found[0])
        now = cursor.time(datetime.now(UTC))
        inserted = await cursor.one(
            "INSERT INTO contacts (channel, address_hash, address, role, opted_out, created_at,"
            " last_seen_at) VALUES (?, ?, ?, 'migrant', ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            channel,
            key,
            crypto.encrypt(address),
            cursor.flag(False),
            now,
            now,
        )
        found = inserted or await cursor.one(
            find, channel, *hashes
        )  # or another process made it first
        if found is None:
            raise RuntimeError("could not create contact")
        return int(found[0])

    # -- transaction 1: store the message, read the turn's context ---------------------------
    async def open_turn(
        self,
        contact_id: int,
        channel: str,
        provider_message_id: str | None,
        text: str,
        payload: dict[str, Any],
        *,
        with_session: bool,
        hold: bool = False,
    ) -> TurnContext | None:
        """None when the contact no longer exists (erased meanwhile). `hold`: on SQLite the
        transaction stays open for the turn's write to join; the caller runs the decision
        through `holding`, which commits it at the latest when the decision first waits."""
        try:
            context = await self._run(
                self._open_turn,
                contact_id,
                channel,
                provider_message_id,
                text,
                payload,
                with_session,
                self.activity_zone,
                hold=hold,
            )
        except driver_integrity_errors(_ContactGone):
            return None  # the message's contact is gone (erased or anonymised)
        if context is None:
            self.release()
        return context

    @staticmethod
    async def _open_turn(
        cursor: _Cursor,
        contact_id: int,
        channel: str,
        provider_message_id: str | None,
        text: str,
        payload: dict[str, Any],
        with_session: bool,
        activity_zone: ZoneInfo,
    ) -> TurnContext | None:
        # Every statement is sent before any result is read: one round trip on PostgreSQL.
        moment = datetime.now(UTC)
        now = cursor.time(moment)
        contact_row = await cursor.send(
            "SELECT id, channel, address, language, role, opted_out, address_hash FROM contacts"
            " WHERE id = ?",
            contact_id,
        )
        inserted_row = await cursor.send(
            "INSERT INTO messages (contact_id, channel, direction, text, provider_message_id,"
            " status, payload, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            contact_id,
            channel,
            Direction.INBOUND.value,
            crypto.encrypt(text),
            provider_message_id,
            MessageStatus.RECEIVED.value,
            _dumps(payload),
            now,
        )
        # the person was seen now, unless this is a repeated delivery (nothing was inserted)
        await cursor.send(
            "UPDATE contacts SET last_seen_at = ?, last_inbound_at = ? WHERE id = ? AND EXISTS"
            " (SELECT 1 FROM messages WHERE contact_id = ? AND direction = ? AND created_at = ?)",
            now,
            now,
            contact_id,
            contact_id,
            Direction.INBOUND.value,
            now,
        )
        # the report's people per day (see bot.activity), counted as the message arrives
        await cursor.send(
            "INSERT INTO activity_days (day, contact_id) SELECT ?, ? WHERE EXISTS"
            " (SELECT 1 FROM messages WHERE contact_id = ? AND direction = ? AND created_at = ?)"
            " ON CONFLICT DO NOTHING",
            cursor.day(activity_day(moment, activity_zone)),
            contact_id,
            contact_id,
            Direction.INBOUND.value,
            now,
        )
        existing_row = None
        if provider_message_id is not None:
            existing_row = await cursor.send(
                "SELECT id FROM messages WHERE channel = ? AND direction = ?"
                " AND provider_message_id = ?",
                channel,
                Direction.INBOUND.value,
                provider_message_id,
            )
        pending_rows = await cursor.send(
            "SELECT id, text, payload, created_at FROM messages WHERE contact_id = ?"
            " AND direction = ? AND status = ? ORDER BY id",
            contact_id,
            Direction.INBOUND.value,
            MessageStatus.RECEIVED.value,
        )
        state_row = None
        if with_session:
            state_row = await cursor.send(
                "SELECT state FROM sessions WHERE contact_id = ?", contact_id
            )
        case_row = await cursor.send(_ACTIVE_CASE, contact_id)

        row = await cursor.first(contact_row)
        if row is None:
            return None
        if str(row[6]).startswith(crypto.ANONYMOUS_HASH_PREFIX):
            # retention anonymised this contact since this process cached its id: the person
            # starts afresh on a new contact (the insert above is rolled back)
            raise _ContactGone
        contact = ContactInfo(
            id=row[0],
            channel=row[1],
            address=_decrypt(row[2]),
            language=row[3],
            role=row[4],
            opted_out=bool(row[5]),
        )
        inserted = await cursor.first(inserted_row)
        duplicate = inserted is None
        if inserted is None:
            if existing_row is None:
                raise RuntimeError("inbound message could not be stored")
            inserted = await cursor.first(existing_row)
            if inserted is None:
                raise RuntimeError("duplicate message vanished")
        pending = []
        for m in await cursor.rows(pending_rows):
            stored = _json(m[2])
            pending.append(
                StoredInbound(
                    id=m[0],
                    contact_id=contact_id,
                    text=_decrypt(m[1]),
                    language_hint=stored.get("language_hint"),
                    truncated=bool(stored.get("truncated")),
                    created_at=_time(m[3]) or datetime.now(UTC),
                    payload=stored,
                )
            )
        state_json = None
        if state_row is not None:
            state = await cursor.first(state_row)
            state_json = _decrypt(state[0]) if state is not None else None
        return TurnContext(
            contact=contact,
            message_id=int(inserted[0]),
            duplicate=duplicate,
            pending=pending,
            state_json=state_json,
            case=_case(await cursor.first(case_row)),
        )

    @staticmethod
    async def _active_case(cursor: _Cursor, contact_id: int) -> CaseInfo | None:
        return _case(await cursor.one(_ACTIVE_CASE, contact_id))

    async def queue_position(self, handoff_id: int) -> int:
        """A waiting case's place in the operators' queue (0: not waiting). Asked on the hot
        path (the "passed on" note), so on the turns' connection rather than the ORM's."""
        row = await self._run(self._queue_position, handoff_id)
        return int(row[0]) if row is not None else 0

    @staticmethod
    async def _queue_position(cursor: _Cursor, handoff_id: int) -> Any:
        return await cursor.one(_QUEUE_POSITION, handoff_id)

    async def active_case(self, contact_id: int) -> CaseInfo | None:
        return await self._run(self._active_case, contact_id)

    async def case(self, handoff_id: int) -> CaseInfo | None:
        """A case as a turn sees it (read on the hot path, after opening or raising it)."""
        return await self._run(self._case_by_id, handoff_id)

    @staticmethod
    async def _case_by_id(cursor: _Cursor, handoff_id: int) -> CaseInfo | None:
        return _case(await cursor.one(_CASE_BY_ID, handoff_id))

    # -- handoff cases opened and noted by a turn ----------------------------------------
    async def open_case(
        self,
        contact_id: int,
        *,
        reason: str,
        priority: str,
        channel: str,
        language: str | None,
        opened_by: int | None = None,
        registration_id: int | None = None,
        call_id: int | None = None,
        now: datetime | None = None,
    ) -> tuple[int, bool]:
        """Open a case, or raise the priority of the person's active one: (id, newly opened).
        Here rather than through the ORM: a write held across the ORM's thread hops kept
        SQLite's lock for tens of milliseconds under load and stalled every turn (measured).
        A second active case for the person (another process just opened one) raises the
        driver's IntegrityError."""
        return await self._run(
            self._open_case,
            contact_id,
            reason,
            priority,
            channel,
            language,
            opened_by,
            registration_id,
            call_id,
            now or datetime.now(UTC),
        )

    @staticmethod
    async def _open_case(
        cursor: _Cursor,
        contact_id: int,
        reason: str,
        priority: str,
        channel: str,
        language: str | None,
        opened_by: int | None,
        registration_id: int | None,
        call_id: int | None,
        moment: datetime,
    ) -> tuple[int, bool]:
        now = cursor.time(moment)
        current = await cursor.one(
            "SELECT id, priority FROM handoffs WHERE contact_id = ?"
            " AND status IN ('open', 'claimed', 'snoozed') ORDER BY id DESC LIMIT 1",
            contact_id,
        )
        if current is not None:
            raised = PRIORITY_RANK.get(priority, 99) < PRIORITY_RANK.get(current[1], 99)
            # a snoozed case wakes (back to its operator, or the open queue) and waits again
            await cursor.run(
                "UPDATE handoffs SET"
                " priority = CASE WHEN ? THEN ? ELSE priority END,"
                " reason = CASE WHEN ? THEN ? ELSE reason END,"
                " status = CASE WHEN status = 'snoozed' THEN CASE WHEN assigned_to_id IS NULL"
                " THEN 'open' ELSE 'claimed' END ELSE status END,"
                " snoozed_until = CASE WHEN status = 'snoozed' THEN NULL"
                " ELSE snoozed_until END,"
                " registration_id = COALESCE(registration_id, ?),"
                " call_id = COALESCE(call_id, ?),"
                " waiting_since = COALESCE(waiting_since, ?), updated_at = ? WHERE id = ?",
                cursor.flag(raised),
                priority,
                cursor.flag(raised),
                reason,
                registration_id,
                call_id,
                now,
                now,
                current[0],
            )
            return int(current[0]), False
        inserted = await cursor.one(
            "INSERT INTO handoffs (contact_id, status, priority, reason, channel, language,"
            " opened_by_id, registration_id, call_id, waiting_since, escalation_level,"
            " created_at, updated_at) VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
            " RETURNING id",
            contact_id,
            priority,
            reason,
            channel,
            language,
            opened_by,
            registration_id,
            call_id,
            now,
            now,
            now,
        )
        handoff_id = int(inserted[0])
        await cursor.run(
            "INSERT INTO audit_events (actor, action, subject, details, created_at)"
            " VALUES (?, 'handoff.opened', ?, ?, ?)",
            f"operator:{opened_by}" if opened_by else "bot",
            str(handoff_id),
            _dumps({"reason": reason, "priority": priority, "channel": channel}),
            now,
        )
        return handoff_id, True

    async def note_passed_on(
        self, handoff_id: int, seen: datetime | None, now: datetime, *, always: bool = False
    ) -> bool:
        """Mark that the waiting person was told their message was passed on: `always`, or
        only if the mark is still `seen` (what the turn read), so one of several turns
        arriving together wins. True when marked."""
        return await self._run(self._note_passed_on, handoff_id, seen, now, always)

    @staticmethod
    async def _note_passed_on(
        cursor: _Cursor, handoff_id: int, seen: datetime | None, moment: datetime, always: bool
    ) -> bool:
        now = cursor.time(moment)
        sql = "UPDATE handoffs SET passed_on_at = ?, updated_at = ? WHERE id = ?"
        params: list[Any] = [now, now, handoff_id]
        if always:
            pass
        elif seen is None:
            sql += " AND passed_on_at IS NULL"
        else:
            sql += " AND passed_on_at = ?"
            # SQLite's times come back naive: they are UTC
            params.append(cursor.time(seen if seen.tzinfo else seen.replace(tzinfo=UTC)))
        return (await cursor.one(sql + " RETURNING id", *params)) is not None

    # -- transaction 2: everything the turn decided -----------------------------------------
    async def finish_turn(self, write: TurnWrite) -> list[int]:
        """Store the replies, session and changes and mark the message handled; reply ids."""
        return await self._run(self._finish_turn, write)

    @staticmethod
    async def _finish_turn(cursor: _Cursor, write: TurnWrite) -> list[int]:
        now = cursor.time(datetime.now(UTC))
        if write.state_json is not None:
            await cursor.run(
                "INSERT INTO sessions (contact_id, state, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (contact_id) DO UPDATE"
                " SET state = excluded.state, updated_at = excluded.updated_at",
                write.contact_id,
                crypto.encrypt(write.state_json),
                now,
            )
        payload = write.inbound_payload
        if write.intent:
            payload = {**payload, "intent": write.intent}
        await cursor.run(
            "UPDATE messages SET status = ?, processed_at = ?, language = ?, payload = ?"
            " WHERE id = ?",
            write.inbound_status.value,
            now,
            write.language,
            _dumps(payload),
            write.inbound_id,
        )
        inserted: list[Any] = []  # read last: on PostgreSQL all of it goes in one round trip
        sent_at = now if write.delivered else None
        for reply in write.replies:
            inserted.append(
                await cursor.send(
                    "INSERT INTO messages (contact_id, channel, direction, text, language, status,"
                    " in_reply_to_id, payload, attempts, created_at, sent_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
                    write.contact_id,
                    write.channel,
                    Direction.OUTBOUND.value,
                    crypto.encrypt(reply.text),
                    reply.language,
                    write.status.value,
                    write.inbound_id,
                    _dumps(reply.to_payload()),
                    now,
                    sent_at,
                )
            )
        if write.contact_language is not None:
            await cursor.run(
                "UPDATE contacts SET language = ? WHERE id = ?",
                write.contact_language,
                write.contact_id,
            )
        if write.opted_out is not None:
            await cursor.run(
                "UPDATE contacts SET opted_out = ? WHERE id = ?",
                cursor.flag(write.opted_out),
                write.contact_id,
            )
        if write.contact_city is not None:
            await cursor.run(
                "UPDATE contacts SET city = ? WHERE id = ?", write.contact_city, write.contact_id
            )
        released = None
        if write.channel in WINDOWED_CHANNELS:
            # The person wrote, so WhatsApp's window is open: what waited behind a template
            # goes back to the outbox, older than this turn's replies so it goes first; unless
            # they opted out (now or before): then it is never sent. The contact's
            # last_inbound_at was written by the turn's first transaction, before this one
            # (bot/delivery.py relies on that order).
            await cursor.run(
                "UPDATE messages SET status = ?, last_error = ? WHERE contact_id = ?"
                " AND direction = ? AND status = ?"
                " AND EXISTS (SELECT 1 FROM contacts WHERE id = ? AND opted_out = ?)",
                MessageStatus.UNDELIVERABLE.value,
                OPTED_OUT,
                write.contact_id,
                Direction.OUTBOUND.value,
                MessageStatus.HELD.value,
                write.contact_id,
                cursor.flag(True),
            )
            released = await cursor.send(
                "UPDATE messages SET status = ?, attempts = 0, next_attempt_at = NULL"
                " WHERE contact_id = ? AND direction = ? AND status = ? RETURNING id",
                MessageStatus.QUEUED.value,
                write.contact_id,
                Direction.OUTBOUND.value,
                MessageStatus.HELD.value,
            )
        if write.case_id is not None:
            # Handoffs.person_wrote's change, in the turn's transaction: a snoozed case wakes
            # (back to its operator, or the open queue); it waits for an answer from now on,
            # unless it was waiting already.
            await cursor.run(
                "UPDATE handoffs SET"
                " status = CASE WHEN status = 'snoozed' THEN CASE WHEN assigned_to_id IS NULL"
                " THEN 'open' ELSE 'claimed' END ELSE status END,"
                " snoozed_until = CASE WHEN status = 'snoozed' THEN NULL"
                " ELSE snoozed_until END,"
                " escalation_level = CASE WHEN waiting_since IS NULL THEN 0"
                " ELSE escalation_level END,"
                " waiting_since = COALESCE(waiting_since, ?), updated_at = ? WHERE id = ?",
                now,
                now,
                write.case_id,
            )
        if released is not None:
            write.released = len(await cursor.rows(released))
        return [int((await cursor.first(result))[0]) for result in inserted]

    # -- a repeated delivery ----------------------------------------------------------------
    async def replay(self, inbound_id: int, *, delivered: bool) -> list[OutboundMessage]:
        """The replies to a message handled already that its sender has not had: answered in
        an HTTP answer nobody confirmed, or still queued (taken over here, so the outbox does
        not send them as well). Replies the outbox has claimed or sent are not repeated."""
        return await self._run(self._replay, inbound_id, delivered)

    @staticmethod
    async def _replay(cursor: _Cursor, inbound_id: int, delivered: bool) -> list[OutboundMessage]:
        out = Direction.OUTBOUND.value
        answered = MessageStatus.ANSWERED.value
        await cursor.run(
            "UPDATE messages SET status = ?, sent_at = NULL"
            " WHERE in_reply_to_id = ? AND direction = ? AND status = ?",
            answered,
            inbound_id,
            out,
            MessageStatus.QUEUED.value,
        )
        rows = await cursor.all(
            "SELECT id, text, language, payload FROM messages WHERE in_reply_to_id = ?"
            " AND direction = ? AND status = ? AND sent_at IS NULL ORDER BY id",
            inbound_id,
            out,
            answered,
        )
        if delivered and rows:
            await TurnStore._confirm(cursor, [row[0] for row in rows])
        return [
            OutboundMessage.from_stored(_decrypt(row[1]), row[2], _json(row[3]), row[0])
            for row in rows
        ]

    def confirm(self, reply_ids: Sequence[int]) -> None:
        """Answered replies whose HTTP answer went out: a later retry does not repeat them.
        Marked in the next transaction this process runs (a retry's own among them, so it
        never repeats what was confirmed before it), at the latest after `confirm_seconds`.
        A crash before then only repeats an answer that was given."""
        if not reply_ids:
            return
        self._unconfirmed.extend(reply_ids)
        if self._confirm_timer is None:
            loop = asyncio.get_running_loop()
            self._confirm_timer = loop.call_later(self.confirm_seconds, self._confirm_due)

    def _take_confirmations(self) -> list[int]:
        taken, self._unconfirmed = self._unconfirmed, []
        if taken and self._confirm_timer is not None:  # nothing left for it to write
            self._confirm_timer.cancel()
            self._confirm_timer = None
        return taken

    def _requeue(self, confirms: list[int]) -> None:
        """A transaction that took confirmations failed: they go with the next one."""
        if confirms:
            self._unconfirmed[:0] = confirms
            if self._confirm_timer is None:
                loop = asyncio.get_running_loop()
                self._confirm_timer = loop.call_later(self.confirm_seconds, self._confirm_due)

    def _confirm_due(self) -> None:
        self._confirm_timer = None
        if self._unconfirmed:
            task = asyncio.ensure_future(self._write_confirmations_logged())
            self._confirm_tasks.add(task)
            task.add_done_callback(self._confirm_tasks.discard)

    async def _write_confirmations_logged(self) -> None:
        try:
            await self.write_confirmations()
        except Exception:  # kept for the next transaction; a retry meanwhile repeats an answer
            log.exception("could not confirm %d answered replies", len(self._unconfirmed))
            if self._confirm_timer is not None:  # the database is failing: not every 20 ms
                self._confirm_timer.cancel()
                loop = asyncio.get_running_loop()
                self._confirm_timer = loop.call_later(1.0, self._confirm_due)

    async def write_confirmations(self) -> None:
        """Every confirmation asked for so far, written now (in a transaction of their own
        unless another one takes them first)."""
        if self._unconfirmed:
            await self._run(self._nothing)

    @staticmethod
    async def _nothing(cursor: _Cursor) -> None:
        return None

    @staticmethod
    async def _confirm(cursor: _Cursor, reply_ids: list[int]) -> None:
        now = cursor.time(datetime.now(UTC))
        for start in range(0, len(reply_ids), _CONFIRM_BATCH):
            batch = reply_ids[start : start + _CONFIRM_BATCH]
            marks = ", ".join("?" for _ in batch)
            await cursor.run(
                f"UPDATE messages SET sent_at = ? WHERE id IN ({marks}) AND sent_at IS NULL",  # noqa: S608 (only placeholders)
                now,
                *batch,
            )
