"""The wheel carries everything the bot reads: installed in a fresh virtual environment, it
runs `hotline chat` from an empty folder, far from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from bot import PROJECT_ROOT
from bot.i18n import Catalogs


def run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def test_wheel_runs_from_an_empty_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", wheels, PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("hotline-*.whl")

    venv = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", "--without-pip", venv, timeout=120)
    python = venv / "bin" / "python"
    run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel, timeout=300,
    )  # fmt: skip
    # The dependencies come from the test environment's site-packages (no network in tests),
    # but not the project itself: a plain path line, so the editable install's hook stays off.
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HOTLINE_", "DATABASE_", "REDIS_", "PYTHON", "CACHE_"))
    }
    where = run(
        python,
        "-c",
        "import bot, locales; print(bot.__file__, locales.__file__)",
        cwd=empty,
        env=env,
    )
    assert str(PROJECT_ROOT) not in where.stdout
    assert str(venv) in where.stdout

    chat = run(
        venv / "bin" / "hotline", "chat", "--sender", "installed",
        input="hello\n1\n", cwd=empty, env=env, timeout=600,
    )  # fmt: skip
    catalogs = Catalogs(PROJECT_ROOT / "locales", ["en"], "en")
    assert catalogs.text("en", "welcome.first") in chat.stdout
    assert catalogs.text("en", "registration.consent") in chat.stdout
    # what the deployment writes lands in its data directory, beside where it was started
    assert (empty / "var" / "hotline.db").exists()
