"""Language identification by k-fold cross-validation on the training files, on messages of one
to six words (issue 15: Tigrinya vs Amharic share one script). Only the language model is
retrained per fold (the intent model plays no part in language identification), so a run takes
seconds. Never reads a held-out set.

    .venv/bin/python bench/langid_cv.py ti am            # every 1-6-word message of ti and am
    .venv/bin/python bench/langid_cv.py ti am --script   # only those written in their own script
    .venv/bin/python bench/langid_cv.py ti am --errors   # and list the misidentified ones
    .venv/bin/python bench/langid_cv.py --languages en,ar,fr,ha   # as before ti and am
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from nlu.engine import DEFAULT_DATA_DIR, BuiltinNLU
from nlu.entities import GAZETTEER_DIR
from nlu.langid import (
    LanguageIdentifier,
    detect_script,
    load_py3langid,
    py3langid_arrays,
    train_variant_model,
)
from nlu.normalize import normalize
from nlu.training_data import auxiliary_examples, load_examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="variants scored (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-words", type=int, default=6)
    parser.add_argument("--script", action="store_true", help="only messages in their own script")
    parser.add_argument("--latin", action="store_true", help="only messages in Latin letters")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--languages", help="train on these languages only, e.g. en,ar,fr,ha")
    args = parser.parse_args()

    variants = BuiltinNLU.enabled_variants(
        DEFAULT_DATA_DIR, args.languages.split(",") if args.languages else None
    )
    script_of = {v.name: v.script for v in variants}
    names = [v.name for v in variants]
    examples = load_examples(DEFAULT_DATA_DIR, names)
    aux = auxiliary_examples(GAZETTEER_DIR, names)  # trained on, as by the engine; never scored
    codes = sorted({c for v in variants for c in v.langid})
    lid = load_py3langid(py3langid_arrays(codes), codes) if codes else None
    scored = set(args.variants or names)
    order = list(range(len(examples)))
    random.Random(args.seed).shuffle(order)
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    errors: list[tuple[str, str | None, str]] = []
    for k in range(args.folds):
        test = set(order[k :: args.folds])
        train = [examples[i] for i in order if i not in test] + aux
        own = train_variant_model(
            [normalize(e.text) for e in train],
            [e.variant for e in train],
            scripts=script_of,
            also={v.name: v.also for v in variants},
        )
        identifier = LanguageIdentifier(variants, own, lid)
        for i in sorted(test):
            e = examples[i]
            if e.variant not in scored or len(e.text.split()) > args.max_words:
                continue
            script = detect_script(e.text)[0]
            if args.script and script != script_of[e.variant]:
                continue
            if args.latin and script != "Latn":
                continue
            guess = identifier.identify(e.text, normalize(e.text))
            total[e.variant] += 1
            ok[e.variant] += guess.variant == e.variant
            if guess.variant != e.variant:
                errors.append((e.variant, guess.variant, e.text))
    for name in sorted(total):
        print(f"{name:8} {ok[name] / total[name]:.3f}  ({ok[name]}/{total[name]})")
    n = sum(total.values())
    print(f"{'all':8} {sum(ok.values()) / max(n, 1):.3f}  ({n})")
    if args.errors:
        for gold, wrong, text in errors:
            print(f"{gold} -> {wrong}: {text}")


if __name__ == "__main__":
    main()
