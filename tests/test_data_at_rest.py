"""Data at rest (docs/security.md): a default install encrypts personal data with keys its first
start creates, keeps its files 0600, leaves nothing readable after an erasure, refuses to start
in production without keys, and rotates keys while the bot runs."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot import PROJECT_ROOT
from bot.config import Settings
from bot.messages import InboundMessage
from bot.runtime import Runtime, build_runtime
from bot.storage import crypto
from bot.storage.db import Database, sqlite_files, upgrade_schema
from bot.storage.keys import (
    KEY_FILE_NAME,
    KeysMissing,
    key_file,
    load_keys,
    new_key_data,
    write_key_file,
)
from bot.storage.models import Contact, Message, Registration
from bot.storage.repository import Store
from nlu import BuiltinNLU
from server import create_app
from tests.conftest import RuntimeFactory
from tests.console_support import create_operator

_ids = itertools.count()

PEOPLE = [
    {
        "language": "en",
        "sender": "rest-person-en",
        "open": "hello",
        "yes": "yes",
        "name": "Amina Bello",
        "phone": "0912345678",
        "city": "Sabha",
        "place": "Tarik al Sikka detention centre",
        "ask_person": "I want to talk to a person",
        "in_case": "my brother Yusuf Bello is held with me",
        "erase": "delete my data",
    },
    {
        "language": "ar",
        "sender": "rest-person-ar",
        "open": "السلام عليكم",
        "yes": "نعم",
        "name": "آمنة محمد",
        "phone": "0923456789",
        "city": "سبها",
        "place": "مركز احتجاز طريق السكة",
        "ask_person": "أريد التحدث مع شخص",
        "in_case": "أخي يوسف محمد محتجز معي",
        "erase": "امسح بياناتي",
    },
]
OPERATOR_REPLY = "Amina, we call you tomorrow about Yusuf"
OPERATOR_NOTE = "آمنة: sister of Yusuf Bello, Gharyan"


def personal_values() -> list[str]:
    values = [OPERATOR_REPLY, OPERATOR_NOTE, "Yusuf"]
    for person in PEOPLE:
        phone = person["phone"]
        values += [person["name"], person["place"], person["in_case"], person["ask_person"]]
        values += [phone, "+218" + phone[1:], phone[1:]]
        values += person["name"].split()
    return values


def leaks(data: bytes, values: list[str]) -> list[str]:
    """The values found in raw bytes: as UTF-8, and as JSON writes them with ASCII escapes."""
    found = []
    for value in values:
        forms = {value.encode(), json.dumps(value)[1:-1].encode()}
        if any(form in data for form in forms):
            found.append(value)
    return found


def raw_files(settings: Settings) -> bytes:
    return b"".join(p.read_bytes() for p in sqlite_files(settings.database_url) if p.exists())


class Chat:
    def __init__(self, client: httpx.AsyncClient, sender: str) -> None:
        self.client, self.sender = client, sender

    async def __call__(self, text: str) -> list[str]:
        response = await self.client.post(
            "/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text, "metadata": {"message_id": next(_ids)}},
        )
        assert response.status_code == 200, response.text
        return [r.get("text", "") for r in response.json()]


async def register_detained(chat: Chat, person: dict[str, str]) -> None:
    for text in [person["open"], "1", person["yes"], person["name"], "1", "30", "1"]:
        await chat(text)
    for text in [person["phone"], person["city"], "1", person["place"], "3", "0", "2", "2", "2"]:
        await chat(text)
    await chat("1")  # confirm


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_default_install_files_and_log_hold_no_personal_value(
    make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = await make_runtime()  # no key anywhere in the settings: a default install
    settings = runtime.settings
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    operator = await create_operator(runtime, "olga", "operator", languages=("en", "ar"))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for person in PEOPLE:
            chat = Chat(http, person["sender"])
            await register_detained(chat, person)
            await chat(person["ask_person"])
            [case] = await runtime.store.open_handoffs()
            await chat(person["in_case"])  # goes to the case
            await runtime.handoffs.claim(case.id, operator)
            await runtime.handoffs.reply(case.id, operator, OPERATOR_REPLY)
            await runtime.handoffs.note(case.id, operator, OPERATOR_NOTE)
            await runtime.handoffs.close(case.id, operator, "resolved")
        async with runtime.db.session() as session:
            stored = await session.scalars(select(Registration).order_by(Registration.id))
            assert [(r.full_name, r.detention_place) for r in stored] == [
                (p["name"], p["place"]) for p in PEOPLE
            ]
        values = personal_values()
        # Encrypted, not only erased: nothing readable while the data is kept
        assert leaks(raw_files(settings), values) == []
        for person in PEOPLE:
            chat = Chat(http, person["sender"])
            await chat(person["erase"])
            await chat("1")
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 0
    assert sqlite_files(settings.database_url)[1].stat().st_size < 100_000
    assert leaks(raw_files(settings), values) == []
    assert leaks(caplog.text.encode(), values) == []
    secrets = json.loads(key_file(settings).read_text())
    assert not [k for k in secrets["encryption_keys"] + secrets["hash_keys"] if k in caplog.text]


async def test_erasure_leaves_no_copy_in_the_files_even_unencrypted(tmp_path: Path) -> None:
    """secure_delete and the WAL checkpoint on their own: with encryption off (an old install),
    the erased row is first found in the files, then nowhere."""
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    crypto.configure(None, b"a key for this test")
    upgrade_schema(url)
    db = Database(url)
    store = Store(db)
    try:
        contact = await store.contact_for("rest", "+218915550000")
        said = "Zainab Idris in Zawiya"
        inbound = InboundMessage(channel="rest", address="+218915550000", text=said)
        await store.record_inbound(contact.id, inbound, said)
        marker = ["Zainab Idris", "+218915550000"]
        assert leaks(raw_files(Settings(_env_file=None, database_url=url)), marker) == marker
        await store.erase_contact(contact.id)
        assert leaks(raw_files(Settings(_env_file=None, database_url=url)), marker) == []
        assert sqlite_files(url)[1].stat().st_size == 0  # the WAL is truncated
    finally:
        await db.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_files_are_for_the_service_account_only(make_runtime: RuntimeFactory) -> None:
    runtime = await make_runtime()
    await runtime.engine.handle(InboundMessage(channel="rest", address="a", text="hello"))
    db, wal, shm, _journal = sqlite_files(runtime.settings.database_url)
    assert [mode(p) for p in (db, wal, shm)] == [0o600, 0o600, 0o600]
    path = key_file(runtime.settings)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert path.parent != db.parent  # the keys are not where the database files are
    assert path.parent == db.parent / "keys"


async def test_an_older_install_is_tightened_and_encrypted(
    tmp_path: Path, builtin_nlu: BuiltinNLU
) -> None:
    """A database from before default encryption: plain values, world-readable files, hashes
    under another key. The first start encrypts every value, recomputes the hashes, tightens
    the modes; the person is still the same contact."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    crypto.configure(None, b"hotline-development-key-change-me")
    upgrade_schema(url)
    db = Database(url)
    contact = await Store(db).contact_for("rest", "+218917770000")
    await db.dispose()
    for path in sqlite_files(url):
        if path.exists():
            os.chmod(path, 0o644)
    settings = Settings(_env_file=None, database_url=url, operator_hours="always")
    # the key file made before the first start (`hotline keys create`, or a start cut short)
    write_key_file(key_file(settings), new_key_data())
    runtime = await build_runtime(settings, builtin_nlu=builtin_nlu)
    try:
        assert "database_encrypted_at" in json.loads(key_file(settings).read_text())
        assert mode(sqlite_files(url)[0]) == 0o600
        async with runtime.db.engine.connect() as connection:
            [raw] = (await connection.exec_driver_sql("SELECT address FROM contacts")).scalars()
        assert raw.startswith(crypto.PREFIX) and "218917770000" not in raw
        assert (await runtime.store.contact_for("rest", "+218917770000")).id == contact.id
    finally:
        await runtime.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_key_file_is_created_once_and_reused(
    make_runtime: RuntimeFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first = await make_runtime()
    path = key_file(first.settings)
    said = capsys.readouterr().out
    assert str(path) in said and str(path) in caplog.text  # where, on the terminal and the log
    content = path.read_text()
    keys = json.loads(content)
    for key in keys["encryption_keys"] + keys["hash_keys"]:
        assert key not in said and key not in caplog.text  # never what
    person = await first.store.contact_for("rest", "+218912223344")
    await first.close()
    again = await make_runtime()  # a restart: same settings
    assert path.read_text() == content
    assert str(path) not in capsys.readouterr().out  # said once, when created
    assert (await again.store.contact_for("rest", "+218912223344")).id == person.id
    assert (await again.store.get_contact(person.id)).address == "+218912223344"  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_environment_key_wins_over_the_file(make_runtime: RuntimeFactory) -> None:
    key = Fernet.generate_key().decode()
    runtime = await make_runtime(hotline_encryption_key=key)
    await runtime.engine.handle(InboundMessage(channel="rest", address="b", text="Hadiza Umar"))
    async with runtime.db.engine.connect() as connection:
        raw = (await connection.exec_driver_sql("SELECT text FROM messages")).scalars().all()
    texts = [Fernet(key.encode()).decrypt(v.removeprefix(crypto.PREFIX).encode()) for v in raw]
    assert b"Hadiza Umar" in texts


async def test_production_refuses_to_start_without_keys(
    tmp_path: Path, builtin_nlu: BuiltinNLU
) -> None:
    base = {"_env_file": None, "database_url": f"sqlite:///{tmp_path / 'p.db'}"}
    production = Settings(**base, hotline_env="production")  # type: ignore[arg-type]
    with pytest.raises(KeysMissing, match="HOTLINE_ENV=production"):
        await build_runtime(production, builtin_nlu=builtin_nlu)
    assert not key_file(production).exists()  # nothing made up in its place
    assert not (tmp_path / "p.db").exists()  # refused before touching the database
    supplied = Settings(
        **base,  # type: ignore[arg-type]
        hotline_env="production",
        hotline_encryption_key=Fernet.generate_key().decode(),
        hotline_secret_key="a lookup key from the deployer",
    )
    runtime = await build_runtime(supplied, builtin_nlu=builtin_nlu)
    await runtime.close()
    assert not key_file(production).exists()  # environment keys: no file needed


def cli(settings_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(settings_env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


async def test_production_starts_with_a_key_file_made_by_the_deployer(
    tmp_path: Path, builtin_nlu: BuiltinNLU
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "HOTLINE_ENV": "production"}
    made = await asyncio.to_thread(cli, env, "keys", "create")
    assert made.returncode == 0, made.stderr
    path = tmp_path / "keys" / KEY_FILE_NAME
    assert str(path) in made.stdout.replace("\n", "") and mode(path) == 0o600
    settings = Settings(_env_file=None, database_url=env["DATABASE_URL"], hotline_env="production")
    runtime = await build_runtime(settings, builtin_nlu=builtin_nlu)
    await runtime.close()
    where = await asyncio.to_thread(cli, env, "keys", "where")
    assert str(path) in where.stdout.replace("\n", "") and "steady" in where.stdout
    for key in json.loads(path.read_text())["encryption_keys"]:
        assert key not in where.stdout + made.stdout


def test_a_damaged_key_file_does_not_stop_a_running_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'd.db'}")
    load_keys(settings, announce=False)
    token = crypto.encrypt("Musa Ali")
    monkeypatch.setattr(crypto, "RELOAD_SECONDS", 0.0)
    key_file(settings).write_text("{ half written")
    assert crypto.decrypt(token) == "Musa Ali"  # the keys in use are kept


def test_serve_refuses_in_production_without_keys(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "HOTLINE_ENV": "production"}
    done = cli(env, "serve", "--port", "1")
    assert done.returncode == 2 and "HOTLINE_ENV=production" in done.stdout
    assert "listening" not in done.stdout and not (tmp_path / "keys").exists()


def test_no_key_is_written_in_the_code() -> None:
    for path in [*(PROJECT_ROOT / "bot").rglob("*.py"), PROJECT_ROOT / "server.py"]:
        assert "change-me" not in path.read_text(), path
    saved = crypto._ring
    crypto._ring = None
    try:
        with pytest.raises(crypto.KeysNotConfigured):
            crypto.encrypt("x")
        with pytest.raises(crypto.KeysNotConfigured):
            crypto.lookup_hash("rest", "x")
    finally:
        crypto._ring = saved


@pytest.mark.parametrize("backend", ["postgres+redis"])
async def test_sessions_with_redis_are_in_the_database_encrypted_and_erased(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = await make_runtime()
    redis: Any = runtime.sessions._redis  # type: ignore[attr-defined]
    for text in ["hello", "1", "yes", "Amina Bello"]:
        await runtime.engine.handle(InboundMessage(channel="rest", address="r1", text=text))
    contact = await runtime.store.contact_for("rest", "r1")
    async with runtime.db.engine.connect() as connection:
        raw = (
            await connection.exec_driver_sql(
                "SELECT state FROM sessions WHERE contact_id = %(id)s", {"id": contact.id}
            )
        ).scalar_one()
    assert raw.startswith(crypto.PREFIX) and "Amina" not in raw
    assert [k async for k in redis.scan_iter(match="hotline:session:*")] == []  # only locks
    assert (await runtime.sessions.load(contact.id)).data["answers"]["name"] == "Amina Bello"
    for text in ["delete my data", "1"]:
        await runtime.engine.handle(InboundMessage(channel="rest", address="r1", text=text))
    async with runtime.db.engine.connect() as connection:
        left = (await connection.exec_driver_sql("SELECT count(*) FROM sessions")).scalar_one()
    assert left == 0


@pytest.mark.parametrize("backend", ["postgres+redis"])
async def test_a_state_an_earlier_version_kept_in_redis_is_carried_on(
    make_runtime: RuntimeFactory,
) -> None:
    """Before, with REDIS_URL the state lived in Redis: a person in the middle of a flow then
    goes on where they were after the upgrade, and erasure removes the old key too."""
    runtime = await make_runtime()
    redis: Any = runtime.sessions._redis  # type: ignore[attr-defined]
    for text in ["hello", "1", "yes"]:
        await runtime.engine.handle(InboundMessage(channel="rest", address="r2", text=text))
    contact = await runtime.store.contact_for("rest", "r2")
    state = await runtime.sessions.load(contact.id)
    assert state.flow == "registration"
    # as the earlier version kept it: encrypted under the contact's key, nothing in SQL
    await redis.set(f"hotline:session:{contact.id}", crypto.encrypt(state.to_json()))
    async with runtime.db.engine.begin() as connection:
        await connection.exec_driver_sql("DELETE FROM sessions")
    replies = await runtime.engine.handle(
        InboundMessage(channel="rest", address="r2", text="Amina Bello")
    )
    assert replies.replies  # answered as the next step of the registration, not a restart
    assert (await runtime.sessions.load(contact.id)).data["answers"]["name"] == "Amina Bello"
    for text in ["delete my data", "1"]:
        await runtime.engine.handle(InboundMessage(channel="rest", address="r2", text=text))
    assert await redis.get(f"hotline:session:{contact.id}") is None


async def stored_values(runtime: Runtime) -> list[str]:
    raw: list[str] = []
    async with runtime.db.engine.connect() as connection:
        for query in (
            "SELECT text FROM messages",
            "SELECT address FROM contacts",
            "SELECT state FROM sessions",
        ):
            raw += (await connection.exec_driver_sql(query)).scalars().all()
    return raw


async def test_keys_rotate_while_the_bot_keeps_writing(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    """On SQLite, and on PostgreSQL with Redis."""
    runtime = await make_runtime(hotline_key_dir=tmp_path / "keys")
    settings = runtime.settings
    path = key_file(settings)
    old = json.loads(path.read_text())
    senders = [f"+21891000{n:04d}" for n in range(12)]
    for sender in senders:  # data written with the old key
        await runtime.engine.handle(InboundMessage(channel="rest", address=sender, text="hello"))
    contact_ids = {s: (await runtime.store.contact_for("rest", s)).id for s in senders}
    sent = len(senders)
    stop = asyncio.Event()

    async def keep_writing() -> int:
        count = 0
        for sender in itertools.cycle(senders):
            if stop.is_set():
                return count
            await runtime.engine.handle(
                InboundMessage(channel="rest", address=sender, text=f"still here {count}")
            )
            count += 1
            await asyncio.sleep(0.01)
        return count

    writer = asyncio.create_task(keep_writing())
    env = {"DATABASE_URL": settings.database_url, "HOTLINE_KEY_DIR": str(tmp_path / "keys")}
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    try:
        done = await asyncio.to_thread(cli, env, "keys", "rotate", "--grace", "2", "--batch", "7")
    finally:
        stop.set()
        sent += await writer
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4/4" in done.stdout
    new = json.loads(path.read_text())
    assert len(new["encryption_keys"]) == 1 and len(new["hash_keys"]) == 1 and "next" not in new
    assert new["encryption_keys"][0] not in old["encryption_keys"]
    assert new["hash_keys"][0] not in old["hash_keys"]
    await asyncio.sleep(crypto.RELOAD_SECONDS * 1.5)  # the running bot picks up the retirement
    assert crypto.current_keys().encryption == tuple(new["encryption_keys"])
    # every stored value opens with the new key alone; nothing was lost or doubled
    only_new = Fernet(new["encryption_keys"][0].encode())
    raw = await stored_values(runtime)
    async with runtime.db.engine.connect() as connection:
        sessions = (await connection.exec_driver_sql("SELECT count(*) FROM sessions")).scalar()
    assert sessions == len(senders)  # every person's state, in the database on both set-ups
    assert raw and all(only_new.decrypt(v.removeprefix(crypto.PREFIX).encode()) for v in raw if v)
    async with runtime.db.session() as session:
        inbound = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        assert await session.scalar(select(func.count()).select_from(Contact)) == len(senders)
    assert inbound == sent
    for sender in senders:  # lookup hashes were recomputed with the new hash key
        assert (await runtime.store.contact_for("rest", sender)).id == contact_ids[sender]
    async with runtime.db.session() as session:
        hashes = set(await session.scalars(select(Contact.address_hash)))
    crypto.configure(new["encryption_keys"][0], new["hash_keys"][0].encode())
    assert hashes == {crypto.lookup_hash("rest", s) for s in senders}
    load_keys(settings)


def test_rotation_refuses_keys_from_the_environment(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
        "HOTLINE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    done = cli(env, "keys", "rotate", "--grace", "0")
    assert done.returncode == 2 and "environment" in done.stdout


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_environment_keys_are_rotated_by_listing_the_new_one_first(
    make_runtime: RuntimeFactory,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    runtime = await make_runtime(hotline_encryption_key=old)
    await say_hello(runtime, "+218913334455")
    await runtime.close()
    env = {"DATABASE_URL": runtime.settings.database_url, "HOTLINE_ENCRYPTION_KEY": f"{new},{old}"}
    done = await asyncio.to_thread(cli, env, "keys", "reencrypt")
    assert done.returncode == 0, done.stdout + done.stderr
    again = await make_runtime(hotline_encryption_key=new)  # the old key is gone
    raw = await stored_values(again)
    only_new = Fernet(new.encode())
    assert raw and all(only_new.decrypt(v.removeprefix(crypto.PREFIX).encode()) for v in raw if v)
    assert (await again.store.contact_for("rest", "+218913334455")).address == "+218913334455"


async def say_hello(runtime: Runtime, sender: str) -> None:
    await runtime.engine.handle(InboundMessage(channel="rest", address=sender, text="hello"))
