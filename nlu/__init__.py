"""Built-in NLU: language identification, intent classification and entity extraction."""

from .engine import BuiltinNLU
from .entities import (
    find_case_ref,
    find_incomplete_case_ref,
    parse_date,
    parse_number,
    parse_phone,
    resolve_city,
    resolve_country,
)
from .types import FALLBACK_INTENT, Entity, NLUService, ParseResult

__all__ = [
    "FALLBACK_INTENT",
    "BuiltinNLU",
    "Entity",
    "NLUService",
    "ParseResult",
    "find_case_ref",
    "find_incomplete_case_ref",
    "parse_date",
    "parse_number",
    "parse_phone",
    "resolve_city",
    "resolve_country",
]
