"""Database engines (async for the bot, sync for migrations) and schema upgrades with Alembic."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def driver_integrity_errors(*also: type[Exception]) -> tuple[type[Exception], ...]:
    """A unique constraint broken by a statement sent to the driver directly
    (bot/storage/turns.py): SQLite's error, and psycopg's once PostgreSQL is in use; with
    ``also``. psycopg is imported only by a PostgreSQL set-up (5 MB a process that SQLite does
    not need), and an error of a driver that was never imported cannot be raised."""
    psycopg = sys.modules.get("psycopg")
    drivers = (
        (sqlite3.IntegrityError,)
        if psycopg is None
        else (sqlite3.IntegrityError, psycopg.IntegrityError)
    )
    return (*drivers, *also)


def _normalise(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def async_url(url: str) -> URL:
    parsed = _normalise(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def sync_url(url: str) -> URL:
    parsed = _normalise(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work together; the busy timeout queues writers.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # deleted rows are overwritten with zeros, not left in free pages (erasure, retention)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_files(url: str | URL) -> list[Path]:
    """The database file and its companions (WAL, shared memory, journal); [] if not SQLite."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return []
    if parsed.database == ":memory:":
        return []
    base = Path(parsed.database).expanduser()
    return [base.with_name(base.name + suffix) for suffix in SQLITE_SUFFIXES]


def _ensure_sqlite_dir(url: URL) -> None:
    files = sqlite_files(url)
    if not files:
        return
    files[0].parent.mkdir(parents=True, exist_ok=True)
    # Only the service account reads the files: created 0600 (SQLite gives the WAL and
    # shared-memory files the database file's mode), and an older install's are tightened.
    if not files[0].exists():
        os.close(os.open(files[0], os.O_WRONLY | os.O_CREAT, 0o600))
    for path in files:
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]?([\w]+)['\"]?", re.MULTILINE)


def head_revisions() -> frozenset[str]:
    """The newest migration(s), read from the migration files themselves: a server checks its
    schema without importing Alembic (about 20 MB a process for a check done once)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value != "None":
                (parents if down else revisions).add(value)
    return frozenset(revisions - parents)


def schema_is_current(url: str) -> bool:
    """Whether the database is already at the newest migration (an absent database is not)."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite" and not any(p.exists() for p in sqlite_files(target)):
        return False
    engine = create_engine(target)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            current = frozenset(rows)
    except SQLAlchemyError:  # no version table yet, or no database: not current
        return False
    finally:
        engine.dispose()
    heads = head_revisions()
    return bool(heads) and current == heads


def upgrade_schema(url: str, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` (idempotent; nothing is imported when the
    schema is already at the head)."""
    if revision == "head" and schema_is_current(url):
        return
    from alembic import command
    from alembic.config import Config

    target = sync_url(url)
    _ensure_sqlite_dir(target)
    engine = create_engine(target)
    if target.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


class Database:
    """The async engine and session factory the bot uses."""

    def __init__(self, url: str) -> None:
        target = async_url(url)
        _ensure_sqlite_dir(target)
        self.url = url
        self.is_sqlite = target.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        self.engine: AsyncEngine = create_async_engine(target, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def flush_deleted(self) -> None:
        """After an erasure or a purge: SQLite copies the WAL into the database (where
        secure_delete has zeroed the deleted rows) and truncates the WAL, so no copy of the
        deleted rows stays in the WAL file. PostgreSQL needs nothing here (VACUUM reclaims)."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def dispose(self) -> None:
        await self.engine.dispose()
