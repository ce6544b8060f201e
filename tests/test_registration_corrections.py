"""Corrections that always work (issue 16): at the review and at any question an answer is
changed by its number, by naming it or by saying it, in every language, and never lands in
another answer; closed questions take free text; the review shows what is sent. The router and
the registration flow with the trained NLU, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from flows import build_conversation
from flows.base import Text
from flows.registration import FIELDS, changeable, document_answer, named_field, vocabulary
from flows.router import Conversation
from nlu import BuiltinNLU
from tests.test_commands_meant import LANGUAGES, Talk, keys

ALL_ANSWERS: dict[str, Any] = {
    "name": "Amina Bello",
    "country": "NG",
    "age": 30,
    "birth_year": 1995,
    "sex": "male",  # tapped "Man" by mistake
    "phone": "+218912345678",
    "city": "Tripoli",
    "detained": False,
    "document": "valid",
    "passport_number": "AB123456",
    "family": 0,
    "disability": False,
    "violence": False,
}


@pytest.fixture(scope="module")
def conversation() -> Conversation:
    return build_conversation(LANGUAGES)


@pytest.fixture
def talk(conversation: Conversation, builtin_nlu: BuiltinNLU) -> Any:
    return lambda language="en": Talk(conversation, builtin_nlu, language)


def at_review(person: Talk, **changes: Any) -> Talk:
    person.at("summary", **{**ALL_ANSWERS, **changes})
    person.state.data["vulnerability_intro"] = True
    return person


def answers(person: Talk) -> dict[str, Any]:
    return dict(person.state.data["answers"])


SAYING_WOMAN = [
    ("en", "I am a woman"),
    ("en", "I am female"),
    ("en", "my sex is woman"),
    ("en", "sorry, I'm a woman"),
    ("fr", "je suis une femme"),
    ("fr", "mon sexe est femme"),
    ("ar", "انا امرأة"),
    ("ar", "أنا بنت"),
    ("ar", "ana mara"),
    ("ar", "ana bint"),
    ("ha", "ni mace ce"),
    ("ha", "ni mace"),
]


@pytest.mark.parametrize(("language", "text"), SAYING_WOMAN)
async def test_said_at_the_change_question_it_lands_in_sex(
    talk: Any, language: str, text: str
) -> None:
    person = at_review(talk(language))
    turn = await person("2")  # change an answer
    assert keys(turn) == ["registration.which_change"]
    assert [o.key for o in turn.replies[0].options] == [
        f"registration.field.{field}" for field in changeable(ALL_ANSWERS)
    ]
    turn = await person(text)
    now = answers(person)
    assert now["sex"] == "female" and now["name"] == "Amina Bello", (keys(turn), now)
    # a woman of 30 is asked the question that now applies, then sees the review again
    assert keys(turn) == ["registration.corrected", "registration.ask_pregnant"]
    turn = await person("2")
    assert keys(turn)[0] == "registration.summary"
    assert turn.replies[0].values["sex"] == Text("registration.sex.female")


@pytest.mark.parametrize(("language", "text"), SAYING_WOMAN)
async def test_said_at_the_review_itself(talk: Any, language: str, text: str) -> None:
    person = at_review(talk(language))
    await person(text)
    assert answers(person)["sex"] == "female"
    assert answers(person)["name"] == "Amina Bello"


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "I am a man"), ("fr", "je suis un homme"), ("ar", "انا راجل"), ("ha", "ni namiji ne")],
)
async def test_a_man_who_tapped_woman(talk: Any, language: str, text: str) -> None:
    person = at_review(talk(language), sex="female", pregnant=False)
    turn = await person(text)
    assert answers(person)["sex"] == "male"
    assert "pregnant" not in answers(person)  # no longer applies, not sent
    assert keys(turn) == ["registration.corrected", "registration.summary", "registration.confirm"]


async def test_i_am_female_at_the_name_question_is_no_name(talk: Any) -> None:
    person = talk("en").at("name")
    turn = await person("I am female")
    assert "name" not in answers(person) and answers(person)["sex"] == "female"
    assert keys(turn) == ["registration.corrected", "registration.ask_name"]


@pytest.mark.parametrize("name", ["Mara", "Bint Ali", "Amina Bello", "I am Nasiru"])
async def test_a_name_is_still_a_name(talk: Any, name: str) -> None:
    person = talk("en").at("name")
    await person(name)
    assert answers(person)["name"] in {name, "Nasiru"}
    assert "sex" not in answers(person)


async def test_said_at_another_question(talk: Any) -> None:
    person = talk("fr").at("city", **{k: ALL_ANSWERS[k] for k in FIELDS[:5]})
    turn = await person("je suis une femme")
    assert answers(person)["sex"] == "female" and person.state.step == "city"
    assert keys(turn) == ["registration.corrected", "registration.ask_city"]


BY_NAME = [
    ("en", "change my name", "name", "Amina Musa"),
    ("en", "the city is wrong", "city", "Misrata"),
    ("en", "my passport number is wrong", "passport_number", "CD654321"),
    ("ar", "غير الاسم", "name", "آمنة موسى"),
    ("ar", "المدينة غلط", "city", "مصراتة"),
    ("ar", "ghayer ismi", "name", "Amina Musa"),
    ("fr", "changer la ville", "city", "Misrata"),
    ("fr", "modifier mon âge", "age", "31"),
    ("ha", "canja suna", "name", "Amina Musa"),
    ("ha", "gyara birni", "city", "Misrata"),
]


@pytest.mark.parametrize(("language", "text", "field", "value"), BY_NAME)
async def test_changed_by_naming_it(
    talk: Any, language: str, text: str, field: str, value: str
) -> None:
    for where in ("summary", "change"):
        person = at_review(talk(language))
        person.state.step = where
        turn = await person(text)
        assert person.state.step == field, (where, keys(turn))
        turn = await person(value)
        assert keys(turn)[0] == "registration.summary"
        assert answers(person)[field] != ALL_ANSWERS[field]
        assert (
            answers(person)["name" if field != "name" else "city"]
            == ALL_ANSWERS["name" if field != "name" else "city"]
        )


async def test_named_at_any_question_then_back_to_it(talk: Any) -> None:
    person = talk("ha").at("city", **{k: ALL_ANSWERS[k] for k in FIELDS[:5]})
    turn = await person("canja suna")
    assert person.state.step == "name" and keys(turn) == ["registration.ask_name"]
    turn = await person("Hauwa Musa")
    assert answers(person)["name"] == "Hauwa Musa"
    assert keys(turn) == ["registration.ask_city"]  # where they were


async def test_changed_by_number(talk: Any) -> None:
    person = at_review(talk("en"))
    await person("2")
    turn = await person(str(changeable(ALL_ANSWERS).index("city") + 1))
    assert keys(turn) == ["registration.ask_city"]
    turn = await person("Misrata")
    assert answers(person)["city"] == "Misrata" and keys(turn)[0] == "registration.summary"
    await person("2")
    turn = await person(str(changeable(ALL_ANSWERS).index("sex") + 1))
    assert keys(turn) == ["registration.ask_sex"]
    await person("1")
    assert answers(person)["sex"] == "female"


async def test_unsure_which_answer_asks_with_the_list(talk: Any) -> None:
    person = at_review(talk("en"))
    await person("2")
    turn = await person("the name and the city")  # two answers named: which one first?
    assert keys(turn) == ["registration.which_change"]
    assert len(turn.replies[0].options) == len(changeable(ALL_ANSWERS))
    assert answers(person) == {**ALL_ANSWERS}


async def test_no_passport_any_more_drops_its_number(talk: Any) -> None:
    person = at_review(talk("en"))
    await person("2")
    await person(str(changeable(ALL_ANSWERS).index("document") + 1))
    turn = await person("I lost it")
    assert answers(person)["document"] == "lost" and "passport_number" not in answers(person)
    assert keys(turn)[0] == "registration.summary"
    assert turn.replies[0].values["document"] == Text("registration.document.lost")


PASSPORT_ANSWERS = [
    ("en", "expired", "expired"),
    ("en", "it is valid", "valid"),
    ("en", "I don't have one", "none"),
    ("en", "it was stolen", "lost"),
    ("en", "yes but expired", "expired"),
    ("en", "yes", "valid"),
    ("en", "no", "none"),
    ("fr", "valide", "valid"),
    ("fr", "il est expiré", "expired"),
    ("fr", "je n'ai pas de passeport", "none"),
    ("fr", "perdu", "lost"),
    ("ar", "جواز منتهي", "expired"),
    ("ar", "ساري", "valid"),
    ("ar", "ما عندي جواز", "none"),
    ("ar", "ضاع", "lost"),
    ("ar", "monta8i", "expired"),
    ("ar", "ma3andi", "none"),
    ("ar", "da3", "lost"),
    ("ha", "babu", "none"),
    ("ha", "ya ƙare", "expired"),
    ("ha", "yana aiki", "valid"),
    ("ha", "an sace shi", "lost"),
]


@pytest.mark.parametrize(("language", "text", "document"), PASSPORT_ANSWERS)
async def test_passport_answered_in_words(
    talk: Any, language: str, text: str, document: str
) -> None:
    before = {k: v for k, v in ALL_ANSWERS.items() if k in FIELDS[:7]}
    person = talk(language).at("document", **before)
    turn = await person(text)
    assert answers(person).get("document") == document, keys(turn)
    assert "answer.number" not in keys(turn)


@pytest.mark.parametrize(
    ("language", "text"), [("en", "alone"), ("fr", "seule"), ("ar", "وحدي"), ("ha", "ni kadai")]
)
async def test_travelling_alone_in_words(talk: Any, language: str, text: str) -> None:
    before = {k: v for k, v in ALL_ANSWERS.items() if k in FIELDS[:9]}
    person = talk(language).at("family", **before)
    await person(text)
    assert answers(person)["family"] == 0


def test_field_names_and_passport_words() -> None:
    vocab = vocabulary()
    assert named_field("change my passport number", vocab) == "passport_number"
    assert named_field("my passport", vocab) == "document"
    assert named_field("the name and the city", vocab) is None
    assert document_answer("not a word about it", vocab) is None


async def test_the_review_shows_the_passport_number(talk: Any) -> None:
    person = at_review(talk("en"))
    person.state.step = "passport_number"
    turn = await person("CD 654321")
    summary = turn.replies[0]
    assert summary.key == "registration.summary"
    assert summary.values["document"] == Text(
        "registration.document.valid_number", {"number": "CD654321"}
    )
