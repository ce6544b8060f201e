"""Catalog completeness, placeholders, plural forms, direction and locale formatting."""

from __future__ import annotations

from datetime import date

import pytest
from babel.messages.pofile import read_po

from bot import PROJECT_ROOT
from bot.config import Settings
from bot.i18n import Catalogs, isolate_in_rtl, isolate_runs, placeholders

LOCALES = PROJECT_ROOT / "locales"
ENABLED = Settings(_env_file=None).enabled_languages


def _catalog(language: str) -> dict[str, tuple[str, ...]]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    entries: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert not message.fuzzy, f"{language}: {key} is fuzzy"
        entries[key] = tuple(forms)
    return entries


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs(LOCALES, ENABLED, "en")


def test_every_enabled_language_has_every_message_translated() -> None:
    english = _catalog("en")
    assert len(english) > 100
    for language in ENABLED:
        entries = _catalog(language)
        missing = sorted(set(english) - set(entries))
        assert not missing, f"{language} misses {missing}"
        extra = sorted(set(entries) - set(english))
        assert not extra, f"{language} has keys English does not: {extra}"
        empty = sorted(key for key, forms in entries.items() if not all(f.strip() for f in forms))
        assert not empty, f"{language} has untranslated {empty}"


def test_placeholders_are_the_same_in_every_language() -> None:
    english = _catalog("en")
    for language in ENABLED:
        for key, forms in _catalog(language).items():
            wanted = set().union(*(placeholders(f) for f in english[key]))
            for form in forms:
                assert placeholders(form) <= wanted | {"count"}, (language, key, form)
            found = set().union(*(placeholders(f) for f in forms))
            assert found == wanted, (language, key)


def test_translations_differ_from_english() -> None:
    english = _catalog("en")
    for language in (code for code in ENABLED if code != "en"):
        same = [k for k, forms in _catalog(language).items() if forms == english[k]]
        # Short labels may legitimately match (e.g. "Menu"); whole sentences may not.
        assert len(same) <= 5, f"{language} copies English for {same}"


def test_arabic_has_six_distinct_plural_forms(catalogs: Catalogs) -> None:
    forms = {
        catalogs.text("ar", "registration.family_count", count=n) for n in (0, 1, 2, 3, 11, 100)
    }
    assert len(forms) == 6
    assert "11" in catalogs.text("ar", "registration.family_count", count=11)


def test_english_plural(catalogs: Catalogs) -> None:
    assert "member travels" in catalogs.text("en", "registration.family_count", count=1)
    assert "members travel" in catalogs.text("en", "registration.family_count", count=3)


def test_arabic_is_right_to_left(catalogs: Catalogs) -> None:
    assert catalogs.direction("ar") == "rtl"
    assert catalogs.direction("en") == catalogs.direction("ha") == "ltr"
    # a message starting with a Latin value still reads right to left
    text = catalogs.text("ar", "case.status", reference="LY-7K3M9Q", stage="x")
    first_strong = next(ch for ch in text if ch.isalpha() or ch == "\u200f")
    assert first_strong == "\u200f" or "\u0600" <= first_strong <= "\u06ff"


def test_numbers_and_dates_follow_the_locale(catalogs: Catalogs) -> None:
    assert catalogs.format_value("en", 12345) == "12,345"
    assert catalogs.format_value("fr", 12345).replace("\u202f", " ") == "12 345"
    assert "2026" in catalogs.format_value("ha", date(2026, 3, 5))
    assert catalogs.format_value("fr", date(2026, 3, 5)) == "5 mars 2026"
    arabic_date = catalogs.format_value("ar", date(2026, 3, 5))
    assert "مارس" in arabic_date


def test_a_broken_placeholder_does_not_silence(catalogs: Catalogs) -> None:
    # a value that is missing stays visible instead of raising
    assert "{reference}" in catalogs.text("en", "registration.done")


def test_adding_a_language_is_data_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    for code in ("en", "ar"):
        shutil.copytree(LOCALES / code, tmp_path / code)
    target = tmp_path / "so" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(LOCALES / "en" / "LC_MESSAGES" / "messages.po", target / "messages.po")
    catalogs = Catalogs(tmp_path, ["en", "ar", "so"], "en")
    assert catalogs.languages == ["en", "ar", "so"]
    assert catalogs.info("so").native_name.lower().startswith("soomaali")


# -- text that reads right in both directions --------------------------------------------------
FSI, PDI = "\u2068", "\u2069"


