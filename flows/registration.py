"""Registration for voluntary humanitarian return.

Explains the programme, asks consent, then collects one answer at a time, each validated with a
localized re-ask. Values given early are used; "back", "cancel", corrections ("my city is
Misrata"), a change of language and pausing/resuming work at any step. A summary comes before
the confirmation; the stored case gets a short reference and a priority.

Nothing personal is kept before consent; the answers live in the (encrypted) session until the
registration is confirmed, then in the registrations table.

A "yes" to the question about abuse, forced work or trafficking is a disclosure: it is
acknowledged, the person chooses to talk to a person now or after the registration, and an
urgent handoff is opened (with the registration when it exists).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale

from flows.answers import choice, yes_or_no
from flows.base import Flow, OpenHandoff, Option, Text, Turn
from flows.menu import show_main_menu, yes_no
from nlu import parse_date, parse_number, parse_phone, resolve_city, resolve_country, yamlfile
from nlu.normalize import ascii_digits, normalize

CONTENT = Path(__file__).resolve().parent / "content" / "registration.yml"
PHONE_CHANNELS = {"sms", "whatsapp", "whatsapp_cloud", "voice"}
NO_PHONE = ""  # the answer of someone with no number to give: reached where they write
DOCUMENTS = ("valid", "expired", "none", "lost")
VULNERABILITY_STEPS = ("pregnant", "disability", "unaccompanied", "violence", "single_parent")
HIGH_PRIORITY = {
    "detained",
    "pregnant",
    "disability",
    "unaccompanied",
    "violence",
    "child",
    "elderly",
}
ELDERLY_AGE = 60
_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")


@dataclass(frozen=True)
class Vocabulary:
    common_countries: tuple[str, ...]
    refugee_counselling: frozenset[str]
    name_markers: tuple[str, ...]  # folded, longest first
    name_stops: frozenset[str]
    female: frozenset[str]
    male: frozenset[str]
    statement_words: frozenset[str]  # "I am a …", "je suis une …", "ana …": no answer in them
    documents: dict[str, tuple[str, ...]]  # passport answer → its phrases, folded
    alone: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]  # answer → the words that name it, folded
    change_words: tuple[str, ...]


@lru_cache(maxsize=1)
def vocabulary(path: Path = CONTENT) -> Vocabulary:
    raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))

    def folded(values: Any) -> list[str]:
        items = (
            [v for words in values.values() for v in words] if isinstance(values, dict) else values
        )
        return [normalize(str(v)) for v in items if normalize(str(v))]

    return Vocabulary(
        common_countries=tuple(raw["common_countries"]),
        refugee_counselling=frozenset(raw["refugee_counselling"]),
        name_markers=tuple(sorted(set(folded(raw["name_markers"])), key=len, reverse=True)),
        name_stops=frozenset(folded(raw["name_stops"])),
        female=frozenset(folded(raw["female"])),
        male=frozenset(folded(raw["male"])),
        statement_words=frozenset(
            word for phrase in folded(raw["statement_words"]) for word in phrase.split()
        ),
        documents={name: tuple(folded(words)) for name, words in raw["documents"].items()},
        alone=tuple(folded(raw["alone"])),
        fields={name: tuple(folded(words)) for name, words in raw["fields"].items()},
        change_words=tuple(folded(raw["change_words"])),
    )


def _contains(folded_text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {folded_text} "


def sex_statement(text: str, vocab: Vocabulary, *, bare: bool = False) -> str | None:
    """ "I am a woman", "je suis une femme", "ana bint", "ni mace ce" → "female".

    What is left once the words of a statement about oneself are dropped must be words for one
    sex only. A lone word ("woman") counts only where `bare` (the sex question, the review):
    elsewhere it may be a name ("Mara").
    """
    words = normalize(text).split()
    left = [word for word in words if word not in vocab.statement_words]
    if not left or (len(left) == len(words) and not bare):
        return None
    if all(word in vocab.female and len(word) > 1 for word in left):
        return "female"
    if all(word in vocab.male and len(word) > 1 for word in left):
        return "male"
    return None


def _longest(folded_text: str, phrases: dict[str, tuple[str, ...]]) -> str | None:
    """The entry whose longest phrase found in the text is the longest of all (one only)."""
    found = {
        name: max((len(p) for p in words if _contains(folded_text, p)), default=0)
        for name, words in phrases.items()
    }
    best = max(found.values(), default=0)
    winners = [name for name, length in found.items() if length == best]
    return winners[0] if best and len(winners) == 1 else None


def document_answer(text: str, vocab: Vocabulary) -> str | None:
    """A free-text passport answer: "expired", "valide", "babu", "جواز منتهي"."""
    return _longest(normalize(text), vocab.documents)


def named_field(text: str, vocab: Vocabulary) -> str | None:
    """The one answer a message names: "change my name" → name, "the city is wrong" → city.

    A name inside a longer one found too is not counted ("passport number" is not "passport");
    two answers named is no answer (the person is asked which, with the numbered list).
    """
    folded = normalize(text)
    found = [
        (field, phrase)
        for field, phrases in vocab.fields.items()
        for phrase in phrases
        if _contains(folded, phrase)
    ]
    fields = {
        field
        for field, phrase in found
        if not any(phrase != other and _contains(other, phrase) for _, other in found)
    }
    return fields.pop() if len(fields) == 1 else None


def asks_to_change(text: str, vocab: Vocabulary) -> bool:
    folded = normalize(text)
    return any(_contains(folded, word) for word in vocab.change_words)


def country_name(code: str, language: str) -> str:
    return Locale.parse(language).territories.get(code) or code


def find_name(text: str, vocab: Vocabulary) -> str | None:
    """A person's name introduced with a marker: "I am Nasiru from Nigeria" → "Nasiru"."""
    folded = " " + normalize(text, squeeze=False) + " "
    original = text.split()
    for marker in vocab.name_markers:
        at = folded.find(" " + marker + " ")
        if at < 0:
            continue
        after = folded[at + len(marker) + 2 :].split()
        words: list[str] = []
        for word in after:
            if word in vocab.name_stops or word.isdigit() or len(words) == 4:
                break
            words.append(word)
        if not words:
            continue
        candidate = " ".join(words)
        if resolve_country(candidate) or resolve_city(candidate):
            continue
        if sex_statement(candidate, vocab, bare=True):  # "I am female": no name
            continue
        # Give the name back as written (original case and letters), word for word.
        start = len(folded[: at + len(marker) + 2].split())
        written = original[start : start + len(words)]
        return " ".join(written).strip(".,;:!?") if len(written) == len(words) else candidate
    return None


