"""Language identification for short, messy messages.

Each method does what it is best at:

1. **Script detection** (Unicode ranges) settles most cases at once: Arabic script is ``ar``,
   Ethiopic is Tigrinya or Amharic, Bengali is ``bn``. When one enabled variant has the script,
   it wins.
2. **Arabizi digits**: a Latin word with a digit used as a letter (``3andi``, ``ma7jouz``,
   ``nrja3``) is Arabic written in Latin letters. Such a message is always ``ar`` (script Latn).
3. **Own character n-gram model** (multinomial naive Bayes, trained on the project's training
   data, one class per variant: en, fr, ha, ar_latn, ...): knows Pidgin, Arabizi and the two-word
   messages of the domain.
4. **py3langid** (ships its model in its pip package), restricted to the enabled languages'
   codes: a strong general model for longer texts. It has no Arabizi class, so it only shares out
   the probability that the own model leaves to the languages it covers.
5. **The session's language** is a prior whose weight shrinks with the length of the message, so
   "ok", "1" or "merci" in the middle of a conversation never flips its language.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .features import Featurizer, LinearModel
from .languages import Variant

__all__ = [
    "LangGuess",
    "LanguageIdentifier",
    "arabizi_tokens",
    "detect_script",
    "load_py3langid",
    "train_variant_model",
]

# (start, end, script) of the letter ranges we care about; everything else alphabetic is "Zzzz".
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"),
    (0x0061, 0x007A, "Latn"),
    (0x00C0, 0x024F, "Latn"),
    (0x0250, 0x02AF, "Latn"),  # IPA extensions (Hausa hooked letters ɓ ɗ)
    (0x1E00, 0x1EFF, "Latn"),
    (0x0370, 0x03FF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0x08A0, 0x08FF, "Arab"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x1200, 0x139F, "Ethi"),
    (0x2D80, 0x2DDF, "Ethi"),
    (0xAB00, 0xAB2F, "Ethi"),
)


def _script_of(ch: str) -> str | None:
    cp = ord(ch)
    for lo, hi, script in _SCRIPT_RANGES:
        if lo <= cp <= hi:
            return script
    return "Zzzz" if ch.isalpha() else None


_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())


@lru_cache(maxsize=8192)
def _letter_script(ch: str) -> str | None:
    """The script of a character that counts as a letter, None for any other character."""
    if ch.isdigit():  # Arabic-Indic digits are in the Arabic block but say nothing
        return None
    if ch.isalpha() or 0x0600 <= ord(ch) <= 0x06FF:
        return _script_of(ch)
    return None


def detect_script(text: str) -> tuple[str, int]:
    """The dominant script of the letters of ``text`` and the number of letters.

    ``Zyyy`` (common) when the text has no letters (digits, punctuation, emoji only).
    """
    if text.isascii():  # letters are a-z, A-Z: Latin
        n = len(text.encode().translate(None, _ASCII_NON_LETTERS))
        return ("Latn", n) if n else ("Zyyy", 0)
    counts: dict[str, int] = {}
    n = 0
    # count each distinct character once (C speed), then look up its script (cached)
    for ch, k in Counter(text).items():
        s = _letter_script(ch)
        if s is None:
            continue
        counts[s] = counts.get(s, 0) + k
        n += k
    if not counts:
        return "Zyyy", 0
    # Loanwords ("ok", "help", "supprimer") are typed in Latin letters by everyone, but only
    # an Arabic (Ethiopic, Bengali...) speaker types that script: a few of its letters decide.
    other = [(c, s) for s, c in counts.items() if s not in ("Latn", "Zzzz")]
    if other:
        c, s = max(other)
        if c >= 3 or c * 4 >= n:
            return s, n
    return max(counts.items(), key=lambda kv: kv[1])[0], n


# A digit standing for an Arabic letter: 2 (hamza), 3 (ain), 5 (kha), 6 (ta), 7 (ha), 8 (ghain),
# 9 (qaf/sad), inside or at the edge of a Latin word. Excluded: ordinals and units ("3rd",
# "5kg", "7pm", "2day"...), which are English or French.
_ARABIZI_TOKEN = re.compile(
    r"(?<![0-9a-z])(?:[a-z]*[a-z][2356789]+[a-z0-9]*|[2356789]+[a-z]+[a-z0-9]*)(?![0-9a-z])"
)
_NOT_ARABIZI = re.compile(
    r"^\d+(?:st|nd|rd|th|er|eme|e|am|pm|h|hr|hrs|min|mn|km|kg|g|l|m|ms|x|k|yrs?|ans?|"
    r"days?|jours?|mois|weeks?|months?|years?|dinars?|lyd|usd|dollars?|people|pers|persons?)$"
    r"|^(?:b4|gr8|2day|2moro|2morrow|2nite|2night|l8r|m8|w8|h8|4u|2u|1st|mp3|mp4|a4|9ja)$"
    r"|^[a-z]{0,2}\d{3,}$|^\d+[a-z]\d+$"
)


def arabizi_tokens(norm: str) -> list[str]:
    """Tokens of the folded text that use digits as Arabic letters."""
    found = []
    for m in _ARABIZI_TOKEN.finditer(norm):
        tok = m.group()
        if not _NOT_ARABIZI.match(tok) and sum(c.isalpha() for c in tok) >= 1:
            found.append(tok)
    return found


_CODE_TOKEN = re.compile(r"^(?:[+]?\d+|ly|(?=[a-z0-9]{6}$)(?:[a-z]*\d){3}[a-z0-9]*)$")


# A reference-like code as typed: 6 capitals and digits, at least two of them digits
# ("8TQ2XW"), or any 6 letters and digits after "LY" ("ly-9px3kd"). Arabizi is typed in
# lower case and never after "LY".
_TYPED_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:LY|ly|Ly)\s?[-_ ]?\s?([A-Za-z0-9]{6})|([A-Z0-9]{6}))(?![A-Za-z0-9])"
)


def typed_codes(text: str) -> frozenset[str]:
    """The folded forms of the reference-like codes of the raw ``text`` (see _TYPED_CODE)."""
    found: set[str] = set()
    for m in _TYPED_CODE.finditer(text):
        code = m.group(1) or m.group(2)
        digits = sum(c.isdigit() for c in code)
        if (m.group(1) and digits) or (m.group(2) and digits >= 2 and digits < 6):
            found.add(code.lower())
    return frozenset(found)


def strip_codes(norm: str, codes: frozenset[str] = frozenset()) -> str:
    """Drop the tokens that say nothing about the language: numbers, phone numbers and case
    references ("ly 7k3m9q", and ``codes`` found in the raw text), which would otherwise look
    like Arabizi digits."""
    toks = norm.split()
    kept = [t for t in toks if not _CODE_TOKEN.match(t) and t not in codes]
    return " ".join(kept) if len(kept) != len(toks) else norm


@dataclass(frozen=True, slots=True)
class LangGuess:
    language: str
    variant: str | None  # training variant ("ar_latn"), None when no enabled variant fits
    script: str
    confidence: float
    scores: tuple[tuple[str, float], ...] = ()  # variant -> probability, best first


# ---------------------------------------------------------------------------------------------
# py3langid, restricted to the codes we use, rebuilt from plain arrays so that a warm start does
# not decompress the whole model (1.3 s, 80 MB).


def py3langid_arrays(codes: Sequence[str]) -> dict[str, np.ndarray]:
    """The py3langid model restricted to ``codes`` (those it knows), as arrays to cache."""
    return _py3langid_arrays(tuple(sorted(codes)))


@lru_cache(maxsize=2)
def _py3langid_arrays(codes: tuple[str, ...]) -> dict[str, np.ndarray]:
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    keep = [i for i, c in enumerate(classes) if c in set(codes)]
    if not keep:
        return {}
    nm = np.frombuffer(nextmove, dtype=np.uint16 if nextmove.itemsize == 2 else np.uint32)
    rw = np.frombuffer(row, dtype=np.uint16 if row.itemsize == 2 else np.uint32)
    arrays = {
        "lid.ptc": np.ascontiguousarray(np.asarray(ptc)[:, keep]),
        "lid.pc": np.asarray(pc)[keep].astype(np.float32),
        "lid.classes": np.array([classes[i] for i in keep], dtype=str),
        "lid.nextmove": nm.copy(),
        "lid.row": rw.copy(),
        "lid.output": np.asarray(output, dtype=np.int32),
    }
    trie = automaton_trie(arrays["lid.nextmove"], arrays["lid.row"])
    if trie is not None:
        arrays.update({f"lid.trie_{name}": value for name, value in trie.items()})
    return arrays


def automaton_trie(nextmove: np.ndarray, row: np.ndarray) -> dict[str, np.ndarray] | None:
    """py3langid's tokenizer, an Aho-Corasick automaton stored as its full transition table
    (38 MB: every state's next state for each of the 256 bytes), as the trie and failure links
    it was built from (1.4 MB): a state's children (``starts[s]:starts[s+1]`` of ``bytes`` and
    ``targets``) and the state to fall back to (``fail``). A server walking the table kept
    most of it resident (25 MB after a few thousand messages in ten languages); the trie gives
    the same next state for every (state, byte), checked here for all of them, or None.

    The table's transitions one level deeper than their state are the trie's edges (a fallback
    never goes deeper); a child's failure link is its parent's link's transition on its byte."""
    table = np.asarray(nextmove).reshape(-1, 256)
    rows = np.asarray(row, dtype=np.int64)
    n = len(rows)
    if n == 0 or n >= 2**32:
        return None
    depth = np.full(n, -1, dtype=np.int64)
    depth[0] = 0
    frontier, level = np.array([0]), 0
    while frontier.size:
        reached = np.unique(table[rows[frontier]])
        frontier = reached[depth[reached] < 0]
        level += 1
        depth[frontier] = level
    if (depth < 0).any():
        return None
    sources, labels, targets = [], [], []
    for first in range(0, n, 8192):
        states = np.arange(first, min(n, first + 8192))
        moves = table[rows[states]].astype(np.int64)
        at_state, at_byte = np.nonzero(depth[moves] == depth[states][:, None] + 1)
        sources.append(states[at_state])
        labels.append(at_byte)
        targets.append(moves[at_state, at_byte])
    source, label, target = (np.concatenate(x) for x in (sources, labels, targets))
    if len(target) != n - 1 or len(np.unique(target)) != n - 1:
        return None  # not a trie: keep the table
    parent = np.zeros(n, dtype=np.int64)
    parent[target] = source
    via = np.zeros(n, dtype=np.int64)
    via[target] = label
    fail = np.zeros(n, dtype=np.int64)
    for d in range(2, level + 1):
        states = np.flatnonzero(depth == d)
        fail[states] = table[rows[fail[parent[states]]], via[states]]
    starts = np.concatenate(([0], np.cumsum(np.bincount(source, minlength=n))))
    keys = source * 256 + label  # sorted: states in order, bytes in order within a state
    for first in range(0, n, 4096):  # every (state, byte): the trie's move is the table's
        states = np.arange(first, min(n, first + 4096))
        want = table[rows[states]].astype(np.int64).ravel()
        cur = np.repeat(states, 256)
        byte = np.tile(np.arange(256), len(states))
        got = np.zeros(len(cur), dtype=np.int64)
        todo = np.arange(len(cur))
        while todo.size:
            key = cur[todo] * 256 + byte[todo]
            at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            hit = keys[at] == key
            got[todo[hit]] = target[at[hit]]
            missed = todo[~hit]
            todo = missed[cur[missed] != 0]  # at the root a missing child stays at the root
            cur[todo] = fail[cur[todo]]
        if not np.array_equal(got, want):
            return None
    return {
        "starts": starts.astype(np.uint32),
        "bytes": label.astype(np.uint8),
        "targets": target.astype(np.uint32),
        "fail": fail.astype(np.uint32),
    }


