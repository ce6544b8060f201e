"""The turns' SQLite transactions: committed in groups, each kept or rolled back on its own."""

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
    if n == 3:
        raise ValueError("this one fails after its insert")
    return n * 10


def _rows(store: TurnStore) -> list[int]:
    with sqlite3.connect(store._path) as connection:
        return [row[0] for row in connection.execute("SELECT n FROM grouped ORDER BY n")]


async def test_transactions_arriving_together_share_one_commit_and_fail_alone(
    store: TurnStore,
) -> None:
    commits: list[str] = []
    assert store._loop_connection is not None
    store._loop_connection.set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None
    )
    results = await asyncio.gather(*(store._run(_put, n) for n in range(8)), return_exceptions=True)
    assert [r for r in results if not isinstance(r, BaseException)] == [0, 10, 20, 40, 50, 60, 70]
    assert isinstance(results[3], ValueError)
    assert _rows(store) == [0, 1, 2, 4, 5, 6, 7]  # the failed one's insert rolled back alone
    assert len(commits) == 1  # eight transactions, one commit


async def test_a_group_waits_for_another_writer_and_then_commits(store: TurnStore) -> None:
    other = sqlite3.connect(store._path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    waiting = asyncio.gather(*(store._run(_put, n) for n in (10, 11)))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await waiting == [100, 110]
    assert _rows(store) == [10, 11]
