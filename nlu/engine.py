"""The built-in NLU: one message in, language + intent + entities out, in about a millisecond.

``BuiltinNLU.load()`` trains from ``nlu/data/*.yml`` on first use and caches the fitted model
under ``var/cache/nlu`` (override with ``cache_dir`` or ``HOTLINE_NLU_CACHE``), keyed by a hash
of the training data, gazetteers, languages table and code version: a change of any of them
retrains on the next start. The cache holds plain numpy arrays (no pickle); scikit-learn is
only imported to train.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .classifier import IntentModel, TrainParams, train_intent_model
from .danger_model import danger_examples, danger_files, with_intent_examples
from .entities import GAZETTEER_DIR, EntityExtractor
from .features import LinearModel
from .langid import LangGuess, LanguageIdentifier, load_py3langid, py3langid_arrays
from .languages import LANGUAGES_FILE, Variant, load_languages
from .normalize import normalize
from .training_data import (
    Example,
    auxiliary_examples,
    danger_probe_examples,
    load_examples,
    variant_files,
)
from .types import FALLBACK_INTENT, Entity, ParseResult

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_DATA_DIR",
    "DEFAULT_THRESHOLD",
    "MODEL_VERSION",
    "BuiltinNLU",
    "arabic_transliterations",
    "choose_threshold",
    "classification_text",
    "known_words",
]

MODEL_VERSION = "9"  # bump when features/training change: invalidates every cache
PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = PACKAGE_DIR / "data"
PROBE_DIR = Path("danger") / "probes"  # under the data directory; the danger probes teach it too
PROBE_WEIGHT = 0.25  # a probe counts a quarter: its rare words (places, "sorry") pull less
DEFAULT_CACHE_DIR = Path("var") / "cache" / "nlu"  # beside where it runs, not in the package
DEFAULT_THRESHOLD = 0.3
MAX_CLASSIFY_CHARS = 600  # a longer message is classified on its beginning
DANGER_WORD_CACHE = DANGER_PAIR_CACHE = 4096
MAX_ENTITY_CHARS = 4000
RANKING_SIZE = 10
EMERGENCY_INTENT = "emergency"
# A greeting with a request in the same message ("salam alaikum, where is a doctor in Tripoli"):
# the request is what the person wants. The classifier, torn between the two, sometimes puts
# the greeting first; a plain greeting leaves under 0.1 to any request (0.07 at most over 25
# greetings in every language, against 0.22-0.46 for the request in the three greetings with
# a request it put second), so a request that close behind is taken.
GREETING_INTENT = "greet"
REQUEST_INTENTS = frozenset(
    {
        "register_return",
        "return_info",
        "ask_services",
        "health",
        "basic_needs",
        "case_status",
        "talk_to_human",
    }
)  # not the commands (STOP, erasure, language): those only when meant
GREETING_AND_REQUEST = 0.15

# Entities replaced by a placeholder before classification: "from Ghana" and "from Mali" look
# the same to the classifier, so one example teaches every country.
_MASKS = {
    "country": "xcountryx",
    "city": "xcityx",
    "phone": "xphonex",
    "date": "xdatex",
    "case_ref": "xcaserefx",
}
_DIGITS_ONLY = re.compile(r"^\d+$")
# The few emoji that are answers on their own; every other symbol is dropped by normalize().
_EMOJI_WORDS = {
    "👍": " ok ",
    "👌": " ok ",
    "✅": " ok ",
    "✔": " ok ",
    "👎": " no ",
    "❌": " no ",
    "👋": " hello ",
    "🙏": " thanks ",
}
_EMOJI_RE = re.compile("|".join(map(re.escape, _EMOJI_WORDS)))


def classification_text(text: str, entities: Sequence[Entity]) -> str:
    """The normalised text the intent classifier sees (entities masked, digits as 0)."""
    parts: list[str] = []
    pos = 0
    for e in sorted(entities, key=lambda e: e.start):
        mask = _MASKS.get(e.entity)
        if mask is None or e.start < pos:
            continue
        parts.append(text[pos : e.start])
        parts.append(f" {mask} ")
        pos = e.end
    parts.append(text[pos:])
    joined = "".join(parts)
    if not joined.isascii():
        joined = _EMOJI_RE.sub(lambda m: _EMOJI_WORDS[m.group()], joined)
    norm = normalize(joined)
    return " ".join("0" if _DIGITS_ONLY.match(w) else w for w in norm.split())


def _hash_inputs(files: Iterable[Path], extra: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in extra:
        h.update(part.encode())
        h.update(b"\0")
    for p in sorted(set(files)):
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def _py3langid_version() -> str:
    try:
        from importlib.metadata import version

        return version("py3langid")
    except Exception:  # pragma: no cover - metadata missing
        return "?"


class BuiltinNLU:
    """Language identification, intent classification and entity extraction."""

    def __init__(
        self,
        intent: IntentModel,
        langid: LanguageIdentifier,
        extractor: EntityExtractor,
        threshold: float = DEFAULT_THRESHOLD,
        known_words: Iterable[str] = (),
        meta: dict[str, object] | None = None,
        danger: IntentModel | None = None,
    ) -> None:
        self.intent = intent
        self.danger = danger  # emergency / urgent / none (nlu/danger_model.py), when trained
        if danger is not None:
            # a quarter of the intents' caches: the common words, within the NLU's memory
            danger.linear.resize_cache(DANGER_WORD_CACHE, DANGER_PAIR_CACHE)
        self.langid = langid
        self.extractor = extractor
        self.threshold = threshold
        # shared with the entity extractor when it was given this very set
        self.known_words = (
            known_words if isinstance(known_words, frozenset) else frozenset(known_words)
        )
        self._prefixes = frozenset(w[:4] for w in self.known_words if len(w) >= 4)
        self.meta: dict[str, object] = meta or {}

    # ------------------------------------------------------------------------------------
    # construction

    @staticmethod
    def enabled_variants(
        data_dir: Path, languages: Iterable[str] | None = None, languages_file: Path | None = None
    ) -> list[Variant]:
        wanted = set(languages) if languages is not None else None
        present = {p.stem for p in variant_files(data_dir)}
        out: list[Variant] = []
        for lang in load_languages(languages_file):
            if wanted is not None and lang.code not in wanted:
                continue
            out.extend(v for v in lang.variants if v.name in present)
        return out

    @classmethod
    def cache_key(
        cls,
        data_dir: Path,
        languages: Iterable[str] | None = None,
        gazetteer_dir: Path | None = None,
    ) -> str:
        variants = cls.enabled_variants(data_dir, languages)
        files = [data_dir / f"{v.name}.yml" for v in variants]
        gdir = gazetteer_dir or GAZETTEER_DIR
        files += sorted(gdir.glob("*.yml")) if gdir.is_dir() else []
        files += danger_files(data_dir)  # the probes among them
        files.append(LANGUAGES_FILE)
        code = [
            PACKAGE_DIR / n
            for n in (
                "engine.py",
                "features.py",
                "classifier.py",
                "langid.py",
                "normalize.py",
                "entities.py",
                "training_data.py",
                "danger_model.py",
            )
        ]
        extra = [MODEL_VERSION, _py3langid_version(), ",".join(v.name for v in variants)]
        return _hash_inputs([*files, *code], extra)[:20]

    @classmethod
    def cache_path(
        cls,
        data_dir: Path | str | None = None,
        cache_dir: Path | str | None = None,
        languages: Iterable[str] | None = None,
        gazetteer_dir: Path | None = None,
    ) -> Path:
        """Where the model for this data lives in the cache."""
        ddir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        cdir = Path(cache_dir or os.environ.get("HOTLINE_NLU_CACHE") or DEFAULT_CACHE_DIR)
        langs = sorted(languages) if languages is not None else None
        return cdir / f"nlu-{cls.cache_key(ddir, langs, gazetteer_dir)}.npz"

    @classmethod
    def load(
        cls,
        data_dir: Path | str | None = None,
        cache_dir: Path | str | None = None,
        languages: Iterable[str] | None = None,
        threshold: float | None = None,
        gazetteer_dir: Path | str | None = None,
    ) -> BuiltinNLU:
        """The NLU for ``data_dir``: from the cache when it matches the data, else trained
        (and cached). ``languages`` restricts to those language codes."""
        ddir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        gdir = Path(gazetteer_dir) if gazetteer_dir else None
        langs = sorted(languages) if languages is not None else None
        path = cls.cache_path(ddir, cache_dir, langs, gdir)
        cdir = path.parent
        nlu: BuiltinNLU | None = None
        if path.is_file():
            try:
                nlu = cls.from_file(path, gdir)
            except (OSError, ValueError, KeyError):
                nlu = None
        if nlu is None:
            nlu = cls.train(ddir, langs, gazetteer_dir=gdir)
            try:
                nlu.save(path)
                for old in cdir.glob("nlu-*.npz"):
                    if old != path:
                        old.unlink(missing_ok=True)
            except OSError:
                pass  # a read-only install still works, it just trains each start
        if threshold is not None:
            nlu.threshold = threshold
        nlu.meta["cache_file"] = str(path)
        return nlu

    @classmethod
    def train(
        cls,
        data_dir: Path | str | None = None,
        languages: Iterable[str] | None = None,
        examples: Sequence[Example] | None = None,
        params: TrainParams | None = None,
        gazetteer_dir: Path | None = None,
        use_auxiliary: bool = True,
        with_danger: bool = True,
    ) -> BuiltinNLU:
        """Train from scratch (no cache). ``use_auxiliary``: also learn from the command
        keywords and danger phrases of the gazetteers (see ``auxiliary_examples``).
        ``with_danger``: also train the danger classifier (nlu/danger_model.py)."""
        t0 = time.perf_counter()
        ddir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        variants = cls.enabled_variants(ddir, languages)
        if examples is None:
            examples = load_examples(ddir, [v.name for v in variants])
        else:
            names = {v.name for v in variants} or {e.variant for e in examples}
            examples = [e for e in examples if e.variant in names]
        if not examples:
            raise ValueError(f"no training examples in {ddir}")
        own_examples = list(examples)
        if use_auxiliary:
            seen = {(e.variant, normalize(e.text)) for e in examples}
            aux = [
                a
                for a in auxiliary_examples(
                    gazetteer_dir or GAZETTEER_DIR, [v.name for v in variants]
                )
                if (a.variant, normalize(a.text)) not in seen
            ]
            seen |= {(a.variant, normalize(a.text)) for a in aux}
            probes = []
            for p in danger_probe_examples(
                ddir / PROBE_DIR, [v.name for v in variants], PROBE_WEIGHT
            ):
                if (key := (p.variant, normalize(p.text))) not in seen:
                    seen.add(key)
                    probes.append(p)
            examples = [*examples, *aux, *probes]
        known = frozenset(known_words(examples))
        extractor = EntityExtractor(gazetteer_dir, known_words=known)
        texts = [
            classification_text(e.text, extractor.extract(e.text, e.variant)) for e in examples
        ]
        labels = [e.intent for e in examples]
        groups = [e.variant for e in examples]
        weights = [e.weight for e in examples]
        n_real = len(texts)
        # Arabic <-> Arabizi transliterations of the training examples (classifier only)
        for other in arabic_transliterations(examples, variants):
            texts.append(
                classification_text(other.text, extractor.extract(other.text, other.variant))
            )
            labels.append(other.intent)
            groups.append(other.variant + "~")
            weights.append(other.weight)
        intent, oof = train_intent_model(texts, labels, params, groups=groups, weights=weights)
        oof = oof[:n_real]
        labels = labels[:n_real]
        classes = list(intent.linear.classes)
        y = np.array([classes.index(lab) for lab in labels])
        threshold = choose_threshold(oof / intent.temperature, y)
        danger = None
        if with_danger:
            danger = cls._train_danger(ddir, variants, own_examples, extractor, params)

        from .langid import train_variant_model

        own = train_variant_model(
            [normalize(e.text) for e in examples],
            [e.variant for e in examples],
            scripts={v.name: v.script for v in variants},
            also={v.name: v.also for v in variants},
        )
        codes = sorted({c for v in variants for c in v.langid})
        lid_arrays = py3langid_arrays(codes) if codes else {}
        lid = load_py3langid(lid_arrays, codes) if codes else None
        langid = LanguageIdentifier(
            variants, own, lid, default_language=_default_language(variants)
        )
        meta: dict[str, object] = {
            "version": MODEL_VERSION,
            "variants": [
                [v.name, v.language, v.script, list(v.langid), list(v.also)] for v in variants
            ],
            "temperature": intent.temperature,
            "threshold": threshold,
            "examples": len(examples),
            "train_seconds": round(time.perf_counter() - t0, 3),
            "lid_codes": codes,
        }
        if danger is not None:
            meta["danger_temperature"] = danger.temperature
        nlu = cls(intent, langid, extractor, threshold, known, meta, danger)
        nlu._lid_arrays = lid_arrays  # type: ignore[attr-defined]
        return nlu

    @staticmethod
    def _train_danger(
        data_dir: Path,
        variants: Sequence[Variant],
        intent_examples: Sequence[Example],
        extractor: EntityExtractor,
        params: TrainParams | None,
    ) -> IntentModel | None:
        """The danger classifier, on the same features as the intents; None without danger
        data of all three levels (a small test data set)."""
        examples = with_intent_examples(danger_examples(data_dir, variants), intent_examples)
        labels = [e.intent for e in examples]
        if len(set(labels)) < 3:
            return None
        texts = [
            classification_text(e.text, extractor.extract(e.text, e.variant)) for e in examples
        ]
        model, _ = train_intent_model(texts, labels, params, groups=[e.variant for e in examples])
        return model

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        arrays.update(self.intent.linear.to_arrays("intent"))
        if self.danger is not None:
            arrays.update(self.danger.linear.to_arrays("danger"))
        if self.langid.own is not None:
            arrays.update(self.langid.own.to_arrays("own"))
        arrays.update(getattr(self, "_lid_arrays", {}) or {})
        meta = dict(self.meta)
        meta.pop("cache_file", None)
        meta["known_words"] = sorted(self.known_words)
        arrays["meta"] = np.frombuffer(
            json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub: names → arrays
            os.chmod(tmp, 0o644)  # public training data, nothing secret
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def from_file(cls, path: Path, gazetteer_dir: Path | None = None) -> BuiltinNLU:
        with np.load(path, allow_pickle=False) as data:
            # the large read-only tables are mapped, not read (below)
            arrays = {k: data[k] for k in data.files if k not in MAPPED_ARRAYS}
            for name in MAPPED_ARRAYS:
                if name in data.files:
                    mapped = mapped_member(path, name)
                    arrays[name] = data[name] if mapped is None else mapped
        meta = json.loads(arrays["meta"].tobytes().decode())
        if meta.get("version") != MODEL_VERSION:
            raise ValueError("stale model version")
        variants = [
            Variant(n, lang, s, tuple(c), tuple(a)) for n, lang, s, c, a in meta["variants"]
        ]
        intent = IntentModel(LinearModel.from_arrays(arrays, "intent"), float(meta["temperature"]))
        own = LinearModel.from_arrays(arrays, "own") if "own.vocab" in arrays else None
        codes = list(meta.get("lid_codes") or [])
        lid = load_py3langid(arrays, codes) if codes else None
        langid = LanguageIdentifier(
            variants, own, lid, default_language=_default_language(variants)
        )
        known = frozenset(meta.pop("known_words", []))
        extractor = EntityExtractor(gazetteer_dir, known_words=known)
        danger = None
        if "danger.vocab" in arrays:
            danger = IntentModel(
                LinearModel.from_arrays(arrays, "danger"), float(meta["danger_temperature"])
            )
        return cls(intent, langid, extractor, float(meta["threshold"]), known, meta, danger)

    # ------------------------------------------------------------------------------------
    # parsing

    def identify_language(self, text: str, language_hint: str | None = None) -> LangGuess:
        text = text[:MAX_CLASSIFY_CHARS]
        return self.langid.identify(text, normalize(text), language_hint)

    def parse_sync(self, text: str, language_hint: str | None = None) -> ParseResult:
        if not text or not text.strip():
            lang = self.langid._hint_language(language_hint) or self.langid.default_language
            return ParseResult(text, lang, 0.0, "Zyyy", FALLBACK_INTENT, 0.0, (), ())
        head = text[:MAX_CLASSIFY_CHARS]
        guess = self.langid.identify(head, normalize(head), language_hint)
        entities = self.extractor.extract(text[:MAX_ENTITY_CHARS], guess.variant or guess.language)
        ctext = classification_text(head, [e for e in entities if e.end <= len(head)])
        probs, _known = self.intent.probabilities(ctext)
        classes = self.intent.linear.classes
        known_share = self._known_share(ctext)
        # gibberish: less sure of anything (a message of digits alone is no gibberish)
        familiarity = 0.5 if known_share == 0.0 and _has_words(ctext) else 1.0
        if familiarity != 1.0:
            probs = [q * familiarity for q in probs]
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)[:RANKING_SIZE]
        ranking = tuple([(classes[i], probs[i]) for i in order])
        best, conf = ranking[0]
        if best == GREETING_INTENT and len(ranking) > 1:
            request, share = ranking[1]
            if request in REQUEST_INTENTS and share >= GREETING_AND_REQUEST:
                # the greeting's weight goes to the request it came with
                best, conf = request, conf + share
                ranking = ((request, conf), *ranking[2:])
        # Safety first: a possible emergency goes through at 3/4 of the threshold (a person
        # checks it; a missed one is worse than a false alarm).
        threshold = self.threshold * 0.75 if best == EMERGENCY_INTENT else self.threshold
        if conf < threshold:
            ranking = ((FALLBACK_INTENT, 1.0 - conf), *ranking)
            intent = FALLBACK_INTENT
            confidence = 1.0 - conf
        else:
            intent, confidence = best, conf
        danger_emergency: float | None = None
        danger_urgent: float | None = None
        if self.danger is not None:
            levels, _known = self.danger.probabilities(ctext)
            named = dict(zip(self.danger.linear.classes, levels, strict=True))
            danger_emergency = named.get("emergency", 0.0) * familiarity
            danger_urgent = named.get("urgent", 0.0) * familiarity
        return ParseResult(
            text=text,
            language=guess.language,
            language_confidence=guess.confidence,
            script=guess.script,
            intent=intent,
            confidence=confidence,
            intent_ranking=ranking,
            entities=tuple(entities),
            danger_emergency=danger_emergency,
            danger_urgent=danger_urgent,
            known_share=known_share,
        )

    async def parse(self, text: str, language_hint: str | None = None) -> ParseResult:
        return self.parse_sync(text, language_hint)

    def clear_caches(self) -> None:
        """Forget the per-word work remembered so far (feature look-ups, py3langid's walk,
        gazetteer look-ups): the next parse is as slow as on words never seen. For benchmarks
        and tests; the caches are bounded, so a server never needs this."""
        for model in (self.intent.linear, self.langid.own):
            if model is not None:
                model.clear_cache()
        walk = getattr(self.langid.lid, "_walk", None)
        if walk is not None:
            walk.cache_clear()
        self.extractor.countries.clear_cache()
        self.extractor.cities.clear_cache()

    def _known_share(self, ctext: str) -> float:
        """The share of the message's words the training data knows (a word, or its first
        four letters): about 1 for what people write, typos included; near 0 for gibberish;
        0 for a message with no words (a menu digit says nothing about danger)."""
        words = _words(ctext)
        if not words:
            return 0.0
        if not self.known_words:
            return 1.0
        known = sum(
            1 for w in words if w in self.known_words or (len(w) >= 4 and w[:4] in self._prefixes)
        )
        return known / len(words)


def _words(ctext: str) -> list[str]:
    """The words of a classification text: no numbers, no entity masks."""
    return [w for w in ctext.split() if not w.isdigit() and not w.startswith("x")]


def _has_words(ctext: str) -> bool:
    return bool(_words(ctext))


def arabic_transliterations(
    examples: Sequence[Example], variants: Sequence[Variant]
) -> list[Example]:
    """Every Arabic example in the other script (entities dropped), when both the
    Arabic-script and the Arabizi variants are enabled."""
    from .arabizi import from_arabizi, to_arabizi

    arab = [v.name for v in variants if v.language == "ar" and v.script == "Arab"]
    latn = [v.name for v in variants if v.language == "ar" and v.script == "Latn"]
    if not arab or not latn:
        return []
    out: list[Example] = []
    for e in examples:
        if e.variant == arab[0]:
            out.append(Example(to_arabizi(e.text), e.intent, latn[0], weight=e.weight))
        elif e.variant == latn[0]:
            out.append(Example(from_arabizi(e.text), e.intent, arab[0], weight=e.weight))
    return out


def known_words(examples: Iterable[Example]) -> list[str]:
    """Folded words of the training texts (entity spans excluded)."""
    words: set[str] = set()
    for e in examples:
        text = e.text
        for sp in sorted(e.entities, key=lambda s: -s.start):
            text = text[: sp.start] + " " + text[sp.end :]
        words.update(normalize(text).split())
    return sorted(w for w in words if not w.isdigit())


def choose_threshold(scaled_scores: np.ndarray, y: np.ndarray, reject: float = 0.015) -> float:
    """The fallback threshold from out-of-fold calibrated probabilities.

    The highest threshold that still accepts all but ``reject`` (1.5%) of the correct
    out-of-fold predictions, bounded to [0.2, 0.4]. On the project's data this is about 0.3:
    below it a prediction is right only about one time in three, so asking again is better.
    """
    z = scaled_scores - scaled_scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    if not correct.any():
        return DEFAULT_THRESHOLD
    t = float(np.quantile(conf[correct], reject))
    return float(min(max(t, 0.2), 0.4))


def _default_language(variants: Sequence[Variant]) -> str:
    return variants[0].language if variants else "en"


# py3langid's tokenizer table: the largest array, read a few entries a message
MAPPED_ARRAY = "lid.nextmove"
# Every large read-only table a message reads a few rows of: the tokenizer table, the
# classifiers' weights, the idf, the language model's feature probabilities; and the
# vocabularies, read once at load to index them and then released (nlu/features.py). Mapped,
# a server process holds only the pages messages touch, and processes on one machine share them.
MAPPED_ARRAYS = (
    MAPPED_ARRAY,
    "intent.vocab",
    "danger.vocab",
    "own.vocab",
    "intent.weights",
    "intent.idf",
    "danger.weights",
    "danger.idf",
    "own.weights",
    "lid.ptc",
)


def mapped_member(path: Path, name: str) -> np.ndarray | None:
    """An array of an uncompressed .npz, memory-mapped in place: the operating system reads
    the pages a message touches, and processes on one machine share them. None if the
    member is compressed or unreadable (then it is read as usual)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as fh:
            fh.seek(info.header_offset)
            header = fh.read(30)  # the zip local file header, then its name and extra field
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            fh.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
        if fortran or dtype.hasobject:
            return None
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    except (OSError, KeyError, ValueError, struct.error, zipfile.BadZipFile):
        return None
