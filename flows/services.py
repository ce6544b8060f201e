"""Services and help: the person names a need and a city, the bot lists matching services.

The directory is data (``flows/content/services.yml``, sample data that staff replace): needs
with their keywords per language, localized city names, and service entries (need, cities,
name, days, contact in each language). The flow asks for what is missing — the need (numbered
1-6), then the city — and takes both from the first message when it already says them:
"where is the clinic in Sabha" is answered at once with the health services in Sebha.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.answers import choice
from flows.base import Flow, Option, RememberCity, Text, Turn
from nlu import resolve_city, yamlfile
from nlu.normalize import normalize

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).with_name("content") / "services.yml"
FALLBACK_LANGUAGE = "en"
FIELDS = ("name", "days", "contact")
MAX_ENTRIES = 3  # in the person's city
MAX_ELSEWHERE = 2  # when nothing is listed in the person's city
# NLU intents that name a need (the intent that started the flow, or a clear one later).
INTENT_NEEDS: Mapping[str, str] = {
    "health": "health",
    "basic_needs": "basic_needs",
    "protection": "protection",
}
# After an answer, thanks keeps the flow open (another city still works), goodbye ends it.
CLOSING: Mapping[str, str] = {"thanks": "reply.thanks", "goodbye": "reply.goodbye"}
START_INTENT_CONFIDENCE = 0.5  # the router already started the flow on this intent
STEP_INTENT_CONFIDENCE = 0.8  # later, only a clear intent changes the need

_ARABIC_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_LATIN_SUFFIX = 2  # "clinic" matches "clinics", "médecin" matches "médecins"


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    needs: tuple[str, ...]
    cities: tuple[str, ...]
    name: Mapping[str, str]
    days: Mapping[str, str]
    contact: Mapping[str, str]

    def text(self, field: str, language: str) -> str:
        """`field` (name, days, contact) in `language`, else in English."""
        texts: Mapping[str, str] = getattr(self, field)
        return texts.get(language) or texts.get(FALLBACK_LANGUAGE) or next(iter(texts.values()))


def _tokens(text: str) -> list[str]:
    """Folded words; an apostrophe separates words ("d'asile" → "d", "asile")."""
    return normalize(re.sub(r"['’ʼ`]", " ", text)).split()


def _is_arabic(token: str) -> bool:
    return bool(token) and "\u0600" <= token[0] <= "\u06ff"


def _forms(token: str) -> set[str]:
    """A folded token and, for Arabic, the token without its proclitics (بالمستشفى → مستشفي)."""
    forms = {token}
    if _is_arabic(token):
        for prefix in _ARABIC_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= 3:
                forms.add(token[len(prefix) :])
    return forms


def _word_matches(keyword: str, token: str) -> bool:
    for form in _forms(token):
        if form == keyword:
            return True
        if (
            not _is_arabic(keyword)
            and len(keyword) >= 4
            and form.startswith(keyword)
            and len(form) - len(keyword) <= _LATIN_SUFFIX
            and form[len(keyword) :].isalpha()
        ):
            return True
    return False


def _keywords_for(token: str) -> frozenset[str]:
    """Every keyword `token` matches (see _word_matches): its forms, and for a Latin form
    the stems it extends by up to _LATIN_SUFFIX letters."""
    found: set[str] = set()
    for form in _forms(token):
        found.add(form)
        if _is_arabic(form):
            continue
        for cut in range(1, _LATIN_SUFFIX + 1):
            stem = form[:-cut]
            if len(stem) >= 4 and form[-cut:].isalpha():
                found.add(stem)
    return frozenset(found)


class ServiceDirectory:
    """The needs, their keywords and the service entries, read from the YAML file."""

    def __init__(
        self,
        needs: Sequence[str],
        services: Sequence[Service],
        *,
        keywords: Mapping[str, Iterable[str]] | None = None,
        city_names: Mapping[str, Mapping[str, str]] | None = None,
        languages: Sequence[str] = ("en", "ar", "fr", "ha"),
        sample: bool = True,
    ) -> None:
        self.needs: tuple[str, ...] = tuple(needs)
        self.services: tuple[Service, ...] = tuple(services)
        self.languages = tuple(languages)
        self.sample = sample
        self.city_names = {city: dict(names) for city, names in (city_names or {}).items()}
        # (need, folded keyword tokens), longest phrases first.
        phrases: list[tuple[str, tuple[str, ...]]] = []
        for need, words in (keywords or {}).items():
            for word in words:
                folded = tuple(_tokens(str(word)))
                if folded:
                    phrases.append((need, folded))
        phrases.sort(key=lambda item: -len(item[1]))
        self._phrases = phrases
        self._by_first_word: dict[str, list[int]] = {}
        for index, (_need, phrase) in enumerate(phrases):
            self._by_first_word.setdefault(phrase[0], []).append(index)
        unknown = {n for s in self.services for n in s.needs} - set(self.needs)
        if unknown:
            raise ValueError(f"services refer to needs not declared under needs: {sorted(unknown)}")

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> ServiceDirectory:
        raw = yamlfile.safe_load(Path(path).read_text(encoding="utf-8"))
        directory = cls.from_dict(raw or {})
        for problem in directory.problems():
            log.warning("service directory %s: %s", path, problem)
        if directory.sample:
            log.info("service directory %s is SAMPLE data", path)
        return directory

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ServiceDirectory:
        needs_raw = raw.get("needs") or {}
        if not isinstance(needs_raw, Mapping) or not needs_raw:
            raise ValueError("the service directory needs a `needs:` mapping")
        keywords: dict[str, list[str]] = {}
        for need, spec in needs_raw.items():
            words: list[str] = []
            for by_language in ((spec or {}).get("keywords") or {}).values():
                words.extend(str(word) for word in by_language or [])
            keywords[str(need)] = words
        services = [cls._service(entry) for entry in raw.get("services") or []]
        ids = [service.id for service in services]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate service ids: {duplicates}")
        return cls(
            [str(need) for need in needs_raw],
            services,
            keywords=keywords,
            city_names=raw.get("city_names") or {},
            languages=tuple(raw.get("languages") or ("en", "ar", "fr", "ha")),
            sample=bool(raw.get("sample_data", True)),
        )

    @staticmethod
    def _service(entry: Mapping[str, Any]) -> Service:
        ident = str(entry.get("id") or "")
        if not ident:
            raise ValueError(f"a service without id: {entry!r}")
        need = entry.get("need")
        needs = tuple(str(n) for n in (need if isinstance(need, list) else [need]) if n)
        cities = tuple(str(c) for c in entry.get("cities") or [])
        if not needs or not cities:
            raise ValueError(f"service {ident}: `need` and `cities` are required")
        texts: dict[str, dict[str, str]] = {}
        for field in FIELDS:
            value = entry.get(field)
            if not isinstance(value, Mapping) or not value:
                raise ValueError(f"service {ident}: `{field}` must map language -> text")
            texts[field] = {str(lang): str(text).strip() for lang, text in value.items() if text}
        return Service(ident, needs, cities, texts["name"], texts["days"], texts["contact"])

    def problems(self) -> list[str]:
        """What staff should fix: missing translations, cities the bot cannot recognise."""
        found: list[str] = []
        for service in self.services:
            for field in FIELDS:
                texts: Mapping[str, str] = getattr(service, field)
                missing = [lang for lang in self.languages if not texts.get(lang)]
                if missing:
                    found.append(f"{service.id}: {field} missing in {', '.join(missing)}")
            for city in service.cities:
                if resolve_city(city) != city:
                    found.append(f"{service.id}: unknown city {city!r}")
        for need in self.needs:
            if not any(need in service.needs for service in self.services):
                found.append(f"no service for need {need!r}")
        return found

    # -- queries -------------------------------------------------------------------------
    @property
    def cities(self) -> list[str]:
        seen: dict[str, None] = {}
        for service in self.services:
            seen.update(dict.fromkeys(service.cities))
        return list(seen)

    def find(self, need: str, city: str) -> list[Service]:
        """Entries of `need` in `city`: those of that city alone first, then in file order."""
        found = [s for s in self.services if need in s.needs and city in s.cities]
        return sorted(found, key=lambda s: len(s.cities) > 1)

    def elsewhere(self, need: str, city: str) -> list[Service]:
        """Entries of `need` that are not in `city`, in file order."""
        return [s for s in self.services if need in s.needs and city not in s.cities]

    def city_name(self, city: str, language: str) -> str:
        return self.city_names.get(city, {}).get(language) or city

    def need_in(self, text: str) -> str | None:
        """The need the text names by keyword ("sbitar" → health); None when none or a tie."""
        tokens = _tokens(text)
        # What each word can match, once: then only phrases starting with one of those are
        # tried, in the directory's order (longest first), instead of every phrase everywhere.
        matches = [_keywords_for(token) for token in tokens]
        present: set[str] = set().union(*matches) if matches else set()
        candidates = sorted({i for word in present for i in self._by_first_word.get(word, ())})
        taken = [False] * len(tokens)
        counts: dict[str, int] = {}
        for index in candidates:
            need, phrase = self._phrases[index]
            size = len(phrase)
            for start in range(len(tokens) - size + 1):
                if any(taken[start : start + size]):
                    continue
                if all(word in matches[start + k] for k, word in enumerate(phrase)):
                    for k in range(start, start + size):
                        taken[k] = True
                    counts[need] = counts.get(need, 0) + 1
        if not counts:
            return None
        best = max(counts.values())
        winners = [need for need in self.needs if counts.get(need) == best]
        return winners[0] if len(winners) == 1 else None

    def needs_in(self, text: str) -> list[str]:
        """Every need the text names by keyword, in the directory's order ("my wife is sick
        and we have no food": health and basic needs)."""
        tokens = _tokens(text)
        matches = [_keywords_for(token) for token in tokens]
        present: set[str] = set().union(*matches) if matches else set()
        found: set[str] = set()
        for index in sorted({i for word in present for i in self._by_first_word.get(word, ())}):
            need, phrase = self._phrases[index]
            size = len(phrase)
            if need not in found and any(
                all(word in matches[start + k] for k, word in enumerate(phrase))
                for start in range(len(tokens) - size + 1)
            ):
                found.add(need)
        return [need for need in self.needs if need in found]


