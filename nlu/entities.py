"""Entity extraction with offsets into the original text, and resolvers the flows call directly.

Entities: ``country`` (ISO 3166 alpha-2), ``city`` (canonical Libyan city), ``phone`` (E.164),
``number`` (digits), ``date`` (ISO date, or a bare year), ``case_ref`` (``LY-XXXXXX``).

Countries and cities come from the gazetteers (``nlu/gazetteers/countries.yml``,
``cities.yml``) plus the country names pycountry ships; they are matched on folded tokens
(see :mod:`nlu.normalize`), longest phrase first, with Arabic clitics (و ف ب ل ك ال) peeled off
and, for words of five letters or more, one typo allowed (precomputed deletion index).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import yamlfile
from .languages import load_languages
from .normalize import ascii_digits, normalize, normalize_with_offsets
from .types import Entity

__all__ = [
    "GAZETTEER_DIR",
    "EntityExtractor",
    "Gazetteer",
    "find_case_ref",
    "find_incomplete_case_ref",
    "get_extractor",
    "parse_date",
    "parse_number",
    "parse_phone",
    "resolve_city",
    "resolve_country",
]

GAZETTEER_DIR = Path(__file__).with_name("gazetteers")
EXTRACTOR = "hotline"

# --------------------------------------------------------------------------------------------
# Gazetteer matching


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Folded tokens (apostrophes split words: "l'Égypte" -> "l", "egypte") with offsets."""
    norm, offs = normalize_with_offsets(text.replace("'", " ").replace("’", " "))
    out: list[tuple[str, int, int]] = []
    for m in re.finditer(r"\S+", norm):
        s, e = m.start(), m.end()
        out.append((m.group(), offs[s], offs[e - 1] + 1))
    return out


def _is_arabic(tok: str) -> bool:
    return bool(tok) and "\u0600" <= tok[0] <= "\u06ff"


def _arabic_forms(tok: str) -> list[str]:
    """The token with Arabic proclitics peeled off: وبالسودان -> بالسودان, السودان, سودان."""
    forms = [tok]
    t = tok
    if len(t) > 3 and t[0] in "وف":
        t = t[1:]
        forms.append(t)
    if len(t) > 3 and t.startswith("لل"):
        forms.append("ال" + t[2:])
        forms.append(t[2:])
    elif len(t) > 3 and t[0] in "بلك":
        forms.append(t[1:])
        t2 = t[1:]
        if t2.startswith("ال") and len(t2) > 3:
            forms.append(t2[2:])
    if t.startswith("ال") and len(t) > 3:
        forms.append(t[2:])
    return forms


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _within_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance(a, b) <= 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


@dataclass(frozen=True, slots=True)
class Match:
    value: str
    start_tok: int
    end_tok: int  # exclusive
    exact: bool


