"""The languages table (``nlu/languages.yml``): data, not code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import yamlfile

__all__ = ["LANGUAGES_FILE", "Language", "Variant", "available_languages", "load_languages"]

LANGUAGES_FILE = Path(__file__).with_name("languages.yml")


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of writing a language: a training file, a script, py3langid codes."""

    name: str  # training file stem, e.g. "ar_latn"
    language: str  # e.g. "ar"
    script: str  # ISO 15924, e.g. "Latn"
    langid: tuple[str, ...] = ()
    # Other scripts people also write it in without a keyboard for its own (Tigrinya typed in
    # Latin letters): the language model learns them apart; the training file stays one.
    also: tuple[str, ...] = ()

    def model_class(self, script: str) -> str:
        """The language model's class for this variant written in ``script``."""
        return self.name if script == self.script else f"{self.name}@{script}"


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    variants: tuple[Variant, ...]
    months: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


def load_languages(path: Path | None = None) -> list[Language]:
    doc = yamlfile.safe_load((path or LANGUAGES_FILE).read_text(encoding="utf-8")) or {}
    result: list[Language] = []
    for entry in doc.get("languages", []) or []:
        code = str(entry["code"])
        variants = tuple(
            Variant(
                name=str(v.get("data", code)),
                language=code,
                script=str(v.get("script", "Latn")),
                langid=tuple(str(c) for c in (v.get("langid") or ())),
                also=tuple(str(c) for c in (v.get("also") or ())),
            )
            for v in entry.get("variants", []) or [{"data": code}]
        )
        months = tuple(
            tuple(str(n) for n in (names if isinstance(names, list) else [names]))
            for names in entry.get("months", []) or []
        )
        result.append(Language(code, str(entry.get("name", code)), variants, months))
    return result


def available_languages(locales_dir: Path, data_dir: Path, path: Path | None = None) -> list[str]:
    """Codes of the table's languages that have both a catalog and a training file, in the
    table's order: a new language switches on by adding its data, not by editing code."""
    return [
        language.code
        for language in load_languages(path)
        if (locales_dir / language.code / "LC_MESSAGES" / "messages.po").is_file()
        and any((data_dir / f"{v.name}.yml").is_file() for v in language.variants)
    ]
