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
