"""The fast inference paths give what the plain definitions give.

Parsing remembers per-word work (each word's contribution to the class scores, py3langid's
DFA walk, gazetteer look-ups) and folds text with ``str.translate``; none of it may change a
result. And what is served must be what was trained: the scores of a text at inference equal
its row of the training matrix times the weights.
"""

from __future__ import annotations

import math
import mmap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nlu import BuiltinNLU
from nlu.classifier import INTENT_FEATURIZER, TrainParams, train_intent_model
from nlu.engine import MAPPED_ARRAY, mapped_member
from nlu.features import (
    SKEL,
    Featurizer,
    LinearModel,
    count_matrix,
    segment_values,
    skeleton,
    tfidf_fit,
    tfidf_transform,
)
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


def _reference_scores(model: LinearModel, text: str) -> tuple[np.ndarray, float]:
    """The definition, feature by feature in float64: segments summed, tf-idf length = root of
    the sum of the segments' squared lengths."""
    x: Counter[int] = Counter()
    sq = 0.0
    known = total = 0
    for seg in model.featurizer.segments(text):
        total += len(seg)
        for f, v in segment_values(model.featurizer, seg):
            j = model.index.get(f)
            if j is None:
                continue
            known += 1
            w = v * (model.idf[j] if model.weighting == "tfidf" else 1.0)  # type: ignore[index]
            x[j] += w
            sq += w * w
    scores = np.zeros(len(model.classes))
    for j, w in x.items():
        scores += w * model.weights[j].astype(np.float64)
    if model.weighting == "tfidf" and sq > 0:
        scores /= math.sqrt(sq)
    return scores + model.bias, known / max(total, 1)


def _assert_same(model: LinearModel, text: str) -> None:
    norm = normalize(text)
    scores, share = model.scores(norm)
    ref_scores, ref_share = _reference_scores(model, norm)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-9, atol=1e-9, err_msg=text)
    assert share == ref_share, text


def test_word_cached_scores_are_the_definition(builtin_nlu: BuiltinNLU) -> None:
    models = [builtin_nlu.intent.linear, builtin_nlu.langid.own]
    for model in models:
        assert model is not None
        model.clear_cache()
        first = [model.scores(normalize(t))[0] for t in MESSAGES]
        for text, before in zip(MESSAGES * 2, first * 2, strict=True):
            _assert_same(model, text)
            assert np.array_equal(model.scores(normalize(text))[0], before)  # cache: same bits


@pytest.mark.parametrize(
    "featurizer",
    [Featurizer(1, 5, 3, 0.5, True), Featurizer(2, 4, 1, 2.0, False)],
    ids=["word-trigrams-weighted", "no-skeleton"],
)
def test_other_featurizer_settings_are_the_definition(
    builtin_nlu: BuiltinNLU, featurizer: Featurizer
) -> None:
    base = builtin_nlu.intent.linear
    vocabulary = base.index.vocabulary()
    model = LinearModel(featurizer, vocabulary, base.weights, base.bias, base.classes, base.idf)
    for text in MESSAGES:
        _assert_same(model, text)


def test_what_is_served_is_what_was_trained() -> None:
    """Scores at inference = the text's row of the training tf-idf matrix @ weights + bias."""
    texts = [normalize(t) for t in MESSAGES if t] + ["go home now", "home home go", "x y z"]
    labels = ["a" if i % 2 else "b" for i in range(len(texts))]
    model, _ = train_intent_model(texts, labels, TrainParams(calib_folds=1))
    counts = count_matrix(INTENT_FEATURIZER, texts)
    cols, idf = tfidf_fit(counts)
    matrix = tfidf_transform(counts, cols, idf).toarray()
    weights = np.zeros((len(counts.names), len(model.linear.classes)))
    weights[cols] = model.linear.weights
    for row, text in zip(matrix, texts, strict=True):
        expected = row[cols] @ weights[cols] + model.linear.bias
        np.testing.assert_allclose(model.linear.scores(text)[0], expected, rtol=1e-6, atol=1e-6)


