"""The console's catalogs: extract every text of bot/console (templates and Python) into
locales/console.pot, and bring locales/<lang>/LC_MESSAGES/console.po up to date with it.

    python scripts/console_messages.py          # extract, then update ar and fr
    python scripts/console_messages.py --check  # exit 1 if a catalog misses a text

New texts arrive in the .po files with an empty translation; tests/test_console_i18n.py fails
until a translator fills them in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "bot" / "console"
LOCALES = ROOT / "locales"
LANGUAGES = ("ar", "fr")
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# Domains' refusals the console shows as they are (str(exc)): their fixed messages are
# translated when the page renders; messages built with values stay English.
DOMAIN_ERRORS = {
    "bot/accounts.py": {"AccountError": None},
    "bot/handoffs/casework.py": {"CaseError": None},
    "bot/channels/voice/taking.py": {"TakeError": None},
    "bot/channels/voice/studio.py": {"AudioRejected": (2,)},
}


def extract() -> Catalog:
    """Every console text: the English is the message id."""
    catalog = Catalog(project="hotline console", domain="console", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        CONSOLE, METHODS, keywords=KEYWORDS, options_map=OPTIONS, comment_tags=("Translators:",)
    ):
        catalog.add(
            message,
            None,
            [(f"bot/console/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    for path, keywords in DOMAIN_ERRORS.items():
        for lineno, message, comments, context in extract_from_file(
            "python", ROOT / path, keywords=keywords
        ):
            catalog.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "console.po"


def update(template: Catalog, language: str) -> Catalog:
    path = po_path(language)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain="console")
    else:
        catalog = Catalog(locale=language, domain="console", project="hotline console")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()  # a text the console no longer shows is gone from the catalog
    return catalog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    args = parser.parse_args()
    template = extract()
    missing = 0
    for language in LANGUAGES:
        catalog = update(template, language)
        empty = [m.id for m in catalog if m.id and not m.string]
        missing += len(empty)
        for message_id in empty:
            print(f"{language}: untranslated: {message_id!r}", file=sys.stderr)
        if not args.check:
            with po_path(language).open("wb") as handle:
                write_po(handle, catalog, width=100, sort_output=False, omit_header=False)
    if not args.check:
        with (LOCALES / "console.pot").open("wb") as handle:
            write_po(handle, template, width=100)
    print(f"{len(template)} console texts; {missing} translations missing")
    return 1 if missing and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
