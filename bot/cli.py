"""The `hotline` command: serve, chat in the terminal, database and NLU tools."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from typing import Annotated

import typer
from rich.console import Console

from bot.config import Settings, get_settings
from bot.console.cli import operators_app
from bot.http import LISTEN_URL_ENV
from bot.keys_cli import keys_app

app = typer.Typer(help="hotline: multilingual hotline and messaging bot", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
app.add_typer(db_app, name="db")
contacts_app = typer.Typer(help="Contacts: roles")
app.add_typer(contacts_app, name="contacts")
console = Console()
app.add_typer(operators_app, name="operators")  # console accounts
app.add_typer(keys_app, name="keys")  # data keys: where, create, rotate

try:  # the NLU tools live with the NLU
    from nlu.cli import nlu_app

    app.add_typer(nlu_app, name="nlu", help="Parse, train and evaluate the NLU")
except ImportError:  # pragma: no cover - only while nlu/cli.py is missing
    pass


def _logging(level: str) -> None:
    from bot.http import install_safe_exception_logging, quiet_chatty_loggers

    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_safe_exception_logging()  # tracebacks without exception messages (personal data)
    quiet_chatty_loggers()  # no SQL parameters, request bodies or token URLs at debug level


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes, e.g. one per core (needs PostgreSQL and Redis); each loads "
            "the cached NLU model",
        ),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    telegram_polling: Annotated[
        bool, typer.Option(help="Telegram: poll for updates instead of the webhook (development)")
    ] = False,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request line. Off by default: request lines can carry identifiers "
            "(a REST sender id in a query string), and logging each costs throughput"
        ),
    ] = False,
) -> None:
    """Start the bot's HTTP server (channels, web chat at /chat, /model/parse, /healthz)."""
    import uvicorn

    _logging(log_level)
    settings = get_settings()
    if workers > 1 and (settings.database_url.startswith("sqlite") or not settings.redis_url):
        console.print("[red]Several workers need DATABASE_URL (PostgreSQL) and REDIS_URL.[/red]")
        raise typer.Exit(2)
    if telegram_polling:  # Telegram polling: one process only, or Telegram answers 409 Conflict
        if workers > 1 or not settings.telegram_bot_token:
            console.print("[red]--telegram-polling needs TELEGRAM_BOT_TOKEN and one worker.[/red]")
            raise typer.Exit(2)
        os.environ["TELEGRAM_POLLING"] = "true"  # read by the app factory's settings
        get_settings.cache_clear()
    from bot.storage.keys import KeysMissing, require_keys

    try:  # production: the deployer's keys, or no start
        require_keys(settings)
    except KeysMissing as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    url = f"http://{host}:{port}"
    console.print(f"hotline starting on {url} (the first start trains the language model)…")
    if workers > 1 or not _ready(settings):
        _prepare_apart()
    if workers == 1:  # the app says "listening" once it answers (server.py), not before
        os.environ[LISTEN_URL_ENV] = url
    else:
        console.print(f"hotline listening on {url}  (web chat: {url}/chat)")
    uvicorn.run(
        "server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
        access_log=access_log,
        # open console live-update streams must not hold a restart for ever
        timeout_graceful_shutdown=5,
    )


_PREPARE = """
import asyncio
from bot.config import get_settings
from bot.console.app import first_start
from bot.runtime import build_runtime

async def prepare():
    runtime = await build_runtime(get_settings())
    try:
        await first_start(runtime)
    finally:
        await runtime.close()

asyncio.run(prepare())
"""


def _ready(settings: Settings) -> bool:
    """Whether a start finds the schema migrated and the language model trained."""
    from bot.runtime import nlu_is_cached
    from bot.storage.db import schema_is_current

    return schema_is_current(settings.database_url) and nlu_is_cached(settings)


def _prepare_apart() -> None:
    """Do the one-time work of a start in a short-lived process: migrate the database, create
    the first console account, train the NLU model into the cache when it is not there.
    Several workers then find all done (no race on a fresh database) and only load the cached
    model instead of each training it; and no server process ever holds what migrating and
    training import (Alembic, scikit-learn: about 200 MB it would keep until it stops)."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _PREPARE], check=False)  # noqa: S603 - fixed code
    if done.returncode != 0:
        console.print("[red]Preparing the start failed (see above); no worker started.[/red]")
        raise typer.Exit(1)


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Send the outbox, run the handoff timers, alerts and retention, with no HTTP server: for
    set-ups where `hotline serve` processes run with HOTLINE_ROLE=web (docs/deploying.md).
    Several workers may run at once (messages are claimed in SQL, one person's in order)."""
    _logging(log_level)
    settings = get_settings()
    if settings.database_url.startswith("sqlite") or not settings.redis_url:
        console.print("[red]hotline worker needs DATABASE_URL (PostgreSQL) and REDIS_URL.[/red]")
        raise typer.Exit(2)
    from bot.storage.keys import KeysMissing, require_keys

    try:
        require_keys(settings)
    except KeysMissing as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    import signal

    from bot.runtime import build_runtime

    runtime = await build_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for received in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(received, stop.set)
    try:
        await runtime.start_background(role="worker")
        console.print("hotline worker running (outbox, timers, retention)")
        await stop.wait()
    finally:
        await runtime.close()


@app.command()
def chat(
    sender: Annotated[str | None, typer.Option(help="Conversation id (kept between runs)")] = None,
    language: Annotated[str | None, typer.Option(help="Language hint, e.g. ar")] = None,
) -> None:
    """Talk to the bot in the terminal; reads lines from standard input (pipes work)."""
    _logging("warning")
    asyncio.run(_chat(sender or f"terminal-{uuid.uuid4().hex[:12]}", language))


async def _chat(sender: str, language: str | None) -> None:
    from bot.messages import InboundMessage
    from bot.runtime import build_runtime

    runtime = await build_runtime(get_settings())
    interactive = sys.stdin.isatty()
    try:
        while True:
            if interactive:
                console.print("[bold]> [/bold]", end="")
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            result = await runtime.engine.handle(
                InboundMessage(
                    channel="terminal", address=sender, text=line, language_hint=language
                )
            )
            for reply in result.replies:
                print(reply.as_plain_text(), flush=True)
                print(flush=True)
    finally:
        await runtime.close()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (the server also does this at start-up)."""
    from bot.storage.db import upgrade_schema

    upgrade_schema(get_settings().database_url, revision)
    console.print("database schema is up to date")


@contacts_app.command("set-role")
def set_role(
    channel: Annotated[str, typer.Argument(help="sms, whatsapp, telegram, web, rest, …")],
    address: Annotated[str, typer.Argument(help="The contact's address on that channel")],
    role: Annotated[str, typer.Argument(help="migrant or mobilizer")],
) -> None:
    """Give a contact a role (administrators make community mobilizers)."""
    if role not in ("migrant", "mobilizer"):
        console.print("[red]role must be migrant or mobilizer[/red]")
        raise typer.Exit(2)
    asyncio.run(_set_role(channel, address, role))
    console.print(f"{channel} contact is now a {role}")


async def _set_role(channel: str, address: str, role: str) -> None:
    from bot.runtime import build_runtime

    runtime = await build_runtime(get_settings())
    try:
        contact = await runtime.store.contact_for(channel, address)
        await runtime.store.set_role(contact.id, role, actor="cli")
    finally:
        await runtime.close()


if __name__ == "__main__":  # pragma: no cover
    app()