# Arabizi writes letters with digits inside words: "Mo7amed", "3abdallah", "wa9ef".
_ARABIZI_DIGIT = re.compile(r"(?<=[^\W\d_])[235789]|[235789](?=[^\W\d_])")


def valid_name(text: str) -> str | None:
    name = " ".join(text.split()).strip(".,;:!?")
    letters = sum(ch.isalpha() for ch in name)
    numbers = _ARABIZI_DIGIT.sub("", ascii_digits(name))
    if 2 <= letters and len(name) <= 80 and not any(ch.isdigit() for ch in numbers):
        return name
    return None


# -- the steps ---------------------------------------------------------------------------


def applicable(step: str, answers: dict[str, Any]) -> bool:
    age = answers.get("age")
    if step == "detention_place":
        return bool(answers.get("detained"))
    if step == "passport_number":
        return answers.get("document") in ("valid", "expired")
    if step == "member":
        return len(answers.get("members", [])) < int(answers.get("family", 0))
    if step == "pregnant":
        return answers.get("sex") == "female" and (age is None or 12 <= age <= 55)
    if step == "unaccompanied":
        return age is not None and age < 18
    if step == "single_parent":
        return int(answers.get("family", 0)) > 0
    return True


STEPS = (
    "name", "country", "age", "sex", "phone", "city", "detained", "detention_place",
    "document", "passport_number", "family", "member", *VULNERABILITY_STEPS,
)  # fmt: skip


# The answers a person can change at the review, in the order of the numbered list.
FIELDS = (
    "name", "country", "age", "sex", "phone", "city", "detained", "detention_place",
    "document", "passport_number", "family",
)  # fmt: skip
# What a field depends on: changed when the field it needs is not asked any more.
NEEDS = {"detention_place": "detained", "passport_number": "document"}
# Questions whose parser takes any text: a statement about oneself is checked first there.
FREE_TEXT_STEPS = ("name", "detention_place")

