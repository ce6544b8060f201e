"""Encryption at rest for personal data, and keyed hashes for looking it up.

Columns that hold personal data use `SecretText`: Fernet tokens with a prefix, so a database
can hold plain values from an old install while it is re-encrypted. There is no key in the code:
`bot.storage.keys` loads the keys (environment or key file) and calls `configure_keys` at
start-up. Several keys can be live at once during a rotation (`hotline keys rotate`): the first
encrypts and writes lookup hashes, all of them decrypt and find rows. A process that loaded its
keys from a key file notices when the file changes (checked at most every `RELOAD_SECONDS`),
so a rotation run from another process reaches a running server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

PREFIX = "enc:v1:"
RELOAD_SECONDS = 1.0


class KeysNotConfigured(RuntimeError):
    """Personal data was read or written before keys were loaded."""


@dataclass(frozen=True)
class Keys:
    """Live keys. The first of each list writes; all of them (and `accepted_*`) read."""

    encryption: tuple[str, ...]
    hashing: tuple[bytes, ...]
    # keys announced by a rotation in progress: read and looked up, never written yet
    accepted_encryption: tuple[str, ...] = ()
    accepted_hashing: tuple[bytes, ...] = ()

    def reading_fernets(self) -> MultiFernet | None:
        keys = [*self.encryption, *self.accepted_encryption]
        return MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None

    def writing_fernet(self) -> Fernet | None:
        return Fernet(self.encryption[0].encode()) if self.encryption else None


@dataclass
class _Ring:
    keys: Keys
    reading: MultiFernet | None
    writing: Fernet | None
    reload: Callable[[], Keys] | None = None
    watched: Path | None = None
    stamp: tuple[int, int, int] | None = None
    checked_at: float = 0.0


_lock = threading.Lock()
_ring: _Ring | None = None


# prefix of the hash columns of anonymised rows (retention): never a real lookup hash
ANONYMOUS_HASH_PREFIX = "anon:"


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def configure_keys(
    keys: Keys, *, reload: Callable[[], Keys] | None = None, watch: Path | None = None
) -> None:
    """Set the process-wide keys. With `watch`, `reload` is called when that file changes."""
    global _ring
    with _lock:
        _ring = _Ring(
            keys=keys,
            reading=keys.reading_fernets(),
            writing=keys.writing_fernet(),
            reload=reload,
            watched=watch,
            stamp=_stamp(watch) if watch else None,
            checked_at=time.monotonic(),
        )


def configure(encryption_key: str | None, hash_key: bytes) -> None:
    """Static keys (tests, tools): one encryption key (or none: plain text) and one hash key."""
    encryption = (encryption_key,) if encryption_key else ()
    configure_keys(Keys(encryption=encryption, hashing=(hash_key,)))


def _current() -> _Ring:
    ring = _ring
    if ring is None:
        raise KeysNotConfigured("encryption keys are not loaded (bot.storage.keys.load_keys)")
    if ring.watched is not None and ring.reload is not None:
        now = time.monotonic()
        if now - ring.checked_at >= RELOAD_SECONDS:
            ring.checked_at = now
            stamp = _stamp(ring.watched)
            if stamp is not None and stamp != ring.stamp:
                try:
                    keys = ring.reload()
                except Exception:  # a damaged or half-edited file: keep the keys in use
                    log.exception("could not re-read the key file %s; keys kept", ring.watched)
                    return ring
                with _lock:
                    ring.keys = keys
                    ring.reading = keys.reading_fernets()
                    ring.writing = keys.writing_fernet()
                    ring.stamp = stamp
    return ring


def current_keys() -> Keys:
    return _current().keys


def _hmac(key: bytes, parts: tuple[str, ...]) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def lookup_hash(*parts: str) -> str:
    """The keyed hash stored to find a row by a personal value without storing it in clear."""
    keys = _current().keys
    if not keys.hashing:
        raise KeysNotConfigured("no lookup-hash key")
    return _hmac(keys.hashing[0], parts)


def lookup_hashes(*parts: str) -> list[str]:
    """Every hash a stored row may carry for this value: more than one only during a rotation.
    Queries match with `column.in_(lookup_hashes(...))`."""
    keys = _current().keys
    every = [*keys.hashing, *keys.accepted_hashing]
    if not every:
        raise KeysNotConfigured("no lookup-hash key")
    return list(dict.fromkeys(_hmac(key, parts) for key in every))


def encrypt(value: str) -> str:
    if value == "":  # nothing to hide; stays comparable in SQL (retention finds emptied rows)
        return value
    writing = _current().writing
    if writing is None:
        return value
    return PREFIX + writing.encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value
    reading = _current().reading
    if reading is None:
        raise RuntimeError("encrypted data found but no encryption key is loaded")
    try:
        return reading.decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("the encryption keys do not decrypt stored data") from exc


def is_current(value: str) -> bool:
    """Whether a stored value is encrypted with the key that writes now (rotation skips it)."""
    if value == "":
        return True
    writing = _current().writing
    if writing is None:
        return not value.startswith(PREFIX)
    if not value.startswith(PREFIX):
        return False
    try:
        writing.decrypt(value[len(PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


class SecretText(TypeDecorator[str]):
    """Text column for personal data: encrypted at rest with the loaded keys."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)
