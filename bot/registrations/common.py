"""Vocabularies and errors shared by the registrations domain: sexes, priorities, vulnerability
flags, countries and cities, stages; what the domain refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pycountry

from bot.errors import DomainError
from flows.case_status import STAGES
from flows.registration import VULNERABILITY_STEPS
from nlu import yamlfile
from nlu.entities import GAZETTEER_DIR, resolve_city
from nlu.normalize import normalize

if TYPE_CHECKING:
    pass


SEXES = ("female", "male")  # the values flows/registration.py stores
PRIORITIES = ("high", "medium", "normal")  # flows.registration.priority_of
VULNERABILITY_FLAGS = (*VULNERABILITY_STEPS, "detained", "child", "elderly", "large_household")
NAME_SCAN_LIMIT = 2000  # rows decrypted at most to match a name
MAX_PER_PAGE = 200


class RecordError(DomainError, ValueError):
    """Input that cannot be accepted; `errors` maps a field to what is wrong with it."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    def detail(self) -> object:
        """Answered like FastAPI's validation errors: a list naming each field."""
        return [
            {"loc": ["body", name], "msg": message, "type": "value_error"}
            for name, message in self.errors.items()
        ]


class NotFound(DomainError, LookupError):
    """No registration with this id."""

    status = 404

    def __init__(self, registration_id: int) -> None:
        super().__init__("no such registration")
        self.registration_id = registration_id


def dedup_parts(
    name: str,
    phone: str | None,
    contact_id: int | None = None,
    collected_by: int | None = None,
    age: int | None = None,
) -> tuple[str, ...]:
    """What makes two registrations the same person: the name and the phone. Without a phone,
    the name and the person's own conversation; for someone a mobilizer registers, the name,
    the mobilizer and the age, so that two people of one name and no number are never taken
    for one (a registration lost is worse than one made twice)."""
    parts: tuple[str, ...] = ("registration", normalize(name), phone or "")
    if phone:
        return parts
    if contact_id is not None:
        return (*parts, f"contact:{contact_id}")
    if collected_by is not None:
        return (*parts, f"collected:{collected_by}", f"age:{age if age is not None else ''}")
    return parts


# -- vocabularies -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def canonical_cities() -> tuple[str, ...]:
    """The canonical city names (the keys of nlu/gazetteers/cities.yml)."""
    doc = yamlfile.safe_load((GAZETTEER_DIR / "cities.yml").read_text(encoding="utf-8"))
    return tuple(doc) if isinstance(doc, dict) else ()


# Where the people who write to the hotline in Libya mostly come from (DOMAIN.md): listed first
# in every nationality list, by name; then every other country.
COMMON_NATIONALITIES = frozenset(
    {"NG", "NE", "SD", "SS", "TD", "ML", "ER", "ET", "SO", "BD", "EG", "GH", "SN", "GM", "GN",
     "CI", "CM", "BF", "PK", "SY", "MA", "TN", "DZ"}
)  # fmt: skip
# Places where nobody lives: never a nationality.
_UNINHABITED = frozenset({"AQ", "BV", "HM", "TF", "UM", "GS"})


@lru_cache(maxsize=1)
def country_choices() -> tuple[tuple[str, str], ...]:
    """(ISO 3166 alpha-2 code, English name) for forms: the common nationalities first, then the
    rest, each by name; uninhabited territories left out."""
    countries = [(c.alpha_2, c.name) for c in pycountry.countries if c.alpha_2 not in _UNINHABITED]
    return tuple(
        sorted(countries, key=lambda country: (country[0] not in COMMON_NATIONALITIES, country[1]))
    )


def country_name(code: str | None) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return found.name if found else (code or "")


def clean_country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166 two-letter country code, e.g. NG")
    return code


def clean_city(value: str) -> str:
    """A canonical city; accepts other spellings the NLU knows ("Sabha" → "Sebha")."""
    text = value.strip()
    by_fold = {c.casefold(): c for c in canonical_cities()}
    found = by_fold.get(text.casefold()) or resolve_city(text)
    if found is None or found not in canonical_cities():
        raise ValueError("must be one of the cities in the city list")
    return found


def clean_stage(value: str) -> str:
    if value not in STAGES:
        raise ValueError("must be one of: " + ", ".join(STAGES))
    return value


def shown(value: Any) -> str:
    """How a value is written in the change history."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)
