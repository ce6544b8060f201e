"""Alembic environment: the bot passes an open connection in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.storage.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` command line: URL from alembic's own config
        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("run migrations with `hotline db upgrade`")
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
