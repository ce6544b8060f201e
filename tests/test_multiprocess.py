"""Past one box: two web processes and a worker on real PostgreSQL and Redis behave as one bot.

Two `uvicorn` processes with HOTLINE_ROLE=web answer Telegram's webhook; a `hotline worker`
process sends the outbox. One person's conversation is posted alternately to the two web
processes (a person waits for each answer, as Telegram does). While no worker runs nothing is
sent (web processes only answer requests); once the worker starts, every reply reaches the fake
Telegram Bot API once, in the order the bot wrote them, and later messages are sent as they come.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from bot import PROJECT_ROOT
from bot.i18n import Catalogs
from bot.storage.db import sync_url
from bot.storage.keys import load_keys
from bot.storage.models import Direction, Message, MessageStatus
from tests.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegramAPI, running_fake_telegram, text_update
from tests.servers import free_port
from tests.test_crash import kill, wait_up

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret-for-tests"
CHAT = 424242
CONVERSATION = ["hello", "3", "0", "2", "Tripoli", "0", "1", "0"]


def _env(settings: Any, telegram_base: str, role: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CACHE_DIR": str(settings.cache_dir),
        "HOTLINE_KEY_DIR": str(settings.hotline_key_dir),
        "OPERATOR_HOURS": "always",
        "OMP_NUM_THREADS": "1",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram_base,
        "TELEGRAM_CHAT_RATE": "1000",
        "TELEGRAM_CHAT_BURST": "100",
        "TELEGRAM_GLOBAL_RATE": "1000",
        "HOTLINE_ROLE": role,
    }
    env.pop("TELEGRAM_POLLING", None)
    return env


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "--factory", "server:create_app"]
    return _start([*command, "--port", str(port)], env, log)


def _outbound(database_url: str) -> list[tuple[str, str]]:
    """The bot's messages to the person, in the order it wrote them: (text, status)."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Message.text, Message.status)
                .where(Message.direction == Direction.OUTBOUND)
                .order_by(Message.id)
            ).all()
    finally:
        engine.dispose()
    return [(text, status) for text, status in rows]


async def _until(condition: Any, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + 120  # a guard against hanging, not a speed limit
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
            raise AssertionError(f"{what}\n{tails}")
        await asyncio.sleep(0.1)


def _texts(fake: FakeTelegramAPI) -> list[str]:
    return [str(m["text"]) for m in fake.sent_to(CHAT)]


async def test_two_web_processes_and_a_worker_are_one_bot(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = settings_for("postgres+redis", tmp_path, request)
    import redis

    redis.Redis.from_url(settings.redis_url).flushdb()
    update_ids = itertools.count(1000)
    logs = [tmp_path / "web1.log", tmp_path / "web2.log", tmp_path / "worker.log"]
    processes: list[subprocess.Popen[bytes]] = []
    with running_fake_telegram() as (fake, telegram_base):
        web_env = _env(settings, telegram_base, "web")
        ports = [free_port(), free_port()]
        try:
            # the first process migrates the new database and creates the keys, then the second
            for port, log in zip(ports, logs, strict=False):
                processes.append(_web(web_env, port, log))
                await wait_up(f"http://127.0.0.1:{port}", processes[-1], log)
            load_keys(settings, announce=False)  # the keys the first process created

            async with httpx.AsyncClient(timeout=60) as http:

                async def say(text: str, turn: int) -> None:
                    port = ports[turn % 2]  # alternately to each web process
                    update = text_update(next(update_ids), CHAT, text, language_code="en")
                    answer = await http.post(
                        f"http://127.0.0.1:{port}/webhooks/telegram",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                    assert answer.status_code == 200, answer.text

                for turn, text in enumerate(CONVERSATION):
                    await say(text, turn)
                # web processes answer requests only: every reply waits in the outbox
                written = _outbound(settings.database_url)
                assert len(written) >= len(CONVERSATION)
                assert {status for _, status in written} == {MessageStatus.QUEUED}
                assert _texts(fake) == []

                worker_env = _env(settings, telegram_base, "worker")
                processes.append(
                    _start([sys.executable, "-m", "bot.cli", "worker"], worker_env, logs[2])
                )
                await _until(
                    lambda: len(_texts(fake)) >= len(written), "the worker sent nothing", logs
                )
                # later messages, alternately again, while the worker runs
                for turn, text in enumerate(["0", "3"], start=len(CONVERSATION)):
                    await say(text, turn)
                await _until(
                    lambda: (
                        len(_texts(fake)) == len(_outbound(settings.database_url))
                        and all(
                            s == MessageStatus.SENT for _, s in _outbound(settings.database_url)
                        )
                    ),
                    "not every reply was sent",
                    logs,
                )
        finally:
            for process in processes:
                kill(process, 15)
    written = _outbound(settings.database_url)
    # one conversation: each reply sent once, in the order the bot wrote them
    assert _texts(fake) == [text for text, _ in written]
    english = Catalogs(PROJECT_ROOT / "locales", ["en"], "en")
    assert [text for text, _ in written][:2] == [
        english.text("en", "welcome.first"),
        english.text("en", "menu.main"),
    ]
    # the same person throughout: one contact, whichever process took the message
    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as connection:
            contacts = connection.execute(
                select(Message.contact_id).distinct().where(Message.direction == Direction.INBOUND)
            ).all()
            inbound = connection.execute(
                select(Message.status).where(Message.direction == Direction.INBOUND)
            ).all()
    finally:
        engine.dispose()
    assert len(contacts) == 1
    assert [status for (status,) in inbound] == [MessageStatus.PROCESSED] * (len(CONVERSATION) + 2)


def test_the_worker_refuses_an_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/never.db")
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output and "REDIS_URL" in result.output
