"""The deployment's settings as administrators see them: every one that is not a secret (those
only say whether they are set), URLs without passwords, on-call staff by name only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from bot.alerts import parse_oncall
from bot.config import Settings

_SECRET_WORDS = ("secret", "token", "password", "key", "auth")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _item(value: Any) -> str:
    describe = getattr(value, "describe", None)
    return str(describe()) if callable(describe) else str(value)


def effective_settings(settings: Settings) -> list[tuple[str, str, str | None]]:
    """(name, value, description) of every setting that is not a secret; URLs lose passwords."""
    result = []
    for name, info in type(settings).model_fields.items():
        value: Any = getattr(settings, name)
        if name == "oncall_contacts":  # staff's own numbers stay out of the page
            shown = ", ".join(person.name for person in parse_oncall(value))
        elif isinstance(value, SecretStr) or any(word in name for word in _SECRET_WORDS):
            shown = "(set)" if value else "(not set)"
        elif isinstance(value, str) and "://" in value:
            shown = _without_password(value)
        elif isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):  # the WhatsApp templates by language
            shown = ", ".join(f"{key}={_item(item)}" for key, item in value.items())
        else:
            shown = "" if value is None else str(value)
        result.append((name, shown, info.description))
    return result