_LID_CHUNK_CACHE = 8192  # (DFA state, word) pairs remembered per identifier
_OWN_WORD_CACHE = 8192  # words the own model remembers (it only sees Latin-script messages)


@lru_cache(maxsize=1)
def _chunked_identifier_class() -> type:
    """py3langid's ``LanguageIdentifier``, scoring a message word by word.

    py3langid walks a DFA over the UTF-8 bytes of the text one byte at a time in Python and
    scores ``log1p(feature counts) @ P(feature | language)``. Here the counts are taken per
    word: the walk over " word" only depends on the DFA state it starts in, so the (end state,
    score vector) of each (start state, " word") pair is remembered in an LRU cache and a
    message costs a cache hit and one vector addition per word. The features are py3langid's;
    only a feature repeated in two words of one message counts 2 x log1p(1) instead of
    log1p(2) (``tests/test_nlu_features.py`` holds the definition).
    """
    from py3langid.langid import RAW_FLOOR, LanguageIdentifier

    class ChunkedLanguageIdentifier(LanguageIdentifier):
        __slots__ = ("_trie", "_walk")

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            # the tokenizer's row offsets and outputs as machine integers: as lists of Python
            # ints (~100,000 each) they were 7 MB of every server process
            self._rowbase = array("I", self._rowbase)  # type: ignore[misc,has-type]  # base slots
            self.tk_output = array("i", self.tk_output)  # type: ignore[misc,has-type]
            self._walk = lru_cache(maxsize=_LID_CHUNK_CACHE)(self._walk_chunk)
            self._trie: tuple[array[int], bytes, array[int], array[int]] | None = None

        def use_trie(self, trie: Mapping[str, np.ndarray]) -> None:
            """Walk the automaton's trie (:func:`automaton_trie`) instead of its table."""
            self._trie = (
                array("I", trie["starts"].astype(np.uint32).tobytes()),
                trie["bytes"].astype(np.uint8).tobytes(),
                array("I", trie["targets"].astype(np.uint32).tobytes()),
                array("I", trie["fail"].astype(np.uint32).tobytes()),
            )
            self._walk.cache_clear()

        def _walk_chunk(self, state: int, chunk: bytes) -> tuple[int, np.ndarray | None]:
            out = self.tk_output
            found: list[int] = []
            if self._trie is None:
                nm, rowbase = self.tk_nextmove, self._rowbase
                for letter in chunk:
                    state = nm[rowbase[state] + letter]
                    f = out[state]
                    if f >= 0:
                        found.append(f)
            else:
                starts, labels, targets, fail = self._trie
                find = labels.find
                for letter in chunk:
                    while True:  # the child on this byte, else the failure link's (depth <= 7)
                        at = find(letter, starts[state], starts[state + 1])
                        if at >= 0:
                            state = targets[at]
                            break
                        if state == 0:
                            break
                        state = fail[state]
                    f = out[state]
                    if f >= 0:
                        found.append(f)
            if not found:
                return state, None
            visits = Counter(found)
            idx = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            return state, np.log1p(counts) @ self.nb_ptc[idx]

        def _raw_score(self, text: bytes) -> np.ndarray:
            walk = self._walk
            state = 0
            total: np.ndarray | None = None
            for k, part in enumerate(text.split(b" ")):
                state, vec = walk(state, part if k == 0 else b" " + part)
                if vec is not None:
                    total = vec if total is None else total + vec
            if total is not None:
                return total + self.nb_pc
            fill = 0.0 if self._norm_probs else RAW_FLOOR
            return np.full(len(self.nb_classes), fill, dtype=np.float32)

        def probabilities(self, text: str) -> list[float]:
            """``_decide(text)`` (norm_probs) as plain floats, without numpy's per-call cost."""
            data = self._encode(text)
            values = self._raw_score(data).tolist()
            scale = 1.0 / math.sqrt(len(data) or 1)
            top = max(values)
            exps = [math.exp((v - top) * scale) for v in values]
            total = sum(exps)
            probs = [e / total for e in exps]
            for i, j in self._alias_pairs:
                probs[i] += probs[j]
                probs[j] = 0.0
            return probs

    return ChunkedLanguageIdentifier


