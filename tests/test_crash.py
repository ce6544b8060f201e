"""A server killed (SIGKILL) in the middle of a crowd's conversations loses and doubles nothing.

A real server process (uvicorn) on the test's backend; tens of senders each send their
messages one after the other (a person waits for the answer), every message with its
provider id. The server is killed while requests are in flight, started again on the same
database, and every sender retries its unanswered message and goes on, as a provider does.
Afterwards: every message stored once and handled, no message handled twice, and every reply
stored for a sender reached that sender exactly once (in an HTTP answer or collected later).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from bot import PROJECT_ROOT
from bot.storage.db import sync_url
from bot.storage.keys import load_keys
from bot.storage.models import Direction, Message, MessageStatus
from tests.conftest import settings_for
from tests.servers import free_port

SENDERS = 30
MESSAGES = 10  # each: 300 messages in all
KILL_AFTER = 100  # answers
MIX = [
    "hello",
    "1",
    "0",
    "where is a clinic in Tripoli",
    "bonjour",
    "2",
    "مرحبا",
    "0",
    "ina so in koma gida",
    "3",
]


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server:create_app", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(base_url=base) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the server exited, see {log}"
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("server did not start")


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)


async def test_a_killed_server_loses_and_doubles_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = settings_for(backend, tmp_path, request)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "CACHE_DIR": str(settings.cache_dir),
        "OPERATOR_HOURS": "always",
        "OMP_NUM_THREADS": "1",
        "HOTLINE_KEY_DIR": str(settings.hotline_key_dir),
    }
    env.pop("REDIS_URL", None)
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
        import redis

        redis.Redis.from_url(settings.redis_url).flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    received: dict[str, list[str]] = {f"s{n}": [] for n in range(SENDERS)}
    answered: set[str] = set()
    next_message = dict.fromkeys(received, 0)
    killed = asyncio.Event()

    async def sender(http: httpx.AsyncClient, name: str) -> None:
        while next_message[name] < MESSAGES:
            index = next_message[name]
            body = {
                "sender": name,
                "message": MIX[(index + int(name[1:])) % len(MIX)],
                "metadata": {"message_id": f"{name}-{index}"},
            }
            try:
                response = await http.post("/webhooks/rest/webhook", json=body)
            except httpx.TransportError:
                return  # the server died: this one is retried after the restart
            assert response.status_code == 200, response.text
            received[name] += [reply["text"] for reply in response.json()]
            answered.add(f"{name}-{index}")
            next_message[name] += 1
            if len(answered) >= KILL_AFTER and not killed.is_set():
                killed.set()

    server = start_server(env, port, log)
    try:
        await wait_up(base, server, log)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            crowd = asyncio.gather(*(sender(http, name) for name in received))
            await killed.wait()
            kill(server)  # mid-flight: some turns stored, some answered but not sent
            await crowd
        assert len(answered) < SENDERS * MESSAGES  # the kill did interrupt the crowd
        server = start_server(env, port, log)
        await wait_up(base, server, log)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await asyncio.gather(*(sender(http, name) for name in received))
            for name in received:  # replies queued for a sender (handled with a later message)
                collected = await http.get("/webhooks/rest/messages", params={"sender": name})
                received[name] += [reply["text"] for reply in collected.json()]
    finally:
        kill(server, signal.SIGTERM)

    assert len(answered) == SENDERS * MESSAGES
    load_keys(settings, announce=False)  # the server's key file: the texts are encrypted
    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as connection:
            inbound = connection.execute(
                select(Message.provider_message_id, Message.status).where(
                    Message.direction == Direction.INBOUND
                )
            ).all()
            replies = connection.execute(
                select(Message.contact_id, Message.in_reply_to_id, Message.text, Message.id)
                .where(Message.direction == Direction.OUTBOUND)
                .order_by(Message.id)
            ).all()
            senders = dict(
                connection.execute(
                    select(Message.contact_id, Message.provider_message_id).where(
                        Message.direction == Direction.INBOUND
                    )
                ).all()
            )
    finally:
        engine.dispose()
    # zero lost, stored once: every message once, and handled
    ids = Counter(provider_id for provider_id, _ in inbound)
    assert set(ids) == {f"{name}-{i}" for name in received for i in range(MESSAGES)}
    assert max(ids.values()) == 1
    assert {status for _, status in inbound} == {MessageStatus.PROCESSED}
    # zero doubled: no message answered by two turns (a turn never repeats a text)
    per_message = Counter((in_reply_to, text) for _, in_reply_to, text, _ in replies)
    assert max(per_message.values()) == 1
    # zero undelivered: what was stored for each sender is what each sender got, once
    stored: dict[str, list[str]] = {name: [] for name in received}
    for contact_id, _, text, _ in replies:
        stored[str(senders[contact_id]).split("-")[0]].append(text)
    for name in received:
        assert Counter(received[name]) == Counter(stored[name]), name
