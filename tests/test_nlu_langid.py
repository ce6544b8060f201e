"""Language identification: scripts, Arabizi, the session prior."""

from __future__ import annotations

import pytest

from nlu import BuiltinNLU
from nlu.langid import LanguageIdentifier, arabizi_tokens, detect_script, train_variant_model
from nlu.languages import Variant
from nlu.normalize import normalize


def test_detect_script() -> None:
    assert detect_script("hello") == ("Latn", 5)
    assert detect_script("مرحبا")[0] == "Arab"
    assert detect_script("ሰላም")[0] == "Ethi"
    assert detect_script("নমস্কার")[0] == "Beng"
    assert detect_script("123 !!")[0] == "Zyyy"
    # an Arabic word in a Latin message is an Arabic speaker's message
    assert detect_script("help now جايين")[0] == "Arab"


def test_arabizi_digit_letters() -> None:
    assert arabizi_tokens(normalize("nbi nrja3 l bladi")) == ["nrja3"]
    assert arabizi_tokens(normalize("5ouya ma7jouz")) == ["5ouya", "ma7jouz"]
    for text in ("i have 3 kids", "see you at 7pm", "the 3rd floor", "2day", "5kg of rice"):
        assert arabizi_tokens(normalize(text)) == [], text


@pytest.mark.parametrize(
    ("text", "language", "script"),
    [
        ("I want to go home", "en", "Latn"),
        ("abeg i wan go back Naija", "en", "Latn"),
        ("je veux rentrer chez moi", "fr", "Latn"),
        ("ina so in koma gida", "ha", "Latn"),
        ("nbi nrja3 l bladi", "ar", "Latn"),
        ("5ouya ma7jouz", "ar", "Latn"),
        ("3andi mochkil", "ar", "Latn"),
        ("نبي نرجع لبلادي", "ar", "Arab"),
        ("أريد العودة إلى السودان", "ar", "Arab"),
    ],
)
def test_language_of_typical_messages(
    builtin_nlu: BuiltinNLU, text: str, language: str, script: str
) -> None:
    r = builtin_nlu.parse_sync(text)
    assert (r.language, r.script) == (language, script)


@pytest.mark.parametrize("hint", ["en", "fr", "ha", "ar", "ti", "am", "so", "bn"])
@pytest.mark.parametrize("text", ["ok", "1", "2", "OK", "yes", "merci", "non", "stop"])
def test_session_language_is_kept_for_short_messages(
    builtin_nlu: BuiltinNLU, text: str, hint: str
) -> None:
    assert builtin_nlu.parse_sync(text, hint).language == hint


@pytest.mark.parametrize(
    "text, language",
    [
        ("selam kemey aleka", "ti"),
        ("kemei haderki haftey", "ti"),
        ("yekenyeley hawey", "ti"),
        ("hagez yedeli eye", "ti"),
        ("selam endet neh", "am"),
        ("ameseginalehu wendeme", "am"),
        ("erdata yasfelegnal", "am"),
        ("ene ityopiawi negn", "am"),
    ],
)
def test_tigrinya_and_amharic_in_latin_letters(
    builtin_nlu: BuiltinNLU, text: str, language: str
) -> None:
    """Typed without an Ethiopic keyboard: the language model has a Latin-letter class for each
    (``also: [Latn]`` in languages.yml), reported as the language's own variant."""
    guess = builtin_nlu.identify_language(text)
    assert (guess.language, guess.variant, guess.script) == (language, language, "Latn")


def test_a_variant_learns_its_other_script_as_a_class_of_its_own() -> None:
    texts = [
        "selam kemey aleka",
        "ሰላም ከመይ ኣለኻ",
        "hello how are you",
        "selam endet neh",
        "ሰላም እንዴት ነህ",
    ]
    labels = ["ti", "ti", "en", "am", "am"]
    scripts = {"ti": "Ethi", "am": "Ethi", "en": "Latn"}
    own = train_variant_model(
        [normalize(t) for t in texts], labels, scripts=scripts, also={"ti": ("Latn",)}
    )
    assert set(own.classes) == {"ti", "ti@Latn", "en", "am"}  # Latin Amharic: left out
    variants = [
        Variant("en", "en", "Latn"),
        Variant("ti", "ti", "Ethi", also=("Latn",)),
        Variant("am", "am", "Ethi"),
    ]
    guess = LanguageIdentifier(variants, own, None).identify("kemey aleka", "kemey aleka")
    assert (guess.language, guess.variant, guess.script) == ("ti", "ti", "Latn")


def test_hint_does_not_hide_a_real_switch(builtin_nlu: BuiltinNLU) -> None:
    assert builtin_nlu.parse_sync("je veux rentrer dans mon pays", "en").language == "fr"
    assert builtin_nlu.parse_sync("نبي نرجع لبلادي", "en").language == "ar"
    assert builtin_nlu.parse_sync("I want to go back to my country", "ha").language == "en"


@pytest.mark.parametrize(
    "text",
    [
        "nbi nrja3 l bladi",
        "ok merci 5ouya ma7jouz",
        "please help 3andi mochkil",
        "wa99ef l messages",
        "salam 3likom",
        "ana mri9 w n7tej tbib",
    ],
)
@pytest.mark.parametrize("hint", [None, "en", "fr", "ha"])
def test_arabizi_with_digits_is_always_arabic(
    builtin_nlu: BuiltinNLU, text: str, hint: str | None
) -> None:
    r = builtin_nlu.parse_sync(text, hint)
    assert (r.language, r.script) == ("ar", "Latn")


def test_numbers_and_case_references_do_not_look_like_arabizi(builtin_nlu: BuiltinNLU) -> None:
    assert builtin_nlu.parse_sync("call me +218 91 234 5678 please").language == "en"
    assert builtin_nlu.parse_sync("mon dossier LY-6B3N8X c'est comment", "fr").language == "fr"


def test_arabic_indic_digits_are_not_arabic_script() -> None:
    assert detect_script("ra9m 5ouya ٠٩١٢٣٤٥٦٧٨ w howa fi zawiya")[0] == "Latn"
    assert detect_script("٠٩١٢٣٤٥٦٧٨")[0] == "Zyyy"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("please check my file 8TQ2XW when will they call me", "en"),  # a mistyped reference
        ("mon cousin est inscrit chez vous son numero c LY-9PX3KD il veut savoir", "fr"),
        ("put my name for the flight i am ready to go back 9ja any time", "en"),
    ],
)
def test_codes_and_9ja_are_not_arabizi(builtin_nlu: BuiltinNLU, text: str, language: str) -> None:
    assert builtin_nlu.parse_sync(text).language == language


def test_one_arabizi_phrase_does_not_decide_a_long_message(builtin_nlu: BuiltinNLU) -> None:
    """'ma3a salama' closing an English or French message: the models decide, not the digit;
    a short message with the same phrase is still Arabizi."""
    en = "ok i dey go now, later make we talk again, ma3a salama"
    fr = "jdois partir la batterie va finir a plus tard les amis ma3a salama"
    assert builtin_nlu.parse_sync(en).language == "en"
    assert builtin_nlu.parse_sync(fr).language == "fr"
    assert builtin_nlu.parse_sync("ok ma3a salama").language == "ar"