def _identifier_class() -> type:
    """The chunked identifier when this py3langid has the layout it was written for."""
    from py3langid import langid

    base = langid.LanguageIdentifier
    needed = ("tk_nextmove", "_rowbase", "tk_output", "nb_ptc", "nb_pc", "_norm_probs")
    if hasattr(langid, "RAW_FLOOR") and all(
        n in getattr(base, "__slots__", ()) or hasattr(base, n) for n in needed
    ):
        return _chunked_identifier_class()
    return base  # pragma: no cover - another py3langid: its own (slower) walk


def load_py3langid(arrays: dict[str, np.ndarray] | None, codes: Sequence[str]) -> object | None:
    """A py3langid ``LanguageIdentifier`` over ``codes`` (norm_probs), from cached arrays."""

    from py3langid.langid import MODEL_FILE

    identifier = _identifier_class()
    if arrays and "lid.ptc" in arrays:
        try:
            nm = arrays["lid.nextmove"]
            rw = arrays["lid.row"]
            nextmove: memoryview | array[int]
            if isinstance(nm, np.memmap):  # mapped from the model file: read in place
                view = memoryview(nm.data).cast("B")
                nextmove = view.cast("H" if nm.dtype.itemsize == 2 else "I")
            else:
                nextmove = array("H" if nm.dtype.itemsize == 2 else "I")
                nextmove.frombytes(np.ascontiguousarray(nm).tobytes())
            row = array("H" if rw.dtype.itemsize == 2 else "I")
            row.frombytes(np.ascontiguousarray(rw).tobytes())
            loaded = identifier(
                arrays["lid.ptc"],
                arrays["lid.pc"],
                [str(c) for c in arrays["lid.classes"]],
                nextmove,
                arrays["lid.output"].tolist(),
                norm_probs=True,
                tk_row=row,
            )
            trie = {k[9:]: v for k, v in arrays.items() if k.startswith("lid.trie_")}
            if len(trie) == 4 and hasattr(loaded, "use_trie"):
                loaded.use_trie(trie)  # the table stays mapped, untouched
            return loaded
        except (TypeError, ValueError, KeyError):  # another py3langid layout: load it normally
            pass
    ident = identifier.from_model_file(MODEL_FILE, norm_probs=True)  # type: ignore[attr-defined]
    known = [c for c in codes if c in set(ident.nb_classes)]
    if not known:
        return None
    ident.set_languages(known)
    return ident