_DIGITS_ONLY = re.compile(r"^\s*\d+\s*$")


class ServicesFlow(Flow):
    """Steps: need → city → answer ("more": another city, or 1-6 for another need)."""

    name = "services"

    def __init__(self, directory: ServiceDirectory) -> None:
        self.directory = directory

    # -- the flow ------------------------------------------------------------------------
    async def start(self, turn: Turn) -> None:
        state = turn.state
        saved = state.paused.pop(self.name, None)
        if turn.command == "continue" and saved and saved.get("step"):
            state.enter(self.name, str(saved["step"]))
            state.data.update(saved.get("data") or {})
            if state.step == "more" and self._known(turn):
                self._answer(turn)
            else:
                await self.reask(turn)
            return
        state.enter(self.name, "need")
        # The message that started the flow may already say the need and the city. A bare
        # number is the main menu's choice, not a need.
        if not _DIGITS_ONLY.match(turn.text):
            need = self._need(turn, START_INTENT_CONFIDENCE)
            if need is not None:
                state.data["need"] = need
            self._remember_other_needs(turn, need)
            city = resolve_city(turn.text)
            if city is not None:
                state.data["city"] = city
                turn.signal(RememberCity(city))
        self._next(turn)

    async def handle(self, turn: Turn) -> bool:
        step = turn.state.step
        data = turn.state.data
        number = choice(turn, len(self.directory.needs))
        need = (
            self.directory.needs[number - 1]
            if number is not None and step in ("need", "more")
            else None
        )
        if need is None and not _DIGITS_ONLY.match(turn.text):
            threshold = START_INTENT_CONFIDENCE if step == "need" else STEP_INTENT_CONFIDENCE
            need = self._need(turn, threshold)
        city = None if _DIGITS_ONLY.match(turn.text) else resolve_city(turn.text)

        if step == "need":
            if need is None and city is None:
                return False
        elif step == "city":
            if city is None:
                return False
        elif step == "more":
            if need is None and city is None:
                return self._closing(turn)
        else:  # an unknown step (an older version's state): start again
            turn.state.enter(self.name, "need")
            self._next(turn)
            return True

        if need is not None:
            data["need"] = need
            if number is None:
                self._remember_other_needs(turn, need)
        if city is not None:
            data["city"] = city
            turn.signal(RememberCity(city))
        self._next(turn)
        return True

    async def reask(self, turn: Turn) -> None:
        step = turn.state.step
        if step == "city":
            turn.say("services.ask_city")
        elif step == "more":
            turn.say("services.more")
        else:
            self._ask_need(turn)

    # -- steps ---------------------------------------------------------------------------
    def _next(self, turn: Turn) -> None:
        data = turn.state.data
        if data.get("need") not in self.directory.needs:
            data.pop("need", None)
            turn.state.step = "need"
            self._ask_need(turn)
        elif not data.get("city"):
            turn.state.step = "city"
            turn.say("services.ask_city")
        else:
            self._answer(turn)

    def _ask_need(self, turn: Turn) -> None:
        turn.say(
            "services.ask_need",
            options=tuple(
                Option(str(i), f"services.need.{need}")
                for i, need in enumerate(self.directory.needs, start=1)
            ),
        )

    def _answer(self, turn: Turn) -> None:
        data = turn.state.data
        need, city = str(data["need"]), str(data["city"])
        language = turn.language
        label = Text(f"services.need.{need}")
        place = self.directory.city_name(city, language)
        found = self.directory.find(need, city)
        if found:
            turn.say("services.result_header", need=label, city=place)
            shown = found[:MAX_ENTRIES]
        else:
            turn.say("services.none", need=label, city=place)
            shown = self.directory.elsewhere(need, city)[:MAX_ELSEWHERE]
        for service in shown:
            turn.say(
                "services.entry",
                name=service.text("name", language),
                days=service.text("days", language),
                contact=service.text("contact", language),
            )
        if shown and self.directory.sample:
            turn.say("services.sample_notice")
        others = [n for n in data.pop("also", []) if n in self.directory.needs and n != need]
        if others:
            # "sick and no food": one answer at a time, the other need one number away
            turn.say(
                "services.also_asked",
                options=tuple(
                    Option(str(self.directory.needs.index(n) + 1), f"services.need.{n}")
                    for n in others
                ),
            )
        turn.say("services.more")
        turn.state.step = "more"

    # -- reading answers -----------------------------------------------------------------
    def _need(self, turn: Turn, threshold: float) -> str | None:
        """The need a message names: by keyword, else by a clear NLU intent."""
        need = self.directory.need_in(turn.text)
        if need is not None:
            return need
        parse = turn.parse
        mapped = INTENT_NEEDS.get(parse.intent)
        if mapped in self.directory.needs and parse.confidence >= threshold:
            return mapped
        return None

    def _remember_other_needs(self, turn: Turn, need: str | None) -> None:
        """The needs the message names besides the one answered, offered after the answer."""
        others = [n for n in self.directory.needs_in(turn.text) if n != need]
        if others:
            turn.state.data["also"] = others
        else:
            turn.state.data.pop("also", None)

    def _closing(self, turn: Turn) -> bool:
        """Thanks or goodbye after an answer: answered, not a misunderstanding."""
        parse = turn.parse
        if parse.confidence < STEP_INTENT_CONFIDENCE or parse.intent not in CLOSING:
            return False
        turn.say(CLOSING[parse.intent])
        if parse.intent == "goodbye":
            turn.state.enter(None)
        return True

    def _known(self, turn: Turn) -> bool:
        data = turn.state.data
        return data.get("need") in self.directory.needs and bool(data.get("city"))
