"""Where the data keys come from: the environment, else a key file the first start creates.

The key file (`<HOTLINE_KEY_DIR>/hotline.keys`, mode 0600, in a 0700 directory apart from the
database) holds the Fernet keys that encrypt personal data and the keys of the lookup hashes.
`HOTLINE_ENCRYPTION_KEY` (comma-separated: the first encrypts) and `HOTLINE_SECRET_KEY` (the
lookup-hash key) win over the file. In production (`HOTLINE_ENV=production`) nothing is created:
the deployer supplies the keys (environment, or a file made with `hotline keys create`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.storage import crypto

log = logging.getLogger(__name__)

KEY_FILE_NAME = "hotline.keys"
FORMAT = 1
CHECKED = "database_encrypted_at"


class KeysMissing(RuntimeError):
    """Production mode without keys supplied by the deployer."""


@dataclass(frozen=True)
class LoadedKeys:
    keys: crypto.Keys
    path: Path | None  # the key file, when any key comes from it
    created: bool  # this start created the key file
    source: str  # "environment", "file", "environment+file"
    # the database has not yet been brought under these keys (an install from before default
    # encryption, or an interrupted first start): build_runtime re-encrypts, then marks it
    database_unchecked: bool = False


def key_dir(settings: Settings) -> Path:
    """The configured directory, else `keys/` beside a SQLite database (not inside its file),
    else `keys/` in the data directory."""
    if settings.hotline_key_dir is not None:
        return Path(settings.hotline_key_dir).expanduser()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "keys"
    return settings.data_dir / "keys"


def key_file(settings: Settings) -> Path:
    return key_dir(settings) / KEY_FILE_NAME


def new_hash_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def new_key_data() -> dict[str, Any]:
    return {
        "about": "hotline data keys: keep secret; back up apart from the database "
        "(docs/security.md). Losing them loses the encrypted data.",
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "encryption_keys": [Fernet.generate_key().decode()],
        "hash_keys": [new_hash_key()],
    }


def read_key_file(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT or not data.get("encryption_keys") or not data.get("hash_keys"):
        raise KeysMissing(f"{path} is not a hotline key file")
    for key in [*data["encryption_keys"], data.get("next", {}).get("encryption_key")]:
        if key is not None:
            Fernet(key.encode())  # raises ValueError on a damaged key
    return data


def write_key_file(path: Path, data: dict[str, Any], *, replace: bool = True) -> bool:
    """Write atomically, mode 0600, in a 0700 directory. With replace=False an existing file
    wins (two processes starting at once agree on one); returns whether this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _keys_from(data: dict[str, Any] | None, settings: Settings) -> crypto.Keys:
    env_encryption = _env_encryption_keys(settings)
    env_hash = settings.hotline_secret_key.get_secret_value()
    file = data or {}
    upcoming = file.get("next") or {}
    from_file_encryption = not env_encryption
    from_file_hash = not env_hash
    return crypto.Keys(
        encryption=tuple(env_encryption or file.get("encryption_keys", [])),
        hashing=(env_hash.encode(),)
        if env_hash
        else tuple(k.encode() for k in file.get("hash_keys", [])),
        accepted_encryption=(upcoming["encryption_key"],)
        if from_file_encryption and upcoming.get("encryption_key")
        else (),
        accepted_hashing=(upcoming["hash_key"].encode(),)
        if from_file_hash and upcoming.get("hash_key")
        else (),
    )


def _env_encryption_keys(settings: Settings) -> list[str]:
    value = settings.hotline_encryption_key
    if value is None:
        return []
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("key file %s was readable by others (mode %o); now 0600", path, mode)


def load_keys(settings: Settings, *, announce: bool = True) -> LoadedKeys:
    """Load the keys (creating the key file on a first start outside production) and make them
    the process's keys."""
    env_encryption = _env_encryption_keys(settings)
    env_hash = bool(settings.hotline_secret_key.get_secret_value())
    for key in env_encryption:
        Fernet(key.encode())  # a damaged key stops the start here, not at the first message
    if env_encryption and env_hash:
        keys = _keys_from(None, settings)
        crypto.configure_keys(keys)
        return LoadedKeys(keys, None, False, "environment")
    path = key_file(settings)
    created = False
    if not path.exists():
        require_keys(settings)
        created = write_key_file(path, new_key_data(), replace=False)
        if created and announce:
            _announce_created(path)
    _tighten(path)
    data = read_key_file(path)
    keys = _keys_from(data, settings)

    def reload() -> crypto.Keys:
        return _keys_from(read_key_file(path), settings)

    crypto.configure_keys(keys, reload=reload, watch=path)
    source = "environment+file" if (env_encryption or env_hash) else "file"
    log.info("data keys loaded from %s (%s)", path, source)
    return LoadedKeys(keys, path, created, source, CHECKED not in data)


def require_keys(settings: Settings) -> None:
    """In production, the keys must exist before the start (never created in their place)."""
    if settings.hotline_env != "production":
        return
    env_encryption = bool(_env_encryption_keys(settings))
    env_hash = bool(settings.hotline_secret_key.get_secret_value())
    path = key_file(settings)
    if (env_encryption and env_hash) or path.exists():
        return
    raise KeysMissing(
        f"HOTLINE_ENV=production and no keys: set HOTLINE_ENCRYPTION_KEY and "
        f"HOTLINE_SECRET_KEY, or create the key file {path} with `hotline keys create` "
        "(see docs/deploying.md)"
    )


def mark_database_checked(path: Path) -> None:
    """Every stored value is under the file's keys: later starts need not look again."""
    data = read_key_file(path)
    data[CHECKED] = datetime.now(UTC).isoformat(timespec="seconds")
    write_key_file(path, data)


def _announce_created(path: Path) -> None:
    """Say where, never what: to the terminal (as the first administrator's password) and log."""
    log.warning("created the data key file %s (0600); back it up apart from the database", path)
    print(
        "\n"
        "  hotline: created the keys that encrypt personal data\n"
        f"    key file: {path}  (readable only by this account)\n"
        "  Back it up somewhere apart from the database: without it the data cannot be read.\n",
        file=sys.stdout,
        flush=True,
    )
