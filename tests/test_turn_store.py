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
