"""The turns' SQLite transactions on the event loop: they wait for another writer's lock."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import Database, upgrade_schema
from bot.storage.turns import TurnStore


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    upgrade_schema(url)
    database = Database(url)
    turns = TurnStore(database)
    await turns._run(_create_table)
    yield turns
    await turns.close()
    await database.dispose()


async def _create_table(cursor: Any) -> None:
    await cursor.run("CREATE TABLE grouped (n INTEGER PRIMARY KEY)")


async def _put(cursor: Any, n: int) -> int:
    await cursor.run("INSERT INTO grouped (n) VALUES (?)", n)
    return n * 10


def _rows(store: TurnStore) -> list[int]:
    with sqlite3.connect(store._path) as connection:
        return [row[0] for row in connection.execute("SELECT n FROM grouped ORDER BY n")]


async def test_transactions_wait_for_another_writer_and_then_commit(store: TurnStore) -> None:
    other = sqlite3.connect(store._path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    waiting = asyncio.gather(*(store._run(_put, n) for n in (10, 11)))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await waiting == [100, 110]
    assert _rows(store) == [10, 11]


async def _put_many(cursor: Any, first: int) -> None:
    for n in range(first, first + 200):
        await cursor.run("INSERT INTO grouped (n) VALUES (?)", n)


def _database_size(store: TurnStore) -> int:
    return Path(store._path).stat().st_size  # the file itself, without its -wal


async def test_the_loops_commits_never_checkpoint_a_thread_does(store: TurnStore) -> None:
    connection = store._loop_connection
    assert connection is not None
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    thread = store._checkpointer
    assert thread is not None and thread.is_alive()
    size_before = _database_size(store)
    for first in range(0, 6000, 200):  # far more than SQLite's 1,000-page automatic checkpoint
        await store._run(_put_many, first)
    # the rows reach the database file itself (not only the WAL) without anyone asking
    for _ in range(100):
        if _database_size(store) > size_before:
            break
        await asyncio.sleep(0.1)
    assert _database_size(store) > size_before
    assert _rows(store) == list(range(6000))
    await store.close()
    assert not thread.is_alive()
