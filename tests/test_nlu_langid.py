"""Language identification: scripts, Arabizi, the session prior."""

from __future__ import annotations

import pytest

from nlu import BuiltinNLU
from nlu.langid import arabizi_tokens, detect_script
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


@pytest.mark.parametrize("hint", ["en", "fr", "ha", "ar"])
@pytest.mark.parametrize("text", ["ok", "1", "2", "OK", "yes", "merci", "non", "stop"])
def test_session_language_is_kept_for_short_messages(
    builtin_nlu: BuiltinNLU, text: str, hint: str
) -> None:
    assert builtin_nlu.parse_sync(text, hint).language == hint


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