def _py3langid_per_word(lid: object, data: bytes) -> np.ndarray:
    """py3langid's byte DFA walked by the definition; log1p counts per word (space-led chunk)."""
    nm, rowbase, out = lid.tk_nextmove, lid._rowbase, lid.tk_output  # type: ignore[attr-defined]
    state = 0
    any_feature = False
    total = np.zeros(len(lid.nb_classes), dtype=np.float64)  # type: ignore[attr-defined]
    for k, part in enumerate(data.split(b" ")):
        found: Counter[int] = Counter()
        for letter in part if k == 0 else b" " + part:
            state = nm[rowbase[state] + letter]
            if out[state] >= 0:
                found[out[state]] += 1
        any_feature = any_feature or bool(found)
        for f, c in found.items():
            total += math.log1p(c) * lid.nb_ptc[f].astype(np.float64)  # type: ignore[attr-defined]
    if not any_feature:  # py3langid abstains: 0.0 for every class under norm_probs
        return total
    return total + lid.nb_pc  # type: ignore[attr-defined]


def test_py3langid_walk_per_word_is_the_definition(builtin_nlu: BuiltinNLU) -> None:
    from py3langid.langid import LanguageIdentifier

    lid = builtin_nlu.langid.lid
    assert lid is not None
    lid._walk.cache_clear()  # type: ignore[attr-defined]
    for text in MESSAGES * 2:
        data = LanguageIdentifier._encode(text.lower())
        if not data.strip():
            continue
        ours = lid._raw_score(data)  # type: ignore[attr-defined]
        np.testing.assert_allclose(ours, _py3langid_per_word(lid, data), rtol=1e-4, atol=1e-3)


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


def test_py3langid_probabilities_as_floats_match_its_decide(builtin_nlu: BuiltinNLU) -> None:
    lid = builtin_nlu.langid.lid
    assert lid is not None
    for text in MESSAGES:
        if not text.strip():
            continue
        fast = lid.probabilities(text.lower())  # type: ignore[attr-defined]
        np.testing.assert_allclose(fast, lid._decide(text.lower()), rtol=1e-5, atol=1e-6)  # type: ignore[attr-defined]


def test_a_model_read_from_its_file_maps_the_tokenizer_table(builtin_nlu: BuiltinNLU) -> None:
    """The cached model's largest array (py3langid's DFA) is memory-mapped, not read: the
    same language scores as the array read whole, in a fraction of the memory."""
    path = Path(builtin_nlu.meta["cache_file"])
    loaded = BuiltinNLU.from_file(path)
    lid, reference = loaded.langid.lid, builtin_nlu.langid.lid
    assert isinstance(lid.tk_nextmove, memoryview)  # type: ignore[attr-defined]
    with np.load(path) as data:
        assert np.array_equal(np.asarray(mapped_member(path, MAPPED_ARRAY)), data[MAPPED_ARRAY])
    for text in ("hello my friend", "أريد العودة إلى بلدي", "ina so in koma gida", "je veux"):
        assert lid.probabilities(text) == reference.probabilities(text)  # type: ignore[attr-defined]


def _mapped(array: np.ndarray) -> bool:
    base: object = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base is not None


def test_a_model_read_from_its_file_maps_the_classifiers_weights(builtin_nlu: BuiltinNLU) -> None:
    """The weights and idf of both classifiers and the language model's feature table are
    mapped from the cached file (a process holds only the pages messages touch), and parse
    as the trained model does."""
    loaded = BuiltinNLU.from_file(Path(builtin_nlu.meta["cache_file"]))
    own = loaded.langid.own
    assert own is not None
    assert _mapped(loaded.intent.linear.weights) and _mapped(own.weights)
    # the intents' weights in half precision; the language model's log-probabilities add up
    # over many features and stay in single precision
    assert loaded.intent.linear.weights.dtype == np.float16
    assert own.weights.dtype == np.float32
    assert loaded.intent.linear.idf is not None and _mapped(loaded.intent.linear.idf)
    assert _mapped(loaded.langid.lid.nb_ptc)  # type: ignore[attr-defined]
    for text in ("I want to go home", "أريد العودة إلى بلدي", "ina so in koma gida", "je veux"):
        assert loaded.parse_sync(text) == builtin_nlu.parse_sync(text)


def test_geez_skeletons_fold_vowels_and_letters_spelt_alike() -> None:
    """Amharic spells one sound with several letters (ሀኪም, ሐኪም) and Tigrinya words carry
    their root's consonants with other vowels (ምምላስ, ክምለስ): the skeleton sees one word."""
    assert skeleton("ሀኪም") == skeleton("ሐኪም") == skeleton("ሓኪም")
    assert skeleton("ዕርዳታ") == skeleton("እርዳታ")
    assert skeleton("ምላስ") == skeleton("ምለስ") != skeleton("ምላሽ")
    assert skeleton("ኣ") == ""
    counts = Featurizer(char_min=1, char_max=2, word_max=1, skeleton=True).word_counts("ምምላስ")
    assert SKEL + "መለሰ" in counts and counts[SKEL + "ለሰ "] == 1


