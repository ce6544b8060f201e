"""Alembic migrations on SQLite and on a real PostgreSQL: up, idempotent, down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from bot.storage.db import sync_url, upgrade_schema
from bot.storage.models import Base
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_url"))


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_create_the_model_schema(database_url: str) -> None:
    upgrade_schema(database_url)
    upgrade_schema(database_url)  # a second run changes nothing
    assert set(Base.metadata.tables) <= tables(database_url)


def test_migrations_go_down_and_up(database_url: str) -> None:
    upgrade_schema(database_url)
    from alembic import command
    from alembic.config import Config

    from bot.storage.db import MIGRATIONS_DIR

    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    engine.dispose()
    assert not set(Base.metadata.tables) & tables(database_url)
    upgrade_schema(database_url)
    assert set(Base.metadata.tables) <= tables(database_url)


def test_models_and_migrations_agree(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade_schema(database_url)
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: alembic revision --autogenerate"


def test_head_is_read_from_the_files_as_alembic_reads_it() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.storage.db import MIGRATIONS_DIR, head_revisions

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revisions() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_a_current_schema_is_checked_without_importing_alembic(database_url: str) -> None:
    import subprocess
    import sys

    from bot.storage.db import schema_is_current

    assert not schema_is_current(database_url)
    upgrade_schema(database_url)
    assert schema_is_current(database_url)
    # a server process checks its schema at every start; Alembic costs ~20 MB a process
    code = (
        "import sys; from bot.storage.db import upgrade_schema; "
        f"upgrade_schema({database_url!r}); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
