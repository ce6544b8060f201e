"""The danger detector: built for recall, separate from the intent classifier.

Consulted on every message in every conversation state (flows/safety.py), it says whether a
message is about immediate danger to life (``emergency``), a disclosure that needs a person
soon (``urgent``: detention and raids, trafficking and forced work, sexual and gender-based
violence, threats), or neither, with a category and a certainty: ``unsure`` means the bot should
ask "are you in danger right now?" rather than guess.

How it reads a message, in any language or variant (English, Nigerian Pidgin, Arabic script,
Arabizi, French, Hausa):

1. ``nlu.normalize`` (case, accents, Arabic letter variants, doubled letters), apostrophes
   turned into spaces so that "m'ont" and "m ont" are the same words;
2. every word is resolved to the lexicon words it may be (``nlu/data/danger/lexicon/*.yml``):
   exactly, as the start of a longer word ("bleed*"), with one typo (5+ letters), behind an
   Arabic prefix (و ف ب ل ال), by its consonants in Arabizi (e7tijaz = ihtijaz), and a long
   unknown word is split where lexicon words are glued together ("theyarebeatingus");
3. the lexicon's terms (1-4 words) are found as concept spans; a span inside a longer span of
   another concept gives way ("fire" inside "fire station", "now" inside "safe now");
4. rules combine the concepts: an immediate-danger concept is an emergency unless the event is
   over, about others far away, in the news or hypothetical; weak signs ("fire", "blood",
   "trapped", "in danger") ask; ongoing violence in detention is an emergency; fire with a
   building or people inside is an emergency, and immediate danger outranks detention
   ("trapped" in a burning house is an emergency, not detention).

Words are resolved once and remembered (an LRU cache), so a message costs a few dictionary
look-ups per word: well under a millisecond.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from nlu.normalize import normalize
from nlu.yamlfile import safe_load

__all__ = [
    "DANGER_CONCEPTS",
    "EMERGENCY_KINDS",
    "LEXICON_DIR",
    "URGENT_KINDS",
    "DangerDetector",
    "Detection",
    "default_detector",
    "load_lexicon",
]

LEXICON_DIR = Path(__file__).resolve().parent / "data" / "danger" / "lexicon"
DATA_DIR = Path(__file__).resolve().parent / "data"

Level = Literal["emergency", "urgent", "none"]
Certainty = Literal["sure", "unsure"]

# Immediate danger to life: each concept alone is an emergency (when not over / elsewhere).
EMERGENCY_KINDS = (
    "bleeding",
    "stabbing",
    "shooting",
    "beating",  # beating now
    "fire",
    "explosion",
    "drowning",
    "abduction",
    "childbirth",
    "collapse",
    "killing",  # someone is about to kill
    "self_harm",
    "stranded",  # left in the desert without water
    "accident",  # hit by a car, a bone out
    "danger",  # only unsure: "we are in danger", "there is fire", "blood"
)
URGENT_KINDS = ("detention", "trafficking", "gbv", "threat", "unaccompanied")

_STRONG = {
    "bleeding": "bleeding",
    "stabbing": "stabbing",
    "shooting": "shooting",
    "beating_now": "beating",
    "fire": "fire",
    "explosion": "explosion",
    "drowning": "drowning",
    "abduction": "abduction",
    "childbirth": "childbirth",
    "collapse": "collapse",
    # unconscious, not breathing: never an idiom ("fell in the heat and does not wake up")
    "unconscious": "collapse",
    "kill_threat": "killing",
    "accident": "accident",
}
# The order in which one emergency kind is named when several are found.
_EMERGENCY_ORDER = (
    "fire",
    "explosion",
    "drowning",
    "shooting",
    "stabbing",
    "childbirth",
    "bleeding",
    "collapse",
    "killing",
    "abduction",
    "beating",
    "accident",
    "stranded",
    "danger",
)
_URGENT = {
    "gbv": "gbv",
    "trafficking": "trafficking",
    "detention": "detention",
    "raid": "detention",
    "threat": "threat",
    "pursued": "threat",  # looked for now: not over when the person escaped
    "passport_taken": "trafficking",
    "torture": "threat",  # torture told as past is still a case
    "beating": "threat",  # violence that is not (said to be) going on now
    "missing_person": "threat",  # no news of a relative (at sea, taken): someone should trace
    "unaccompanied": "unaccompanied",  # a child with no family here (a protection case)
}
_URGENT_ORDER = ("gbv", "trafficking", "detention", "unaccompanied", "threat")
_WEAK = (
    "danger_general",
    "fire_word",
    "blood_word",
    "trapped",
    "injured_now",
    "breath",
)

_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_APOSTROPHES = str.maketrans({c: " " for c in "'’‘ʼ`´ʻ"})
_MIN_FUZZY = 6  # words this long match with one typo
_MIN_FUZZY_ARABIC = 7  # Arabic words are short and dense: "بتاعي" is no typo of "باعني"
_MIN_CHANGED = 8  # words this long also match with one letter changed
_MIN_STEM = 3  # a shorter one-word stem (after doubled letters are folded) is a word
_MIN_SKELETON = 4  # Arabizi consonant skeletons this long match


_MIN_GLUED = 8  # unknown words this long are looked into for glued words
_MIN_ETHIOPIC_ENDING = 4  # Ge'ez words this long match with another vowel on the last letter
_MIN_GLUED_ETHIOPIC = 4  # a Ge'ez letter is a syllable: "በቢላወጉት" is two words in six letters
_SENTENCE = re.compile(r"(?<!\d)[.!?؟።፧\n]+|[.!?؟።፧\n]+(?!\d)")  # not the point in "3.5"
_GAP = "\x00"  # stands between sentences: no pattern, only distance
_SENTENCE_GAP = 13  # farther than any rule looks (_near, _NEAR, _PAST_NEAR)
_CLAUSE = re.compile(r"(?<!\d)[,،؛;፣፤]+|[,،؛;፣፤]+(?!\d)")  # not the comma in "3,000"
_CLAUSE_GAP = 2
# Short spellings of Pidgin and SMS words that the lexicon writes one way: a word also counts
# as these ("dem de beat us" = "dem dey beat us"); short words get no typo tolerance.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "de": ("dey",),
    "di": ("dey",),
    "dy": ("dey",),
    "dm": ("dem",),
    "wn": ("wan",),
    "wanna": ("wan",),
    "u": ("you",),
    "r": ("are",),
    "pls": ("please",),
    "plz": ("please",),
    "ppl": ("people",),
    # Arabizi "in" and "the", written many ways; the lexicon writes "fel" and "el"
    "fil": ("fel",),
    "fl": ("fel",),
    "fi": ("fel",),
    "l": ("el",),
    "il": ("el",),
    "al": ("el",),
}


# A minor's age, as written: "15", "16ans", "13yrs", "fifteen". Two digits at most: a phone
# number or an amount is no age.
_AGE_TOKEN = re.compile(r"(\d{1,2})(ans|an|yrs|yr|years|year|yo|y|sna|sana|snin)?")
_AGE_WORDS = {
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
}
_MINOR = range(1, 18)
_OLDEST = 99
# An age told of the past: "when I was 15", "quand j'avais 14 ans", "لما كان عمري 15"
_PAST_AGE = frozenset({"was", "when", "avais", "etais", "quand", "lokacin", "كنت", "لما", "كان"})


def _minor_ages(tokens: list[str], spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """("minor_age", i, i + 1) for every number that is a minor's age (1 to 17; 18 to 99 are
    "adult_years"), next to a word
    that makes it an age ("15 years", "i am 15", "عمري 15", "shekara 13") or with the unit
    glued on ("16ans"), and not a duration or an amount ("for 15 years", "15 dinar", "since
    2 days"), nor an age of the past ("when i was 15")."""
    ages = [(s, e) for c, s, e in spans if c == "age_word"]
    units = [(s, e) for c, s, e in spans if c == "duration"]
    found: list[tuple[str, int, int]] = []
    for i, token in enumerate(tokens):
        if not token[:1].isdigit() and token not in _AGE_WORDS:
            continue  # the cheap test first: most words are no number
        m = _AGE_TOKEN.fullmatch(token)
        number = int(m.group(1)) if m else _AGE_WORDS.get(token)
        if number is None or number > _OLDEST:
            continue
        glued = bool(m and m.group(2))
        if not glued and not any(e == i or s == i + 1 for s, e in ages):
            continue
        if any(e == i or s == i + 1 for s, e in units):
            continue
        if _PAST_AGE & set(tokens[max(0, i - 3) : i]):
            continue
        # "16 ans de travail", "15 years of experience" (not "15 years of age")
        after = tokens[i + 2 : i + 4] if not glued else tokens[i + 1 : i + 3]
        if after[:1] in (["de"], ["d"], ["of"]) and after[1:] != ["age"]:
            continue
        # "i am 25": an adult (who may tell of being alone at 16, or of a daughter of 14)
        found.append(("minor_age" if number in _MINOR else "adult_years", i, i + 1))
    return found


@dataclass(frozen=True, slots=True)
class Detection:
    level: Level
    category: str | None  # an EMERGENCY_KINDS or URGENT_KINDS name; None with level "none"
    certainty: Certainty
    concepts: frozenset[str] = frozenset()  # what was found, for tests and the bench
    hard_negative: bool = False  # over, elsewhere, in the news, hypothetical, "safe now"

    @property
    def everyday(self) -> bool:
        """Words that only look like danger ("fired me", "police station for my papers")."""
        # and a gum that bleeds "a little" at the dentist
        return bool(self.concepts & {"work_context", "idiom", "theft", "dental"})

    @property
    def is_danger(self) -> bool:
        return self.level != "none"


NONE = Detection("none", None, "sure")


# -- words --------------------------------------------------------------------------------
_SKELETON_DIGRAPHS = (("kh", "x"), ("5", "x"), ("sh", "c"), ("ch", "c"), ("gh", "g"), ("dh", "d"))
_SKELETON_MAP = str.maketrans({"7": "h", "9": "q", "8": "g", "6": "t", "2": None, "'": None})
_VOWELS = re.compile(r"[aeiou]")
_REPEAT = re.compile(r"(.)\1+")


def skeleton(word: str) -> str:
    """Arabizi consonants: "e7tijaz", "ihtijaz" and "ehtijaz" are all "htjz"."""
    for digraph, letter in _SKELETON_DIGRAPHS:
        word = word.replace(digraph, letter)
    word = _VOWELS.sub("", word.translate(_SKELETON_MAP))
    return _REPEAT.sub(r"\1", word)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _is_latin(word: str) -> bool:
    return word.isascii()


def _is_bengali(word: str) -> bool:
    return bool(word) and "\u0980" <= word[0] <= "\u09ff"


# Languages whose messages read other lexicons' Latin terms only as exact English words: their
# everyday words look like other languages' danger words (Somali "gabadh" girl, Arabizi
# "gabado" they caught; Banglish "jela" district, "dam" price, Tigrinya "jelba" boat, Arabizi
# "dam" blood). Other languages are read with every lexicon, as before.
_GUARDED = frozenset({"so", "bn"})
# The lexicons whose words a guarded language's messages borrow as they are: English, and
# for Somali Libyan Arabic words (exact words only: Banglish "dam", price, is Arabizi blood).
_BORROWED: dict[str, tuple[str, ...]] = {"so": ("en", "ar_latn"), "bn": ("en",)}
_LANGUAGE_MIN = 2  # distinctive everyday words before a message is said to be in a language


def _ethiopic_fold() -> dict[int, int]:
    """Ge'ez letters spelt alike, to one letter each: the h-rows (ሀ ሐ ኀ), s (ሰ ሠ), the glottal
    rows (አ ዐ), ts (ጸ ፀ), and in the h- and glottal rows the first and fourth orders (ሀ/ሃ,
    አ/ኣ), which are said alike; ቐ and ኸ are often typed as ቀ and ከ, ዉ as ው and ኧ as አ.
    Tigrinya and Amharic write the same word every one of these ways, so the lexicon need not
    list them all."""
    table: dict[int, int] = {}

    def row(src: int, dst: int, orders: int = 8) -> None:
        for k in range(orders):
            if src + k != dst + k:
                table[src + k] = dst + k

    row(0x1210, 0x1200)  # ሐ -> ሀ
    row(0x1280, 0x1200, 7)  # ኀ -> ሀ (its eighth slot is a labialised form)
    row(0x1220, 0x1230)  # ሠ -> ሰ
    row(0x12D0, 0x12A0, 7)  # ዐ -> አ
    row(0x1340, 0x1338, 7)  # ፀ -> ጸ
    row(0x1250, 0x1240, 7)  # ቐ -> ቀ
    row(0x12B8, 0x12A8, 7)  # ኸ -> ከ
    for base in (0x1200, 0x12A0):  # ሃ -> ሀ, ኣ -> አ (after the rows are folded)
        table[base + 3] = base
    table[0x12C9] = 0x12CD  # ዉ -> ው: "ነዉ" and "ነው", "ኣለዉ" and "ኣለው" are one word
    table[0x12A7] = 0x12A0  # ኧ -> አ
    # the labialised ä-forms, written for the o-forms: ቈልዓ and ቆልዓ, ጐቲቶም and ጎቲቶም
    for src, dst in ((0x1248, 0x1246), (0x1258, 0x1246), (0x12B0, 0x12AE), (0x12C0, 0x12AE)):
        table[src] = dst  # ቈ ቘ -> ቆ, ኰ ዀ -> ኮ
    table[0x1310] = 0x130E  # ጐ -> ጎ
    table[0x1288] = 0x1206  # ኈ -> ሆ
    for src, dst in list(table.items()):  # a fourth order reached through a row fold
        if dst in (0x1203, 0x12A3):
            table[src] = dst - 3
    return table


_ETHIOPIC = _ethiopic_fold()
_ETHIOPIC_PREFIXES = ("እንደ", "ካብ", "ናብ", "አብ", "ብ", "ን", "የ", "በ", "ለ", "ከ", "ስለ", "ወደ")
_ETHIOPIC_SUFFIXES = ("ን", "ና", "ውን", "ስ")


def _is_ethiopic(word: str) -> bool:
    return bool(word) and "\u1200" <= word[0] <= "\u139f"


def _sixth(letter: str) -> str:
    """A Ge'ez letter in its sixth order (the consonant without a vowel): ቴ, ታ, ቱ -> ት."""
    cp = ord(letter)
    return chr((cp & ~7) + 5) if 0x1200 <= cp <= 0x1357 else letter


def fold(text: str) -> str:
    """The text as the detector reads it (apostrophes are word breaks here; Ge'ez letters
    spelt alike are one)."""
    return normalize(text.translate(_APOSTROPHES)).translate(_ETHIOPIC)


def _ethiopic_endings(words: Iterable[str]) -> dict[str, set[str]]:
    """Ge'ez words by their form with the last letter's vowel taken off: that vowel often
    tells only the person or gender (ወጊኦሞ him, ወጊኦማ her), so any vowel there matches."""
    endings: dict[str, set[str]] = defaultdict(set)
    for word in words:
        if _is_ethiopic(word) and len(word) >= _MIN_ETHIOPIC_ENDING:
            endings[word[:-1] + _sixth(word[-1])].add(word)
    return endings


# A look-up table's value: one word (most keys) is the word itself, shared with the lexicon's
# own strings; several are a tuple. A set, or even a tuple, for every key made these tables
# several MB of every server process.
_Words = str | tuple[str, ...]


def _frozen(table: Mapping[str, set[str]]) -> dict[str, _Words]:
    return {
        key: next(iter(values)) if len(values) == 1 else tuple(sorted(values))
        for key, values in table.items()
    }


def _words(table: Mapping[str, _Words], key: str) -> tuple[str, ...]:
    words = table.get(key, ())
    return (words,) if isinstance(words, str) else words


_NO_CONCEPTS: frozenset[str] = frozenset()


class _Node:
    """A trie of terms: word patterns ("w:bleeding" exact, "s:bleed" stem) to the concepts
    whose terms end here."""

    __slots__ = ("children", "concepts")

    def __init__(self) -> None:
        # most nodes are leaves: they share one empty mapping until a child is added
        self.children: dict[str, _Node] = _NO_CHILDREN
        self.concepts: frozenset[str] = _NO_CONCEPTS  # most nodes end no term: one shared

    def add(self, words: tuple[str, ...], concept: str) -> None:
        node = self
        for word in words:
            if node.children is _NO_CHILDREN:
                node.children = {}
            child = node.children.get(word)
            if child is None:
                child = node.children[word] = _Node()
            node = child
        # few distinct sets of concepts end the ~25,000 terms: one object each
        concepts = node.concepts | {concept}
        node.concepts = _CONCEPT_SETS.setdefault(concepts, concepts)


_NO_CHILDREN: dict[str, _Node] = {}  # never written to (see _Node.add)
_CONCEPT_SETS: dict[frozenset[str], frozenset[str]] = {}


class DangerDetector:
    def __init__(
        self,
        lexicon: Mapping[str, Mapping[str, Iterable[str]]],
        known_words: Iterable[str] = (),
        language_words: Mapping[str, str] | None = None,
    ) -> None:
        self._trie = _Node()  # the terms, word pattern by word pattern
        # which lexicons (languages) hold each word pattern: a guarded language's message
        # reads another language's terms only as exact English words (see _guard)
        pattern_languages: defaultdict[str, set[str]] = defaultdict(set)
        exact: set[str] = set()
        stems: set[str] = set()
        arabizi_exact: set[str] = set()
        arabizi_stems: set[str] = set()
        for concept, by_language in lexicon.items():
            for language, terms in (by_language or {}).items():
                for raw in terms or []:
                    words = self._pattern_words(str(raw))
                    if not words:
                        continue
                    if (
                        len(words) == 1
                        and words[0].startswith("s:")
                        and len(words[0]) - 2 < _MIN_STEM
                    ):
                        words = ("w:" + words[0][2:],)
                    self._trie.add(words, concept)
                    for pattern in words:
                        pattern_languages[pattern].add(language)
                        kind, word = pattern[0], pattern[2:]
                        (exact if kind == "w" else stems).add(word)
                        if language == "ar_latn":
                            (arabizi_exact if kind == "w" else arabizi_stems).add(word)
        self._exact = exact
        languages = {frozenset(v) for v in pattern_languages.values()}
        shared = {v: v for v in languages}  # one frozenset object per distinct set
        self._pattern_languages = {k: shared[frozenset(v)] for k, v in pattern_languages.items()}
        # everyday words of one language only (intent training data): what a message is in
        self._language_words: Mapping[str, str] = language_words or {}
        self._ethiopic_ending = _ethiopic_endings(exact)
        # Everyday words seen in the intent training data are never read as a typo of a
        # danger word ("eating" is not "beating").
        self._known = frozenset(known_words) - exact
        self._stems = stems
        self._max_stem = max((len(s) for s in stems), default=0)
        # Words tolerate a missing or an extra letter; a changed letter only in long words
        # ("blessing" is not "bleeding").
        exact_fuzzy: defaultdict[str, set[str]] = defaultdict(set)  # the word and its deletes
        exact_changed: defaultdict[str, set[str]] = defaultdict(set)  # long words' deletes
        for word in exact:
            if len(word) >= _MIN_FUZZY:
                exact_fuzzy[word].add(word)
                for key in _deletes(word):
                    exact_fuzzy[key].add(word)
                    if len(word) >= _MIN_CHANGED:
                        exact_changed[key].add(word)
        # Stems tolerate a missing or an extra letter, not a changed one ("person" is not
        # "prison", "harshen" is not "haras").
        stem_fuzzy: defaultdict[str, set[str]] = defaultdict(set)
        stem_deleted: defaultdict[str, set[str]] = defaultdict(set)
        for stem in stems:
            if len(stem) >= _MIN_FUZZY and not any(ch.isdigit() for ch in stem):
                stem_fuzzy[stem].add(stem)
                for key in _deletes(stem):
                    stem_deleted[key].add(stem)
        skeleton_exact: defaultdict[str, set[str]] = defaultdict(set)
        for word in arabizi_exact:
            key = skeleton(word)
            if len(key) >= _MIN_SKELETON:
                skeleton_exact[key].add(word)
        skeleton_stems: defaultdict[str, set[str]] = defaultdict(set)
        for stem in arabizi_stems:
            key = skeleton(stem)
            if len(key) >= _MIN_SKELETON:
                skeleton_stems[key].add(stem)
        # kept as tuples: a set per key (about 200 bytes even for one word) made these
        # tables several MB of every server process
        self._exact_fuzzy = _frozen(exact_fuzzy)
        self._exact_changed = _frozen(exact_changed)
        self._stem_fuzzy = _frozen(stem_fuzzy)
        self._stem_deleted = _frozen(stem_deleted)
        self._skeleton_exact = _frozen(skeleton_exact)
        self._skeleton_stems = _frozen(skeleton_stems)
        glue = sorted((w for w in exact | stems if len(w) >= 4), key=len, reverse=True)
        self._glue = re.compile("|".join(re.escape(w) for w in glue)) if glue else None
        self.patterns = lru_cache(maxsize=65536)(self._patterns)
        self.split_glued = lru_cache(maxsize=16384)(self._split_glued)
        self.split_ethiopic = lru_cache(maxsize=16384)(self._split_ethiopic)

    @classmethod
    def load(cls, path: Path = LEXICON_DIR, data_dir: Path | None = DATA_DIR) -> DangerDetector:
        known = known_words(data_dir) if data_dir is not None else ()
        by_language = language_words(data_dir) if data_dir is not None else None
        return cls(load_lexicon(path), known, by_language)

    @staticmethod
    def _pattern_words(raw: str) -> tuple[str, ...]:
        out: list[str] = []
        for piece in raw.split():
            stem = piece.endswith("*")
            folded = fold(piece.rstrip("*")).split()
            for i, word in enumerate(folded):
                last = i == len(folded) - 1
                # one string per pattern however many terms hold it (the trie's keys)
                out.append(sys.intern(("s:" if stem and last else "w:") + word))
        return tuple(out)

    # -- one word -> the lexicon patterns it may be ----------------------------------------
    def _patterns(self, token: str) -> frozenset[str]:
        found: set[str] = set()
        forms = [token, *_SPELLINGS.get(token, ())]
        if _is_ethiopic(token):
            # attached prepositions and conjunctions: ብ-, ን-, ካብ-, ኣብ-, የ-, በ-, ለ-, -ን, -ና
            peeled = [token[len(p) :] for p in _ETHIOPIC_PREFIXES if token.startswith(p)]
            forms += peeled
            forms += [
                f[: -len(x)] for f in [token, *peeled] for x in _ETHIOPIC_SUFFIXES if f.endswith(x)
            ]
            forms = [token, *(f for f in forms[1:] if len(f) >= 2)]
        elif not _is_latin(token):
            # the word itself, however short ("ههه" is "ه" once folded), and what is left of
            # it behind a prefix when that is a word still
            forms += [token[len(p) :] for p in _ARABIC_PREFIXES if token.startswith(p)]
            forms = [token, *(f for f in forms[1:] if len(f) >= 2)]
        ethiopic = _is_ethiopic(token)
        for form in forms:
            if form in self._exact:
                found.add("w:" + form)
            elif ethiopic and len(form) >= _MIN_ETHIOPIC_ENDING and token not in self._known:
                ending = form[:-1] + _sixth(form[-1])
                found |= {"w:" + w for w in self._ethiopic_ending.get(ending, ())}
            for end in range(2, min(len(form), self._max_stem) + 1):
                if form[:end] in self._stems:
                    found.add("s:" + form[:end])
                if ethiopic and (stem := form[: end - 1] + _sixth(form[end - 1])) in self._stems:
                    found.add("s:" + stem)  # ግፊት* is ግፊቴን: the stem's last letter takes a vowel
        if found or token in self._known:
            return frozenset(found)
        # one typo: the symmetric-delete look-up, for the word and for its beginnings
        # (the first letter must be right: "eating" is no typo of "beating")
        if len(token) >= (_MIN_FUZZY if _is_latin(token) else _MIN_FUZZY_ARABIC):
            candidates = set(_words(self._exact_fuzzy, token))  # a letter missing
            for key in _deletes(token):
                if key in self._exact and len(key) >= _MIN_FUZZY:  # a letter too many
                    candidates.add(key)
                candidates.update(_words(self._exact_changed, key))  # a letter changed
            found |= {"w:" + word for word in candidates if word[0] == token[0]}
            for end in range(_MIN_FUZZY - 1, min(len(token), self._max_stem + 1) + 1):
                prefix = token[:end]
                candidates = set(_words(self._stem_deleted, prefix))  # a letter missing
                for key in _deletes(prefix):  # a letter too many
                    candidates.update(_words(self._stem_fuzzy, key))
                found |= {"s:" + stem for stem in candidates if stem[0] == token[0]}
        if _is_latin(token) and not found and any(ch.isdigit() for ch in token):
            key = skeleton(token)
            if len(key) >= _MIN_SKELETON:
                for word in _words(self._skeleton_exact, key):
                    found.add("w:" + word)
                for end in range(_MIN_SKELETON, len(key) + 1):
                    for stem in _words(self._skeleton_stems, key[:end]):
                        found.add("s:" + stem)
        return frozenset(found)

    def _split_glued(self, token: str) -> list[str]:
        """Lexicon words glued into one ("theyarebeatingus"), or the word itself."""
        if self._glue is None or len(token) < _MIN_GLUED:
            return [token]
        pieces: list[str] = []
        rest: list[str] = []  # what is left between lexicon words
        pos = 0
        for m in self._glue.finditer(token):
            if m.start() > pos:
                rest.append(token[pos : m.start()])
                pieces.append(rest[-1])
            pieces.append(m.group())
            pos = m.end()
        if pos < len(token):
            rest.append(token[pos:])
            pieces.append(rest[-1])
        # Only when the rest are words too: "ghadames" is not "gha" + "dam" + "es".
        if len(pieces) < 2 or any(
            len(r) > 2 and r not in self._known and r not in self._exact for r in rest
        ):
            return [token]
        return pieces

    def _split_ethiopic(self, token: str) -> list[str]:
        """Two Ge'ez words typed without a space ("ብካራወጊኦሞ"), when both halves are lexicon
        words, or one is and the other is an everyday word; else the word itself."""
        if self.patterns(token) or token in self._known:
            return [token]
        fallback: list[str] | None = None
        for cut in range(2, len(token) - 1):
            left, right = token[:cut], token[cut:]
            hit_left, hit_right = bool(self.patterns(left)), bool(self.patterns(right))
            if hit_left and hit_right:
                return [left, right]
            if fallback is None and (
                (hit_left and right in self._known) or (hit_right and left in self._known)
            ):
                fallback = [left, right]
        return fallback or [token]

    # -- which language a message is in ----------------------------------------------------
    def language(self, tokens: Iterable[str]) -> str | None:
        """The language a message is clearly in, from the everyday words only one language's
        training data has (Bengali script counts as Bengali); None when unclear."""
        votes: defaultdict[str, int] = defaultdict(int)
        for token in set(tokens):
            if _is_bengali(token):
                votes["bn"] += 1
            elif (lang := self._language_words.get(token)) is not None:
                votes[lang] += 1
        if not votes:
            return None
        ranked = sorted(votes.values(), reverse=True)
        best = max(votes, key=votes.__getitem__)
        second = ranked[1] if len(ranked) > 1 else 0
        return best if ranked[0] >= _LANGUAGE_MIN and ranked[0] > 2 * second else None

    def _guard(self, token: str, patterns: frozenset[str], language: str) -> frozenset[str]:
        """In a message clearly in a guarded language, a Latin word is read as that language's
        terms, or as a term of a language it borrows from that it spells exactly ("help",
        "fire", "arrested" for "arrest*"; Somali also Libyan Arabic words); not as another
        language's typo or look-alike (Banglish "jela" is no Tigrinya "jelba")."""
        if not patterns or not _is_latin(token):
            return patterns
        borrowed = _BORROWED[language]
        kept = frozenset(
            p
            for p in patterns
            if language in (languages := self._pattern_languages.get(p, ()))
            or (
                any(lang in languages for lang in borrowed)
                and (p == "w:" + token or (p[0] == "s" and token.startswith(p[2:])))
                and (p[0] == "w" or "en" in languages)
            )
        )
        return kept if len(kept) < len(patterns) else patterns

    # -- a message ---------------------------------------------------------------------------
    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(concept, first word, end word) of every lexicon term found in the text."""
        return self._read(text)[0]

    def _read(self, text: str) -> tuple[list[tuple[str, int, int]], list[int], list[str]]:
        """The spans, where sentences begin (word positions), and the words."""
        tokens: list[str] = []
        starts: list[int] = []
        for n, sentence in enumerate(_SENTENCE.split(text)):
            if n and tokens:
                # a sentence break puts words apart: "... they shot a man. Now I am in
                # Tripoli" does not say the shooting is now; no rule reaches over it
                tokens.extend([_GAP] * _SENTENCE_GAP)
                starts.append(len(tokens))
            for m, clause in enumerate(_CLAUSE.split(sentence)):
                if m and tokens:
                    tokens.extend([_GAP] * _CLAUSE_GAP)  # a comma: a little apart
                for token in fold(clause).split():
                    if _is_ethiopic(token) and len(token) >= _MIN_GLUED_ETHIOPIC:
                        tokens.extend(self.split_ethiopic(token))
                    elif not self.patterns(token) and len(token) >= _MIN_GLUED:
                        tokens.extend(self.split_glued(token))
                    else:
                        tokens.append(token)
        per_token = [self.patterns(t) for t in tokens]
        language = self.language(tokens)
        if language in _GUARDED:
            per_token = [
                self._guard(t, p, language) for t, p in zip(tokens, per_token, strict=True)
            ]
        found: list[tuple[str, int, int]] = []
        for i in range(len(tokens)):
            if not per_token[i]:
                continue  # most words start no term: no walk down the trie
            nodes = [self._trie]
            for k in range(i, len(tokens)):
                nodes = [
                    child
                    for node in nodes
                    for pattern in per_token[k]
                    if (child := node.children.get(pattern)) is not None
                ]
                if not nodes:
                    break
                found.extend((concept, i, k + 1) for node in nodes for concept in node.concepts)
        # an age word inside a longer term still makes an age ("عمري 15" is a young_girl term)
        return _drop_contained(found) + _minor_ages(tokens, found), starts, tokens

    def concepts(self, text: str) -> set[str]:
        return {concept for concept, _, _ in self.spans(text)}

    def detect(self, text: str) -> Detection:
        spans, starts, tokens = self._read(text)
        spans = _was_past(_spans_from_neighbours(spans, tokens))
        kept = _drop_idioms(spans)
        found = {c for c, _, _ in kept}
        if len(kept) < len(spans):
            found.add("idiom")  # "drowning in debt": everyday words, as much as "fired me"
        spans = kept
        if _near(spans, "boat", "boat_trouble", 5):  # "the boat we are in is breaking"
            found.add("boat_in_trouble")
        if _only_things_taken(spans):  # Hausa "sace": steal a thing, or kidnap a person
            found.discard("abduction")  # "an sace min fasfo": my passport was stolen
        if _a_theft(spans):  # "they took my phone": a theft to report, not a danger
            found.add("theft")
        _things_and_arrests(spans, tokens, found)
        if _near(spans, "seize", "held_people", 1):  # "they took my wife", "ont pris ma femme"
            found.add("person_taken")
        if _near(spans, "seize", "force", 2) and (
            _near(spans, "seize", "held_people", 2) or not _near(spans, "seize", "stolen_thing", 2)
        ):
            found.add("taken_by_force")  # "they took him by force" (not "my phone by force")
        if _near(spans, "hold_verb", "held_people", 3):  # "he is keeping four girls"
            found.add("trafficking")
        if _near(spans, "held_people", "held_word", 3):  # "my brother is still held in Zawiya"
            found.add("detention")
        # "2000 dollars to release my brother"; "my brother is in Bani Walid, they want 3000"
        if _near(spans, "release_for", "held_people", _RANSOM_NEAR):
            found.add("trafficking")
        if _near(spans, "force", "held_people", 2):  # "she forces the girls to ..."
            found.add("trafficking")
        # "to marry my 14 year old daughter"; not "my daughter is marrying, she is 25"
        if _near(spans, "marry", "young_girl", 10) and "adult_age" not in found:
            found.add("gbv")
        if _near(spans, "detention", "beating", 8) or _near(spans, "detention", "beating_now", 8):
            found.add("torture")  # beaten while held: torture, a case even when told as past
        # "my husband went out for bread 4 days ago and never came back": one long sentence
        _children_and_captors(spans, found)
        if _near(spans, "missing", "held_people", 12) or _near(spans, "missing", "boat", 8):
            found.add("missing_person")  # "the boat left a week ago, no news of my sister"
        if "heard" in found and not found & {"near_us", "help_call", "now"}:
            found.add("news")  # "I heard there was shooting in Tripoli" (not "we hear it outside")
        # "I came last year ... tonight they stabbed him"; not "... now I am back home" (rules8)
        if _background_past(spans, starts) and "back_home" not in found:
            found.discard("past_over")
        _habits_harms_and_hearsay(spans, found)
        _others_still_held(spans, found)
        _fire_put_out(spans, found)
        signs = [(s, e) for c, s, e in spans if c == "stranded_sign"]
        apart = [
            x for x in signs if not any(y != x and y[0] <= x[0] <= x[1] <= y[1] for y in signs)
        ]
        if len(apart) >= 2:
            found.add("desert")  # left without water, people who cannot walk: the desert
        return decide(found, now=_now_near_danger(spans))


_CHILD = ("minor_age", "minor_word", "child_word")
_ALONE_NEAR = 5  # words between a minor's age and "alone"


def _children_and_captors(spans: list[tuple[str, int, int]], found: set[str]) -> None:
    """Rules for children, ransoms, people taken and threats told as a condition (adds to
    `found`)."""
    child = bool(found & set(_CHILD))
    # a child (an age under 18, "a minor") who has nobody here: a child alone, a case; not
    # a parent with their children ("I live with my 2 kids of 5 and 7, we have no family here"),
    # nor a child home alone after school ("alone" alone is not enough: "has nobody here" is)
    # "a boy of 13 sleeping alone at the station", but not "my son of 12 walks alone to school"
    # "alone" said of the child, close to the age ("a boy of 13, alone", "j'ai 15 ans, seul")
    alone = bool(found & {"alone", "no_family"}) or (
        any(_near(spans, "alone_word", c, _ALONE_NEAR) for c in ("minor_age", "minor_word"))
        and not found & {"home_school", "my_child", "past_over", "adult_years"}
    )
    if "with_children" not in found and (
        (found & {"minor_age", "minor_word"} and alone)
        or ("child_word" in found and "no_family" in found)
    ):
        found.add("unaccompanied")
    # a child made to work, unpaid or all day: child labour, trafficking
    if child and found & {"work", "make_work"}:
        near = any(
            _near(spans, c, x, 10)
            for c in (*_CHILD, "young_girl")
            for x in ("exploit", "make_work")
        )
        if near:
            found.add("trafficking")
    # a man touching a child or a woman of the family: sexual abuse
    if any(_near(spans, "touch", c, 3) for c in (*_CHILD, "young_girl", "held_people")):
        found.add("gbv")
    # forced into a marriage: "يزوجني غصب", "force me marry" (not "my wife and I were forced out")
    if _near(spans, "force", "marry", 1):
        found.add("gbv")
    # money asked to let a person go: a kidnapping for ransom
    # (not "they called my mother and asked for money for the wedding")
    held = {"abduction", "detention", "held_word", "kill_threat", "torture", "person_taken"}
    if "ransom" in found or ("demand_money" in found and found & {*held, "release_for", "threat"}):
        found.add("trafficking")
    # rules8: a relative held ("bhai ke atkaia ... 7 lakh chaitese"), or money asked for a
    # relative on a condition ("hawey ... 5000 dolar entezeyhbna ..."): a ransom
    if "demand_money" in found and (
        _near(spans, "hold_verb", "held_people", 3)
        or ("conditional" in found and "held_people" in found)
    ):
        found.add("trafficking")
    # a person taken by the police or an armed group, or taken and not found since
    taken = bool(found & {"person_taken", "took_person"})
    if taken and "authority" in found:
        found.add("detention")
    if taken and found & {"whereabouts", "missing"}:
        found.add("missing_person")
    # a sweep ("حملة") and people gone since, or the police taking people
    if "raid_word" in found and found & {"missing", "whereabouts", "person_taken", "authority"}:
        found.add("detention")
    # "if I ask for my money again he will kill me": a threat, not an attack now
    # "he will kill me if I don't pay tomorrow"; not "help, they will kill us if you don't come"
    if found & {"help_call", "now"}:
        return
    if _near(spans, "if_word", "kill_threat", 8):
        found.add("conditional")


# Violence that a word of habit ("every night", "كل يوم", "kullum") says goes on.
_VIOLENCE = frozenset({"beating", "beating_now", "torture", "gbv", "sex_act"})
_INVOLVED_NEAR = 1  # words between a danger and a relative ("arrested my brother")


def _habits_harms_and_hearsay(spans: list[tuple[str, int, int]], found: set[str]) -> None:
    """Rules for violence that repeats or leaves lasting harm, for hearsay, and for threats
    said to "you" (adds to `found`; the blind5 rules helper)."""
    pasts = [(s, e) for c, s, e in spans if c == "past_over"]
    habits = [(s, e) for c, s, e in spans if c == "habitual"]
    for c, s, e in (x for x in spans if x[0] in _VIOLENCE or x[0] == "violence_noun"):
        d_habit = min((_distance((s, e), h) for h in habits), default=_NEAR + 1)
        d_past = min((_distance((s, e), p) for p in pasts), default=_NEAR + 1)
        # "they beat us every night": goes on, whenever the story began; not "they used to
        # beat us every day", where the past word stands as near
        if d_habit <= _NEAR and d_habit < d_past:
            found.add("ongoing")
            if c == "violence_noun":
                found.add("beating")  # "الضرب كل يوم", "les coups tous les jours"
    # "I still cannot walk since they beat me": a past beating whose harm lasts is a case
    violent = _VIOLENCE | {"shooting", "stabbing", "violence_noun"}
    if "lasting_harm" in found and found & violent:
        found |= {"harm_lasts", "threat"}
    # "we will kill you if you don't pay": a threat quoted to the person
    if "kill_you" in found:
        found.add("threat")
    # "they will sell you" only as a condition ("if you don't pay") or with another threat
    if "sell_you" in found and (_near(spans, "if_not", "sell_you", 8) or "threat" in found):
        found.add("trafficking")
    # "they say in Tripoli people are being arrested": hearsay, unless said of here and now,
    # or a threat told to the person ("they say they will kill me if ...")
    # (only of a danger it names: "dem say I no fit go" is left to the classifiers)
    # nor when the person or their family is anywhere in it ("people say they arrest in our area")
    told = found & {"now", "help_call", "near_us", "self_ref", "my_family", *_TOLD_TO_ME, *_OWN}
    topic = found & (DANGER_CONCEPTS | {"authority", "police", "raid_word"})  # of a danger
    if "hearsay" in found and topic and not told:
        found.add("news")
    # The person or their family named next to the danger: theirs, even in a story from the
    # news ("I saw on Facebook that they took my brother"); named anywhere else: ask.
    dangers = [
        (s, e)
        for c, s, e in spans
        if c in DANGER_CONCEPTS or c in _QUOTED_THREATS or c in ("seize", "took_person")
    ]
    family = [(s, e) for c, s, e in spans if c == "my_family"]
    me = [(s, e) for c, s, e in spans if c == "self_ref"]
    # "me" inside or right next to the danger ("they took me", "ils nous ont arrêtés"); a
    # relative at most a word away ("they arrested my brother", "قبضوا على خوي")
    if any(_distance(d, p) == 0 for d in dangers for p in me) or any(
        _distance(d, p) <= _INVOLVED_NEAR for d in dangers for p in family
    ):
        found.add("involved")
    elif dangers and family:
        found.add("named_person")


# -- spans whose meaning depends on their neighbours -------------------------------------------
_FIRE_BEFORE = 20  # words from a fire back to a Hausa "an kashe ta" (one sentence apart at most)
_VEHICLE_NEAR = 3  # words between the verb that moves a person and the vehicle
_OUT_NEAR = 4  # words between a fire and "is out"
_DOING_NEAR = 3  # words between "suna yi wa" and "fyade" (the person between them)
_HELD_NEAR = 6  # words between a relative said to be "still" somewhere and the hold
_PERSON = frozenset(
    {"someone", "held_people", "child_word", "young_girl", "my_family", "self_ref", "minor_word"}
)
_HOLDS = frozenset(
    {"detention", "held_word", "hold_verb", "seize", "abduction", "trafficking", "raid"}
    | {"person_taken", "took_person"}
)
# "ضربوني", "قتلوني", "darbouni", "9tlouni": the person is the object inside the verb
_ME_ARABIC = ("ني", "نا")
_ME_LATIN = ("ouni", "ouna", "oni", "ni")
_MIN_ME_ARABIC = 4  # not "هنا"
_MIN_ME_LATIN = 5  # not the Hausa word "ni" (a word of its own, read by the lexicon)


def _before(a: tuple[int, int], b: tuple[int, int], words: int) -> bool:
    """`a` ends before `b` starts, with at most `words` words between them."""
    return a[1] <= b[0] and b[0] - a[1] <= words


def _spans_from_neighbours(
    spans: list[tuple[str, int, int]], tokens: list[str]
) -> list[tuple[str, int, int]]:
    """Spans read from their neighbours: a Hausa "an kashe ta" after a fire is the fire
    put out; a person dragged into a vehicle is an abduction; "suna yi wa X fyade" is going on;
    a danger verb whose object is "me" ("ضربوني") names the person."""
    arson = [(s, e) for c, s, e in spans if c == "arson"]
    fires = [
        (s, e)
        for c, s, e in spans
        if c in ("fire", "fire_word") and not any(_distance((s, e), a) == 0 for a in arson)
    ]
    out: list[tuple[str, int, int]] = []
    for c, s, e in spans:
        if c == "fire_out_ambig":
            # "gobara ta tashi amma an kashe ta": the fire was put out; anywhere else a killing
            put_out = any(_before(f, (s, e), _FIRE_BEFORE) for f in fires)
            out.append(("fire_out" if put_out else "kill_threat", s, e))
        else:
            out.append((c, s, e))
    # "the fire in our room is out now": a fire word, then "is out" a few words on
    outs = [(s, e) for c, s, e in spans if c == "out_word"]
    out.extend(("fire_out", f[0], o[1]) for o in outs for f in fires if _before(f, o, _OUT_NEAR))
    by: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for c, s, e in out:
        by[c].append((s, e))
    force = bool(by["force"])
    people = [x for c in _PERSON for x in by[c]]
    outs_of = by["out_of"]
    # emerg8: "the bus driver pushed us in, it was so full": a crowded bus, no abduction
    # (unless by force or armed men)
    crowded = bool(by["crowded"]) and not force and not by["armed"]
    for v in [] if crowded else by["vehicle"]:
        # "dem push am enter motor", "جروه للسيارة", "دخلوه في سيارة بالقوة", "pulled a girl
        # into a white car"; not "we pushed the car", "put the bags in the car"
        moved = [d for d in by["drag_person"] if _before(d, v, _VEHICLE_NEAR)]
        if force:
            moved += [d for d in by["put_person"] if _before(d, v, _VEHICLE_NEAR)]
        # a bare verb, its person right after it, then the vehicle
        moved += [
            d
            for d in by["drag_verb"]
            if any(_before(d, p, 1) and _before(p, v, _VEHICLE_NEAR) for p in people)
        ]
        # "we pulled him out of the car", "نزلوه من السيارة": out of it, not into it
        out.extend(
            ("abduction", d[0], v[1])
            for d in moved
            if not any(d[1] <= o[0] and _before(o, v, 0) for o in outs_of)
        )
    if not crowded:
        out.extend(_vehicle_first(by, people, tokens))
    # "suna yi wa yarinyar fyade": a progressive verb, its person, then the rape; not a
    # disclosure ("... suna yi wa mata fyade. ban taba fada wa kowa ba": never told anyone)
    for d in [] if by["secret"] else by["doing_to"]:
        out.extend(
            ("beating_now", d[0], g[1])
            for g in by["gbv"]
            if d[0] < g[0] and _distance(d, g) <= _DOING_NEAR
        )
    for c, s, e in list(out):
        if c not in DANGER_CONCEPTS:
            continue
        for word in tokens[s:e]:
            arabic = len(word) >= _MIN_ME_ARABIC and word.endswith(_ME_ARABIC)
            latin = len(word) >= _MIN_ME_LATIN and _is_latin(word) and word.endswith(_ME_LATIN)
            if arabic or latin:
                out.append(("self_ref", s, e))
                break
    return out


# rules7: the vehicle named first, the person moved into it after ("the car came and they
# pushed her in", "motor come, dem carry am by force", "السيارة وقفت وركبوه بالقوة")
_VEHICLE_AFTER = 12  # words from the vehicle on to the verb that moves the person
_VEHICLE_GAPS = _SENTENCE_GAP + 2 * _CLAUSE_GAP  # the same sentence or the next, no farther
# a person moved into something ("pushed him inside", "ورموه داخلها")
_INTO = frozenset(
    fold(w)
    for w in ("inside", "into", "dedans", "ciki", "cikin", "داخلها", "داخل", "بداخلها", "جواها")
)
# "pushed her in" said last, or "in and drove off" (not "pushed her in the street")
_IN_LAST = frozenset({"in", "and", "then", "by", "with", "quickly", "fast", _GAP})


def _vehicle_first(
    by: Mapping[str, list[tuple[int, int]]], people: list[tuple[int, int]], tokens: list[str]
) -> list[tuple[str, int, int]]:
    """("abduction", vehicle, verb) for a vehicle named before the verb that moves a person,
    a few words on in the same sentence or the next, when the person goes in ("pushed her
    in", "threw him inside") or by force ("carry am by force"); not "the car came and they
    got in", "we took a taxi to the police station", "the ambulance came and put him in"."""

    def inward(end: int) -> bool:  # "in", "inside", "into" right after the person
        nxt = tokens[end] if end < len(tokens) else None
        after = tokens[end + 1] if end + 1 < len(tokens) else None
        return nxt in _INTO or (nxt == "in" and (after is None or after in _IN_LAST))

    found: list[tuple[str, int, int]] = []
    for v in by.get("vehicle", []):
        for kind in ("drag_person", "put_person", "drag_verb"):
            for d in by.get(kind, []):
                if d[0] < v[1]:
                    continue
                between = tokens[v[1] : d[0]]
                gaps = between.count(_GAP)
                if len(between) - gaps > _VEHICLE_AFTER or gaps > _VEHICLE_GAPS:
                    continue
                end = d[1]
                if kind == "drag_verb":  # a bare verb: its person right after it
                    person = [p for p in people if _before(d, p, 1)]
                    if not person:
                        continue
                    end = max(p[1] for p in person)
                # "by force" of its own ("forced me to pay" is no force into a car)
                forced = any(
                    _distance(d, f) <= _VEHICLE_NEAR and not (d[0] <= f[0] and f[1] <= d[1])
                    for f in by.get("force", [])
                )
                if forced or (kind != "put_person" and inward(end)):
                    found.append(("abduction", v[0], end))
    return found


def _others_still_held(spans: list[tuple[str, int, int]], found: set[str]) -> None:
    """A relative said to be still held (not only "still in Niger") keeps a released person's
    case open (adds `others_held` to `found`)."""
    held = [(s, e) for c, s, e in spans if c in _HOLDS]
    nows = [(s, e) for c, s, e in spans if c == "now"]
    if any(
        any(_distance(r, n) <= _NEAR for n in nows)
        and any(_distance(r, h) <= _HELD_NEAR for h in held)
        for r in ((s, e) for c, s, e in spans if c == "held_people")
    ):
        found.add("others_held")  # "they released me but my brother is still in the prison"


def _fire_put_out(spans: list[tuple[str, int, int]], found: set[str]) -> None:
    """A fire put out is over (safe), unless people are still inside or burnt: then it is a
    fire that still needs help (adds to `found`)."""
    outs = [(s, e) for c, s, e in spans if c == "fire_out"]
    if not outs:
        return
    first = min(s for s, _ in outs)
    # "nobody was inside", "ما في حد جوا", "babu kowa a ciki": no one left in the fire
    nobody = [(s, e) for c, s, e in spans if c == "nobody"]
    persons = [(s, e) for c, s, e in spans if c in _PERSON]
    people = [
        s
        for c, s, e in spans
        if c in ("trapped", "inside", "burnt")
        and s >= first
        and not any(_before(n, (s, e), 2) or _distance(n, (s, e)) == 0 for n in nobody)
    ]
    # "wuta ta mutu amma kanina ya kone": a person, then a burn word, after the fire is out
    people += [
        s
        for c, s, e in spans
        if c == "fire"
        and s > first
        and not any(o[0] <= s and e <= o[1] for o in outs)
        and any(_before(p, (s, e), 1) for p in persons)
    ]
    if not people:
        found.add("safe_now")  # "the fire is out, nobody hurt"
        return
    if not any(c == "safe_now" and (s, e) not in outs for c, s, e in spans):
        found.discard("safe_now")  # "the fire is out" is not "we are safe"
    found.add("fire")  # "put out, but two people are still inside"


_QUOTED_THREATS = frozenset({"kill_you", "sell_you", "lasting_harm"})
# What "they say" tells the person themself: a threat, a demand, being looked for.
_TOLD_TO_ME = frozenset(
    {"kill_threat", "threat", "conditional", "ransom", "demand_money", "trafficking", "gbv"}
    | {"pursued", "missing_person"}
    | _QUOTED_THREATS
)
# The person's own work, debt and papers: "dem say I must finish my debt" is no news.
_OWN = frozenset({"passport", "passport_taken", "work", "debt", "force", "torture", "seize"})


def load_lexicon(directory: Path = LEXICON_DIR) -> dict[str, dict[str, list[str]]]:
    """concept -> language -> terms, from one file a language (`<language>.yml`: concept ->
    terms), so each language's terms are kept, and grow, apart."""
    lexicon: dict[str, dict[str, list[str]]] = {}
    for path in sorted(directory.glob("*.yml")):
        raw = safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path.name}: expected concept: [terms]")
        for concept, terms in raw.items():
            lexicon.setdefault(str(concept), {})[path.stem] = [str(t) for t in terms or []]
    return lexicon


def known_words(data_dir: Path, min_count: int = 2) -> set[str]:
    """Words written at least `min_count` times in the intent training data (a typo is rare)."""
    counts: dict[str, int] = defaultdict(int)
    for path in sorted(data_dir.glob("*.yml")):  # Rasa NLU files (the C YAML parser: fast)
        raw = safe_load(path.read_text(encoding="utf-8")) or {}
        for item in (raw.get("nlu") if isinstance(raw, dict) else None) or []:
            examples = item.get("examples") if isinstance(item, dict) else None
            for line in str(examples or "").splitlines():
                for word in fold(line.strip().removeprefix("- ")).split():
                    counts[word] += 1
    return {word for word, n in counts.items() if n >= min_count}


def language_words(data_dir: Path, min_count: int = 2) -> dict[str, str]:
    """Latin-letter words written at least `min_count` times in one language's intent training
    data (``<language>.yml``) and in no other's: the words that tell a message's language."""
    seen: dict[str, set[str]] = defaultdict(set)
    for path in sorted(data_dir.glob("*.yml")):
        counts: dict[str, int] = defaultdict(int)
        raw = safe_load(path.read_text(encoding="utf-8")) or {}
        for item in (raw.get("nlu") if isinstance(raw, dict) else None) or []:
            examples = item.get("examples") if isinstance(item, dict) else None
            for line in str(examples or "").splitlines():
                for word in fold(line.strip().removeprefix("- ")).split():
                    if word.isascii() and word.isalpha():
                        counts[word] += 1
        for word, n in counts.items():
            seen[word].add(path.stem)
            if n < min_count:
                seen[word].add("")  # rare here: a typo, or another language's word
    return {sys.intern(w): next(iter(v)) for w, v in seen.items() if len(v) == 1}


def _drop_contained(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """A span inside a strictly longer span of another concept gives way to it."""
    unique = set(spans)
    return [
        (c, s, e)
        for c, s, e in unique
        if c in _ALONGSIDE
        or not any(
            c2 != c and c2 not in _ALONGSIDE and s2 <= s and e <= e2 and (e2 - s2) > (e - s)
            for c2, s2, e2 in unique
        )
    ]


# Concepts read alongside the others (the blind5 rules): their spans neither give way nor make
# another give way ("me" in "beat me" still says who; "still" in "still cannot walk" is still
# a "now").
_ALONGSIDE = frozenset(
    {"self_ref", "my_family", "lasting_harm", "habitual", "hearsay", "back_home"}
    | {"violence_noun", "if_not"}
    # combiners of the neighbour rules: a vehicle, the verbs that move a person, a person, a burn
    | {"vehicle", "drag_person", "put_person", "drag_verb", "someone", "burnt", "doing_to"}
    | {"nobody", "out_word", "out_of", "arson", "crowded"}
    | {"blade"}  # a knife named: with a break-in, armed men (rules7)
)


DANGER_CONCEPTS = frozenset({*_STRONG, *_URGENT, *_WEAK, "birth", "self_harm", "armed"})
# What a "lol" does not take back: anything beyond a threat to kill.
_NOT_A_JOKE = frozenset(
    {*_STRONG, *_URGENT, *_WEAK, "self_harm", "birth", "armed"} - {"kill_threat", "threat"}
)
_NEAR = 4  # words: "now" qualifies a danger this close to it


def _distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, b[0] - a[1], a[0] - b[1])


def _near(spans: list[tuple[str, int, int]], first: str, second: str, words: int) -> bool:
    a = [(s, e) for c, s, e in spans if c == first]
    b = [(s, e) for c, s, e in spans if c == second]
    return any(_distance(x, y) <= words for x in a for y in b)


# Danger words said of an everyday cause are idioms: "the prices are killing us", "drowning in
# debt", "burning from the cold", "farashi ya kashe mu", "غرقان في الديون", "a polio shot".
_IDIOM_PRONE = frozenset(
    {
        "kill_threat",
        "kill_you",  # "this heat will kill you"
        "killing",
        "drowning",
        "fire",
        "fire_word",
        "explosion",
        "shooting",
        "danger_general",
        "collapse",  # "my phone is dying", "the battery died"
    }
)
_IDIOM_NEAR = 2  # words between the cause and the danger word


def _drop_idioms(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    conditions = [(s, e) for c, s, e in spans if c == "conditional"]
    causes = [
        (s, e)
        for c, s, e in spans
        if c == "idiom_cause" and not any(_distance((s, e), x) == 0 for x in conditions)
    ]
    if not causes:
        return spans
    # one who does not wake up has collapsed, whatever the heat or the hunger
    prone = _IDIOM_PRONE - (
        {"collapse"} if any(c == "unresponsive" for c, _, _ in spans) else set()
    )
    said = [
        (c, s, e)
        for c, s, e in spans
        if c in prone and any(_distance((s, e), x) <= _IDIOM_NEAR for x in causes)
    ]
    # and the same concept's words inside such an idiom ("dilaya" in "i dilaya")
    idioms = {
        (s, e)
        for c, s, e in spans
        if c in prone and any(c == c2 and s2 <= s and e <= e2 for c2, s2, e2 in said)
    }
    # A word that is both a kill word and a threat ("هيموتنا") goes with the kill word: "the
    # heat will kill us" is no threat either.
    return [
        (c, s, e) for c, s, e in spans if (s, e) not in idioms or (c not in prone and c != "threat")
    ]


def _only_things_taken(spans: list[tuple[str, int, int]]) -> bool:
    """Every word of taking is followed at once by a thing (a phone, money, a passport), not
    a person: a theft, which the person reports, not an abduction."""
    taken = [(s, e) for c, s, e in spans if c == "abduction"]
    things = [s for c, s, _ in spans if c in ("stolen_thing", "passport")]
    if any(_distance(x, (s, e)) <= 1 for x in taken for c, s, e in spans if c == "held_people"):
        return False  # "they took my brother by force, they ask for money": a person
    return bool(taken) and all(any(0 <= t - e <= 1 for t in things) for _, e in taken)


def _things_and_arrests(
    spans: list[tuple[str, int, int]], tokens: list[str], found: set[str]
) -> None:
    """Passports and things taken or held, and people taken by the police (adds to `found`)."""
    if _things_held(spans):  # rules8: "customs kept my bag at the airport": no person held
        found.discard("detention")
        if any(c == "passport" for c, _, _ in spans):
            found.add("passport_taken")  # "passport atke rakhse": the passport is kept
    # "they took my phone and my passport"; not handed in to be renewed at the embassy (rules8)
    if _near(spans, "seize", "passport", 5) and not _near(spans, "paperwork", "passport", 3):
        found.add("passport_taken")
    if "passport_taken" in found and "authority" in found and "safe_now" in found:
        # emerg8: "the police at the checkpoint took our papers to check and let us go"
        found.discard("passport_taken")
    if _police_took(spans):
        found.add("detention")  # "the police came to our house and took everyone"
    if "abduction" in found and _police_took_away(spans, tokens):
        # rules8: "police amar bhai ke tule nise": taken away by the police is an arrest, a
        # case (urgent), not a kidnapping to send help to
        found.discard("abduction")
        found.add("detention")


_THING_NEAR = 3  # words between a thing and the word that holds it ("bag airport e atke rakhse")


def _things_held(spans: list[tuple[str, int, int]]) -> bool:
    """rules8: every word of detention is a verb of holding said of a thing right before it
    ("my bag atke rakhse", "santay hizomwo", "passport atke rakhse"), none of a person: no one
    is detained."""
    held = [(s, e) for c, s, e in spans if c == "detention"]
    verbs = {(s, e) for c, s, e in spans if c in ("hold_verb", "seize")}
    things = [(s, e) for c, s, e in spans if c in ("stolen_thing", "passport")]
    people = [(s, e) for c, s, e in spans if c in _PERSON]
    return bool(held) and all(
        h in verbs
        and any(_before(t, h, _THING_NEAR) for t in things)
        and not any(_distance(p, h) == 0 or _before(p, h, _THING_NEAR) for p in people)
        for h in held
    )


_POLICE_NEAR = 6  # words between the police and the words that take a person away


_MILITIA = ("milit", "milis", "মিলিশ", "ሚሊሽ", "ميليش", "مليش")


def _police_took_away(spans: list[tuple[str, int, int]], tokens: list[str]) -> bool:
    """rules8: every word of taking away ("tule nise", "তুলে নিয়ে গেছে") has the police (the
    shurta, the mukhabarat; not a militia) a few words before or after it: an arrest, not a
    kidnapping."""
    police = [
        (s, e)
        for c, s, e in spans
        if c == "police" and not any(w.startswith(_MILITIA) for w in tokens[s:e])
    ]
    taken = [(s, e) for c, s, e in spans if c == "abduction"]
    return bool(police) and all(any(_distance(p, t) <= _POLICE_NEAR for p in police) for t in taken)


_WAS_NEAR = 2  # words between a danger and the "was" (ነይረ) that dates it


def _was_past(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """rules8: a bare "I was" / "we had" (Tigrinya ነይረ, neyre) is the past only right after a
    danger ("ኣብ ማእሰርቲ ነይረ", I was in prison); elsewhere it is a pluperfect that dates only
    its own clause ("police hizom kediom, ane wetsie neyre": I had gone out)."""
    dangers = [(s, e) for c, s, e in spans if c in DANGER_CONCEPTS or c in ("seize", "hold_verb")]
    out: list[tuple[str, int, int]] = []
    for c, s, e in spans:
        if c != "was_word":
            out.append((c, s, e))
        elif any(d[1] <= s and s - d[1] <= _WAS_NEAR for d in dangers):
            out.append(("past_over", s, e))
    return out


def _police_took(spans: list[tuple[str, int, int]]) -> bool:
    """The police (or a militia) before a word of taking or holding, a few words on, and
    what was taken is no thing: "the police came at night and took all of us" (not "they
    took my phone, I will go to the police")."""
    police = [s for c, s, _ in spans if c == "police"]
    things = [(s, e) for c, s, e in spans if c in ("stolen_thing", "passport")]
    for c, s, e in spans:
        if c not in ("seize", "hold_verb") or any(_distance((s, e), t) <= 1 for t in things):
            continue
        if any(p < s and s - p <= 6 for p in police):
            return True
    return False


# A robbery with violence, a threat, a passport or an arrest is more than a theft.
_NOT_A_THEFT = frozenset(
    {*_STRONG, *_URGENT, "passport", "armed", "injury", "threat", "held_word", "hold_verb"}
)


def _a_theft(spans: list[tuple[str, int, int]]) -> bool:
    """Things stolen, no person: a thief's word ("tuugo", "ছিনতাই"), or every word of taking
    next to a thing (a phone, money, a bag) in the street or the market, none next to a
    person. Not with a passport, a weapon, a threat or an arrest, which stay a case."""
    things = [(s, e) for c, s, e in spans if c == "stolen_thing"]
    if not things or any(c in _NOT_A_THEFT for c, _, _ in spans):
        return False
    takes = [(s, e) for c, s, e in spans if c in ("seize", "abduction")]
    people = [(s, e) for c, s, e in spans if c == "held_people"]
    if any(_distance(t, p) <= 1 for t in takes for p in people):
        return False  # "they took my brother"
    thief = any(c == "theft" for c, _, _ in spans)
    # taken in the street or the market; a phone taken by an employer or a captor (so that
    # the person cannot call anyone) is left to the other signs
    street = any(c == "street" for c, _, _ in spans)
    snatched = bool(takes) and all(any(_distance(t, x) <= 2 for x in things) for t in takes)
    return thief or (street and snatched)


_RANSOM_NEAR = 5  # words between the money asked and the person held

_PAST_NEAR = 6  # words: a past farther than this from every danger is the story's background


def _danger_nows(spans: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """The "now" words that may say a danger goes on now."""
    # the "still" of harm that lasts ("I still cannot walk") is no danger's now either
    # emerg8: nor is the "now" of being back home or in Europe ("now I am in France")
    safe = [(s, e) for c, s, e in spans if c in ("safe_now", "lasting_harm", "back_home")]
    # "hadda waa xasilloon yahay", "এখন শান্ত": the "now" of being safe again is no danger's
    return [
        (s, e)
        for c, s, e in spans
        if c == "now" and not any(_distance((s, e), x) == 0 for x in safe)
    ]


def _background_past(spans: list[tuple[str, int, int]], starts: list[int]) -> bool:
    """A story that starts in the past ("I came from Niger last year") and tells a danger of
    today ("tonight ..."): the past is background, not the danger's time. Only when a word
    says now in the same sentence as a danger, and no past word stands near any danger."""
    pasts = [(s, e) for c, s, e in spans if c == "past_over"]
    nows = _danger_nows(spans)  # emerg8: not the "now" of "now I am in Germany"
    if not pasts or not nows:
        return False
    dangers = [(s, e) for c, s, e in spans if c in DANGER_CONCEPTS]
    far_from_past = all(_distance(d, p) > _PAST_NEAR for d in dangers for p in pasts)

    def sentence(at: int) -> int:
        return sum(start <= at for start in starts)

    now_near = any(sentence(d[0]) == sentence(n[0]) for d in dangers for n in nows)
    return bool(dangers) and far_from_past and now_near


def _now_near_danger(spans: list[tuple[str, int, int]]) -> bool:
    """A danger said to be going on now: a "now" word near it, and no nearer word saying it
    is over ("detained two years ago, now I want to go home" is over)."""
    nows = _danger_nows(spans)
    pasts = [(s, e) for c, s, e in spans if c == "past_over"]
    for _, s, e in (span for span in spans if span[0] in DANGER_CONCEPTS):
        d_now = min((_distance((s, e), n) for n in nows), default=_NEAR + 1)
        d_past = min((_distance((s, e), p) for p in pasts), default=_NEAR + 1)
        if d_now <= _NEAR and d_now < d_past:
            return True
    return False


def _strong_signs(found: set[str], *, now: bool, over: bool) -> tuple[set[str], set[str]]:
    """The immediate dangers a message names, with those that weaker signs make together
    ("fire" + "people inside"), and the concepts those combinations add (a disclosure, a
    threat). Returns (strong kinds, concepts)."""
    strong = {_STRONG[c] for c in found if c in _STRONG}
    # Combinations that make an emergency out of weaker signs.
    # pregnant and bleeding, in pain, fallen or unconscious
    if "birth" in found and found & {"bleeding", "blood_word", "pain", "collapse", "person_down"}:
        strong.add("childbirth")
    everyday = bool(found & {"work_context", "work"})  # cooking, welding, at work
    fire_signs = {"trapped", "inside", "help_call"} | (set() if everyday else {"building"})
    if "fire_word" in found and found & fire_signs:
        strong.add("fire")
    if "trapped" in found and found & {"explosion", "fire", "fire_word", "drowning"}:
        strong.add("fire" if found & {"fire", "fire_word"} else "explosion")
    if "trapped" in found and found & {"breath", "danger_general"}:
        strong.add("danger")  # locked in without air, "we will die": no need to ask
    violent = bool(found & {"beating", "beating_now", "torture"})
    if violent and (now or found & {"help_call", "danger_general"}) and not over:
        strong.add("beating")  # ongoing violence, in detention or anywhere
    if "armed" in found and found & {"attack_now", "now", "help_call", "inside", "building"}:
        strong.add("killing")  # armed men breaking in, outside, now
    if "injury" in found and "minor" not in found and found & {"help_call", "armed", "beating"}:
        found = {*found, "injured_now"}  # hurt in an attack, calling for help: ask
    if "person_taken" in found and "now" in found and not over and "police" not in found:
        strong.add("abduction")  # a person taken away, said to be happening now (not arrested)
    if "boat_in_trouble" in found:
        strong.add("drowning")
    if "secret" in found and found & {"force", "beating", "beating_now"}:
        found = {*found, "gbv"}  # "he did it by force, I never told anyone": a disclosure
    if found & {"force", "debt"} and "work" in found:
        found = {*found, "trafficking"}  # made to work by force, or until a debt is paid
    if "kill_threat" in found and "conditional" in found:
        strong.discard("killing")  # "they will kill me if I don't pay": a threat, urgent
        found = {*found, "threat"}
    if "danger_general" in found and "help_call" in found and not over:
        strong.add("danger")  # "help us, we are in danger": said outright, no need to ask
    if "desert" in found and "stranded_sign" in found:
        strong.add("stranded")  # left in the desert, no water, people who cannot stand
    if "unresponsive" in found and (violent or "person_down" in found):
        strong.add("collapse")  # fell, a high fever or beaten, and does not answer
    if "accident_word" in found and found & {"injury", "bleeding", "blood_word", "help_call"}:
        strong.add("accident")  # an accident with someone hurt
    if "armed" in found and "threat" in found and now:
        strong.add("killing")  # threatened with a gun right now
    if "attack_now" in found and "threat" in found and "now" in found and not over:
        strong.add("abduction")  # intruders inside now, the person hiding from them
    if "armed" in found and "pursued" in found:
        strong.add("killing")  # armed men looking for the person
    return strong, _held_or_missing(found, strong, now=now, over=over)


def _held_or_missing(found: set[str], strong: set[str], *, now: bool, over: bool) -> set[str]:
    """More combinations (adds to `strong`; returns the concepts with what they add)."""
    if "trapped" in found and "stranded_sign" in found and not over:
        strong.add("stranded")  # locked in without water or food
    if "gbv" in found and "attack_now" in found and now and not over:
        strong.add("danger")  # broke in, assaulted, still at the door: not only a disclosure
    if "person_down" in found and found & {"beating", "beating_now"} and not over:
        strong.add("beating")  # beaten and lying on the ground
    if "pursued" in found and found & {"help_call", "grab_threat"} and not over:
        strong.add("danger")  # followed right now, afraid to be grabbed, calling for help
    if "hiding" in found and found & {"attack_now", "armed", "pursued"} and not over:
        strong.add("danger")  # hiding under the bed, they broke in: happening now
    if "blade" in found and found & {"raid", "attack_now"} and not over:
        strong.add("killing")  # rules7: men with knives breaking in (not a police raid)
    if "convulse" in found and found & {"person_down", "unresponsive", "child", "birth"}:
        strong.add("collapse")  # a high fever and shaking, fallen and shaking: a seizure
    if "body_sign" in found and found & {"person_down", "unresponsive", "breath"} and not over:
        strong.add("collapse")  # emerg8: eyes closed, limp, pale, and fallen or not answering
    if "taken_by_force" in found and "passport_taken" not in found and not over:
        strong.add("abduction")  # someone taken away by force, not said to be over
    if "sex_act" in found and found & {"force", "beating", "beating_now", "armed"}:
        found = {*found, "gbv"}  # "he slept with me by force"
    if (
        found & {"child", "young_girl"}
        and ("no_family" in found or ("alone" in found and "street" in found))
        and not over
        and "with_children" not in found
    ):
        found = {*found, "unaccompanied"}  # a boy of 13 alone in the street, no family
    # not let go until a debt is paid, made to work; rules8: not let out, the phones taken or
    # money asked ("they took our phones and do not let us out of the hosh")
    leave_with = {"debt", "work", "hold_verb", "passport", "exploit"}
    if "no_leave" in found and found & {*leave_with, "seize", "demand_money", "release_for"}:
        found = {*found, "trafficking"}
    # rules7: locked in by a boss or a broker (who holds them, wants money for them, locks them
    # in at night and takes them to work in the morning): a case, not a fire exit to ask about;
    # an acute sign (fire, no air, "help us, we will die") stays an emergency in _strong_signs
    if "trapped" in found and (
        found & {"hold_verb", "release_for", "demand_money", "debt", "exploit", "ransom"}
        or {"work", "habitual"} <= found
    ):
        found = {*found, "trafficking"}
    if "missing" in found and "young_girl" in found and not over:
        found = {*found, "trafficking"}  # a girl gone, her phone off, with strangers: a case
    violent = bool(found & {"beating", "beating_now", "torture"})
    if "dental" in found and "bleeding" in strong and not violent and "accident" not in strong:
        # a gum that bleeds at the dentist: everyday when "a little", else ask
        strong.discard("bleeding")
        if "minor" not in found:
            found = {*found, "blood_word", "dental_ask"}
    return found


def _urgent(
    found: set[str],
    urgent: list[str],
    concepts: frozenset[str],
    *,
    now: bool,
    over: bool,
    hard_negative: bool,
) -> Detection:
    """A case for a person (detention, trafficking, violence, threats), unless it is over."""
    category = next(k for k in _URGENT_ORDER if k in urgent)
    pursued = "pursued" in found and not ("past_over" in found and not now)
    # "she was on that boat": told in the past tense, not over until they are found safe
    missing = "missing_person" in found and "safe_now" not in found
    # looked for now, or torture or harm that lasts (unless the person says they are safe
    # now): a case anyway
    lasting = bool(found & {"torture", "harm_lasts"})
    told = pursued or (lasting and "safe_now" not in found) or missing
    # "they released me but my brother is still in the prison": not over for him
    # (the relative said to be still held, not "my brother is still in Niger")
    others_still = now and "others_held" in found
    if over and category in ("detention", "threat", "unaccompanied") and not (told or others_still):
        return Detection("none", None, "sure", concepts, True)  # released, long ago
    if hard_negative and category == "threat" and not (found & {"threat", "torture"} or missing):
        return Detection("none", None, "sure", concepts, True)  # a beating that is over
    return Detection("urgent", category, "sure", concepts, hard_negative)


def decide(found: set[str], now: bool | None = None) -> Detection:
    """The level, category and certainty the concepts of one message add up to (`now`: a
    word saying it is happening now stands near the danger; by default, anywhere)."""
    # the blind5 rules' helper words ("me", "they say", "every day") are not reported: a plain
    # answer made of a step's own words stays one (flows/safety.py)
    concepts = frozenset(
        found - _ALONGSIDE - {"involved", "named_person", "ongoing", "others_held"}
    )
    now = ("now" in found) if now is None else now
    # In the news, hypothetical (a place far away alone is no proof: "we fled Sudan")
    # A relative missing is this person's case even when told as hearsay ("they say the
    # militia took him").
    # the news is this person's when they or their family are in it ("... they took my
    # brother"); a hypothetical stays one ("what if the police arrest me")
    news = "news" in found and "involved" not in found
    elsewhere = (news or "hypothetical" in found) and not now and "missing_person" not in found
    strong_now = now and bool(found & set(_STRONG))
    # "We are safe now" ends it unless an immediate danger is said to go on now.
    # "I escaped but they are looking for me" is not safe: someone pursues the person now.
    still_unsafe = "pursued" in found or "not_over" in found  # or "not released", "not safe"
    # "kidnapped last year, now I am home in Niger": back home after a past danger is safe
    safe = "safe_now" in found or (
        "back_home" in found and bool(found & {"past_over", "past_weeks", "recent_past"})
    )
    ongoing = "ongoing" in found  # "they beat us every night": a past word does not end it
    over = (safe and not strong_now and not still_unsafe) or (
        "past_over" in found and not now and not ongoing
    )
    recent = "recent_past" in found and not now
    # weeks or months ago: an emergency is over, a detention or a threat may well go on
    over_emergency = over or ("past_weeks" in found and not now)
    hard_negative = elsewhere or over

    if "sport" in found and not found & {"beating_now", "armed", "help_call"}:
        found = found - {"beating"}  # "hit my leg playing football": no violence
    strong, found = _strong_signs(found, now=now, over=over)
    if "harm_lasts" in found and not now:
        strong.discard("beating")  # beaten then, hurt still: a case, not a beating now
    if "joke" in found and not found & _NOT_A_JOKE:
        # "my boss says he will kill me if I am late again lol": no threat
        return Detection("none", None, "sure", concepts, True)
    if "self_harm" in found:
        if elsewhere and not now:
            return Detection("none", None, "sure", concepts, True)
        certainty: Certainty = "unsure" if over else "sure"
        return Detection("emergency", "self_harm", certainty, concepts, hard_negative)

    urgent = [_URGENT[c] for c in found if c in _URGENT]
    if elsewhere:  # news, hypothetical or far away: not this person's danger now
        named = "named_person" in found and not found & {"hypothetical", "safe_now"}
        if named and (strong or urgent):
            # the news, and the person or their family named: ask rather than drop it
            return Detection("emergency", "danger", "unsure", concepts, True)
        return Detection("none", None, "sure", concepts, True)
    if strong and over_emergency:
        # The event is over ("last year", "we are safe now"): what remains may still be a
        # disclosure (sexual violence, trafficking) or a detention that goes on.
        if "abduction" in strong and not over:
            urgent.append("trafficking")  # kidnapped weeks ago: held for ransom, a case
        strong = set()
        hard_negative = True
    if strong:
        kind = next(k for k in _EMERGENCY_ORDER if k in strong)
        # "since yesterday" is no past for a state that lasts: still stranded, locked in
        certainty = "unsure" if recent and kind != "stranded" else "sure"
        return Detection("emergency", kind, certainty, concepts, hard_negative)
    if urgent:
        return _urgent(found, urgent, concepts, now=now, over=over, hard_negative=hard_negative)
    weak = {c for c in found if c in _WEAK}
    # cooking, welding, at work; "the rent has bled me dry"
    everyday = bool(found & {"work_context", "work", "idiom", "idiom_cause"})
    # "a bit of blood" after the dentist; not a gum that keeps bleeding (asks)
    everyday = everyday or ("dental" in found and "dental_ask" not in found)
    if weak <= {"fire_word", "blood_word"} and everyday:
        # the fire they weld with, a blood test for the job: an everyday word at work
        return Detection("none", None, "sure", concepts, hard_negative)
    if weak and not over_emergency:
        return Detection("emergency", "danger", "unsure", concepts, hard_negative)
    return Detection("none", None, "sure", concepts, hard_negative)


@lru_cache(maxsize=1)
def default_detector() -> DangerDetector:
    return DangerDetector.load()
