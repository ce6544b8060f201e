"""Encryption at rest for personal data, and keyed hashes for looking it up.

Columns that hold personal data use `SecretText`. Without a key it stores plain text; with
`HOTLINE_ENCRYPTION_KEY` set it stores Fernet tokens. Values carry a prefix, so a database can
hold both while it is re-encrypted, and turning encryption on needs no schema change.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

_PREFIX = "enc:v1:"
_fernet: Fernet | None = None
_hash_key: bytes = b"hotline-development-key-change-me"


def configure(encryption_key: str | None, hash_key: bytes) -> None:
    """Set the process-wide keys (called once at start-up)."""
    global _fernet, _hash_key
    _fernet = Fernet(encryption_key.encode()) if encryption_key else None
    _hash_key = hash_key


def lookup_hash(*parts: str) -> str:
    """A keyed hash to find a row by a personal value without storing it in clear."""
    message = "\x1f".join(parts).encode()
    return hmac.new(_hash_key, message, hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    if _fernet is None:
        return value
    return _PREFIX + _fernet.encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(_PREFIX):
        return value
    if _fernet is None:
        raise RuntimeError("encrypted data found but HOTLINE_ENCRYPTION_KEY is not set")
    try:
        return _fernet.decrypt(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("HOTLINE_ENCRYPTION_KEY does not decrypt stored data") from exc


class SecretText(TypeDecorator[str]):
    """Text column for personal data: encrypted at rest when a key is configured."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)
