"""One term for each thing in each language: catalogs use no term their glossary rejects.

Each enabled language has `locales/<lang>/glossary.yml` (format documented at its top and in
docs/translating.md). A message using a rejected term fails, naming language, key and term.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po

from bot import PROJECT_ROOT
from bot.config import Settings

LOCALES = PROJECT_ROOT / "locales"
ENABLED = Settings(_env_file=None).enabled_languages  # type: ignore[call-arg]
# The concepts every glossary must name (issue 16, "One term for each thing").
CONCEPTS = (
    "hotline",
    "return_programme",
    "operator",
    "case",
    "registration",
    "consent",
    "emergency",
    "danger",
    "detention",
    "mobilizer",
    "address",
)
# Catalogs the glossary applies to: what the person writing to the hotline reads, and the
# operators' console (one term for each thing for the staff too).
CATALOGS = ("messages.po", "console.po")

APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'"})
# Arabic short vowels, shadda, sukun, dagger alif and tatweel do not change the word.
ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Arabic attaches conjunctions, prepositions and the article to the word.
ARABIC_PREFIX = "(?:[وف]?(?:[بلك]?ال|لل|[بلك])?)"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(APOSTROPHES)
    return ARABIC_MARKS.sub("", text).casefold()


def term_pattern(term: str, language: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive; `\\w` is Unicode, so it bounds Arabic and Hausa words."""
    core = r"\s+".join(re.escape(word) for word in normalise(term).split())
    if language == "ar":
        if core.startswith("ال"):
            core = core[2:]
        core = ARABIC_PREFIX + core
    return re.compile(rf"(?<!\w){core}(?!\w)")


def load_glossary(language: str) -> dict[str, dict[str, Any]]:
    with (LOCALES / language / "glossary.yml").open(encoding="utf-8") as handle:
        glossary = yaml.safe_load(handle)
    assert isinstance(glossary, dict), f"{language}: glossary.yml is not a mapping"
    return glossary


def catalog_texts(language: str) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for name in CATALOGS:
        path = LOCALES / language / "LC_MESSAGES" / name
        if name != "messages.po" and not path.exists():  # the console is in en, ar and fr
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            texts.extend((str(key), PLACEHOLDER.sub(" ", str(form or ""))) for form in forms)
    return texts


def rejected_uses(language: str) -> list[str]:
    glossary = load_glossary(language)
    patterns = [
        (concept, term, term_pattern(term, language))
        for concept, entry in glossary.items()
        for term in entry.get("rejected") or []
    ]
    found: list[str] = []
    for key, text in catalog_texts(language):
        plain = normalise(text)
        for concept, term, pattern in patterns:
            if pattern.search(plain):
                found.append(f"{language}: {key} uses rejected {concept} term {term!r}")
    return found


def test_every_enabled_language_has_a_glossary_naming_every_concept() -> None:
    assert {"en", "ar", "fr", "ha"} <= set(ENABLED)
    for language in ENABLED:
        assert (LOCALES / language / "glossary.yml").is_file(), f"{language} has no glossary"
        glossary = load_glossary(language)
        missing = [concept for concept in CONCEPTS if concept not in glossary]
        assert not missing, f"{language} glossary misses {missing}"
        for concept, entry in glossary.items():
            assert isinstance(entry, dict), (language, concept)
            assert set(entry) <= {"preferred", "rejected", "note"}, (language, concept, entry)
            preferred, rejected = entry.get("preferred"), entry.get("rejected")
            assert isinstance(preferred, list) and preferred, f"{language}: {concept} no preferred"
            assert isinstance(rejected, list), f"{language}: {concept} has no rejected list"
            assert all(isinstance(t, str) and t.strip() for t in preferred + rejected), (
                language,
                concept,
            )


def test_every_glossary_names_the_same_concepts() -> None:
    english = set(load_glossary("en"))
    for language in ENABLED:
        assert set(load_glossary(language)) == english, language


def test_no_term_is_both_preferred_and_rejected() -> None:
    for language in ENABLED:
        glossary = load_glossary(language)
        preferred = {normalise(t) for entry in glossary.values() for t in entry["preferred"]}
        for concept, entry in glossary.items():
            both = preferred & {normalise(t) for t in entry["rejected"]}
            assert not both, f"{language}: {concept} rejects preferred terms {sorted(both)}"


@pytest.mark.parametrize("language", ENABLED)
def test_no_catalog_entry_uses_a_rejected_term(language: str) -> None:
    found = rejected_uses(language)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("language", "term", "text", "matches"),
    [
        ("fr", "ligne d'écoute", "La personne de la ligne d’écoute a terminé", True),
        ("fr", "Ligne d'écoute", "LIGNE D'ÉCOUTE", True),
        ("fr", "votre cas", "En cas d'urgence, allez à l'hôpital", False),
        ("en", "agent", "the refugee agency", False),
        ("en", "agent", "An agent will call you", True),
        ("en", "help line", "call the help\nline", True),
        ("ar", "خط المساعدة", "اتصل بخط المساعدة الآن", True),
        ("ar", "خط المساعدة", "مساعد الخط الساخن", False),
        ("ar", "قضية", "رقم قضيتك", False),
        ("ar", "القضية", "عن القضيّة", True),
        ("ar", "السجن", "كان في السجن", True),
        ("ar", "السجن", "كان محتجزًا بالسجن", True),
        ("ha", "ka", "Ka rubuta mana", True),
        ("ha", "ka", "Haka ne, ku rubuta", False),
        ("ha", "maka", "zan yi ƙoƙarin samo maka taimako", True),
        ("ha", "shariʼa", "shari'a LY-1", True),
        ("ha", "jamiʼin wayar da kai", "Menu na jami'in wayar da kai", True),
    ],
)
def test_terms_match_whole_words_in_every_script(
    language: str, term: str, text: str, matches: bool
) -> None:
    assert bool(term_pattern(term, language).search(normalise(text))) is matches


def test_a_rejected_term_in_a_catalog_is_reported_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "glossary.yml").write_text(
        (LOCALES / "fr" / "glossary.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        'msgid "handoff.closed"\nmsgstr "La personne de la ligne d\'écoute a fini."\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(f"{__name__}.LOCALES", tmp_path)
    assert rejected_uses("fr") == [
        'fr: handoff.closed uses rejected hotline term "ligne d\'écoute"'
    ]


def test_glossaries_are_package_data() -> None:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        package_data = tomllib.load(handle)["tool"]["setuptools"]["package-data"]
    assert "*/*.yml" in package_data["locales"]