class Gazetteer:
    """Phrase -> value matcher over folded tokens."""

    def __init__(
        self,
        entries: Mapping[str, Iterable[str]],
        fuzzy_min_len: int = 5,
        stop_words: Container[str] = frozenset(),
    ) -> None:
        self.phrases: dict[tuple[str, ...], str] = {}
        self.max_len = 1
        for value, names in entries.items():
            for name in names:
                toks = tuple(normalize(name.replace("'", " ").replace("’", " ")).split())
                if not toks:
                    continue
                # first writer wins: an explicit gazetteer entry beats a pycountry name
                self.phrases.setdefault(toks, value)
                self.max_len = max(self.max_len, len(toks))
        # first tokens of the phrases of several words: only there is a longer match tried
        self.phrase_starts = frozenset(toks[0] for toks in self.phrases if len(toks) > 1)
        self.fuzzy_min_len = fuzzy_min_len
        self.stop_words = stop_words  # folded words never corrected to an entry
        # a word's value does not depend on its message: remember the last few thousand
        self._lookup = lru_cache(maxsize=8192)(self._lookup_word)
        # symmetric-deletion index of one-word entries for edit distance 1
        self.deletes: dict[str, set[str]] = {}
        for toks in self.phrases:
            if len(toks) == 1 and len(toks[0]) >= fuzzy_min_len:
                word = toks[0]
                for d in (*_deletes(word), word):
                    self.deletes.setdefault(d, set()).add(word)

    def lookup_word(self, tok: str, fuzzy: bool = True) -> tuple[str, bool] | None:
        """Value of a single folded token (exact or within one edit); (value, exact)."""
        return self._lookup(tok, fuzzy)

    def clear_cache(self) -> None:
        """Forget the remembered look-ups."""
        self._lookup.cache_clear()

    def _lookup_word(self, tok: str, fuzzy: bool) -> tuple[str, bool] | None:
        forms = _arabic_forms(tok) if _is_arabic(tok) else [tok]
        for f in forms:
            v = self.phrases.get((f,))
            if v is not None:
                return v, True
        if not fuzzy or tok in self.stop_words:
            return None
        for f in forms:
            if len(f) < self.fuzzy_min_len or f in self.stop_words:
                continue
            hits: set[str] = set()
            for d in (f, *_deletes(f)):
                for word in self.deletes.get(d, ()):
                    if _within_one(f, word):
                        hits.add(word)
            values = {self.phrases[(w,)] for w in hits}
            if len(values) == 1:
                return values.pop(), False
        return None

    def find(self, tokens: Sequence[str], fuzzy: bool = True) -> list[Match]:
        """Non-overlapping matches, longest phrase first, left to right."""
        out: list[Match] = []
        i, n = 0, len(tokens)
        while i < n:
            hit: Match | None = None
            if tokens[i] in self.phrase_starts:
                for length in range(min(self.max_len, n - i), 1, -1):
                    v = self.phrases.get(tuple(tokens[i : i + length]))
                    if v is not None:
                        hit = Match(v, i, i + length, True)
                        break
            if hit is None:
                found = self._lookup(tokens[i], fuzzy)
                if found is not None:
                    hit = Match(found[0], i, i + 1, found[1])
            if hit is not None:
                out.append(hit)
                i = hit.end_tok
            else:
                i += 1
        return out

    def resolve(self, text: str) -> str | None:
        toks = [t for t, _, _ in _tokens(text)]
        if not toks:
            return None
        whole = self.phrases.get(tuple(toks))
        if whole is not None:
            return whole
        matches = self.find(toks)
        exact = [m for m in matches if m.exact]  # "garina Misrata": Misrata, not a near-miss
        return (exact or matches)[0].value if matches else None


# --------------------------------------------------------------------------------------------
# Gazetteer data


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except yamlfile.YAMLError:
        return None


def _strings(node: Any) -> list[str]:
    """Every string in a nested YAML node (lists, dicts of lists, ...)."""
    if node is None:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, int | float):
        return []
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in _strings(v)]
    return []


def _entries(doc: Any, key_hint: str) -> dict[str, list[str]]:
    """{value: [names]} from ``{value: [names]}`` / ``{value: {lang: [names]}}`` /
    ``{<key_hint>: {...}}`` / ``[{code|name: value, variants: [...]}, ...]``."""
    if isinstance(doc, dict) and key_hint in doc and isinstance(doc[key_hint], dict | list):
        doc = doc[key_hint]
    out: dict[str, list[str]] = {}
    if isinstance(doc, dict):
        for value, names in doc.items():
            if isinstance(names, dict | list | str):
                out[str(value)] = [str(value), *_strings(names)]
    elif isinstance(doc, list):
        for item in doc:
            if not isinstance(item, dict):
                continue
            value = (
                item.get("code") or item.get("iso2") or item.get("canonical") or item.get("name")
            )
            if value:
                rest = {k: v for k, v in item.items() if k not in ("code", "iso2", "canonical")}
                out[str(value)] = [str(value), *_strings(rest)]
    return out


