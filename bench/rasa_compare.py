"""Built-in NLU versus Rasa 3.6 (DIET) on the project's data, in one run.

    .venv/bin/python bench/rasa_compare.py                # full run (~15-25 min on 2 cores)
    .venv/bin/python bench/rasa_compare.py --epochs 20 --repeats 1 --duration 5   # quick look

What it does, all on this machine and on loopback only:

1. builds the Rasa environment (scripts/rasa_env.sh) and installs ``wrk`` if missing;
2. trains the built-in NLU and Rasa (nlu/rasa/config.yml, DIET, ``--epochs``) on the same
   examples: every ``nlu/data/*.yml`` file;
3. evaluates both on ``bench/data/heldout/*.yml`` (never trained on): intent accuracy overall
   and per variant, with and without the fallback threshold;
4. starts a Rasa server (``rasa run --enable-api``) and ours (``hotline serve``) and measures
   time from start to the first successful ``/model/parse``, resident memory (VmRSS of the
   process and its children) and throughput with ``wrk -t2 -c8`` (bench/wrk_parse.lua, cycling
   through the held-out messages); medians over ``--repeats`` runs;
5. measures the Rasa backend (``RASA_URL``: intents from Rasa, the rest built-in) the same way;
6. writes the results to docs/benchmarks.md between ``<!-- rasa-compare:start -->`` and
   ``<!-- rasa-compare:end -->`` and the raw figures to bench/.rasa-work/results.json.

``--check`` exits 1 when a target is missed (throughput >= 25x Rasa's, accuracy above Rasa's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu import BuiltinNLU  # noqa: E402
from nlu.rasa_backend import RasaNLU  # noqa: E402
from nlu.training_data import Example, load_examples  # noqa: E402
from nlu.types import FALLBACK_INTENT, ParseResult  # noqa: E402

DATA_DIR = ROOT / "nlu" / "data"
HELDOUT_DIR = ROOT / "bench" / "data" / "heldout"
LONG_DIR = ROOT / "bench" / "data" / "heldout_long"  # longer real-style messages
CONFIG = ROOT / "nlu" / "rasa" / "config.yml"
ENV_SCRIPT = ROOT / "scripts" / "rasa_env.sh"
WRK_SCRIPT = ROOT / "bench" / "wrk_parse.lua"
DOC = ROOT / "docs" / "benchmarks.md"
WORK = ROOT / "bench" / ".rasa-work"
START_MARK = "<!-- rasa-compare:start -->"
END_MARK = "<!-- rasa-compare:end -->"
THROUGHPUT_TARGET = 25.0
HOST = "127.0.0.1"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# tools


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk missing: apt-get install -y wrk")
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def ensure_rasa() -> Path:
    say("Rasa environment: scripts/rasa_env.sh")
    out = subprocess.run(
        ["bash", str(ENV_SCRIPT)], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def rasa_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        RASA_CACHE_DIRECTORY=str(work / "rasa-cache"),
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# processes


def _children(pid: int) -> list[int]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids[ppid].append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants, in MiB."""
    total_kib = 0
    for p in _children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    started: float
    ready_seconds: float = 0.0

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_server(
    name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path, port: int,
    timeout: float = 300.0,
) -> Server:  # fmt: skip
    """Start a server and wait for its first successful POST /model/parse."""
    url = f"http://{HOST}:{port}"
    with log.open("wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(name, proc, url, log, t0)
    deadline = t0 + timeout
    with httpx.Client(timeout=5.0) as http:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{tail(log)}")
            try:
                r = http.post(f"{url}/model/parse", json={"text": "hello"})
                if r.status_code == 200 and r.json().get("intent", {}).get("name"):
                    server.ready_seconds = time.perf_counter() - t0
                    return server
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not answer /model/parse within {timeout:.0f}s:\n{tail(log)}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "<no log>"


# --------------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkRun:
    requests_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    load_before: float = 0.0  # 1-minute load average when the run started (shared machine)


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def run_wrk(wrk: str, url: str, messages: Path, duration: int, connections: int = 8) -> WrkRun:
    argv = [
        wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), f"{url}/model/parse", "--", str(messages),
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return WrkRun(
        requests_per_s=rps,
        latency_p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        latency_p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        requests=total,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(x) for x in sock.groups()) if sock else 0,
    )


# --------------------------------------------------------------------------------------------
# data and training


