"""`hotline chat` with a piped, scripted conversation in each language, in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.i18n import Catalogs

SCRIPTS = {
    "en": ["hello", "1", "0"],
    "ar": ["مرحبا", "1", "0"],
    "fr": ["bonjour", "1", "0"],
    "ha": ["sannu", "1", "0"],
}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs(PROJECT_ROOT / "locales", ["en", "ar", "fr", "ha"], "en")


def run_chat(tmp_path: Path, lines: list[str], *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "CACHE_DIR": str(PROJECT_ROOT / "var" / "cache"),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("language", ["en", "ar", "fr", "ha"])
def test_piped_conversation(tmp_path: Path, catalogs: Catalogs, language: str) -> None:
    out = run_chat(tmp_path, SCRIPTS[language], "--sender", f"cli-{language}")
    t = catalogs.text
    assert t(language, "welcome.first") in out
    assert "1. " + t(language, "menu.option.return") in out  # numbered, as on SMS
    assert t(language, "registration.consent") in out
    assert out.count(t(language, "menu.main")) == 2  # greeted, then "0"


def test_sender_is_kept_between_runs(tmp_path: Path, catalogs: Catalogs) -> None:
    run_chat(tmp_path, ["bonjour", "1"], "--sender", "same")
    out = run_chat(tmp_path, ["oui"], "--sender", "same")
    assert catalogs.text("fr", "registration.ask_name") in out


def test_a_first_start_trains_and_migrates_apart_from_the_server(tmp_path: Path) -> None:
    """`hotline serve` on a fresh install trains the language model and migrates the database
    in a short-lived process: the server process never maps scikit-learn or SciPy (about
    200 MB it would hold until it stops), and it answers."""
    import time

    import httpx

    from tests.fakes.http import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "CACHE_DIR": str(tmp_path / "cache"),  # empty: this start must train
    }
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_POLLING"):
        env.pop(name, None)
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        answer = None
        deadline = time.monotonic() + 300  # a guard against hanging, not a speed limit
        while answer is None and process.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                    json={"sender": "first-start", "message": "hello"},
                )
            except httpx.TransportError:
                time.sleep(0.5)
        maps = Path(f"/proc/{process.pid}/maps").read_text()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert answer is not None and answer.status_code == 200, output.decode(errors="replace")
    assert answer.json(), "the first start answered nothing"
    assert list((tmp_path / "cache" / "nlu").glob("nlu-*.npz")), "the model was not cached"
    assert "site-packages/sklearn/" not in maps and "site-packages/scipy/" not in maps
    assert "psycopg" not in maps  # a SQLite set-up never loads the PostgreSQL driver


def test_the_server_imports_only_what_a_sqlite_set_up_uses() -> None:
    """Importing the app for the embedded defaults loads no PostgreSQL driver, Redis client,
    Telegram library, Alembic or scikit-learn: each is imported where its set-up uses it
    (together about 40 MB of every server process)."""
    code = (
        "import sys, server, bot.runtime, bot.engine\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(done.stdout.split())
    assert "server" in loaded and "bot" in loaded
    assert not loaded & {"psycopg", "redis", "telegram", "alembic", "sklearn", "scipy"}