# Country names in pycountry that are everyday words in our languages' messages.
_PYCOUNTRY_SKIP = {"jersey", "turkey", "georgia", "guernsey", "chile", "niue"}
# Words that must never be read as a country or city, even within one typo.
_STOP_WORDS = (
    "child",
    "chile",
    "china",
    "being",
    "women",
    "again",
    "nigga",
    "sudah",
    "malam",
    "mata",
    "tripple",
    "gharar",
    "brake",
    "break",
    "bread",
    "denial",
    "sabah",
    "sabahe",
    "sabahu",
)
_EXCLUDED_COUNTRIES = {"LY"}  # where the migrants are: not a country of origin/return


@lru_cache(maxsize=4)
def _country_entries(gazetteer_dir: Path) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for code, names in _entries(_read_yaml(gazetteer_dir / "countries.yml"), "countries").items():
        if len(code) == 2 and code.isalpha():
            entries.setdefault(code.upper(), []).extend(n for n in names if n != code)
    try:
        import pycountry

        for c in pycountry.countries:
            for n in (c.name, getattr(c, "common_name", None)):
                if n and normalize(n) not in _PYCOUNTRY_SKIP:
                    entries.setdefault(c.alpha_2, []).append(n)
    except ImportError:  # pragma: no cover - pycountry is a dependency
        pass
    return entries


# Used only when nlu/gazetteers/cities.yml is missing.
_CITY_FALLBACK = {
    "Tripoli": ["Tripoli", "Trablus", "طرابلس"],
    "Misrata": ["Misrata", "Misurata", "مصراتة"],
    "Benghazi": ["Benghazi", "بنغازي"],
    "Sebha": ["Sebha", "Sabha", "سبها"],
    "Zwara": ["Zwara", "Zuwara", "زوارة"],
    "Azzawya": ["Azzawya", "Zawiya", "الزاوية"],
    "Sabratha": ["Sabratha", "صبراتة"],
    "Bani Waleed": ["Bani Waleed", "بني وليد"],
    "Sirt": ["Sirt", "Sirte", "سرت"],
    "Tobruk": ["Tobruk", "طبرق"],
    "Albayda": ["Albayda", "Bayda", "البيضاء"],
    "Derna": ["Derna", "درنة"],
    "Alkufra": ["Alkufra", "Kufra", "الكفرة"],
    "Ghat": ["Ghat", "غات"],
    "Algatroun": ["Algatroun", "Qatrun", "القطرون"],
    "Ghadamis": ["Ghadamis", "غدامس"],
    "Azzintan": ["Azzintan", "Zintan", "الزنتان"],
    "Ghiryan": ["Ghiryan", "Gharyan", "غريان"],
    "Murzuq": ["Murzuq", "مرزق"],
    "Brak": ["Brak", "براك"],
}


@lru_cache(maxsize=4)
def _city_entries(gazetteer_dir: Path) -> dict[str, list[str]]:
    entries = _entries(_read_yaml(gazetteer_dir / "cities.yml"), "cities")
    return entries or {k: list(v) for k, v in _CITY_FALLBACK.items()}


@lru_cache(maxsize=4)
def _number_words(gazetteer_dir: Path) -> dict[str, dict[str, int]]:
    """{language: {folded word: value}} from numbers.yml."""
    doc = _read_yaml(gazetteer_dir / "numbers.yml")
    if isinstance(doc, dict) and isinstance(doc.get("numbers"), dict):
        doc = doc["numbers"]
    out: dict[str, dict[str, int]] = {}
    if not isinstance(doc, dict):
        return out
    for lang, words in doc.items():
        if lang == "connectors":  # not a language: see _number_connectors
            continue
        table: dict[str, int] = {}
        if isinstance(words, dict):
            for w, v in words.items():
                if isinstance(v, int):
                    table[normalize(str(w))] = v
                elif isinstance(v, list | str):  # {value: [words]} layout
                    try:
                        num = int(w)
                    except (TypeError, ValueError):
                        continue
                    for name in _strings(v):
                        table[normalize(name)] = num
        out[str(lang)] = {k: v for k, v in table.items() if k}
    return out