# -- by keypad (Turn.keypad: a phone call) ---------------------------------------------------
# A caller is asked only what keys answer, in this order. What a keypad cannot give (the name
# spelled, sex, city, documents, who travels along) an operator completes from the call, so the
# case is stored at once for review, without a summary to confirm.
KEYPAD_STEPS = ("country", "age", "family", "detained", "name")
KEYPAD_COUNTRIES = 8  # one key each; the next key is "another country"
# Answered with several keys ended by the hash key (a number) instead of one key.
KEYPAD_NUMBERS = frozenset({"age", "family"})
# Answered in the caller's own words, which the channel keeps for an operator (the voice line
# records them): the case holds this placeholder until an operator completes it.
KEYPAD_SPOKEN = frozenset({"name"})
NAME_PLACEHOLDER = "[name recorded on the call: to be completed by an operator]"
# The keypad wording of each question: it says which keys to press.
KEYPAD_QUESTIONS = {
    "consent": "voice.registration.consent",
    "country": "voice.registration.country",
    "age": "voice.registration.age",
    "family": "voice.registration.people",
    "detained": "voice.registration.detained",
    "name": "voice.registration.name",
}
KEYPAD_COUNTRY_OTHER = "voice.registration.country_other"
# Everything the keypad registration can say (the voice studio lists each to be recorded).
KEYPAD_PROMPTS = (
    *KEYPAD_QUESTIONS.values(),
    KEYPAD_COUNTRY_OTHER,
    "voice.registration.no_consent",
    "voice.registration.other_country",
    "voice.registration.done",
    "voice.registration.review",
    "voice.registration.existing",
)


def keypad_countries(vocab: Vocabulary) -> tuple[str, ...]:
    return vocab.common_countries[:KEYPAD_COUNTRIES]


def changeable(answers: dict[str, Any]) -> list[str]:
    return [field for field in FIELDS if applicable(field, answers)]


def drop_inapplicable(answers: dict[str, Any]) -> None:
    """After a change, forget answers that no longer apply (a passport number without a
    passport, "pregnant" after a change to man) and family members beyond the family size."""
    for step in ("detention_place", "passport_number", *VULNERABILITY_STEPS):
        if step in answers and not applicable(step, answers):
            del answers[step]
    if "members" in answers:
        answers["members"] = answers["members"][: int(answers.get("family", 0))]


def next_step(answers: dict[str, Any], *, keypad: bool = False) -> str:
    if keypad:
        return next((step for step in KEYPAD_STEPS if step not in answers), "confirm")
    for step in STEPS:
        if step == "member":
            if applicable(step, answers):
                return step
            continue
        if step not in answers and applicable(step, answers):
            return step
    return "summary"


def priority_of(answers: dict[str, Any]) -> tuple[str, list[str]]:
    """Priority from the vulnerability answers (DOMAIN.md's criteria) and the flags behind it."""
    flags = [step for step in VULNERABILITY_STEPS if answers.get(step) is True]
    age = answers.get("age")
    if answers.get("detained"):
        flags.append("detained")
    if age is not None and age < 18:
        flags.append("child")
    if age is not None and age >= ELDERLY_AGE:
        flags.append("elderly")
    if int(answers.get("family", 0)) + 1 >= 6:
        flags.append("large_household")
    if set(flags) & HIGH_PRIORITY:
        return "high", flags
    return ("medium" if flags else "normal"), flags


