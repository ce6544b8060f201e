"""The built-in NLU end to end: shape, fallback, cache, speed and held-out quality gates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlu import FALLBACK_INTENT, BuiltinNLU, ParseResult
from nlu.engine import MAX_CLASSIFY_CHARS
from nlu.evaluation import EvalReport, evaluate, heldout_examples
from nlu.training_data import Example
from nlu.types import NLUService

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to go home", "register_return"),
        ("nbi nrja3 l bladi", "register_return"),
        ("je veux rentrer", "register_return"),
        ("ina so in koma gida", "register_return"),
        ("abeg i wan go back Naija", "register_return"),
        ("5ouya ma7jouz", "detention"),
        ("my brother is in prison in Tripoli", "detention"),
        ("the boat is sinking help now", "emergency"),
        ("I am Nasiru from Nigeria", "inform"),
        ("ana min sudan", "inform"),
        ("hello", "greet"),
        ("shukran", "thanks"),
        ("na gode", "thanks"),
        ("delete my data", "delete_data"),
        ("STOP", "stop"),
    ],
)
def test_intents_from_the_issue(builtin_nlu: BuiltinNLU, text: str, intent: str) -> None:
    assert builtin_nlu.parse_sync(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("السلام عليكم بدي ارجع للسودان كيف", "register_return"),
        ("salam 3likom, wen nl9a dakhtour fi tripoli", "health"),
        ("salam alaikum, ina asibiti a tripoli", "health"),
        ("hello how are you, where can i find a clinic in misrata", "health"),
        ("good morning ma, my case number na LY-7K3M9Q, wetin dey happen", "case_status"),
    ],
)
def test_a_greeting_with_a_request_is_the_request(
    builtin_nlu: BuiltinNLU, text: str, intent: str
) -> None:
    """Not a greeting and the menu: the person asked for something (the first three were
    greetings before the request behind a greeting was taken)."""
    assert builtin_nlu.parse_sync(text).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "salam alaikum",
        "good morning my brother how is your family",
        "asc walaal sidee tahay",
        "assalamualaikum bhai kemon achen",
        "salam, hope you are fine today",
        "hello, I am Amina from Kano",
    ],
)
def test_a_greeting_alone_stays_a_greeting(builtin_nlu: BuiltinNLU, text: str) -> None:
    assert builtin_nlu.parse_sync(text).intent == "greet"


def test_parse_result_and_rasa_dict(builtin_nlu: BuiltinNLU) -> None:
    r = builtin_nlu.parse_sync("abeg i wan go back Naija, I dey Sabha, call 0912345678")
    assert isinstance(r, ParseResult)
    d = r.to_rasa_dict()
    assert set(d) == {
        "text", "intent", "intent_ranking", "entities", "language", "language_confidence",
        "script",
    }  # fmt: skip
    assert set(d["intent"]) == {"name", "confidence"}
    assert 0.0 <= d["intent"]["confidence"] <= 1.0
    assert d["intent_ranking"][0]["name"] == d["intent"]["name"]
    assert len(d["intent_ranking"]) <= 11
    assert {(e["entity"], e["value"]) for e in d["entities"]} == {
        ("country", "NG"),
        ("city", "Sebha"),
        ("phone", "+218912345678"),
    }
    for e in d["entities"]:
        assert set(e) == {"entity", "value", "start", "end", "extractor"}
    assert r.entity("city") is not None and r.entity("city").text == "Sabha"  # type: ignore[union-attr]
    assert (d["language"], d["script"]) == ("en", "Latn")


async def test_async_parse_satisfies_the_service_protocol(builtin_nlu: BuiltinNLU) -> None:
    service: NLUService = builtin_nlu
    r = await service.parse("salam 3likom", "ar")
    assert r.intent == "greet" and r.language == "ar"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_is_fallback_with_zero_confidence(builtin_nlu: BuiltinNLU, text: str) -> None:
    r = builtin_nlu.parse_sync(text, "fr")
    assert (r.intent, r.confidence, r.language) == (FALLBACK_INTENT, 0.0, "fr")


@pytest.mark.parametrize("text", ["asdkjh qwpoe", "xkcdq zzptr", "qwrtzp", "lorem ipsum dolor"])
def test_gibberish_is_fallback(builtin_nlu: BuiltinNLU, text: str) -> None:
    assert builtin_nlu.parse_sync(text).intent == FALLBACK_INTENT


def test_a_huge_message_is_classified_on_its_beginning(builtin_nlu: BuiltinNLU) -> None:
    """A 100 KB message costs what its first MAX_CLASSIFY_CHARS cost (the time itself is
    measured by bench/nlu_bench.py, not here: no timing thresholds in tests)."""
    text = "please help me i want to go home " * 3000  # ~100 KB
    whole = builtin_nlu.parse_sync(text)
    head = builtin_nlu.parse_sync(text[:MAX_CLASSIFY_CHARS])
    assert whole.intent == head.intent == "register_return"
    assert whole.intent_ranking == head.intent_ranking
    assert (whole.danger_emergency, whole.danger_urgent) == (
        head.danger_emergency,
        head.danger_urgent,
    )


def test_the_per_word_caches_change_no_result(builtin_nlu: BuiltinNLU) -> None:
    """Warm caches (as in a server) and emptied ones give the same parse."""
    msgs = ["nbi nrja3 l bladi", "je veux rentrer au Mali", "ok", "انا من السودان وساكن في سبها"]
    warm = [builtin_nlu.parse_sync(m) for m in msgs * 2][len(msgs) :]
    builtin_nlu.clear_caches()
    cold = [builtin_nlu.parse_sync(m) for m in msgs]
    assert warm == cold


def _tiny_data(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "en.yml").write_text(
        """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