@lru_cache(maxsize=4)
def _number_connectors(gazetteer_dir: Path) -> frozenset[str]:
    """Words that join two number words into one number ("twenty and five"): the built-in ones
    and numbers.yml's `connectors` list, so a language that joins with its own word (Somali
    "labaatan iyo shan") needs no code."""
    doc = _read_yaml(gazetteer_dir / "numbers.yml")
    extra = doc.get("connectors") if isinstance(doc, dict) else None
    return frozenset(_CONNECTORS) | {normalize(w) for w in _strings(extra or [])}


# --------------------------------------------------------------------------------------------
# Numbers, dates, phones, case references

# Words that look like numbers but are mostly articles / pronouns.
_NUMBER_WORD_SKIP = {"a", "an", "un", "une", "i", "da"}
_CONNECTORS = {"and", "et", "da", "sha", "و", "wa", "w", "-"}
_ASCII_DIGIT = re.compile(r"[0-9]")
_DIGITS_RE = re.compile(r"(?<![\w.,/:+-])\d{1,9}(?:[.,]\d+)?(?![\w/:-]|[.,]\d)")
_YEAR_RE = re.compile(r"(?<![\w/.-])(19[2-9]\d|20[0-4]\d)(?![\w/.-])")
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\w/.-])(\d{1,4})\s?([/.\-])\s?(\d{1,2})\s?\2\s?(\d{2,4})(?![\w/.-])"
)
_CASE_REF_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:(LY)\s?[-_ ]?\s?)?([A-Za-z0-9]{6})(?![A-Za-z0-9])", re.I
)
_CASE_REF_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])LY\s?[-_]?\s?([A-Za-z0-9]{6})(?![A-Za-z0-9])", re.I
)
# "LY-4455", "ly 7k3m9": a reference with letters or digits missing (or too many)
_CASE_REF_ANY_LENGTH = re.compile(
    r"(?<![A-Za-z0-9])LY\s?[-_]?\s?([A-Za-z0-9]{2,12})(?![A-Za-z0-9])", re.I
)


def _case_ref_ok(core: str, prefixed: bool) -> bool:
    digits = sum(c.isdigit() for c in core)
    letters = sum(c.isalpha() for c in core)
    if digits == 0 or letters == 0:
        return False
    if prefixed:
        return True
    # bare 7K3M9Q (the bot issues three letters and three digits): at least three digits and
    # two letters, so that Arabizi words ("wa99ef", "sa3dni") are never read as references
    return digits >= 3 and letters >= 2


def _century(y: int) -> int:
    if y >= 100:
        return y
    return 2000 + y if y <= date.today().year % 100 else 1900 + y


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Span:
    entity: str
    value: str
    start: int
    end: int


class _Either:
    """Membership in either of two sets, without building their union."""

    __slots__ = ("_a", "_b")

    def __init__(self, a: frozenset[str], b: frozenset[str]) -> None:
        self._a, self._b = a, b

    def __contains__(self, word: object) -> bool:
        return word in self._a or word in self._b


