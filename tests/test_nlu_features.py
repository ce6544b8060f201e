"""The fast inference paths give exactly what the plain definitions give.

Parsing remembers per-word work (feature look-ups, py3langid's DFA walk, gazetteer look-ups)
and folds text with ``str.translate``; none of it may change a result, not even in the last
bit of a score.
"""

from __future__ import annotations

import numpy as np
import pytest

from nlu import BuiltinNLU
from nlu.features import _TOKEN_FEATURE, Featurizer, LinearModel, _sublinear
from nlu.normalize import fold_char, normalize, normalize_with_offsets

MESSAGES = [
    "I want to go home",
    "nbi nrja3 l bladi",
    "5ouya ma7jouz f sabha",
    "je veux rentrer au Mali svp",
    "ina so in koma gida",
    "abeg i wan go back Naija my number na 0803 123 4567",
    "ok ok ok ok",
    "help help help me the the boat boat",
    "السلام عليكم انا من السودان وساكن في طرابلس ونبي نرجع لبلادي",
    "pleeease heeelp!!  l'Égypte   ÉCOLE",
    "",
    "x",
]


def _reference_vector(model: LinearModel, text: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Featurise the whole message with Featurizer.counts (the training-time definition)."""
    counts = model.featurizer.counts(text)
    ww = model.featurizer.word_weight
    hits = [(j, f, c) for f, c in counts.items() if (j := model.index.get(f)) is not None]
    ind = np.array([j for j, _, _ in hits], dtype=np.intp)
    val = np.array(
        [_sublinear(c) * (ww if f[0] in _TOKEN_FEATURE else 1.0) for _, f, c in hits],
        dtype=np.float32,
    )
    if model.weighting == "tfidf" and len(ind):
        assert model.idf is not None
        val *= model.idf[ind]
        norm = float(np.sqrt(val @ val))
        if norm > 0:
            val /= norm
    return ind, val, len(counts)


def _assert_same(model: LinearModel, text: str) -> None:
    ind, val, total = model.vector(normalize(text))
    ref_ind, ref_val, ref_total = _reference_vector(model, normalize(text))
    assert np.array_equal(ind, ref_ind), text
    assert np.array_equal(val, ref_val), text  # bit for bit
    assert total == ref_total, text


def test_word_cached_vectors_are_bit_identical(builtin_nlu: BuiltinNLU) -> None:
    models = [builtin_nlu.intent.linear, builtin_nlu.langid.own]
    for model in models:
        assert model is not None
        model.clear_cache()
        for text in MESSAGES * 2:  # the second round comes from the word caches
            _assert_same(model, text)


@pytest.mark.parametrize(
    "featurizer",
    [Featurizer(1, 5, 3, 0.5, True), Featurizer(2, 4, 1, 2.0, False)],
    ids=["word-trigrams-weighted", "no-skeleton"],
)
def test_other_featurizer_settings_are_bit_identical(
    builtin_nlu: BuiltinNLU, featurizer: Featurizer
) -> None:
    base = builtin_nlu.intent.linear
    vocabulary = sorted(base.index, key=base.index.__getitem__)
    model = LinearModel(featurizer, vocabulary, base.weights, base.bias, base.classes, base.idf)
    for text in MESSAGES:
        _assert_same(model, text)


def test_py3langid_walk_per_word_matches_its_own_walk(builtin_nlu: BuiltinNLU) -> None:
    from py3langid.langid import LanguageIdentifier

    lid = builtin_nlu.langid.lid
    assert lid is not None
    for text in MESSAGES * 2:
        data = LanguageIdentifier._encode(text.lower())
        ours = lid._raw_score(data)  # type: ignore[attr-defined]
        theirs = LanguageIdentifier._raw_score(lid, data)  # py3langid's byte-by-byte walk
        assert np.array_equal(ours, theirs), text


def _fold_by_char(text: str, squeeze: bool = True) -> tuple[str, list[int]]:
    """The definition: fold character by character, collapse spaces, squeeze repeats."""
    out: list[str] = []
    offs: list[int] = []
    prev = " "
    for i, ch in enumerate(text):
        for c in fold_char(ch):
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


@pytest.mark.parametrize("squeeze", [True, False])
def test_translate_normalisation_matches_the_definition(squeeze: bool) -> None:
    tricky = [
        *MESSAGES,
        "a'a  ba  haka ba",
        "مَرْحَبًا مـــرحبا ﻻ ٠٩١٢٣٤٥٦٧٨",
        "፩፩ ①② ²³ ﬁne Straße 😀👍",
        "\t tabs\nand\u00a0nbsp\u200bzero  width ",
        "1111 aaaa ++ --",
    ]
    for text in tricky:
        expected = _fold_by_char(text, squeeze)
        assert normalize_with_offsets(text, squeeze) == expected, text
        assert normalize(text, squeeze) == expected[0], text


def test_parses_do_not_depend_on_what_was_parsed_before(builtin_nlu: BuiltinNLU) -> None:
    """Warm per-word caches give the same parse as empty ones."""
    warm = [builtin_nlu.parse_sync(t, "en") for t in MESSAGES]
    cold = []
    for t in MESSAGES:
        builtin_nlu.clear_caches()
        cold.append(builtin_nlu.parse_sync(t, "en"))
    assert warm == cold
