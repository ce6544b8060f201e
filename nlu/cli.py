"""``hotline nlu ...``: parse a message, train, evaluate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .engine import BuiltinNLU

nlu_app = typer.Typer(help="The built-in NLU: parse, train, evaluate.", no_args_is_help=True)
console = Console()

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Training data directory (default nlu/data).")
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Model cache directory (default var/cache/nlu).")
]


@nlu_app.command()
def parse(
    text: Annotated[str, typer.Argument(help="The message to parse.")],
    hint: Annotated[
        str | None, typer.Option("--hint", help="The session's language (en, ar, fr, ha...).")
    ] = None,
    data: DataOpt = None,
    cache: CacheOpt = None,
) -> None:
    """Print the parse of TEXT as JSON (Rasa's /model/parse shape plus language and script)."""
    nlu = BuiltinNLU.load(data, cache)
    result = nlu.parse_sync(text, hint)
    typer.echo(json.dumps(result.to_rasa_dict(), ensure_ascii=False, indent=2))


@nlu_app.command()
def train(data: DataOpt = None, cache: CacheOpt = None) -> None:
    """Retrain from scratch (ignoring the cache) and store the model in the cache."""
    t0 = time.perf_counter()
    nlu = BuiltinNLU.train(data)
    seconds = time.perf_counter() - t0
    path = BuiltinNLU.cache_path(data, cache)
    nlu.save(path)
    console.print(
        f"trained on {nlu.meta['examples']} examples in {seconds:.2f} s; "
        f"threshold {nlu.threshold:.3f}, temperature {float(str(nlu.meta['temperature'])):.3f}; "
        f"saved {path}"
    )


@nlu_app.command("eval")
def evaluate_cmd(
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    data: DataOpt = None,
    cache: CacheOpt = None,
    heldout: Annotated[
        Path | None, typer.Option("--heldout", help="Held-out set (default bench/data/heldout).")
    ] = None,
    errors: Annotated[int, typer.Option("--errors", help="Show this many errors.")] = 0,
) -> None:
    """Cross-validation: per-language and per-intent precision/recall/F1, confusion pairs;
    then accuracy on the held-out set if present."""
    from .evaluation import EvalReport, cross_validate, evaluate, heldout_examples

    t0 = time.perf_counter()
    report = cross_validate(data, folds=folds)
    console.print(
        f"[bold]{folds}-fold cross-validation[/] on {len(report.predictions)} examples "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    _print_report(report, errors)
    examples = heldout_examples(heldout)
    if examples:
        nlu = BuiltinNLU.load(data, cache)
        console.print(f"\n[bold]Held-out set[/] ({len(examples)} examples, never trained on)")
        held: EvalReport = evaluate(nlu, examples)
        _print_report(held, errors)


def _print_report(report: object, errors: int) -> None:
    from .evaluation import EvalReport, prf

    assert isinstance(report, EvalReport)
    lang = Table(title="Per language variant")
    for col in ("variant", "n", "accuracy", "macro F1", "fallback", "langid (1-6 words)"):
        lang.add_column(col, justify="right" if col != "variant" else "left")
    for variant, preds in sorted(report.by_variant().items()):
        lid, _ = report.langid_accuracy(6, preds)
        lang.add_row(
            variant,
            str(len(preds)),
            f"{report.accuracy(preds):.3f}",
            f"{report.macro_f1(preds):.3f}",
            f"{report.fallback_rate(preds):.3f}",
            f"{lid:.3f}",
        )
    lid_all, n_lid = report.langid_accuracy(6)
    lang.add_row(
        "[bold]all",
        str(len(report.predictions)),
        f"[bold]{report.accuracy():.3f}",
        f"{report.macro_f1():.3f}",
        f"{report.fallback_rate():.3f}",
        f"{lid_all:.3f} ({n_lid})",
    )
    console.print(lang)

    intents = Table(title="Per intent")
    for col in ("intent", "precision", "recall", "F1", "support"):
        intents.add_column(col, justify="right" if col != "intent" else "left")
    for intent in report.intents():
        p, r, f, n = prf(report.predictions, intent)
        intents.add_row(intent, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", str(n))
    console.print(intents)

    conf = Table(title="Top confusions (gold -> predicted)")
    for col in ("gold", "predicted", "count"):
        conf.add_column(col)
    for gold, pred, n in report.confusions(12):
        conf.add_row(gold, pred, str(n))
    console.print(conf)
    lconf = report.language_confusions(8)
    if lconf:
        console.print("language confusions: " + ", ".join(f"{a}->{b} {n}" for a, b, n in lconf))
    for wrong in report.errors()[:errors]:
        console.print(
            f"  [{wrong.variant}] {wrong.text!r}: {wrong.intent} -> {wrong.predicted_intent}"
            f" ({wrong.confidence:.2f})",
            markup=False,
        )


if __name__ == "__main__":  # pragma: no cover
    nlu_app()