class EntityExtractor:
    """All extractors over one message; resolvers for single answers."""

    def __init__(self, gazetteer_dir: Path | None = None, known_words: Iterable[str] = ()) -> None:
        gdir = gazetteer_dir or GAZETTEER_DIR
        # the training data's words are never taken for a misspelt place; the NLU's own set of
        # them is shared, not copied (~2 MB a copy)
        known = known_words if isinstance(known_words, frozenset) else frozenset(known_words)
        listed = frozenset(normalize(w) for w in _STOP_WORDS)
        stop = _Either(listed | {f for w in known if (f := normalize(w)) != w}, known)
        self.countries = Gazetteer(_country_entries(gdir), stop_words=stop)
        self.cities = Gazetteer(_city_entries(gdir), stop_words=stop)
        self.numbers = _number_words(gdir)
        self.connectors = _number_connectors(gdir)
        self.all_numbers: dict[str, int] = {}
        for table in self.numbers.values():
            for w, v in table.items():
                self.all_numbers.setdefault(w, v)
        months: dict[str, int] = {}
        for lang in load_languages():
            for i, names in enumerate(lang.months, start=1):
                for name in names:
                    key = normalize(name)
                    if key:
                        months.setdefault(key, i)
        self.months = months
        self._month_phrases = sorted(months, key=len, reverse=True)
        alt = "|".join(re.escape(m) for m in self._month_phrases)
        # on folded text: "12 mars 1995", "march 12 1995", "12 march", "mars 1995"
        self._dmy = re.compile(rf"(?<!\w)(\d{{1,2}}) (?:de )?({alt}) (\d{{2,4}})(?!\w)")
        self._mdy = re.compile(rf"(?<!\w)({alt}) (\d{{1,2}}) (\d{{4}})(?!\w)")
        self._my = re.compile(rf"(?<!\w)({alt}) (\d{{4}})(?!\w)")

    # -- single-value resolvers -------------------------------------------------------------
    def resolve_country(self, text: str) -> str | None:
        return self.countries.resolve(text)

    def resolve_city(self, text: str) -> str | None:
        return self.cities.resolve(text)

    def number_table(self, language: str | None) -> Mapping[str, int]:
        """Number words of a language or variant ("ar_latn"), or of all languages."""
        if language and language in self.numbers:
            return self.numbers[language]
        return self.all_numbers

    # -- extraction -------------------------------------------------------------------------
    def extract(self, text: str, language: str | None = None) -> list[Entity]:
        spans: list[_Span] = []
        taken = [False] * len(text)

        def free(s: int, e: int) -> bool:
            return not any(taken[s:e])

        def add(span: _Span) -> None:
            if span.start < span.end and free(span.start, span.end):
                spans.append(span)
                for k in range(span.start, span.end):
                    taken[k] = True

        ascii_text = ascii_digits(text)
        has_digit = (
            _ASCII_DIGIT.search(ascii_text) is not None
            if ascii_text.isascii()
            else any(map(str.isdigit, ascii_text))
        )
        if has_digit:
            for s in self._case_refs(ascii_text):
                add(s)
            for s in self._numeric_dates(ascii_text):
                add(s)
        norm, offs = normalize_with_offsets(text.replace("'", " ").replace("’", " "))
        if has_digit:
            for s in self._word_dates(norm, offs):
                add(s)
            for s in self._phones(ascii_text):
                add(s)
        toks: list[tuple[str, int, int]] = []
        for m in re.finditer(r"\S+", norm):
            toks.append((m.group(), offs[m.start()], offs[m.end() - 1] + 1))
        words = [t for t, _, _ in toks]
        for gaz, name in ((self.countries, "country"), (self.cities, "city")):
            for mt in gaz.find(words):
                if name == "country" and mt.value in _EXCLUDED_COUNTRIES:
                    continue
                add(_Span(name, mt.value, toks[mt.start_tok][1], toks[mt.end_tok - 1][2]))
        if has_digit:
            for m in _YEAR_RE.finditer(ascii_text):
                add(_Span("date", m.group(1), m.start(1), m.end(1)))
            for m in _DIGITS_RE.finditer(ascii_text):
                raw = m.group()
                if "." in raw or "," in raw:
                    continue
                add(_Span("number", str(int(raw)), m.start(), m.end()))
        for s in self._number_words(toks, language):
            add(s)
        spans.sort(key=lambda s: s.start)
        return [
            Entity(s.entity, s.value, s.start, s.end, EXTRACTOR, text[s.start : s.end])
            for s in spans
        ]

    def _case_refs(self, text: str) -> list[_Span]:
        out = []
        for m in _CASE_REF_RE.finditer(text):
            prefixed = m.group(1) is not None
            core = m.group(2)
            if _case_ref_ok(core, prefixed):
                out.append(_Span("case_ref", f"LY-{core.upper()}", m.start(), m.end()))
        return out

    def _numeric_dates(self, text: str) -> list[_Span]:
        out = []
        for m in _NUMERIC_DATE_RE.finditer(text):
            a, sep, b, c = m.group(1), m.group(2), m.group(3), m.group(4)
            if len(a) == 4:  # 1995-03-12
                d = _safe_date(int(a), int(b), int(c)) if len(c) <= 2 else None
            else:
                y = _century(int(c)) if len(c) in (2, 4) else 0
                d = _safe_date(y, int(b), int(a)) if y else None
                if d is None and y:  # 03/25/1995 written month first
                    d = _safe_date(y, int(a), int(b))
            if d is not None and sep:
                out.append(_Span("date", d.isoformat(), m.start(), m.end()))
        return out

    def _word_dates(self, norm: str, offs: list[int]) -> list[_Span]:
        out = []

        def span(m: re.Match[str], value: str) -> _Span:
            return _Span("date", value, offs[m.start()], offs[m.end() - 1] + 1)

        for m in self._dmy.finditer(norm):
            d = _safe_date(_century(int(m.group(3))), self.months[m.group(2)], int(m.group(1)))
            if d:
                out.append(span(m, d.isoformat()))
        for m in self._mdy.finditer(norm):
            d = _safe_date(int(m.group(3)), self.months[m.group(1)], int(m.group(2)))
            if d:
                out.append(span(m, d.isoformat()))
        for m in self._my.finditer(norm):
            out.append(span(m, f"{int(m.group(2)):04d}-{self.months[m.group(1)]:02d}"))
        return out

    def _phones(self, text: str) -> list[_Span]:
        if sum(c.isdigit() for c in text) < 7:
            return []
        out = [_Span("phone", e164, s, e) for e164, s, e in _match_phones(text, "LY")]
        if not out:  # a home-country number written in its local format (0803 123 4567)
            out = [_Span("phone", e164, s, e) for e164, s, e in _home_phones(text)]
        return out

    def _number_words(self, toks: list[tuple[str, int, int]], language: str | None) -> list[_Span]:
        table = self.number_table(language)
        if not table:
            return []
        out: list[_Span] = []
        i = 0
        while i < len(toks):
            value = self._word_value(toks[i][0], table)
            if value is None:
                i += 1
                continue
            start, end = toks[i][1], toks[i][2]
            values = [value]
            j = i + 1
            while j < len(toks):
                tok = toks[j][0]
                if tok in self.connectors and j + 1 < len(toks):
                    nxt = self._word_value(toks[j + 1][0], table)
                    if nxt is None:
                        break
                    values.append(nxt)
                    end = toks[j + 1][2]
                    j += 2
                    continue
                nxt = self._word_value(tok, table)
                if nxt is None:
                    break
                values.append(nxt)
                end = toks[j][2]
                j += 1
            out.append(_Span("number", str(_combine(values)), start, end))
            i = j
        return out

    @staticmethod
    def _word_value(tok: str, table: Mapping[str, int]) -> int | None:
        if tok in _NUMBER_WORD_SKIP:
            return None
        v = table.get(tok)
        if v is None and _is_arabic(tok) and len(tok) > 3 and tok[0] == "و":
            v = table.get(tok[1:])
        return v