def write_rasa_data(examples: Sequence[Example], dest: Path) -> Path:
    """The built-in's training examples as one Rasa NLU file (plain text: annotations off,
    since the Rasa pipeline learns intents only)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for ex in examples:
        text = " ".join(ex.text.split())
        if text and (ex.intent, text) not in seen:
            seen.add((ex.intent, text))
            by_intent[ex.intent].append(text)
    lines = ['version: "3.1"\n', "nlu:\n"]
    for intent, texts in sorted(by_intent.items()):
        lines.append(f"- intent: {intent}\n  examples: |\n")
        lines.extend(f"    - {t}\n" for t in texts)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "nlu.yml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_rasa_config(epochs: int, dest: Path) -> Path:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component.get("name") == "DIETClassifier":
            component["epochs"] = epochs
    path = dest / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def train_rasa(
    rasa: Path, data: Path, config: Path, work: Path, retrain: bool
) -> tuple[Path, float, bool, float]:
    """Train (or reuse a model trained on exactly this data and config)."""
    digest = hashlib.sha256(data.read_bytes() + config.read_bytes()).hexdigest()[:12]
    models = work / "models"
    model = models / f"hotline-nlu-{digest}.tar.gz"
    stamp = models / f"hotline-nlu-{digest}.json"
    if model.is_file() and stamp.is_file() and not retrain:
        recorded = json.loads(stamp.read_text())
        seconds = float(recorded["train_seconds"])
        say(f"Rasa: reusing {model.name} (trained in {seconds:.0f}s)")
        return model, seconds, True, float(recorded.get("load_average", float("nan")))
    say(f"Rasa: training DIET ({config.name}) on {data} ...")
    # Rasa caches trained graph components by fingerprint: an honest training time needs an
    # empty cache (and no earlier model of the same name).
    shutil.rmtree(work / "rasa-cache", ignore_errors=True)
    model.unlink(missing_ok=True)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            str(rasa), "train", "nlu", "--config", str(config), "--nlu", str(data),
            "--out", str(models), "--fixed-model-name", model.name.removesuffix(".tar.gz"),
        ],
        cwd=work, env=rasa_env(work), capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != 0 or not model.is_file():
        raise SystemExit(f"rasa train failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    load = max(load, os.getloadavg()[0])
    stamp.write_text(json.dumps({"train_seconds": seconds, "load_average": load}))
    say(f"Rasa: trained in {seconds:.0f}s")
    return model, seconds, False, load


# --------------------------------------------------------------------------------------------
# accuracy


@dataclass
class Accuracy:
    n: int = 0
    strict: int = 0  # predicted intent (after the fallback threshold) is right
    top1: int = 0  # best intent ignoring the fallback threshold is right
    fallback: int = 0  # answered nlu_fallback
    per_variant: dict[str, list[int]] = field(default_factory=dict)  # variant -> [n, strict, top1]
    language_right: int = 0
    language_n: int = 0

    def add(
        self, variant: str, gold: str, intent: str, ranking: Sequence[str], unseen: bool
    ) -> None:
        best = next((name for name in ranking if name != FALLBACK_INTENT), intent)
        rows = [self.per_variant.setdefault(variant, [0, 0, 0])]
        if unseen:  # not verbatim in the training data
            rows.append(self.per_variant.setdefault(UNSEEN, [0, 0, 0]))
        self.n += 1
        self.strict += intent == gold
        self.top1 += best == gold
        self.fallback += intent == FALLBACK_INTENT
        for row in rows:
            row[0] += 1
            row[1] += intent == gold
            row[2] += best == gold

    def pct(self, which: str = "strict", variant: str | None = None) -> float:
        if variant is None:
            return 100.0 * getattr(self, which) / max(self.n, 1)
        n, strict, top1 = self.per_variant.get(variant, [0, 0, 0])
        return 100.0 * (strict if which == "strict" else top1) / max(n, 1)


UNSEEN = "(unseen)"  # pseudo-variant: held-out messages that are not verbatim in training data


def squash(text: str) -> str:
    return " ".join(text.lower().split())


# the language each held-out file is written in (Arabizi is Arabic)
VARIANT_LANGUAGE = {"en": "en", "fr": "fr", "ar": "ar", "ar_latn": "ar", "ha": "ha"}


def evaluate_builtin(
    nlu: BuiltinNLU, heldout: Sequence[Example], seen: set[str]
) -> tuple[Accuracy, float]:
    acc = Accuracy()
    t0 = time.perf_counter()
    for ex in heldout:
        r = nlu.parse_sync(ex.text)
        acc.add(
            ex.variant, ex.intent, r.intent, [n for n, _ in r.intent_ranking],
            squash(ex.text) not in seen,
        )  # fmt: skip
        _language(acc, ex, r)
    return acc, (time.perf_counter() - t0) * 1000 / max(len(heldout), 1)


def _language(acc: Accuracy, ex: Example, r: ParseResult) -> None:
    lang = VARIANT_LANGUAGE.get(ex.variant)
    if lang:
        acc.language_n += 1
        acc.language_right += r.language == lang


def evaluate_rasa_http(
    url: str, heldout: Sequence[Example], seen: set[str]
) -> tuple[Accuracy, float]:
    acc = Accuracy()
    with httpx.Client(timeout=30.0) as http:
        t0 = time.perf_counter()
        for ex in heldout:
            data = http.post(f"{url}/model/parse", json={"text": ex.text}).json()
            ranking = [r["name"] for r in data.get("intent_ranking") or ()]
            acc.add(
                ex.variant, ex.intent, data["intent"]["name"], ranking,
                squash(ex.text) not in seen,
            )  # fmt: skip
        ms = (time.perf_counter() - t0) * 1000 / max(len(heldout), 1)
    return acc, ms


async def _evaluate_backend(
    url: str, nlu: BuiltinNLU, heldout: Sequence[Example], seen: set[str]
) -> tuple[Accuracy, float, int]:
    acc = Accuracy()
    async with RasaNLU(url, nlu, timeout=30.0) as backend:
        t0 = time.perf_counter()
        for ex in heldout:
            r = await backend.parse(ex.text)
            acc.add(
            ex.variant, ex.intent, r.intent, [n for n, _ in r.intent_ranking],
            squash(ex.text) not in seen,
        )  # fmt: skip
            _language(acc, ex, r)
        ms = (time.perf_counter() - t0) * 1000 / max(len(heldout), 1)
        return acc, ms, backend.failures


# --------------------------------------------------------------------------------------------
# one system's server figures


@dataclass
class ServerFigures:
    startup_s: list[float] = field(default_factory=list)
    rss_idle_mib: float = 0.0
    rss_loaded_mib: float = 0.0
    wrk: list[WrkRun] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.requests_per_s for r in self.wrk) if self.wrk else 0.0

    @property
    def startup(self) -> float:
        return statistics.median(self.startup_s) if self.startup_s else float("nan")

    def p(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.wrk) if self.wrk else float("nan")


def start_timed(starter: Callable[[], Server], startups: int) -> tuple[ServerFigures, Server]:
    """Start a server ``startups`` times (time to its first parse each time); keep the last."""
    figs = ServerFigures()
    server: Server | None = None
    for i in range(startups):
        server = starter()
        figs.startup_s.append(server.ready_seconds)
        say(f"  {server.name}: first parse {server.ready_seconds:.2f}s after start")
        if i < startups - 1:
            server.stop()
    assert server is not None
    return figs, server


def measure_interleaved(
    entries: Sequence[tuple[ServerFigures, Server]],
    wrk: str,
    messages: Path,
    repeats: int,
    duration: int,
) -> None:
    """Throughput of running servers, their wrk runs interleaved (A B C A B C ...): the machine
    is shared, so a burst of other work hits every server alike instead of one of them."""
    time.sleep(1.0)
    for figs, server in entries:
        figs.rss_idle_mib = rss_mib(server.proc.pid)
        run_wrk(wrk, server.url, messages, min(3, duration))  # warm-up
    for _ in range(repeats):
        for figs, server in entries:
            load = os.getloadavg()[0]
            run = run_wrk(wrk, server.url, messages, duration)
            run.load_before = load
            figs.wrk.append(run)
            say(
                f"  {server.name}: {run.requests_per_s:.0f} req/s, p50 {run.latency_p50_ms:.1f} "
                f"ms, p99 {run.latency_p99_ms:.1f} ms, non-2xx {run.non_2xx}, load {load:.1f}"
            )
            figs.rss_loaded_mib = max(figs.rss_loaded_mib, rss_mib(server.proc.pid))


def wait_for_log(server: Server, needle: str, count: int, timeout: float = 600.0) -> None:
    """Wait until ``needle`` occurs ``count`` times in the server's log (every worker ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tail(server.log, 10**7).count(needle) >= count:
            return
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{tail(server.log)}")
        time.sleep(0.2)
    raise RuntimeError(f"{server.name}: {count} x {needle!r} not in its log after {timeout:.0f}s")