class RegistrationFlow(Flow):
    name = "registration"

    def __init__(
        self,
        vocab: Vocabulary | None = None,
        city_name: Callable[[str, str], str] | None = None,
    ) -> None:
        self.vocab = vocab or vocabulary()
        # a canonical city as the person reads it ("Sebha" → "سبها" in Arabic): the services
        # directory's names (flows/content/services.yml, city_names)
        self.city_name = city_name or (lambda city, _language: city)
        self._parsers: dict[str, Callable[[Turn], Any]] = {
            "name": self._parse_name,
            "country": self._parse_country,
            "age": self._parse_age,
            "sex": self._parse_sex,
            "phone": self._parse_phone,
            "city": lambda turn: resolve_city(turn.text),
            "detained": yes_or_no,
            "detention_place": lambda turn: valid_name(turn.text) or None,
            "document": self._parse_document,
            "passport_number": self._parse_passport,
            "family": self._parse_family,
            "member": self._parse_member,
            **{step: yes_or_no for step in VULNERABILITY_STEPS},
        }

    # -- entering --------------------------------------------------------------------------
    async def start(self, turn: Turn) -> None:
        state = turn.state
        if turn.keypad:  # a call starts afresh: nothing is paused on a phone line
            state.enter(self.name, "consent")
            self._ask_keypad(turn)
            return
        saved = state.paused.pop(self.name, None)
        if saved and saved.get("data", {}).get("consent"):
            state.flow, state.step, state.data = self.name, "resume", saved["data"]
            turn.say(
                "registration.resume",
                options=(Option("1", "option.continue"), Option("2", "option.restart")),
            )
            return
        state.enter(self.name, "consent")
        # Kept only until the consent answer: used then, dropped on a refusal.
        state.data["early"] = turn.text
        turn.say("registration.intro.1")
        turn.say("registration.intro.2")
        turn.say("registration.consent", options=yes_no())

    async def start_for_other(self, turn: Turn) -> None:
        """A mobilizer registers someone else: that person's own consent comes first."""
        turn.state.enter(self.name, "consent")
        turn.state.data["for_other"] = True
        turn.say("mobilizer.person_consent", options=yes_no())

    def answers_itself(self, step: str | None, text: str) -> bool:
        # "0" people travel with me; folded like the commands fold it ("٠", "۰", "０" too)
        return step == "family" and normalize(text) == "0"

    def plain_answer(self, step: str | None, text: str) -> bool:
        if step == "document":
            return document_answer(text, self.vocab) is not None
        if step == "sex":
            return sex_statement(text, self.vocab, bare=True) is not None
        return False

    def answer_concepts(self, step: str | None) -> frozenset[str]:
        return frozenset({"abduction"}) if step == "document" else frozenset()

    def expected_disclosures(self, step: str | None) -> frozenset[str]:
        if step in ("detained", "detention_place"):
            return frozenset({"detention"})
        if step == "violence":
            return frozenset({"protection", "trafficking"})
        return frozenset()

    # -- answering -------------------------------------------------------------------------
    async def handle(self, turn: Turn) -> bool:
        if turn.keypad:
            return await self._handle_keypad(turn)
        state = turn.state
        if turn.command == "cancel":
            state.enter(None)
            turn.say("registration.cancelled")
            return True
        step = state.step
        if step == "consent":
            return self._consent(turn)
        if step == "no_consent":
            answer = yes_or_no(turn)
            state.enter(None)
            if answer:
                turn.signal(OpenHandoff(reason="registration_without_consent", priority="normal"))
                turn.say("handoff.requested")
            else:
                show_main_menu(turn)
            return True
        if step == "resume":
            picked = 1 if turn.command == "continue" else choice(turn, 2)
            if picked is None:
                answer = yes_or_no(turn)
                picked = None if answer is None else (1 if answer else 2)
            if picked is None:
                return False
            if picked == 2:
                state.enter(None)
                await self.start(turn)
                return True
            state.step = next_step(self.answers(turn))
            self.ask(turn)
            return True
        if turn.command == "back":
            self._back(turn)
            return True
        if step in ("summary", "change"):
            return await self._summary(turn)
        if step == "disclosure":
            return self._disclosure(turn)
        if self._change_request(turn):
            return True
        if step in FREE_TEXT_STEPS and self._said_sex(turn):
            return True
        if step == "phone" and self._declines_channel_phone(turn):
            turn.say("registration.ask_phone")
            return True
        value = self._parsers[str(step)](turn)
        if value is None:
            return self._correct(turn)
        self._store(turn, str(step), value)
        if step == "violence" and value is True and "disclosure" not in state.data:
            self._acknowledge_disclosure(turn)
            return True
        self._advance(turn)
        return True

    async def repeat_question(self, turn: Turn) -> None:
        step = turn.state.step
        if turn.keypad:
            self._ask_keypad(turn)
        elif step == "consent":
            turn.say("registration.consent", options=yes_no())
        elif step == "no_consent":
            turn.say(
                "registration.no_consent",
                options=(Option("1", "option.human"), Option("2", "option.menu")),
            )
        elif step == "resume":
            turn.say(
                "registration.resume",
                options=(Option("1", "option.continue"), Option("2", "option.restart")),
            )
        elif step == "change":
            self._ask_which(turn)
        else:
            self.ask(turn)

    async def reask(self, turn: Turn) -> None:
        step = turn.state.step
        invalid = {
            "name": "registration.invalid_name",
            "country": "registration.invalid_country",
            "age": "registration.invalid_age",
            "sex": "registration.invalid_sex",
            "phone": "registration.invalid_phone_or_none",
            "city": "registration.invalid_city",
            "passport_number": "registration.invalid_passport_number",
            "family": "registration.invalid_family",
            "member": "registration.invalid_member",
            "document": "registration.invalid_document",
            "resume": "answer.number",
            "disclosure": "answer.number",
            "detention_place": "registration.ask_detention_place",
        }
        if step in invalid:
            turn.say(invalid[str(step)])
            self.ask(turn, again=True)
        elif step == "change":
            self._ask_which(turn)
        elif step == "summary":
            turn.say(
                "registration.confirm",
                options=(Option("1", "option.confirm"), Option("2", "option.change")),
            )
        else:
            turn.say("answer.yes_no", options=yes_no())

    # -- by keypad -------------------------------------------------------------------------
    async def _handle_keypad(self, turn: Turn) -> bool:
        """A caller's keys: the same answers read and stored the same way, fewer questions.
        False when the keys answer nothing (the channel asks again its own way)."""
        state = turn.state
        step = str(state.step)
        if step == "consent":
            answer = yes_or_no(turn)
            if answer is None:
                return False
            if not answer:  # nothing was asked yet, so nothing is kept
                state.enter(None)
                turn.say("voice.registration.no_consent")
                return True
            state.data.update(consent=True, history=[])
        elif step == "country":
            countries = keypad_countries(self.vocab)
            picked = choice(turn, len(countries) + 1)
            if picked is None:
                return False
            if picked > len(countries):  # a country not in the list: a person asks it
                state.enter(None)
                turn.say("voice.registration.other_country")
                turn.signal(OpenHandoff(reason="registration_other_country"))
                return True
            self._store(turn, step, countries[picked - 1])
        elif step in KEYPAD_SPOKEN:
            self._store(turn, step, NAME_PLACEHOLDER)
        elif step in KEYPAD_STEPS:
            value = self._parsers[step](turn)
            if value is None:
                return False
            self._store(turn, step, value)
        else:
            return False
        state.step = next_step(self.answers(turn), keypad=True)
        if state.step == "confirm":
            await self._confirm(turn)
        else:
            self._ask_keypad(turn)
        return True

    def _ask_keypad(self, turn: Turn) -> None:
        step = str(turn.state.step)
        options: tuple[Option, ...] = ()
        if step == "country":
            countries = keypad_countries(self.vocab)
            options = (
                *(
                    Option(
                        str(i),
                        label=country_name(code, turn.language),
                        recording=f"country.{code}",
                    )
                    for i, code in enumerate(countries, 1)
                ),
                Option(str(len(countries) + 1), KEYPAD_COUNTRY_OTHER),
            )
        turn.say(KEYPAD_QUESTIONS[step], options=options)

    # -- steps -----------------------------------------------------------------------------
    def answers(self, turn: Turn) -> dict[str, Any]:
        return turn.state.data.setdefault("answers", {})

    def _consent(self, turn: Turn) -> bool:
        state = turn.state
        answer = yes_or_no(turn)
        if answer is None:
            return False
        early = state.data.pop("early", "")
        if not answer:
            state.enter(self.name, "no_consent")
            turn.say(
                "registration.no_consent",
                options=(Option("1", "option.human"), Option("2", "option.menu")),
            )
            return True
        state.data["consent"] = True
        state.data["history"] = []
        self._prefill(turn, early)
        self._advance(turn)
        return True

    def _prefill(self, turn: Turn, text: str) -> None:
        """Use what the person already said: "I am Nasiru from Nigeria, I am in Sebha"."""
        answers = self.answers(turn)
        if name := find_name(text, self.vocab):
            answers["name"] = name
        if country := resolve_country(text):
            answers["country"] = country
        if city := resolve_city(text):
            answers["city"] = city

    def _correct(self, turn: Turn) -> bool:
        """An answer to another question: "my city is Misrata", "I am a woman", "change my
        name". Each value goes only to the answer it is recognised as."""
        at_review = turn.state.step in ("summary", "change")
        found = self._recognised(turn, at_review=at_review)
        if not found:
            field = named_field(turn.text, self.vocab)
            if field is not None and (at_review or asks_to_change(turn.text, self.vocab)):
                self._edit(turn, field)
                return True
            return False
        answers = self.answers(turn)
        answers.update(found)
        drop_inapplicable(answers)
        turn.say("registration.corrected")
        if at_review:  # a change may open a question ("pregnant" after a change to woman)
            turn.state.step = next_step(answers)
        self.ask(turn)
        return True

    def _recognised(self, turn: Turn, *, at_review: bool) -> dict[str, Any]:
        """The answers this message gives, each recognised for what it is."""
        answers = self.answers(turn)
        sex = sex_statement(turn.text, self.vocab, bare=at_review)
        if sex is not None:  # "I am a woman" is about the sex, never a name
            return {"sex": sex} if sex != answers.get("sex") else {}
        found: dict[str, Any] = {}
        name = find_name(turn.text, self.vocab)
        if name and turn.state.step != "name" and name != answers.get("name"):
            found["name"] = name
        city = resolve_city(turn.text)
        if city and "city" in answers and city != answers["city"]:
            found["city"] = city
        country = resolve_country(turn.text)
        if country and "country" in answers and country != answers["country"]:
            found["country"] = country
        phone = parse_phone(turn.text)
        if phone and "phone" in answers and phone != answers["phone"]:
            found["phone"] = phone
        document = document_answer(turn.text, self.vocab)
        about_passport = at_review or named_field(turn.text, self.vocab) == "document"
        if document and about_passport and "document" in answers and not found:
            if document != answers["document"]:
                found["document"] = document
        return found

    def _said_sex(self, turn: Turn) -> bool:
        """At a question that takes any text, "I am a woman" corrects the sex, not the answer."""
        sex = sex_statement(turn.text, self.vocab)
        if sex is None:
            return False
        answers = self.answers(turn)
        answers["sex"] = sex
        drop_inapplicable(answers)
        turn.say("registration.corrected")
        self.ask(turn)
        return True

    def _change_request(self, turn: Turn) -> bool:
        """ "change my name", "the city is wrong", "غير الاسم": that question again, at once."""
        if not asks_to_change(turn.text, self.vocab):
            return False
        field = named_field(turn.text, self.vocab)
        if field is None:
            return False
        self._edit(turn, field)
        return True

    def _edit(self, turn: Turn, field: str) -> None:
        """Ask one answer's question again; the others are kept, the review follows."""
        answers = self.answers(turn)
        while not applicable(field, answers) and field in NEEDS:  # no passport: its number
            field = NEEDS[field]
        turn.state.step = field
        if field == "family":
            answers.pop("members", None)  # asked again, one by one
        self.ask(turn)

    def _ask_which(self, turn: Turn) -> None:
        fields = changeable(self.answers(turn))
        turn.say(
            "registration.which_change",
            options=tuple(
                Option(str(i), f"registration.field.{field}") for i, field in enumerate(fields, 1)
            ),
        )

    def _store(self, turn: Turn, step: str, value: Any) -> None:
        answers = self.answers(turn)
        if step == "member":
            answers.setdefault("members", []).append(value)
        elif step == "age":
            answers["age"], answers["birth_year"] = value
        else:
            answers[step] = value
        drop_inapplicable(answers)
        turn.state.data.setdefault("history", []).append(step)

    def _advance(self, turn: Turn) -> None:
        turn.state.step = next_step(self.answers(turn))
        self.ask(turn)

    def _back(self, turn: Turn) -> None:
        data = turn.state.data
        history: list[str] = data.setdefault("history", [])
        answers = self.answers(turn)
        if history:
            step = history.pop()
            if step == "member":
                answers.get("members", [None]).pop()
            else:
                answers.pop(step, None)
                if step == "age":
                    answers.pop("birth_year", None)
                if step == "violence":
                    data.pop("disclosure", None)
            turn.state.step = step
        turn.say("registration.back")
        self.ask(turn)

    def ask(self, turn: Turn, *, again: bool = False) -> None:
        step = turn.state.step
        answers = self.answers(turn)
        if step in VULNERABILITY_STEPS and not turn.state.data.get("vulnerability_intro"):
            turn.state.data["vulnerability_intro"] = True
            turn.say("registration.vulnerability_intro")
        if step == "name":
            if not again:
                turn.say("registration.ask_name")
        elif step == "country":
            common = self.vocab.common_countries
            options = (
                *(
                    Option(str(i), label=country_name(code, turn.language))
                    for i, code in enumerate(common, 1)
                ),
                Option(str(len(common) + 1), "registration.country_other"),
            )
            turn.say("registration.ask_country", options=options)
        elif step == "sex":
            turn.say(
                "registration.ask_sex",
                options=(
                    Option("1", "registration.sex.female"),
                    Option("2", "registration.sex.male"),
                ),
            )
        elif step == "phone":
            default = self._channel_phone(turn)
            if default and not turn.state.data.get("phone_declined"):
                turn.say("registration.ask_phone_default", phone=default, options=yes_no())
            elif not again:
                turn.say("registration.ask_phone")
        elif step == "document":
            turn.say(
                "registration.ask_document",
                options=tuple(
                    Option(str(i), f"registration.document.{name}")
                    for i, name in enumerate(DOCUMENTS, 1)
                ),
            )
        elif step == "member":
            number = len(answers.get("members", [])) + 1
            turn.say("registration.ask_member", number=number)
        elif step == "summary":
            self._show_summary(turn)
        elif step == "disclosure":
            turn.say(
                "registration.disclosure_offer",
                options=(
                    Option("1", "registration.disclosure.now"),
                    Option("2", "registration.disclosure.after"),
                ),
            )
        elif step in ("detained", *VULNERABILITY_STEPS):
            if turn.state.data.get("for_other"):  # "Are you pregnant?" is about the person
                turn.say("registration.for_other_note")
            turn.say(f"registration.ask_{step}", options=yes_no())
        elif not again:
            turn.say(f"registration.ask_{step}")

    def _channel_phone(self, turn: Turn) -> str | None:
        if turn.contact.channel not in PHONE_CHANNELS or turn.state.data.get("for_other"):
            return None
        address = turn.contact.address.removeprefix("whatsapp:")
        if address.isdigit():  # WhatsApp Cloud's wa_id: the international number without "+"
            address = "+" + address
        return parse_phone(address)

    # -- a disclosure ------------------------------------------------------------------------
    def _acknowledge_disclosure(self, turn: Turn) -> None:
        turn.state.data["disclosure"] = "asked"
        turn.state.step = "disclosure"
        turn.say("registration.disclosure_ack")
        self.ask(turn)

    def _disclosure(self, turn: Turn) -> bool:
        """1: a person now (the registration waits, CONTINUE finishes it); 2: after it."""
        state = turn.state
        picked = choice(turn, 2)
        if picked is None and turn.parse.intent == "talk_to_human":
            picked = 1
        if picked is None:
            answer = yes_or_no(turn)
            picked = None if answer is None else (1 if answer else 2)
        if picked is None:
            return False
        state.step = next_step(self.answers(turn))
        if picked == 2:
            state.data["disclosure"] = "after"
            turn.say("registration.disclosure_after")
            self.ask(turn)
            return True
        state.data["disclosure"] = "now"
        turn.signal(OpenHandoff(reason="disclosure", priority="urgent"))
        turn.say("registration.disclosure_now")
        state.pause()  # kept to finish once the person has talked to someone
        return True

    # -- answer parsers ----------------------------------------------------------------------
    def _parse_name(self, turn: Turn) -> str | None:
        return find_name(turn.text, self.vocab) or valid_name(turn.text)

    def _parse_country(self, turn: Turn) -> str | None:
        common = self.vocab.common_countries
        picked = choice(turn, len(common) + 1)
        if picked is not None:
            if picked <= len(common):
                return common[picked - 1]
            return None  # "other": they write the name next
        return resolve_country(turn.text)

    def _parse_age(self, turn: Turn) -> tuple[int, int] | None:
        today = date.today()
        born = parse_date(turn.text)
        if born is not None and 1900 < born.year <= today.year:
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            return (age, born.year) if 0 <= age <= 110 else None
        number = parse_number(turn.text, turn.language)
        if number is not None and 1900 < number <= today.year:
            return today.year - number, number  # a year of birth
        if number is not None and 0 < number <= 110:
            return number, today.year - number
        return None

    def _parse_sex(self, turn: Turn) -> str | None:
        answer = normalize(turn.text)
        if answer == "1" or answer in self.vocab.female:
            return "female"
        if answer == "2" or answer in self.vocab.male:
            return "male"
        return sex_statement(turn.text, self.vocab, bare=True)  # "I am a woman"

    def _parse_document(self, turn: Turn) -> str | None:
        picked = choice(turn, len(DOCUMENTS))
        if picked is not None:
            return DOCUMENTS[picked - 1]
        if answer := document_answer(turn.text, self.vocab):
            return answer
        has_one = yes_or_no(turn)  # "yes" I have one, "no" I have none
        return None if has_one is None else ("valid" if has_one else "none")

    def _declines_channel_phone(self, turn: Turn) -> bool:
        if not self._channel_phone(turn) or turn.state.data.get("phone_declined"):
            return False
        if yes_or_no(turn) is False and parse_phone(turn.text) is None:
            turn.state.data["phone_declined"] = True
            return True
        return False

    def _parse_phone(self, turn: Turn) -> str | None:
        default = self._channel_phone(turn)
        offered = default is not None and not turn.state.data.get("phone_declined")
        if offered and yes_or_no(turn):
            return default
        phone = parse_phone(turn.text)
        none = turn.command in ("skip", "no_phone") or yes_or_no(turn) is False
        if phone is None and (turn.command == "no_phone" or (none and not offered)):
            # no phone of their own (a shared one, the web chat): reached in this conversation
            return NO_PHONE
        return phone

    def _parse_passport(self, turn: Turn) -> str | None:
        if turn.command == "skip":
            return ""
        compact = re.sub(r"[\s-]", "", turn.text).upper()
        return compact if _PASSPORT.fullmatch(compact) else None

    def _parse_family(self, turn: Turn) -> int | None:
        number = parse_number(turn.text, turn.language)
        folded = normalize(turn.text)
        if number is None and (yes_or_no(turn) is False or folded in self.vocab.alone):
            number = 0
        return number if number is not None and 0 <= number <= 20 else None

    def _parse_member(self, turn: Turn) -> dict[str, Any] | None:
        age = parse_number(turn.text, turn.language)
        relation = " ".join(w for w in turn.text.split() if not any(c.isdigit() for c in w))
        relation = relation.strip(".,;:-")
        if age is None or not 0 <= age <= 110 or not valid_name(relation):
            return None
        return {"relation": relation[:40], "age": age}

    # -- summary and confirmation ------------------------------------------------------------
    def _show_summary(self, turn: Turn) -> None:
        a = self.answers(turn)
        yes, no = Text("registration.value.yes"), Text("registration.value.no")
        document = a.get("document")
        if document and a.get("passport_number"):  # the number is sent: shown too
            passport: Text | str = Text(
                f"registration.document.{document}_number", {"number": a["passport_number"]}
            )
        else:
            passport = Text(f"registration.document.{document}") if document else ""
        detained: Text = no
        if a.get("detained"):
            place = a.get("detention_place")
            detained = Text("registration.value.detained_at", {"place": place}) if place else yes
        turn.say(
            "registration.summary",
            name=a.get("name", ""),
            country=country_name(a.get("country", ""), turn.language),
            age=a.get("age", ""),
            sex=Text(f"registration.sex.{a['sex']}") if a.get("sex") else "",
            phone=a.get("phone") or Text("registration.value.no_phone"),
            city=self.city_name(a["city"], turn.language) if a.get("city") else "",
            detained=detained,
            document=passport,
        )
        family = int(a.get("family", 0))
        if family:
            turn.say("registration.family_count", count=family)
        turn.say(
            "registration.confirm",
            options=(Option("1", "option.confirm"), Option("2", "option.change")),
        )

    async def _summary(self, turn: Turn) -> bool:
        """The review: 1 confirms; 2, "no" or "wrong" lists the answers by number; an answer
        said ("I am a woman") or named ("the city is wrong") changes that answer."""
        state = turn.state
        if state.step == "change":
            fields = changeable(self.answers(turn))
            picked = choice(turn, len(fields))
            if picked is not None:
                self._edit(turn, fields[picked - 1])
                return True
            if self._correct(turn):
                return True
            return False  # asked again which one, with the numbered list
        picked = choice(turn, 2)
        if picked is None and self._correct(turn):
            return True
        answer = yes_or_no(turn) if picked is None else picked == 1
        if answer is None:
            return False
        if not answer:
            state.step = "change"
            self._ask_which(turn)
            return True
        await self._confirm(turn)
        return True

    async def _confirm(self, turn: Turn) -> None:
        if turn.registrations is None:
            raise RuntimeError("registration needs the case service")
        answers = self.answers(turn)
        drop_inapplicable(answers)
        priority, flags = priority_of(answers)
        review = answers.get("country") in self.vocab.refugee_counselling
        for_other = bool(turn.state.data.get("for_other"))
        record = dict(answers)
        record["family"] = answers.get("members", [])
        if turn.keypad:
            record["phone"] = self._channel_phone(turn) or turn.contact.address
            # only how many travel along is asked by keypad; operators complete the rest
            family = int(answers.get("family", 0))
            record["family"] = [{"relation": "", "age": None} for _ in range(family)]
        case = await turn.registrations.register(
            answers=record,
            contact_id=None if for_other else turn.contact.id,
            collected_by=turn.contact.id if for_other else None,
            priority=priority,
            vulnerabilities=flags,
            needs_review=review or turn.keypad,  # by keypad the name is only on the recording
            language=turn.language,
            channel=turn.contact.channel,
        )
        disclosure = turn.state.data.get("disclosure")
        turn.state.paused.pop(self.name, None)
        turn.state.enter(None)
        if turn.keypad:  # the channel reads the reference out its own way (spelled)
            if case.existing:
                turn.say("voice.registration.existing")
            else:
                turn.say("voice.registration.done")
                turn.say("voice.registration.review")
            return
        if disclosure == "after":  # as the person chose: a person now, with the registration
            turn.signal(
                OpenHandoff(
                    reason="disclosure",
                    priority="urgent",
                    registration_id=getattr(case, "id", None),
                )
            )
        if case.existing:
            turn.say("registration.existing", reference=case.reference)
        else:
            # a mobilizer is told about the person, who is not the one writing
            done = "registration.done_for_other" if for_other else "registration.done"
            turn.say(done, reference=case.reference)
            if priority == "high":
                turn.say("registration.priority")
            if review:
                turn.signal(
                    OpenHandoff(
                        reason="refugee_counselling",
                        priority="normal",
                        registration_id=getattr(case, "id", None),
                    )
                )
                turn.say("registration.refugee_counselling")
            if not for_other:  # the mobilizer's message already says what comes next
                if answers.get("phone"):
                    turn.say("registration.next_steps", phone=answers["phone"])
                else:
                    turn.say("registration.next_steps_here")
        if disclosure == "after":
            turn.say("registration.disclosure_handoff")
        if for_other:
            turn.state.enter("mobilizer", "another")
            turn.say("mobilizer.next_person", reference=case.reference, options=yes_no())