def test_a_saved_vocabulary_gives_the_same_index() -> None:
    from nlu.features import FeatureIndex

    words = ["", "a", "ab", "ḥaḍ", "ጠፍቷል", "x y", "z"]
    built = FeatureIndex(words)
    loaded = FeatureIndex.from_blob(built.blob)
    assert loaded.vocabulary() == words
    for i, word in enumerate(words):
        assert loaded.get(word) == built.get(word) == i
    assert loaded.get("missing") is None
    assert len(FeatureIndex.from_blob(FeatureIndex([]).blob)) == 0


def test_a_model_read_from_its_file_walks_the_tokenizer_trie_not_its_table(
    builtin_nlu: BuiltinNLU,
) -> None:
    """py3langid's 38 MB transition table stays on disk: a loaded model walks the automaton's
    trie and failure links (1.4 MB), with the same language scores, never reading the table."""
    loaded = BuiltinNLU.from_file(Path(builtin_nlu.meta["cache_file"]))
    lid, reference = loaded.langid.lid, builtin_nlu.langid.lid
    assert lid._trie is not None  # type: ignore[attr-defined]
    lid.tk_nextmove = memoryview(b"")  # type: ignore[attr-defined]  # any read would fail
    texts = [
        *MESSAGES,
        "hello my friend",
        "أريد العودة إلى بلدي",
        "ina so in koma gida",
        "ሰላም ኣሎኹ",
        "আমি দেশে যেতে চাই",
        "nabgha nraja3 lbladi",
    ]
    for text in texts:
        if text.strip():
            assert lid.probabilities(text.lower()) == reference.probabilities(text.lower())  # type: ignore[attr-defined]


def test_the_tokenizer_trie_gives_every_move_of_the_table() -> None:
    """On a small automaton (the patterns "he", "she", "his", "hers" over bytes), the trie and
    failure links found from the full table move as the table does from every state on every
    byte; a table that is not an Aho-Corasick automaton keeps the table."""
    from nlu.langid import automaton_trie

    patterns = [b"he", b"she", b"his", b"hers"]
    children: dict[int, dict[int, int]] = {0: {}}
    depth = {0: 0}
    for p in patterns:
        state = 0
        for byte in p:
            if byte not in children[state]:
                new = len(children)
                children[state][byte] = new
                children[new] = {}
                depth[new] = depth[state] + 1
            state = children[state][byte]
    n = len(children)
    fail = [0] * n
    table = np.zeros((n, 256), dtype=np.uint32)
    for state in sorted(children, key=depth.__getitem__):  # breadth first
        for byte in range(256):
            if byte in children[state]:
                child = children[state][byte]
                table[state, byte] = child
                if state:
                    fail[child] = int(table[fail[state], byte])
            else:
                table[state, byte] = table[fail[state], byte] if state else 0
    trie = automaton_trie(table.ravel(), np.arange(n, dtype=np.uint32))
    assert trie is not None
    for state in range(n):
        for byte in range(256):
            s = state
            while True:
                lo, hi = int(trie["starts"][s]), int(trie["starts"][s + 1])
                hits = [i for i in range(lo, hi) if trie["bytes"][i] == byte]
                if hits:
                    s = int(trie["targets"][hits[0]])
                    break
                if s == 0:
                    break
                s = int(trie["fail"][s])
            assert s == table[state, byte]
    scrambled = table.copy()
    scrambled[1, 0] = n - 1  # a move two levels down: no trie has it
    assert automaton_trie(scrambled.ravel(), np.arange(n, dtype=np.uint32)) is None


def test_a_vocabulary_read_from_the_model_file_is_released_yet_still_readable(
    builtin_nlu: BuiltinNLU,
) -> None:
    """A loaded model's vocabularies stay mapped from the file (their pages handed back to the
    kernel once indexed): the index finds every feature, and the vocabulary can be read again."""
    loaded = BuiltinNLU.from_file(Path(builtin_nlu.meta["cache_file"]))
    index, trained = loaded.intent.linear.index, builtin_nlu.intent.linear.index
    assert _mapped(index.blob)
    words = trained.vocabulary()
    assert index.vocabulary() == words
    for column in range(0, len(words), max(1, len(words) // 500)):
        assert index.get(words[column]) == column
