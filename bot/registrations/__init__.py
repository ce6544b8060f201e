"""Registrations for operators — one domain, used by the console (HTML) and the API (JSON):
search (`lookup`), the full record with its history (`detail`), edits (`editing`), the case
stage, which notifies the person (`stage`), and embassy lists for nationality screening
(`export`); vocabularies and errors in `common`.

Names, phones and passport numbers are encrypted at rest, so SQL never filters by them: a phone
is found by its keyed hash, and a name by decrypting a bounded set of rows (`lookup`).
"""

from __future__ import annotations

from bot.registrations.common import (
    COMMON_NATIONALITIES,
    MAX_PER_PAGE,
    NAME_SCAN_LIMIT,
    PRIORITIES,
    SEXES,
    VULNERABILITY_FLAGS,
    NotFound,
    RecordError,
    canonical_cities,
    clean_city,
    clean_country,
    clean_stage,
    country_choices,
    country_name,
)
from bot.registrations.detail import RegistrationDetail, get_registration
from bot.registrations.editing import RegistrationEdit, edit_registration
from bot.registrations.export import (
    CSV_TYPE,
    EXPORT_COLUMNS,
    ExportQuery,
    csv_safe,
    embassy_csv,
    start_export,
)
from bot.registrations.lookup import (
    RegistrationPage,
    RegistrationQuery,
    RegistrationSummary,
    search,
)
from bot.registrations.stage import SMS_CHANNEL, StageChange, StageResult, set_stage

__all__ = [
    "COMMON_NATIONALITIES",
    "CSV_TYPE",
    "EXPORT_COLUMNS",
    "MAX_PER_PAGE",
    "NAME_SCAN_LIMIT",
    "PRIORITIES",
    "SEXES",
    "SMS_CHANNEL",
    "VULNERABILITY_FLAGS",
    "ExportQuery",
    "NotFound",
    "RecordError",
    "RegistrationDetail",
    "RegistrationEdit",
    "RegistrationPage",
    "RegistrationQuery",
    "RegistrationSummary",
    "StageChange",
    "StageResult",
    "canonical_cities",
    "clean_city",
    "clean_country",
    "clean_stage",
    "country_choices",
    "country_name",
    "csv_safe",
    "edit_registration",
    "embassy_csv",
    "get_registration",
    "search",
    "set_stage",
    "start_export",
]
