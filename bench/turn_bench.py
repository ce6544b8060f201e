"""The turn's throughput, interleaved with baselines: `python bench/turn_bench.py`.

Runs, in turn and `--runs` times (medians reported), `wrk -t2 -c8` against:
  bare      a bare FastAPI app (uvicorn, httptools, uvloop) answering a fixed list
  parse     the bot's /model/parse
  sqlite    a full REST turn, SQLite, one process
  pg1       a full REST turn, PostgreSQL + Redis, one process
  pg2       the same with two web processes
with 1,000 senders and a realistic mix of messages in every language (bench/wrk_turn.lua).
For each: requests/s, ratio to the bare app in the same round, p99 latency, CPU per request of
the server's processes, resident memory per process. Writes its section of docs/benchmarks.md.
PostgreSQL and Redis are started on loopback as the tests start them (tests/servers.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.servers import free_port, postgres_server, redis_server  # noqa: E402

START = "<!-- turn-bench:start -->"
END = "<!-- turn-bench:end -->"
BENCH_MD = REPO / "docs" / "benchmarks.md"
TURN_LUA = REPO / "bench" / "wrk_turn.lua"
PARSE_LUA = REPO / "bench" / "wrk_parse.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    name: str
    label: str
    url: str
    lua: Path
    process: subprocess.Popen[bytes]
    rps: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    errors: int = 0


def _pids(root: int) -> list[int]:
    """The process and its children (uvicorn's workers)."""
    found = [root]
    for pid in list(found):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found.extend(int(c) for c in children)
    return found


def cpu_seconds(root: int) -> float:
    total = 0
    for pid in _pids(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mib(root: int) -> list[float]:
    sizes = []
    for pid in _pids(root):
        with contextlib.suppress(OSError):
            match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
            if match:
                sizes.append(int(match.group(1)) / 1024)
    return sizes


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:  # not up yet
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not start")


def start(
    args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk(url: str, lua: Path, seconds: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-2xx or socket errors)."""
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        match = re.search(pattern, out)
        if match:
            errors += int(match.group(1))
    return rps, p99_ms, errors


def fresh_postgres_database(server_url: str) -> str:
    import psycopg

    name = f"bench_{int(time.time())}_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def bot_env(work: Path, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_DIR": str(REPO / "var" / "cache"),
        "OPERATOR_HOURS": "always",
        "HOTLINE_SECRET_KEY": "bench-secret-key-bench-secret-key",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@contextlib.contextmanager
def servers(work: Path, only: set[str], baseline: Path | None) -> Iterator[list[Target]]:
    python = sys.executable
    hotline = str(Path(python).with_name("hotline"))
    uvicorn = [python, "-m", "uvicorn", "--http", "httptools", "--loop", "uvloop"]
    uvicorn += ["--log-level", "warning", "--no-access-log"]
    started: list[Target] = []
    with contextlib.ExitStack() as stack:
        if only & {"pg1", "pg2"}:
            pg = stack.enter_context(postgres_server())
            redis = stack.enter_context(redis_server())

        def add(name: str, label: str, path: str, lua: Path, args: list[str], env: dict[str, str]):
            port = free_port()
            cwd = baseline if name == "before" and baseline else REPO
            process = start([*args, "--port", str(port)], env, work / f"{name}.log", cwd)
            stack.callback(stop, process)
            target = Target(name, label, f"http://127.0.0.1:{port}{path}", lua, process)
            health = "/docs" if name == "bare" else "/healthz"
            wait_ready(f"http://127.0.0.1:{port}{health}", process)
            started.append(target)

        if "bare" in only:
            add(
                "bare",
                "bare FastAPI (uvicorn, httptools, uvloop)",
                "/webhooks/rest/webhook",
                TURN_LUA,
                [*uvicorn, "--app-dir", str(REPO / "bench"), "bare_app:app"],
                dict(os.environ),
            )
        # the product as a deployer starts it: `hotline serve` (uvicorn with uvloop and
        # httptools; migrating and training, when needed, in a short-lived process first)
        app = [hotline, "serve", "--log-level", "warning"]
        if only & {"parse", "sqlite"}:
            env = bot_env(work, f"sqlite:///{work / 'sqlite' / 'hotline.db'}", None)
            if "parse" in only:
                add("parse", "`/model/parse`", "/model/parse", PARSE_LUA, app, env)
            if "sqlite" in only:
                # its own database: the parse server above shares nothing with it
                env = bot_env(work, f"sqlite:///{work / 'sqlite2' / 'hotline.db'}", None)
                add(
                    "sqlite",
                    "full REST turn, SQLite, 1 process",
                    "/webhooks/rest/webhook",
                    TURN_LUA,
                    app,
                    env,
                )
        if baseline is not None:
            # the same turn from another checkout: its folder first on the path (before this
            # checkout's editable install), its own NLU data and model
            env = bot_env(work, f"sqlite:///{work / 'before' / 'hotline.db'}", None)
            env["PYTHONPATH"] = str(baseline)
            add(
                "before",
                f"full REST turn, SQLite, 1 process, before ({baseline.name})",
                "/webhooks/rest/webhook",
                TURN_LUA,
                app,
                env,
            )
        if "pg1" in only:
            env = bot_env(work, fresh_postgres_database(pg), redis)
            add(
                "pg1",
                "full REST turn, PostgreSQL + Redis, 1 process",
                "/webhooks/rest/webhook",
                TURN_LUA,
                app,
                env,
            )
        if "pg2" in only:
            env = bot_env(work, fresh_postgres_database(pg), redis)
            add(
                "pg2",
                "same, 2 web processes",
                "/webhooks/rest/webhook",
                TURN_LUA,
                [hotline, "serve", "--workers", "2", "--log-level", "warning"],
                env,
            )
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--only", default="bare,parse,sqlite,pg1,pg2")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C /tmp/main`) whose SQLite "
        "turn runs in the same rounds",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    only = set(args.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="turn-bench-"))
    load_before = os.getloadavg()
    with servers(work, only, args.baseline) as targets:
        for target in targets:  # warm up: caches, first contacts, JIT-less but lazy imports
            wrk(target.url, target.lua, 2)
        for round_ in range(args.runs):
            bare_rps = None
            for target in targets:
                before = cpu_seconds(target.process.pid)
                rps, p99, errors = wrk(target.url, target.lua, args.seconds)
                used = cpu_seconds(target.process.pid) - before
                target.rps.append(rps)
                target.p99_ms.append(p99)
                target.errors += errors
                target.cpu_ms.append(used / max(rps * args.seconds, 1) * 1000)
                if target.name == "bare":
                    bare_rps = rps
                if bare_rps:
                    target.ratio.append(rps / bare_rps)
                print(
                    f"round {round_ + 1} {target.name:7} {rps:9.1f} req/s  p99 {p99:8.1f} ms"
                    f"  cpu {target.cpu_ms[-1]:.2f} ms/req  errors {errors}",
                    flush=True,
                )
        memory = {t.name: rss_mib(t.process.pid) for t in targets}
    load_after = os.getloadavg()
    rows = []
    for target in targets:
        ratio = f"{statistics.median(target.ratio):.3f}" if target.ratio else "–"
        sizes = memory[target.name]
        mem = " + ".join(f"{m:.0f}" for m in sizes) if len(sizes) > 1 else f"{sizes[0]:.0f}"
        rows.append(
            f"| {target.label} | {statistics.median(target.rps):,.0f} "
            f"({min(target.rps):,.0f}–{max(target.rps):,.0f}) | {ratio} "
            f"| {statistics.median(target.p99_ms):.1f} ms "
            f"| {statistics.median(target.cpu_ms):.2f} ms "
            f"| {mem} MiB | {target.errors} |"
        )
    section = "\n".join(
        [
            START,
            "## The turn (bench/turn_bench.py)",
            "",
            f"`python bench/turn_bench.py --runs {args.runs} --seconds {args.seconds}` — "
            f"{datetime.now(UTC):%Y-%m-%d}, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores, "
            f"load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
            "(the machine is shared: figures are noisy, compare ratios taken in the same round).",
            '`wrk -t2 -c8`, 1,000 senders, a mix of greetings, menu digits, "I want to go home" '
            "and clinic questions in every language (bench/wrk_turn.lua), each message with its "
            "own provider id. Rounds interleave the targets; medians (and range) of the rounds. "
            "CPU: the server's processes' CPU time divided by requests served (PostgreSQL and "
            "Redis not counted). Memory: resident size of each process after the runs.",
            "",
            "| | req/s | ratio to bare | p99 | CPU per request | memory | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            END,
        ]
    )
    print(section)
    if not args.no_write:
        text = BENCH_MD.read_text(encoding="utf-8")
        if START in text and END in text:
            text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        BENCH_MD.write_text(text, encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
