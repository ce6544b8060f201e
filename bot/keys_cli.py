"""`hotline keys …`: create the key file, say where the keys are, rotate them while the bot runs.

Rotation, with running servers reading the same key file (they notice a change within about a
second, `crypto.RELOAD_SECONDS`):
1. announce: the new keys are added for reading and lookups only; wait `--grace` seconds so every
   process knows them before anything is written with them;
2. switch: the new keys write, the old ones still read; wait `--grace` again so no process still
   writes with the old ones;
3. re-encrypt every stored value and recompute every lookup hash, in batches (bot/storage/rekey.py);
4. retire: once nothing needs the old keys, they leave the file.
An interrupted rotation resumes where it stopped when run again.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from cryptography.fernet import Fernet
from rich.console import Console

from bot.config import Settings, get_settings
from bot.storage import keys as keyfile

keys_app = typer.Typer(help="Data keys: where they are, create, rotate")
console = Console()


def _file_only(settings: Settings) -> None:
    if settings.hotline_encryption_key is not None or settings.hotline_secret_key:
        console.print(
            "[red]Keys come from the environment (HOTLINE_ENCRYPTION_KEY / HOTLINE_SECRET_KEY); "
            "this command works on the key file. See docs/deploying.md, 'Rotating keys'.[/red]"
        )
        raise typer.Exit(2)


@keys_app.command("where")
def where() -> None:
    """Where the keys come from (never the keys themselves)."""
    settings = get_settings()
    env = []
    if settings.hotline_encryption_key is not None:
        env.append("HOTLINE_ENCRYPTION_KEY")
    if settings.hotline_secret_key.get_secret_value():
        env.append("HOTLINE_SECRET_KEY")
    path = keyfile.key_file(settings)
    console.print(f"environment: {', '.join(env) or 'none'}")
    if path.exists():
        data = keyfile.read_key_file(path)
        state = "rotating" if "next" in data or len(data["encryption_keys"]) > 1 else "steady"
        console.print(f"key file: {path} ({state}, created {data.get('created_at', '?')})")
    else:
        console.print(f"key file: {path} (not created yet)")


@keys_app.command("create")
def create() -> None:
    """Create the key file (production: do this once, then back the file up)."""
    settings = get_settings()
    path = keyfile.key_file(settings)
    if path.exists():
        console.print(f"[red]{path} exists already; it is kept as it is.[/red]")
        raise typer.Exit(1)
    keyfile.write_key_file(path, keyfile.new_key_data(), replace=False)
    console.print(f"created {path} (mode 0600). Back it up apart from the database.")


def _write(path: Any, data: dict[str, Any]) -> None:
    keyfile.write_key_file(path, data)


@keys_app.command("rotate")
def rotate(
    grace: Annotated[
        float,
        typer.Option(min=0, help="Seconds for running processes to pick up each key change"),
    ] = 5.0,
    batch: Annotated[int, typer.Option(min=1, help="Rows per short transaction")] = 200,
) -> None:
    """New keys: re-encrypt every stored value while the bot runs, then retire the old keys."""
    settings = get_settings()
    _file_only(settings)
    path = keyfile.key_file(settings)
    if not path.exists():
        console.print(
            f"[red]No key file at {path}: start the server once, or `hotline keys create`"
        )
        raise typer.Exit(1)
    data = keyfile.read_key_file(path)
    if "next" not in data and len(data["encryption_keys"]) == 1:
        data["next"] = {
            "encryption_key": Fernet.generate_key().decode(),
            "hash_key": keyfile.new_hash_key(),
        }
        _write(path, data)
        console.print("1/4 new keys announced (reading only)")
        time.sleep(grace)
    if "next" in data:
        upcoming = data.pop("next")
        data["encryption_keys"] = [upcoming["encryption_key"], *data["encryption_keys"]]
        data["hash_keys"] = [upcoming["hash_key"], *data["hash_keys"]]
        _write(path, data)
        console.print("2/4 new keys now encrypt; old keys still read")
        time.sleep(grace)
    console.print("3/4 re-encrypting and recomputing lookup hashes")
    left = asyncio.run(_reencrypt(settings, batch))
    if left:
        console.print(f"[red]{left} values still need the old keys; they are kept. Run again.")
        raise typer.Exit(1)
    data["encryption_keys"] = data["encryption_keys"][:1]
    data["hash_keys"] = data["hash_keys"][:1]
    data["rotated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write(path, data)
    console.print(f"4/4 old keys retired; {path} holds only the new keys. Back it up now.")


@keys_app.command("reencrypt")
def reencrypt_now(
    batch: Annotated[int, typer.Option(min=1, help="Rows per short transaction")] = 200,
) -> None:
    """Re-encrypt every stored value with the key that writes now (after a change of
    HOTLINE_ENCRYPTION_KEY to "new,old"), while the bot runs."""
    left = asyncio.run(_reencrypt(get_settings(), batch))
    if left:
        console.print(f"[red]{left} values are not yet under the first key; run again.")
        raise typer.Exit(1)
    console.print("every stored value is under the first key; older keys can be removed")


async def _reencrypt(settings: Settings, batch: int) -> int:
    from bot.storage.db import Database
    from bot.storage.rekey import reencrypt, remaining

    keyfile.load_keys(settings, announce=False)
    db = Database(settings.database_url)
    try:
        report = await reencrypt(db, batch=batch, redis_url=settings.redis_url)
        console.print(
            f"re-encrypted {sum(report.rewritten.values())} values, recomputed "
            f"{sum(report.rehashed.values())} lookup hashes, {report.redis_sessions} Redis "
            f"sessions ({report.changed_meanwhile} changed by the bot meanwhile)"
        )
        return await remaining(db)
    finally:
        await db.dispose()