# --------------------------------------------------------------------------------------------
# report


def _f(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:,.{digits}f}"


def render(r: dict[str, Any]) -> str:
    ours, rasa, backend = r["servers"]["builtin"], r["servers"]["rasa"], r["servers"]["backend"]
    acc = r["accuracy"]
    variants = r["variants"]
    lines = [
        "## Built-in NLU versus Rasa (DIET)",
        "",
        f"Measured by `bench/rasa_compare.py` on {r['date']} ({r['machine']}); Rasa "
        f"{r['rasa_version']} in its own Python 3.10 environment, DIET "
        f"({r['epochs']} epochs, `nlu/rasa/config.yml`). Both trained on the same "
        f"{r['train_examples']:,} examples of `nlu/data/`; evaluated on the "
        f"{r['heldout_examples']:,} held-out messages of `bench/data/heldout/` "
        + (
            f"({r['overlap']} of them also occur verbatim in the training data: the last row "
            "leaves those out). "
            if r["overlap"]
            else "(none of them occurs in the training data, even after normalisation: "
            "`tests/test_nlu_heldout.py`). "
        )
        + "Servers on 127.0.0.1; `wrk -t2 -c8 "
        f"-d{r['duration']}s -s bench/wrk_parse.lua` cycling through the messages of both "
        "held-out sets, "
        f"median of {r['repeats']} runs after a warm-up, the runs of the servers compared "
        "interleaved (A B C A B C ...) so that other work on the shared machine hits them alike; "
        f"start-up is the median of {r['startups']} starts to the first successful "
        "`/model/parse`. The machine has 2 cores and is shared with other work (the 1-minute "
        "load average before each run is listed below); `wrk` itself runs on the same cores.",
        "",
        "### Intent accuracy on held-out messages",
        "",
        "`strict`: the answered intent (an answer of `nlu_fallback` counts as wrong); "
        "`top-1`: the best intent ignoring the fallback threshold. The Rasa backend "
        "(`RASA_URL`) answers Rasa's intents, so its accuracy is Rasa's; its language is the "
        "built-in's.",
        "",
        "| | built-in strict | built-in top-1 | Rasa strict | Rasa top-1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in [*variants, "all", *([UNSEEN] if r["overlap"] else [])]:
        key = None if v == "all" else v
        b, ra = acc["builtin"], acc["rasa"]
        label = {"all": "**all**", UNSEEN: "not verbatim in training data"}.get(v, f"`{v}`")
        lines.append(
            f"| {label} | {_pct(b, 'strict', key)} | {_pct(b, 'top1', key)} | "
            f"{_pct(ra, 'strict', key)} | {_pct(ra, 'top1', key)} |"
        )
    lines += [
        "",
        f"Answered `nlu_fallback`: built-in {acc['builtin']['fallback']}, Rasa "
        f"{acc['rasa']['fallback']} of {acc['builtin']['n']}. Through the Rasa backend: "
        f"{_pct(acc['backend'], 'strict', None)} strict "
        f"({acc['backend_failures']} Rasa failures), language right for "
        f"{_ratio_pct(acc['backend']['language_right'], acc['backend']['language_n'])} "
        f"(built-in alone: "
        f"{_ratio_pct(acc['builtin']['language_right'], acc['builtin']['language_n'])}).",
        "",
    ]
    long = r.get("accuracy_long")
    if long and r.get("long_examples"):
        lines += [
            f"On the {r['long_examples']} longer real-style messages of "
            "`bench/data/heldout_long/` (median 12 words, also never trained on):",
            "",
            "| | built-in strict | built-in top-1 | Rasa strict | Rasa top-1 |",
            "|---|---:|---:|---:|---:|",
        ]
        for v in [*variants, "all"]:
            key = None if v == "all" else v
            b, ra = long["builtin"], long["rasa"]
            label = "**all**" if v == "all" else f"`{v}`"
            lines.append(
                f"| {label} | {_pct(b, 'strict', key)} | {_pct(b, 'top1', key)} | "
                f"{_pct(ra, 'strict', key)} | {_pct(ra, 'top1', key)} |"
            )
        lines.append("")
    lines += [
        "### Serving `/model/parse`",
        "",
        "| | built-in (`hotline serve`) | Rasa (`rasa run --enable-api`) | Rasa backend "
        "(`hotline serve`, `RASA_URL`) | built-in / Rasa |",
        "|---|---:|---:|---:|---:|",
        f"| throughput, req/s (8 connections) | {_f(ours['rps'], 0)} | {_f(rasa['rps'], 0)} | "
        f"{_f(backend['rps'], 0)} | **{_f(r['ratios']['throughput'])}×** |",
        f"| latency p50, ms | {_f(ours['p50'])} | {_f(rasa['p50'])} | {_f(backend['p50'])} | "
        f"{_f(r['ratios']['p50'], 3)}× |",
        f"| latency p99, ms | {_f(ours['p99'])} | {_f(rasa['p99'])} | {_f(backend['p99'])} | "
        f"{_f(r['ratios']['p99'], 3)}× |",
        f"| memory (VmRSS) after load, MiB | {_f(ours['rss_loaded'], 0)} | "
        f"{_f(rasa['rss_loaded'], 0)} | {_f(backend['rss_loaded'], 0)} + Rasa | "
        f"{_f(r['ratios']['memory'], 2)}× |",
        f"| start to first parse, s | {_f(ours['startup'], 2)} | {_f(rasa['startup'], 1)} | "
        f"{_f(backend['startup'], 2)} | {_f(r['ratios']['startup'], 3)}× |",
        f"| training, s | {_f(r['train_seconds']['builtin'], 1)} | "
        f"{_f(r['train_seconds']['rasa'], 0)}{' (a)' if r['rasa_model_reused'] else ''} | – | "
        f"{_f(r['ratios']['training'], 3)}× |",
        f"| one parse in-process / over HTTP (sequential), ms | "
        f"{_f(r['sequential_ms']['builtin'], 2)} | {_f(r['sequential_ms']['rasa'], 1)} | "
        f"{_f(r['sequential_ms']['backend'], 1)} | |",
        "",
        *(
            [
                "(a) Rasa model reused from an earlier run of this script on the same data and "
                "config (`--reuse-model`; its training time as measured then, with a 1-minute "
                f"load average of up to {_f(r.get('rasa_train_load', float('nan')))} on the "
                "shared machine).",
                "",
            ]
            if r["rasa_model_reused"]
            else []
        ),
        f"Built-in cold start (no model cache: trains at start-up): "
        f"{_f(r['cold_start_s'], 1)} s. Non-2xx answers under load: built-in "
        f"{ours['non_2xx']}, Rasa {rasa['non_2xx']}, backend {backend['non_2xx']}. "
        f"All throughput runs, req/s: built-in {ours['runs']}, Rasa {rasa['runs']}, "
        f"backend {backend['runs']}; 1-minute load average before each run (the machine is "
        f"shared): built-in {ours['load_before']}, Rasa {rasa['load_before']}, backend "
        f"{backend['load_before']}.",
        "",
        *_render_multi(r),
        "### Targets",
        "",
        f"- throughput ≥ {THROUGHPUT_TARGET:g}× Rasa's, one server process each: "
        f"**{_f(r['ratios']['throughput'])}×** — "
        f"{'met' if r['targets']['throughput'] else 'NOT met'}",
        *(
            [
                f"- throughput ≥ {THROUGHPUT_TARGET:g}× Rasa's, {r['workers']} workers each: "
                f"**{_f(r['ratios']['throughput_multi'])}×** — "
                f"{'met' if r['targets']['throughput_multi'] else 'NOT met'} "
                f"(built-in with {r['workers']} workers against a default one-process Rasa "
                f"server: {_f(r['ratios']['throughput_multi_vs_rasa_one'])}×)",
            ]
            if "throughput_multi" in r["ratios"]
            else []
        ),
        f"- built-in intent accuracy above Rasa's (strict, all held-out): "
        f"**{_pct(acc['builtin'], 'strict', None)} vs {_pct(acc['rasa'], 'strict', None)}** — "
        f"{'met' if r['targets']['accuracy'] else 'NOT met'}",
        *(
            [
                f"- on the longer messages: **{_pct(long['builtin'], 'strict', None)} vs "
                f"{_pct(long['rasa'], 'strict', None)}** — "
                f"{'met' if r['targets'].get('accuracy_long') else 'NOT met'}"
            ]
            if long and r.get("long_examples")
            else []
        ),
        "",
        "The Rasa backend keeps the built-in's language and entities and adds a network hop to "
        "a Rasa server per message: its throughput is bounded by Rasa's, and it needs Rasa's "
        "memory and start-up on top of the bot's.",
    ]
    return "\n".join(lines) + "\n"


def _render_multi(r: dict[str, Any]) -> list[str]:
    """The section on several worker processes per server, when measured."""
    if "builtin_multi" not in r["servers"]:
        return []
    n = r["workers"]
    ours, rasa = r["servers"]["builtin_multi"], r["servers"]["rasa_multi"]
    one = r["servers"]["builtin"]
    return [
        f"### Using both cores: {n} worker processes each",
        "",
        f"`hotline serve --workers {n}` (uvicorn workers, each loading the cached model) and "
        f"`rasa run` with `SANIC_WORKERS={n}` (Rasa accepts several workers only with a shared "
        "lock store: Redis), both with PostgreSQL and Redis on loopback as deployed; "
        "`wrk` shares the same 2 cores.",
        "",
        f"| | built-in, {n} workers | Rasa, {n} workers | built-in / Rasa |",
        "|---|---:|---:|---:|",
        f"| throughput, req/s (8 connections) | {_f(ours['rps'], 0)} | {_f(rasa['rps'], 0)} | "
        f"**{_f(r['ratios']['throughput_multi'])}×** |",
        f"| latency p50, ms | {_f(ours['p50'])} | {_f(rasa['p50'])} | |",
        f"| latency p99, ms | {_f(ours['p99'])} | {_f(rasa['p99'])} | |",
        f"| memory (VmRSS, all processes) after load, MiB | {_f(ours['rss_loaded'], 0)} | "
        f"{_f(rasa['rss_loaded'], 0)} | |",
        f"| start to first parse, s | {_f(ours['startup'], 2)} | {_f(rasa['startup'], 1)} | |",
        "",
        f"All runs, req/s: built-in {ours['runs']}, Rasa {rasa['runs']}; 1-minute load "
        f"average before each run: built-in {ours['load_before']}, Rasa {rasa['load_before']}. "
        f"Non-2xx answers: built-in {ours['non_2xx']}, Rasa {rasa['non_2xx']}. "
        f"{n} workers against one process: built-in ×{_f(_div(ours['rps'], one['rps']), 2)}, "
        f"Rasa ×{_f(_div(rasa['rps'], r['servers']['rasa']['rps']), 2)}.",
        "",
    ]


def _div(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _pct(a: dict[str, Any], which: str, variant: str | None) -> str:
    if variant is None:
        return f"{100.0 * a[which] / max(a['n'], 1):.1f}%"
    n, strict, top1 = a["per_variant"].get(variant, [0, 0, 0])
    return f"{100.0 * (strict if which == 'strict' else top1) / max(n, 1):.1f}%"


def _ratio_pct(num: int, den: int) -> str:
    return f"{100.0 * num / max(den, 1):.1f}%"


def write_doc(section: str) -> None:
    block = f"{START_MARK}\n{section}{END_MARK}\n"
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else "# Benchmarks\n"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        _, tail_ = rest.split(END_MARK, 1)
        text = head + block.rstrip("\n") + tail_
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# main


def _server_summary(f: ServerFigures) -> dict[str, Any]:
    return {
        "rps": f.rps,
        "p50": f.p("latency_p50_ms"),
        "p99": f.p("latency_p99_ms"),
        "rss_idle": f.rss_idle_mib,
        "rss_loaded": f.rss_loaded_mib,
        "startup": f.startup,
        "startups": f.startup_s,
        "runs": [round(w.requests_per_s) for w in f.wrk],
        "non_2xx": sum(w.non_2xx for w in f.wrk),
        "socket_errors": sum(w.socket_errors for w in f.wrk),
        "load_before": [round(w.load_before, 1) for w in f.wrk],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=100, help="DIET epochs (default 100)")
    ap.add_argument("--repeats", type=int, default=3, help="wrk runs per server (median)")
    ap.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    ap.add_argument("--startups", type=int, default=3, help="starts per server (median)")
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="also measure both servers with this many worker processes (0 or 1: skip); "
        "starts PostgreSQL and Redis on loopback (tests/servers.py)",
    )
    ap.add_argument(
        "--reuse-model",
        action="store_true",
        help="reuse a Rasa model this script trained earlier on the same data and config",
    )
    ap.add_argument(
        "--train-only",
        action="store_true",
        help="only train the Rasa model (or find it trained) for a later --reuse-model run",
    )
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    wrk = ensure_wrk()
    rasa = ensure_rasa()
    rasa_version = subprocess.run(
        [str(rasa.parent / "python"), "-c", "import rasa; print(rasa.__version__)"],
        capture_output=True, text=True, check=True, env=rasa_env(WORK),
    ).stdout.strip()  # fmt: skip

    train = load_examples(DATA_DIR)
    heldout = load_examples(HELDOUT_DIR)
    if not heldout:
        raise SystemExit(f"no held-out examples in {HELDOUT_DIR}")
    seen = {squash(e.text) for e in train}
    overlap = sum(squash(e.text) in seen for e in heldout)
    variants = sorted({e.variant for e in heldout}, key=lambda v: (v not in VARIANT_LANGUAGE, v))
    say(f"{len(train)} training examples, {len(heldout)} held-out ({overlap} verbatim overlap)")
    long_held = load_examples(LONG_DIR) if LONG_DIR.is_dir() else []
    messages = WORK / "messages.txt"  # what wrk sends: both held-out sets
    messages.write_text(
        "".join(" ".join(e.text.split()) + "\n" for e in [*heldout, *long_held]), encoding="utf-8"
    )

    # --- training -----------------------------------------------------------------------
    say("built-in: training")
    t0 = time.perf_counter()
    builtin = BuiltinNLU.train(DATA_DIR)
    builtin_train_s = time.perf_counter() - t0
    say(f"built-in: trained in {builtin_train_s:.1f}s")
    data = write_rasa_data(train, WORK / "data")
    config = write_rasa_config(args.epochs, WORK)
    model, rasa_train_s, reused, rasa_train_load = train_rasa(
        rasa, data, config, WORK, not args.reuse_model
    )
    if args.train_only:
        say(f"Rasa model ready: {model.name}")
        return 0

    # --- accuracy of the built-in ------------------------------------------------------------
    acc_builtin, builtin_ms = evaluate_builtin(builtin, heldout, seen)
    say(f"built-in: {acc_builtin.pct():.1f}% strict, {acc_builtin.pct('top1'):.1f}% top-1")
    acc_builtin_long, _ = evaluate_builtin(builtin, long_held, seen)

    renv = rasa_env(WORK)
    cache = WORK / "hotline-cache"
    shutil.rmtree(cache, ignore_errors=True)
    db = WORK / "hotline-bench.db"
    hotline = ROOT / ".venv" / "bin" / "hotline"
    if not hotline.exists():
        hotline = Path(sys.executable).parent / "hotline"

    def start_rasa(workers: int = 1, endpoints: Path | None = None) -> Callable[[], Server]:
        def start() -> Server:
            env = dict(renv)
            port = free_port()
            argv = [str(rasa), "run", "--enable-api", "-m", str(model), "-i", HOST, "--port",
                    str(port)]  # fmt: skip
            name = "rasa"
            if workers > 1:  # Sanic workers; Rasa allows them only with a shared lock store
                env["SANIC_WORKERS"] = str(workers)
                argv += ["--endpoints", str(endpoints)]
                name = f"rasa-{workers}-workers"
            server = start_server(name, argv, env, WORK, WORK / f"{name}.log", port, timeout=600)
            if workers > 1:  # the first answer came from one worker: wait for all
                try:
                    wait_for_log(server, "Rasa server is up and running", workers)
                except BaseException:
                    server.stop()
                    raise
            return server

        return start

    def start_ours(
        rasa_url: str | None = None,
        workers: int = 1,
        database_url: str | None = None,
        redis_url: str | None = None,
    ) -> Callable[[], Server]:
        def start() -> Server:
            env = dict(os.environ)
            for var in ("RASA_URL", "REDIS_URL"):
                env.pop(var, None)
            env.update(
                DATABASE_URL=database_url or f"sqlite:///{db}",
                CACHE_DIR=str(cache),
                HOTLINE_NLU_CACHE=str(cache / "nlu"),
            )
            if redis_url:
                env["REDIS_URL"] = redis_url
            if rasa_url:
                env["RASA_URL"] = rasa_url
            port = free_port()
            name = "backend" if rasa_url else "built-in"
            argv = [str(hotline), "serve", "--host", HOST, "--port", str(port),
                    "--log-level", "warning"]  # fmt: skip
            if workers > 1:
                argv += ["--workers", str(workers)]
                name += f"-{workers}-workers"
            # uvicorn's workers only accept connections once started: the first answer means
            # every worker that answers is ready
            return start_server(name, argv, env, ROOT, WORK / f"hotline-{name}.log", port)

        return start

    servers: list[Server] = []
    multi: dict[str, ServerFigures] = {}
    try:
        # --- Rasa server: start-up, accuracy, backend ---------------------------------------
        say("Rasa server")
        rasa_figs, rasa_server = start_timed(start_rasa(), args.startups)
        servers.append(rasa_server)
        acc_rasa, rasa_ms = evaluate_rasa_http(rasa_server.url, heldout, seen)
        say(f"Rasa: {acc_rasa.pct():.1f}% strict, {acc_rasa.pct('top1'):.1f}% top-1")
        acc_rasa_long, _ = evaluate_rasa_http(rasa_server.url, long_held, seen)
        acc_backend, backend_ms, backend_failures = asyncio.run(
            _evaluate_backend(rasa_server.url, builtin, heldout, seen)
        )

        # --- our server: cold start once, then warm starts ----------------------------------
        say("our server: cold start (trains the model at start-up)")
        cold = start_ours()()
        cold_start_s = cold.ready_seconds
        cold.stop()
        say(f"  built-in: cold start {cold_start_s:.1f}s")
        ours_figs, ours_server = start_timed(start_ours(), args.startups)
        servers.append(ours_server)
        say("our server with RASA_URL (Rasa backend)")
        backend_figs, backend_server = start_timed(start_ours(rasa_server.url), 1)
        servers.append(backend_server)

        # --- throughput, one process each ----------------------------------------------------
        say("throughput, one server process each (wrk runs interleaved)")
        measure_interleaved(
            [(rasa_figs, rasa_server), (ours_figs, ours_server), (backend_figs, backend_server)],
            wrk, messages, args.repeats, args.duration,
        )  # fmt: skip
        for s in servers:
            s.stop()
        servers.clear()

        # --- throughput, several workers each (PostgreSQL + Redis, as deployed) -------------
        if args.workers > 1:
            from tests.servers import postgres_server, redis_server

            with postgres_server() as pg_url, redis_server() as redis_url:
                endpoints = WORK / "rasa-endpoints.yml"
                redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
                endpoints.write_text(
                    f"lock_store:\n  type: redis\n  url: {HOST}\n  port: {redis_port}\n  db: 1\n",
                    encoding="utf-8",
                )
                say(f"{args.workers} workers each (PostgreSQL + Redis on loopback)")
                try:
                    multi["rasa"], rasa_multi = start_timed(start_rasa(args.workers, endpoints), 1)
                    servers.append(rasa_multi)
                    multi["builtin"], ours_multi = start_timed(
                        start_ours(workers=args.workers, database_url=pg_url, redis_url=redis_url),
                        1,
                    )
                    servers.append(ours_multi)
                    measure_interleaved(
                        [(multi["rasa"], rasa_multi), (multi["builtin"], ours_multi)],
                        wrk, messages, args.repeats, args.duration,
                    )  # fmt: skip
                finally:
                    for s in servers:
                        s.stop()
                    servers.clear()
    finally:
        for s in servers:
            s.stop()

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}",
        "rasa_version": rasa_version,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "duration": args.duration,
        "startups": args.startups,
        "train_examples": len(train),
        "heldout_examples": len(heldout),
        "heldout_per_variant": dict(Counter(e.variant for e in heldout)),
        "overlap": overlap,
        "variants": variants,
        "rasa_model_reused": reused,
        "rasa_train_load": rasa_train_load,
        "train_seconds": {"builtin": builtin_train_s, "rasa": rasa_train_s},
        "cold_start_s": cold_start_s,
        "sequential_ms": {"builtin": builtin_ms, "rasa": rasa_ms, "backend": backend_ms},
        "accuracy": {
            "builtin": asdict(acc_builtin),
            "rasa": asdict(acc_rasa),
            "backend": asdict(acc_backend),
            "backend_failures": backend_failures,
        },
        "long_examples": len(long_held),
        "accuracy_long": {"builtin": asdict(acc_builtin_long), "rasa": asdict(acc_rasa_long)},
        "servers": {
            "builtin": _server_summary(ours_figs),
            "rasa": _server_summary(rasa_figs),
            "backend": _server_summary(backend_figs),
            **{f"{k}_multi": _server_summary(v) for k, v in multi.items()},
        },
        "workers": args.workers if multi else 1,
    }
    results["ratios"] = {
        "throughput": ratio(ours_figs.rps, rasa_figs.rps),
        "p50": ratio(ours_figs.p("latency_p50_ms"), rasa_figs.p("latency_p50_ms")),
        "p99": ratio(ours_figs.p("latency_p99_ms"), rasa_figs.p("latency_p99_ms")),
        "memory": ratio(ours_figs.rss_loaded_mib, rasa_figs.rss_loaded_mib),
        "startup": ratio(ours_figs.startup, rasa_figs.startup),
        "training": ratio(builtin_train_s, rasa_train_s),
        "backend_throughput_vs_builtin": ratio(backend_figs.rps, ours_figs.rps),
    }
    if multi:
        results["ratios"]["throughput_multi"] = ratio(multi["builtin"].rps, multi["rasa"].rps)
        results["ratios"]["throughput_multi_vs_rasa_one"] = ratio(
            multi["builtin"].rps, rasa_figs.rps
        )
    results["targets"] = {
        "throughput": results["ratios"]["throughput"] >= THROUGHPUT_TARGET,
        "accuracy": acc_builtin.strict > acc_rasa.strict,
        "accuracy_long": acc_builtin_long.strict >= acc_rasa_long.strict,
    }
    if multi:
        results["targets"]["throughput_multi"] = (
            results["ratios"]["throughput_multi"] >= THROUGHPUT_TARGET
        )
    (WORK / "results.json").write_text(json.dumps(results, indent=2, default=str))
    section = render(results)
    print()
    print(section)
    if not args.no_doc:
        write_doc(section)
        say(f"wrote {DOC.relative_to(ROOT)} (section {START_MARK})")
    if args.check and not all(results["targets"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
