"""Text normalisation for matching and classification.

Everything here is cheap, deterministic and offset-preserving where it needs to be:

* :func:`ascii_digits` maps every decimal digit (Arabic-Indic ``٣``, Persian ``۳``, full-width,
  Bengali, ...) to its ASCII digit one character for one character, so offsets stay valid.
* :func:`normalize_with_offsets` folds a text for matching (NFKC, casefold, Latin diacritics
  stripped, Arabic letter variants unified, tashkeel and tatweel removed, runs of the same letter
  squeezed to one, punctuation turned into spaces) and returns, for every output character, the
  index of the original character it came from.
* :func:`normalize` is the same without the offsets: the form the classifiers see.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "ascii_digits",
    "fold_char",
    "normalize",
    "normalize_with_offsets",
    "tokens_with_offsets",
]


def _digit_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd":
            table[cp] = str(unicodedata.decimal(ch))
    return table


_DIGITS = _digit_table()

# Arabic: tashkeel (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks) and tatweel.
_AR_DROP = frozenset(
    [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640]
)
_AR_MAP = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",  # Persian yeh
    "ې": "ي",
    "ئ": "ي",
    "ؤ": "و",
    "ک": "ك",  # Persian keheh
    "ڭ": "ك",
    "گ": "ك",
    "ڤ": "ف",  # Maghrebi v
    "پ": "ب",
    "چ": "ج",
    "ژ": "ز",
    "،": " ",
    "؛": " ",
    "؟": " ",
    "٪": " ",
}
_APOSTROPHES = frozenset("'’‘ʼ`´ʻ")
_KEEP_PUNCT = frozenset("+")  # kept so that "+218" survives in the folded form


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """Fold one character for matching. May return "" (dropped) or several characters."""
    cp = ord(ch)
    if cp < 0x80:
        if ch.isalnum():
            return ch.lower()
        if ch in _APOSTROPHES:
            return ""
        if ch in _KEEP_PUNCT:
            return ch
        return " "
    if cp in _DIGITS:
        return _DIGITS[cp]
    if cp in _AR_DROP:
        return ""
    if ch in _AR_MAP:
        return _AR_MAP[ch]
    if ch in _APOSTROPHES:
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", ch).casefold():
        if c in _AR_MAP:
            out.append(_AR_MAP[c])
            continue
        if ord(c) in _AR_DROP:
            continue
        if ord(c) in _DIGITS:
            out.append(_DIGITS[ord(c)])
            continue
        cat = unicodedata.category(c)
        if cat[0] in "LN":
            # strip Latin (and other) diacritics: é -> e, ƙ stays ƙ (no decomposition)
            base = unicodedata.normalize("NFD", c)
            out.append("".join(b for b in base if not unicodedata.combining(b)) or c)
        elif cat == "Mn":
            continue
        elif cat[0] in "PSZC":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def ascii_digits(text: str) -> str:
    """Map every decimal digit to ASCII, one character for one (offsets unchanged)."""
    return text.translate(_DIGITS)


class _FoldTable(dict[int, str]):
    """Code point -> :func:`fold_char`, filled on first use, for ``str.translate``: the fold of
    a whole text then runs at C speed."""

    __slots__ = ()
    _LIMIT = 1 << 16  # distinct characters remembered (a flood of rare ones is not kept)

    def __missing__(self, cp: int) -> str:
        folded = fold_char(chr(cp))
        if len(self) < self._LIMIT:
            self[cp] = folded
        return folded


class _UnevenTable(dict[int, str | None]):
    """Code point -> None when the character folds to exactly one character, else itself:
    ``text.translate(_UNEVEN) == ""`` tells that folding keeps every offset."""

    __slots__ = ()
    _LIMIT = 1 << 16

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        value = None if len(fold_char(ch)) == 1 else ch
        if len(self) < self._LIMIT:
            self[cp] = value
        return value


_FOLD = _FoldTable()
_UNEVEN = _UnevenTable()
_RUN = re.compile(r"([^ ])\1+")  # a run of the same character (spaces are collapsed apart)
_SPACES = re.compile(r" {2,}")


def _squeeze_run(m: re.Match[str]) -> str:
    ch = m.group(1)
    return m.group() if ch.isdigit() else ch


def normalize_with_offsets(text: str, squeeze: bool = True) -> tuple[str, list[int]]:
    """Fold ``text``; return the folded string and, per folded character, its source index.

    Whitespace is collapsed to single spaces and stripped at both ends. With ``squeeze``, a run
    of the same letter is reduced to one letter ("pleeease" -> "please", "salaam" -> "salam");
    digits are never squeezed (they carry numbers and phone numbers).
    """
    out: list[str] = []
    offs: list[int] = []
    prev = " "
    folded_text = text.translate(_FOLD)
    if len(folded_text) == len(text) and not text.translate(_UNEVEN):
        # every character folds to one character (the usual case): its index is its offset
        for i, c in enumerate(folded_text):
            if c == " ":
                if prev == " ":
                    continue
            elif squeeze and c == prev and not c.isdigit():
                continue
            out.append(c)
            offs.append(i)
            prev = c
    else:
        for i, ch in enumerate(text):
            for c in _FOLD[ord(ch)]:
                if c == " ":
                    if prev == " ":
                        continue
                elif squeeze and c == prev and not c.isdigit():
                    continue
                out.append(c)
                offs.append(i)
                prev = c
    if out and out[-1] == " ":
        out.pop()
        offs.pop()
    return "".join(out), offs


def normalize(text: str, squeeze: bool = True) -> str:
    """The folded form of ``text`` (see :func:`normalize_with_offsets`), without the offsets:
    one ``str.translate`` and two regular expressions."""
    folded = text.translate(_FOLD)
    if squeeze:
        folded = _RUN.sub(_squeeze_run, folded)
    if "  " in folded:
        folded = _SPACES.sub(" ", folded)
    return folded.strip(" ")


_TOKEN = re.compile(r"[^\s]+")


def tokens_with_offsets(text: str, squeeze: bool = True) -> list[tuple[str, int, int]]:
    """Folded tokens of ``text`` with their (start, end) character offsets in ``text``."""
    norm, offs = normalize_with_offsets(text, squeeze)
    result: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(norm):
        s, e = m.start(), m.end()
        result.append((m.group(), offs[s], offs[e - 1] + 1))
    return result
