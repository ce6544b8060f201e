"""Add or replace keys in every catalog: python scripts/add_catalog_keys.py keys.json

The JSON maps language -> key -> text. Other languages get the English text as a translator
comment, so a reviewer sees what the key says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def main(path: str) -> None:
    data: dict[str, dict[str, str]] = json.loads(Path(path).read_text(encoding="utf-8"))
    english = data.get("en", {})
    for language, entries in data.items():
        po_path = LOCALES / language / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for key, text in entries.items():
            comments = [] if language == "en" else ["en: " + english.get(key, "")]
            if key in catalog:
                catalog[key].string = text
            else:
                catalog.add(key, text, auto_comments=comments)
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100)


if __name__ == "__main__":
    main(sys.argv[1])
