"""Danger recall and false alarms, per language variant, in one command.

    .venv/bin/python bench/danger_bench.py                      # bench/data/danger_eval/*.yml
    .venv/bin/python bench/danger_bench.py --data DIR           # another directory of eval files
    .venv/bin/python bench/danger_bench.py --data nlu/data/danger/probes --misses   # dev probes
    .venv/bin/python bench/danger_bench.py --dev                # the detector's own dev set
    .venv/bin/python bench/danger_bench.py --rasa               # also with Rasa's intents
    .venv/bin/python bench/danger_bench.py --rasa --rasa-epochs 20   # Rasa in ~1 h, not 3.5
    .venv/bin/python bench/danger_bench.py --variant ti --variant am   # only these variants

Each message goes through the safety triage the conversation uses (flows/safety.py: the danger
detector nlu/danger.py, the staff's danger phrases, the NLU intent and the danger classifier
nlu/danger_model.py) as the first message of a conversation at the main menu. The outcome is
what the person would get: an emergency (safety reply + emergency case), an urgent case, the
question "are you in danger right now?" (yes opens an emergency case; where the message also
reads as urgent, no opens an urgent case), or nothing. Reported per variant:

- immediate-danger recall: emergency messages that reach an emergency, or the question (both
  counted, and shown apart);
- emergency-vs-urgent accuracy on the danger messages (the question counts as emergency);
- urgent-category case rate: urgent messages that open a case (urgent or emergency, or the
  question whose either answer opens one);
- false alarms: a safety reply or the question on a ``none`` message, and on the ordinary
  messages of the intent held-out sets (bench/data/heldout*, intents other than emergency,
  detention and protection);
- the detector's mean time per message.

Eval file format (``bench/data/danger_eval/<variant>.yml``)::

    variant: pcm
    language: en
    messages:
      - {text: "...", label: emergency, kind: stabbing}   # emergency | urgent | none

Variants whose bot language is not switched on (no training file or catalog yet, e.g. a new
language whose evaluation file was written first) are skipped and named in the notes.

``--rasa`` re-runs the triage with intents from a Rasa 3.6 server (the project's Rasa backend,
nlu/rasa_backend.py) trained as bench/rasa_compare.py trains it (Python 3.10 venv, DIET; slow).
The results go to docs/benchmarks.md between ``<!-- danger-bench:start -->`` and
``<!-- danger-bench:end -->``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.runtime import load_nlu  # noqa: E402
from bot.sessions import ConversationState  # noqa: E402
from flows import build_flows  # noqa: E402
from flows.base import Contact, Turn  # noqa: E402
from flows.safety import Triage  # noqa: E402
from nlu.training_data import load_examples  # noqa: E402
from nlu.types import NLUService  # noqa: E402

EVAL_DIR = ROOT / "bench" / "data" / "danger_eval"
DEV_FILE = ROOT / "nlu" / "data" / "danger" / "dev.yml"
NARRATIVES_FILE = ROOT / "nlu" / "data" / "danger" / "narratives.yml"
HELDOUT_DIRS = (ROOT / "bench" / "data" / "heldout", ROOT / "bench" / "data" / "heldout_long")
DANGER_INTENTS = frozenset({"emergency", "detention", "protection"})
DOC = ROOT / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- danger-bench:start -->", "<!-- danger-bench:end -->"
VARIANT_LANGUAGE = {
    "en": "en",
    "pcm": "en",
    "ar_ly": "ar",
    "ar_sd": "ar",
    "ar_eg": "ar",
    "ar": "ar",
    "ar_latn": "ar",
    "fr": "fr",
    "ha": "ha",
    "ti": "ti",
    "am": "am",
    "so": "so",
    "bn": "bn",
}


@dataclass(frozen=True, slots=True)
class Message:
    variant: str
    language: str
    text: str
    label: str  # emergency | urgent | none
    kind: str


def load_eval(directory: Path, half: str = "all") -> list[Message]:
    """The evaluation messages; ``half`` "a" keeps each file's even-numbered messages (the half
    whose misses may be read while improving the detector), "b" the odd-numbered ones (sealed:
    only its figures are looked at, so it stays a measure of language the detector has not seen).
    """
    out: list[Message] = []
    for path in sorted(directory.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        variant = str(raw.get("variant") or path.stem)
        language = str(raw.get("language") or VARIANT_LANGUAGE.get(variant, "en"))
        for index, item in enumerate(raw.get("messages") or []):
            if half != "all" and index % 2 != (0 if half == "a" else 1):
                continue
            out.append(
                Message(
                    variant,
                    language,
                    str(item["text"]),
                    str(item.get("label", "none")),
                    str(item.get("kind", "")),
                )
            )
    return out


def load_dev(path: Path = DEV_FILE, narratives: Path | None = NARRATIVES_FILE) -> list[Message]:
    """The detector's dev set as eval messages: the parallel items (one message per variant)
    and the narratives (one variant each)."""
    out: list[Message] = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        for variant, language in VARIANT_LANGUAGE.items():
            if variant in item:
                out.append(
                    Message(variant, language, str(item[variant]), item["label"], item["kind"])
                )
    if narratives is not None and narratives.is_file():
        for item in yaml.safe_load(narratives.read_text(encoding="utf-8")) or []:
            variant = str(item["variant"])
            out.append(
                Message(
                    variant,
                    VARIANT_LANGUAGE.get(variant, "en"),
                    str(item["text"]),
                    str(item["label"]),
                    str(item.get("kind", "narrative")),
                )
            )
    return out


def ordinary_heldout() -> list[Message]:
    out: list[Message] = []
    for directory in HELDOUT_DIRS:
        for example in load_examples(directory):
            if example.intent not in DANGER_INTENTS:
                language = VARIANT_LANGUAGE.get(example.variant, example.variant)
                out.append(Message(example.variant, language, example.text, "none", "ordinary"))
    return out


def enabled_languages() -> tuple[str, ...]:
    """The bot's languages as a server started here would have them (nlu/languages.yml entries
    with a catalog and a training file)."""
    return tuple(Settings(_env_file=None).enabled_languages)


def keep(
    messages: Sequence[Message], languages: Sequence[str], variants: Sequence[str] = ()
) -> tuple[list[Message], list[str]]:
    """The messages of switched-on languages (and of ``variants``, if given), and the variants
    skipped because their language is not switched on."""
    chosen = [m for m in messages if not variants or m.variant in variants]
    skipped = sorted({m.variant for m in chosen if m.language not in languages})
    return [m for m in chosen if m.language in languages], skipped


async def outcome(
    triage: Triage, nlu: NLUService, message: Message, languages: tuple[str, ...]
) -> str:
    """emergency | urgent | ask | ask_case | none: what the person gets for this message
    (ask_case: the question, and a "no" opens an urgent case)."""
    parse = await nlu.parse(message.text, message.language)
    turn = Turn(
        contact=Contact(0, "bench", "bench", "person"),
        state=ConversationState(language=message.language),
        text=message.text,
        parse=parse,
        default_language="en",
        enabled_languages=languages,
    )
    danger = triage.assess(turn)
    if danger in ("emergency", "self_harm"):
        return "emergency"
    if danger is not None:
        return "urgent"
    if turn.danger_check:
        return "ask_case" if turn.danger_if_not_now else "ask"
    return "none"


@dataclass
class Tally:
    emergency: list[str] = field(default_factory=list)  # outcomes of emergency messages
    urgent: list[str] = field(default_factory=list)
    none: list[str] = field(default_factory=list)
    ordinary: list[str] = field(default_factory=list)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # label, outcome, text


def _rate(outcomes: Sequence[str], wanted: set[str]) -> tuple[int, int]:
    return sum(o in wanted for o in outcomes), len(outcomes)


async def run(
    nlu: NLUService, messages: Sequence[Message], ordinary: Sequence[Message]
) -> dict[str, Tally]:
    triage = Triage.load(build_flows())
    languages = enabled_languages()
    tallies: dict[str, Tally] = defaultdict(Tally)
    for m in messages:
        o = await outcome(triage, nlu, m, languages)
        tally = tallies[m.variant]
        getattr(tally, m.label if m.label in ("emergency", "urgent") else "none").append(o)
        wrong = (
            (m.label == "emergency" and o not in ("emergency", "ask", "ask_case"))
            or (m.label == "urgent" and o not in ("emergency", "urgent", "ask_case"))
            or (m.label == "none" and o != "none")
        )
        if wrong:
            tally.misses.append((m.label, o, m.text))
    for m in ordinary:
        tallies[m.variant].ordinary.append(await outcome(triage, nlu, m, languages))
    return dict(tallies)


def detector_ms(triage: Triage, messages: Sequence[Message]) -> float:
    detector = triage.detector
    for m in messages:  # warm the word cache as a running server has it
        detector.detect(m.text)
    t0 = time.perf_counter()
    for m in messages:
        detector.detect(m.text)
    return (time.perf_counter() - t0) * 1000 / max(len(messages), 1)


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}% ({num}/{den})" if den else "–"


def table(tallies: dict[str, Tally]) -> list[str]:
    lines = [
        "| variant | immediate recall (emergency + asked) | emergency | asked | "
        "emergency-vs-urgent accuracy | urgent → case | false alarms (none) | "
        "false alarms (ordinary held-out) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total = Tally()
    for variant in sorted(tallies):
        t = tallies[variant]
        for name in ("emergency", "urgent", "none", "ordinary"):
            getattr(total, name).extend(getattr(t, name))
        lines.append(_row(variant, t))
    lines.append(_row("**all**", total))
    return lines


def _row(name: str, t: Tally) -> str:
    recall = _rate(t.emergency, {"emergency", "ask", "ask_case"})
    sure = _rate(t.emergency, {"emergency"})
    asked = _rate(t.emergency, {"ask", "ask_case"})
    level_right = sum(o in ("emergency", "ask", "ask_case") for o in t.emergency) + sum(
        o == "urgent" for o in t.urgent
    )
    positives = len(t.emergency) + len(t.urgent)
    case = _rate(t.urgent, {"emergency", "urgent", "ask_case"})
    alarms = _rate(t.none, {"emergency", "urgent", "ask", "ask_case"})
    ordinary = _rate(t.ordinary, {"emergency", "urgent", "ask", "ask_case"})
    return (
        f"| {name} | {_pct(*recall)} | {_pct(*sure)} | {_pct(*asked)} | "
        f"{_pct(level_right, positives)} | {_pct(*case)} | {_pct(*alarms)} | {_pct(*ordinary)} |"
    )


def render(source: str, results: dict[str, dict[str, Tally]], ms: float, notes: list[str]) -> str:
    out = [
        "## Danger detection (bench/danger_bench.py)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}, a shared 2-core machine under load. Messages: {source}. "
        "Each message is the first of a conversation at the main menu and goes through the "
        "safety triage (danger detector + staff phrases + NLU intent + danger classifier). "
        '*Asked* = the bot asks "Are you in danger right now?" (a yes opens the emergency case; '
        "where the message also reads as urgent, a no opens an urgent case, counted in urgent "
        "→ case). Ordinary held-out: "
        "bench/data/heldout and heldout_long, intents other than emergency/detention/protection.",
        "",
        f"Danger detector: {ms:.3f} ms per message on average (words cached, as in a server).",
        "",
    ]
    for backend, tallies in results.items():
        out += [f"### Intents from {backend}", "", *table(tallies), ""]
    out += [*notes, ""] if notes else []
    return "\n".join(out) + "\n"


def write_doc(section: str) -> None:
    block = f"{START_MARK}\n{section}{END_MARK}\n"
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else "# Benchmarks\n"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
        text = head + block.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text, encoding="utf-8")


async def with_rasa(
    messages: Sequence[Message], ordinary: Sequence[Message], epochs: int
) -> dict[str, Tally]:
    """Train Rasa as bench/rasa_compare.py does, serve it, and run the same triage with the
    Rasa backend's intents (nlu/rasa_backend.py)."""
    import bench.rasa_compare as rc  # the Rasa environment, training and server helpers
    from nlu.rasa_backend import RasaNLU

    rasa = rc.ensure_rasa()
    work = rc.WORK
    work.mkdir(parents=True, exist_ok=True)
    data = rc.write_rasa_data(load_examples(rc.DATA_DIR), work / "data")
    config = rc.write_rasa_config(epochs, work)
    model, *_ = rc.train_rasa(rasa, data, config, work, retrain=False)
    port = rc.free_port()
    server = rc.start_server(
        "rasa",
        [str(rasa), "run", "--enable-api", "--model", str(model), "--port", str(port)],
        rc.rasa_env(work),
        work,
        work / "rasa-danger.log",
        port,
    )
    try:
        builtin = load_nlu(Settings(_env_file=None, cache_dir=ROOT / "var" / "cache"))
        async with RasaNLU(server.url, builtin, timeout=30.0) as backend:
            return await run(backend, messages, ordinary)
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=EVAL_DIR, help="directory of eval files")
    parser.add_argument("--dev", action="store_true", help="the detector's own dev set instead")
    parser.add_argument("--rasa", action="store_true", help="also with intents from Rasa")
    parser.add_argument(
        "--rasa-epochs",
        type=int,
        default=100,
        help="DIET epochs for --rasa (100 as in bench/rasa_compare.py; fewer to save hours)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--misses", action="store_true", help="print the wrong outcomes")
    parser.add_argument(
        "--half",
        choices=("all", "a", "b"),
        default="all",
        help="a: the half whose misses may be read; b: the sealed half (figures only)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="only this variant (repeat for several); ordinary held-out messages too",
    )
    args = parser.parse_args(argv)

    if args.dev:
        messages, source = (
            load_dev(),
            "the detector's dev set (nlu/data/danger/dev.yml, narratives.yml)",
        )
    else:
        messages = load_eval(args.data, args.half)
        source = f"the evaluation set ({args.data.name}/*.yml, never used to build the detector)"
        if args.half != "all":
            source += f", half {args.half} only"
    sealed = args.data.resolve() == EVAL_DIR.resolve()
    if args.misses and not args.dev and sealed and args.half != "a":
        print("only half a's misses are shown (half b stays sealed): use --half a", file=sys.stderr)
        return 2
    languages = enabled_languages()
    messages, skipped = keep(messages, languages, args.variant)
    ordinary, skipped_ordinary = keep(ordinary_heldout(), languages, args.variant)
    if not messages:
        print(f"no messages of a switched-on language in {args.data}", file=sys.stderr)
        return 2
    nlu = load_nlu(Settings(_env_file=None, cache_dir=ROOT / "var" / "cache"))
    results: dict[str, dict[str, Tally]] = {
        "the built-in NLU": asyncio.run(run(nlu, messages, ordinary))
    }
    notes: list[str] = []
    if args.variant:
        notes.append(f"Variants measured: {', '.join(sorted(set(args.variant)))} only.")
    if skipped or skipped_ordinary:
        notes.append(
            "Skipped, language not switched on yet: "
            + ", ".join(sorted({*skipped, *skipped_ordinary}))
            + "."
        )
    if args.rasa:
        label = "Rasa 3.6 (DIET)"
        if args.rasa_epochs != 100:
            label += f", {args.rasa_epochs} epochs"
            notes.append(
                f"Rasa trained for {args.rasa_epochs} DIET epochs (100 in bench/rasa_compare.py)."
            )
        results[label] = asyncio.run(with_rasa(messages, ordinary, args.rasa_epochs))
    else:
        notes.append("Rasa backend: not measured in this run (`--rasa` trains and serves it).")
    ms = detector_ms(Triage.load(build_flows()), [*messages, *ordinary])
    section = render(source, results, ms, notes)
    print(section)
    if args.misses:
        for backend, tallies in results.items():
            for variant, tally in sorted(tallies.items()):
                for label, got, text in tally.misses:
                    print(f"[{backend}] {variant}: {label} -> {got}: {text}")
    if not args.no_doc:
        write_doc(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
