"""Reading untrusted input defensively: JSON bodies, provider ids, texts and numbers.

Every channel reads what strangers (or providers) send through these helpers, so that odd
input becomes a clear 400 or a dropped payload, never an exception deep in the engine or the
database: a lone surrogate cannot be stored as UTF-8, a NUL byte is refused by PostgreSQL, an
integer wider than 64 bits overflows a column, and JSON nested thousands deep overflows the
parser's stack.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

MAX_JSON_DEPTH = 32  # the deepest provider payload the bot reads is about 8 levels
MAX_INT = 2**63 - 1  # a signed 64-bit column

# One left-to-right pass: a string (closed or not) is one token, so the scan stays linear.
_TOKENS = re.compile(rb'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.DOTALL)
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


class BadInput(ValueError):
    """The input cannot be read; `code` is a short, fixed reason (never the input itself)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def too_deep(body: bytes, max_depth: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `max_depth` (brackets inside
    strings do not count). Stops at the first level too deep."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False  # most bodies: not even that many brackets
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise BadInput("json_invalid")  # NaN, Infinity: not JSON


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise BadInput("number_out_of_range")
    return value


def load_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of `body`; `BadInput` when it is not UTF-8 JSON, too deep, or holds
    numbers no column can keep."""
    if too_deep(body, max_depth):
        raise BadInput("json_too_deep")
    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float
        )
    except BadInput:
        raise
    except UnicodeDecodeError:
        raise BadInput("body_not_utf8") from None
    except (ValueError, RecursionError):  # also integers longer than Python reads (4300 digits)
        raise BadInput("json_invalid") from None


def valid_text(value: str) -> str:
    """`value` as text that can be stored: lone surrogates replaced, NUL bytes removed."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def as_text(value: Any) -> str | None:
    """A text field: None unless `value` is a string (a number, object or null is no text)."""
    return valid_text(value) if isinstance(value, str) else None


def clean_id(value: Any, max_length: int = 128) -> str | None:
    """A provider's id or a short code: a string (or an integer) of printable characters
    within `max_length`; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) <= MAX_INT:
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        return None
    if value != valid_text(value):
        return None
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in value):
        return None  # control, format (bidi), separator characters
    return value


def small_int(value: Any, maximum: int = MAX_INT) -> int | None:
    """A non-negative integer up to `maximum` from a number or ASCII digits; None otherwise.

    `str.isdigit` is not enough: "²" is a digit to it but not to `int`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not _ASCII_DIGITS.fullmatch(value):
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= maximum:
        return value
    return None