def _combine(values: Sequence[int]) -> int:
    total, current = 0, 0
    for v in values:
        if v == 100:
            current = max(current, 1) * 100
        elif v >= 1000:
            total += max(current, 1) * v
            current = 0
        else:
            current += v
    return total + current


HOME_REGIONS = ("NG", "NE", "SD", "TD", "ML", "GH", "EG")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])0\d(?:[\s.-]?\d){7,11}(?!\w)")


def _home_phones(text: str) -> list[tuple[str, int, int]]:
    """Numbers in a national format (leading 0) that are valid in one of the main countries
    of origin, tried in order; cheaper than a matcher per region."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat

    out = []
    for m in _PHONE_CANDIDATE.finditer(text):
        for region in HOME_REGIONS:
            try:
                num = phonenumbers.parse(m.group(), region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
                out.append((e164, m.start(), m.end()))
                break
    return out


def _match_phones(text: str, region: str, valid_only: bool = False) -> list[tuple[str, int, int]]:
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberFormat

    leniency = Leniency.VALID if valid_only else Leniency.POSSIBLE
    out = []
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
        num = m.number
        if not phonenumbers.is_possible_number(num):
            continue
        if len(re.sub(r"\D", "", m.raw_string)) < 8:
            continue
        out.append((phonenumbers.format_number(num, PhoneNumberFormat.E164), m.start, m.end))
    return out


# --------------------------------------------------------------------------------------------
# Module-level helpers for the flows


@lru_cache(maxsize=1)
def get_extractor() -> EntityExtractor:
    """The shared extractor over the package's gazetteers."""
    return EntityExtractor()