# ---------------------------------------------------------------------------------------------


# A whole word weighs as four of its n-grams: on short messages, a word a variant's training
# data has ("walaal", "abeg", "nagode") outweighs letter sequences the others share (CV on the
# training files: every Latin variant, ti and am gain 0.1-2 points, none loses more than 0.1).
LANGID_FEATURIZER = Featurizer(char_min=1, char_max=4, word_max=1, word_weight=4.0)


def train_variant_model(
    texts: Sequence[str],
    labels: Sequence[str],
    alpha: float = 0.1,
    scripts: Mapping[str, str] | None = None,
    also: Mapping[str, Sequence[str]] | None = None,
) -> LinearModel:
    """Multinomial naive Bayes over char 1-4-grams + words (weighted x4), uniform class prior.

    ``scripts`` (variant -> script): a variant is only ever weighed against the variants of
    the message's script, so its examples in another script would only dilute its n-gram
    counts. Those in a script of ``also`` (variant -> other scripts: Tigrinya typed in Latin
    letters, kept in ti.yml for the intent model) form a class of their own ("ti@Latn", see
    ``Variant.model_class``), except those another variant has too (loanwords: "help", "ok");
    the others are left out.
    """
    from .features import count_matrix

    if scripts:
        # "help", "ok", "operator" in ti.yml are the other variants' words: not Tigrinya's
        labels_of: dict[str, set[str]] = {}
        for t, lab in zip(texts, labels, strict=True):
            labels_of.setdefault(t, set()).add(lab)
        kept: list[tuple[str, str]] = []
        for t, lab in zip(texts, labels, strict=True):
            script = scripts.get(lab)
            found = detect_script(t)[0]
            if script is None or found in (script, "Zyyy"):
                kept.append((t, lab))
            elif also and found in also.get(lab, ()) and not labels_of[t] - {lab}:
                kept.append((t, f"{lab}@{found}"))
        if {lab for _, lab in kept} >= set(labels):
            texts, labels = [t for t, _ in kept], [lab for _, lab in kept]
    classes = sorted(set(labels))
    segment_counts = count_matrix(LANGID_FEATURIZER, texts)
    matrix, names = segment_counts.texts(), segment_counts.names
    y = np.array([classes.index(lab) for lab in labels])
    counts = np.zeros((len(names), len(classes)), dtype=np.float64)
    for k in range(len(classes)):
        counts[:, k] = np.asarray(matrix[y == k].sum(axis=0)).ravel()
    logp = np.log(counts + alpha) - np.log(counts.sum(axis=0, keepdims=True) + alpha * len(names))
    return LinearModel(
        LANGID_FEATURIZER,
        names,
        logp.astype(np.float32),
        np.zeros(len(classes), dtype=np.float32),
        classes,
        weighting="log1p",
    )