@pytest.mark.parametrize(
    ("text", "isolated"),
    [
        ("+218912223344", f"{FSI}+218912223344{PDI}"),
        ("الهاتف: +218 91 000 0105", f"الهاتف: {FSI}+218 91 000 0105{PDI}"),
        ("رقم ملفك LY-AB12CD.", f"رقم ملفك {FSI}LY-AB12CD{PDI}."),
        ("15/03/1996", f"{FSI}15/03/1996{PDI}"),
        ("١٥ مارس ٢٠٢٦", f"{FSI}١٥{PDI} مارس {FSI}٢٠٢٦{PDI}"),
        ("Amina Bello, سبها", f"{FSI}Amina Bello{PDI}, سبها"),
        ("سبها", "سبها"),
        ("افتح https://hotline.example/console/cases/5 الآن", None),  # a link stays whole
    ],
)
def test_left_to_right_runs_are_isolated(text: str, isolated: str | None) -> None:
    isolated = isolated or text
    assert isolate_runs(text) == isolated
    assert isolate_runs(isolated) == isolated  # twice is once


def test_arabic_replies_isolate_their_values_and_other_languages_do_not(
    catalogs: Catalogs,
) -> None:
    values = {
        "name": "Amina Bello",
        "country": "نيجيريا",
        "age": 30,
        "sex": "امرأة",
        "phone": "+218912223344",
        "city": "Sebha",
        "detained": "لا",
        "document": "",
    }
    summary = catalogs.text("ar", "registration.summary", **values)
    for value in ("+218912223344", "Sebha", "Amina Bello", "30"):
        assert f"{FSI}{value}{PDI}" in summary
    assert "نيجيريا" in summary and f"{FSI}نيجيريا" not in summary
    done = catalogs.text("ar", "registration.done", reference="LY-AB12CD")
    assert f"{FSI}LY-AB12CD{PDI}" in done
    for language in ("en", "fr", "ha"):
        english = catalogs.text(language, "registration.summary", **values)
        assert FSI not in english and "+218912223344" in english
    # the template's own runs too: the example phone number keeps its groups in order
    assert f"{FSI}091 234 5678{PDI}" in catalogs.text("ar", "registration.ask_phone")
    # a value rendered from another message is isolated once, not twice
    nested = catalogs.text("ar", "case.status", reference="LY-AB12CD", stage="مسجل")
    assert nested.count(FSI) == 1 == nested.count(PDI)


def test_operator_text_in_arabic_is_isolated_and_latin_text_is_not() -> None:
    assert isolate_in_rtl("اتصل على +218912223344") == f"اتصل على {FSI}+218912223344{PDI}"
    assert isolate_in_rtl("Call +218912223344") == "Call +218912223344"


def test_every_catalog_found_is_complete() -> None:
    # Every catalog in locales/, enabled or not, has every key with the same placeholders.
    english = _catalog("en")
    found = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))
    assert {"ti", "am", "so"} <= set(found)
    for language in found:
        entries = _catalog(language)
        assert set(entries) == set(english), language
        for key, forms in entries.items():
            assert all(f.strip() for f in forms), f"{language}: {key} is empty"
            wanted = set().union(*(placeholders(f) for f in english[key]))
            assert set().union(*(placeholders(f) for f in forms)) == wanted, f"{language}: {key}"


def test_languages_with_catalog_and_training_data_are_enabled_by_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nlu.languages import available_languages

    default = Settings(_env_file=None).enabled_languages
    assert default[:4] == ["en", "ar", "fr", "ha"] and {"ti", "am", "so"} <= set(default)
    # a language switches on when both its catalog and its training file exist, and not before
    locales, data = tmp_path / "locales", tmp_path / "data"
    for code in ("en", "so"):
        (locales / code / "LC_MESSAGES").mkdir(parents=True)
        (locales / code / "LC_MESSAGES" / "messages.po").write_text("", encoding="utf-8")
    data.mkdir()
    (data / "en.yml").write_text("", encoding="utf-8")
    assert available_languages(locales, data) == ["en"]
    (data / "so.yml").write_text("", encoding="utf-8")
    assert available_languages(locales, data) == ["en", "so"]
    explicit = Settings(_env_file=None, enabled_languages="en,fr").enabled_languages
    assert explicit == ["en", "fr"]


def test_tigrinya_and_amharic_plurals(catalogs: Catalogs) -> None:
    for language in ("ti", "am"):
        one = catalogs.text(language, "registration.family_count", count=1)
        many = catalogs.text(language, "registration.family_count", count=3)
        assert one != many and "1" in one and "3" in many