def resolve_country(text: str) -> str | None:
    """ISO 3166 alpha-2 code of the country named in ``text`` ("Naija" -> "NG"), or None."""
    return get_extractor().resolve_country(text)


def resolve_city(text: str) -> str | None:
    """Canonical Libyan city named in ``text`` ("Sabha" -> "Sebha"), or None."""
    return get_extractor().resolve_city(text)


def parse_phone(text: str, default_region: str = "LY") -> str | None:
    """The first phone number in ``text`` in E.164 ("0912345678" -> "+218912345678")."""
    t = ascii_digits(text)
    found = _match_phones(t, default_region)
    if not found:
        digits = re.sub(r"[^\d+]", "", t)
        if len(digits) >= 8:
            found = _match_phones(digits, default_region)
    return found[0][0] if found else None


def parse_number(text: str, language: str | None = None) -> int | None:
    """The first number in ``text``: digits (any script) or number words ("ثلاثة", "uku")."""
    t = ascii_digits(text)
    m = re.search(r"(?<![\w])\d{1,9}(?![\w])", t) or re.search(r"\d{1,9}", t)
    if m:
        return int(m.group())
    ex = get_extractor()
    norm, offs = normalize_with_offsets(text)
    toks = [(w.group(), offs[w.start()], offs[w.end() - 1] + 1) for w in re.finditer(r"\S+", norm)]
    spans = ex._number_words(toks, language)
    if not spans and language:
        spans = ex._number_words(toks, None)
    return int(spans[0].value) if spans else None


def parse_date(text: str) -> date | None:
    """A date of ``text`` ("12/03/1995", "12 mars 1995", "١٢/٠٣/١٩٩٥"); a bare year gives
    January 1st of that year (the usual convention when only the year of birth is known)."""
    ents = get_extractor().extract(text)
    for e in ents:
        if e.entity != "date":
            continue
        parts = e.value.split("-")
        try:
            if len(parts) == 3:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            if len(parts) == 2:
                return date(int(parts[0]), int(parts[1]), 1)
            return date(int(parts[0]), 1, 1)
        except ValueError:
            continue
    return None


def find_incomplete_case_ref(text: str) -> str | None:
    """A reference written with LY but not whole ("LY-4455": four characters, not six), as the
    person wrote it in canonical form, to tell them what is wrong; None if there is none or
    the reference is whole."""
    if find_case_ref(text) is not None:
        return None
    m = _CASE_REF_ANY_LENGTH.search(ascii_digits(text))
    if m is None or not any(c.isdigit() for c in m.group(1)):
        return None  # "ly" and a word ("ly mama"): not a number at all
    return f"LY-{m.group(1).upper()}"


def find_case_ref(text: str) -> str | None:
    """A case reference in ``text``, canonical ``LY-XXXXXX`` ("ly 7k3m9q" -> "LY-7K3M9Q")."""
    t = ascii_digits(text)
    m = _CASE_REF_PREFIXED.search(t)
    if m and _case_ref_ok(m.group(1), True):
        return f"LY-{m.group(1).upper()}"
    for m2 in _CASE_REF_RE.finditer(t):
        if _case_ref_ok(m2.group(2), m2.group(1) is not None):
            return f"LY-{m2.group(2).upper()}"
    stripped = t.strip()
    # the whole answer is a 6-character code: accept any mix of 2+ digits and 2+ letters
    if re.fullmatch(r"[A-Za-z0-9]{6}", stripped):
        n_digits = sum(c.isdigit() for c in stripped)
        if 2 <= n_digits <= 4:
            return f"LY-{stripped.upper()}"
    return None