@dataclass(slots=True)
class LangIdParams:
    own_temperature: float = 1.0  # NB log-likelihoods are divided by T * sqrt(#features)
    own_weight: float = 1.0  # exponent of the own model's probabilities
    lid_weight: float = 1.0  # exponent of py3langid's probabilities
    prior: float = 8.0  # hint boost in nats for a 1-letter text, divided by sqrt(#letters)
    arabizi_min_tokens: int = 1
    # Arabizi tokens decide alone when at least one word in this many is one ("nbi nrja3 l
    # bladi"); in a longer message in another language ("... later we talk, ma3a salama") they
    # only weigh for Arabizi (a factor of arabizi_boost each) and the models decide.
    arabizi_share: int = 6
    arabizi_boost: float = 8.0


class LanguageIdentifier:
    def __init__(
        self,
        variants: Sequence[Variant],
        own: LinearModel | None,
        lid: object | None,
        default_language: str = "en",
        params: LangIdParams | None = None,
    ) -> None:
        self.variants = {v.name: v for v in variants}
        self.by_script: dict[str, list[Variant]] = {}
        for v in variants:
            for script in (v.script, *v.also):
                self.by_script.setdefault(script, []).append(v)
        self.languages = {v.language for v in variants}
        self.own = own
        if own is not None:
            own.resize_cache(_OWN_WORD_CACHE, 1)  # no word pairs in the own model
        self.lid = lid
        self.default_language = default_language
        self.params = params or LangIdParams()
        self._lid_classes: list[str] = list(getattr(lid, "nb_classes", []) or [])
        self._columns: dict[tuple[str, ...], tuple[list[int], list[str]] | None] = {}
        self._lid_cols: dict[tuple[Variant, ...], list[tuple[str, list[int]]]] = {}

    # -- the pieces ------------------------------------------------------------------------
    def own_probs(self, norm: str, names: Sequence[str]) -> dict[str, float]:
        if self.own is None or not norm:
            return {n: 1.0 / len(names) for n in names}
        columns = self._own_columns(tuple(names))
        if columns is None:
            return {n: 1.0 / len(names) for n in names}
        sel, sel_names = columns
        acc, _, _, n_feats = self.own.raw(norm)
        values = (acc + self.own.bias).tolist()
        scale = 1.0 / (self.params.own_temperature * math.sqrt(max(n_feats, 1)))
        z = [values[j] * scale for j in sel]
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        norm_sum = sum(exps)
        out = dict.fromkeys(names, 1e-6)
        for n, e in zip(sel_names, exps, strict=True):
            out[n] = e / norm_sum
        total = sum(out.values())
        return {n: v / total for n, v in out.items()}

    def _own_columns(self, names: tuple[str, ...]) -> tuple[list[int], list[str]] | None:
        """The own model's class columns for ``names`` (those it has), and their names."""
        if names in self._columns:
            return self._columns[names]
        assert self.own is not None
        cls = self.own.classes
        sel = [cls.index(n) for n in names if n in cls]
        found = (sel, [cls[j] for j in sel]) if sel else None
        self._columns[names] = found
        return found

    def lid_probs(self, text: str, variants: Sequence[Variant]) -> dict[str, float]:
        """py3langid's probability per variant (only variants with py3langid codes)."""
        covered = self._lid_columns(tuple(variants))
        if self.lid is None or not covered or not text.strip():
            return {}
        fast = getattr(self.lid, "probabilities", None)
        if fast is not None:
            probs = fast(text.lower())
        else:  # pragma: no cover - another py3langid layout
            probs = self.lid._decide(text.lower()).tolist()  # type: ignore[attr-defined]
        out = {name: sum([probs[i] for i in cols]) for name, cols in covered}
        total = sum(out.values())
        if total <= 0:
            return {}
        return {n: p / total for n, p in out.items()}

    def _lid_columns(self, variants: tuple[Variant, ...]) -> list[tuple[str, list[int]]]:
        """(variant, py3langid columns of its codes) for the variants py3langid covers."""
        found = self._lid_cols.get(variants)
        if found is None:
            column = {c: i for i, c in enumerate(self._lid_classes)}  # the last of a repeat
            found = [
                (v.name, [column[c] for c in v.langid if c in column]) for v in variants if v.langid
            ]
            self._lid_cols[variants] = found
        return found

    # -- the decision ----------------------------------------------------------------------
    def _hint_language(self, hint: str | None) -> str | None:
        if not hint:
            return None
        if hint in self.variants:
            return self.variants[hint].language
        code = hint.split("-")[0].split("_")[0].lower()
        return code if code in self.languages else None

    def identify(self, text: str, norm: str, hint: str | None = None) -> LangGuess:
        hint_lang = self._hint_language(hint)
        norm = strip_codes(norm, typed_codes(text) if any(map(str.isdigit, text)) else frozenset())
        script, n_letters = detect_script(text)
        if script != "Zyyy" and not norm:  # only a case reference / phone number
            return LangGuess(
                hint_lang or self.default_language, None, script, 0.5 if hint_lang else 0.0
            )
        if script == "Zyyy":
            return LangGuess(
                hint_lang or self.default_language, None, script, 0.5 if hint_lang else 0.0
            )
        candidates = self.by_script.get(script, [])
        if not candidates:
            return LangGuess(hint_lang or self.default_language, None, script, 0.0)
        if len(candidates) == 1:
            v = candidates[0]
            return LangGuess(v.language, v.name, script, 1.0, ((v.name, 1.0),))
        # the model's class of each candidate in this script: "ti@Latn" is Tigrinya in Latin
        names = [v.model_class(script) for v in candidates]
        variant_of = {n: v for n, v in zip(names, candidates, strict=True)}
        p = self.params
        arabizi = [v for v in candidates if v.language == "ar" and not v.langid]
        n_arabizi = len(arabizi_tokens(norm)) if arabizi else 0
        if n_arabizi >= p.arabizi_min_tokens and n_arabizi * p.arabizi_share >= len(norm.split()):
            v = arabizi[0]
            return LangGuess(v.language, v.name, script, 0.99, ((v.name, 0.99),))

        own = self.own_probs(norm, names)
        # py3langid's codes are for a variant's own script
        lid = self.lid_probs(text, [v for v in candidates if v.script == script])
        probs = dict(own)
        if lid:
            covered = list(lid)
            mass = sum(own[n] for n in covered)  # what the own model leaves to py3langid
            mix = {
                n: math.exp(
                    p.own_weight * math.log(max(own[n] / max(mass, 1e-9), 1e-9))
                    + p.lid_weight * math.log(max(lid[n], 1e-9))
                )
                for n in covered
            }
            z = sum(mix.values())
            for n in covered:
                probs[n] = mass * mix[n] / z
        if n_arabizi:
            for v in arabizi:
                probs[v.model_class(script)] *= p.arabizi_boost**n_arabizi
        if hint_lang is not None and len(norm.split()) == 1:
            # one word ("ok", "merci", "stop", "yes"): loanwords everyone uses; the session's
            # language stays unless the word is in another script or is Arabizi (above)
            hinted = [n for n in names if variant_of[n].language == hint_lang]
            if hinted:
                best_hint = max(hinted, key=lambda n: probs[n])
                conf = max(probs[best_hint], 0.5)
                v = variant_of[best_hint]
                return LangGuess(hint_lang, v.name, script, conf, ((v.name, conf),))
        if hint_lang is not None:
            boost = math.exp(p.prior / math.sqrt(max(n_letters, 1)))
            for n in names:
                if variant_of[n].language == hint_lang:
                    probs[n] *= boost
        z = sum(probs.values())
        ranked = sorted(
            ((variant_of[n].name, q / z) for n, q in probs.items()), key=lambda kv: -kv[1]
        )
        best, conf = ranked[0]
        return LangGuess(self.variants[best].language, best, script, conf, tuple(ranked))

    def variants_for(self, languages: Iterable[str]) -> list[str]:
        wanted = set(languages)
        return [n for n, v in self.variants.items() if v.language in wanted]