- intent: register_return
  examples: |
    - i want to go home
    - take me back to [Ghana](country)
    - i wan go back
- intent: health
  examples: |
    - i am sick
    - i need a doctor
    - my head hurts
""",
        encoding="utf-8",
    )
    (directory / "fr.yml").write_text(
        """version: "3.1"
nlu:
- intent: greet
  examples: |
    - bonjour
    - salut
- intent: register_return
  examples: |
    - je veux rentrer
    - je veux retourner au pays
- intent: health
  examples: |
    - je suis malade
    - j'ai besoin d'un médecin
""",
        encoding="utf-8",
    )


def test_cache_is_reused_and_retrained_on_data_change(tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    _tiny_data(data)
    first = BuiltinNLU.load(data, cache)
    files = list(cache.glob("nlu-*.npz"))
    assert len(files) == 1
    assert "sklearn" not in str(first.meta.get("cache_file", "x")) and files[0].stat().st_size > 0
    mtime = files[0].stat().st_mtime_ns
    second = BuiltinNLU.load(data, cache)  # from the cache: same file, not rewritten
    assert list(cache.glob("nlu-*.npz")) == files and files[0].stat().st_mtime_ns == mtime
    assert second.parse_sync("hello there").intent == first.parse_sync("hello there").intent
    assert second.parse_sync("je suis malade").intent == "health"
    with (data / "en.yml").open("a", encoding="utf-8") as fh:
        fh.write("- intent: thanks\n  examples: |\n    - thank you\n    - thanks a lot\n")
    third = BuiltinNLU.load(data, cache)
    new_files = list(cache.glob("nlu-*.npz"))
    assert len(new_files) == 1 and new_files != files  # retrained, old model removed
    assert "thanks" in third.intent.linear.classes
    assert third.parse_sync("thank you").intent == "thanks"


def test_a_new_language_is_data_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _tiny_data(data)
    shutil.copy(REPO / "nlu" / "data" / "ha.yml", data / "ha.yml")
    nlu = BuiltinNLU.load(data, tmp_path / "cache")
    assert {v for v, *_ in nlu.meta["variants"]} == {"en", "fr", "ha"}  # type: ignore[union-attr]
    assert nlu.parse_sync("ina so in koma gida").language == "ha"
    only = BuiltinNLU.load(data, tmp_path / "cache2", languages=["en", "fr"])
    assert {v for v, *_ in only.meta["variants"]} == {"en", "fr"}  # type: ignore[union-attr]


# -- quality gates on the independent held-out set (never trained or tuned on) ------------------

HELDOUT = heldout_examples()
needs_heldout = pytest.mark.skipif(not HELDOUT, reason="bench/data/heldout is missing")


# The overall gate is the first four languages' (issue 15: they must not drop as languages are
# added); every variant, new ones included, must reach 0.90 on its own.
FIRST_LANGUAGES = {"en", "ar", "fr", "ha"}


def trained_only(nlu: BuiltinNLU, examples: list[Example]) -> list[Example]:
    """The held-out messages of the variants this model was trained on (a held-out set can
    land before its language's training data; tests/test_nlu_heldout.py requires one for
    every trained variant)."""
    variants = {v for v, *_ in nlu.meta["variants"]}  # type: ignore[union-attr]
    return [e for e in examples if e.variant in variants]


def gate(report: EvalReport) -> None:
    first = [p for p in report.predictions if p.language in FIRST_LANGUAGES]
    assert report.accuracy(first) >= 0.95
    for variant, preds in report.by_variant().items():
        assert report.accuracy(preds) >= 0.90, variant


@pytest.fixture(scope="module")
def heldout_report(builtin_nlu: BuiltinNLU):  # type: ignore[no-untyped-def]
    return evaluate(builtin_nlu, trained_only(builtin_nlu, HELDOUT))


@needs_heldout
def test_heldout_intent_accuracy(heldout_report) -> None:  # type: ignore[no-untyped-def]
    gate(heldout_report)


@needs_heldout
def test_heldout_language_identification(heldout_report) -> None:  # type: ignore[no-untyped-def]
    accuracy, n = heldout_report.langid_accuracy(max_words=6)
    assert n > 500
    assert accuracy >= 0.95


LONG = heldout_examples(Path(__file__).resolve().parent.parent / "bench" / "data" / "heldout_long")


def test_longer_real_style_messages(builtin_nlu: BuiltinNLU) -> None:
    """The second held-out set (explanations of 8-30 words; tests/test_nlu_heldout.py fails if
    it is missing): the same targets, and the language of every message, not only short ones."""
    report = evaluate(builtin_nlu, trained_only(builtin_nlu, LONG))
    gate(report)
    right = sum(p.predicted_language == p.language for p in report.predictions)
    assert right / len(report.predictions) >= 0.97


def test_next_languages_need_only_a_data_file(tmp_path: Path) -> None:
    """Tigrinya (Ethiopic script, no py3langid model) and Somali (Latin) from data alone."""
    data = tmp_path / "data"
    _tiny_data(data)
    (data / "ti.yml").write_text(
        """version: "3.1"
nlu:
- intent: greet
  examples: |
    - ሰላም
    - ከመይ ኣለኹም
- intent: register_return
  examples: |
    - ናብ ሃገረይ ክምለስ እደሊ
    - ናብ ዓደይ ክኸይድ እደሊ
- intent: health
  examples: |
    - ሓሚመ ኣለኹ
    - ሓኪም የድልየኒ
""",
        encoding="utf-8",
    )
    (data / "so.yml").write_text(
        """version: "3.1"
nlu:
- intent: greet
  examples: |
    - iska warran
    - nabad
- intent: register_return
  examples: |
    - waxaan rabaa inaan dalkayga ku laabto
    - waxaan doonayaa inaan guriga aado
- intent: health
  examples: |
    - waan xanuunsanahay
    - dhakhtar baan u baahanahay
""",
        encoding="utf-8",
    )
    nlu = BuiltinNLU.load(data, tmp_path / "cache")
    r = nlu.parse_sync("ናብ ሃገረይ ክምለስ")
    assert (r.language, r.script, r.intent) == ("ti", "Ethi", "register_return")
    r = nlu.parse_sync("waxaan rabaa inaan dalkayga ku laabto")
    assert (r.language, r.script, r.intent) == ("so", "Latn", "register_return")
