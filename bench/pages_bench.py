"""Operators' pages against a large database: how long the reports and the queue take, and how
long they hold the event loop (the bot's turns wait while they do).

    python bench/pages_bench.py [--messages 1000000] [--open-cases 10000]
                                [--registrations 100000] [--runs 5]

A fresh SQLite database (embedded defaults) is filled directly with contacts, messages over
90 days, handoff cases and registrations (the values are placeholders: neither page reads
personal text), then
`bot.reports.build_report` (the report page's figures, last 30 days), the queue
(`bot.handoffs.casework.list_cases`) and a whole REST turn (a new person's greeting, to see
that a turn's cost does not grow with the stored messages) run several times. Wall time is the
median; *loop held* is the longest time a ticker on the same loop waited past its 1 ms sleep
while the page was built (what a concurrent turn would have waited). Writes its table to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.access import Principal  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.handoffs.casework import CaseFilters, list_cases  # noqa: E402
from bot.messages import InboundMessage  # noqa: E402
from bot.reports import build_report, report_range  # noqa: E402
from bot.runtime import build_runtime, load_nlu  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- pages-bench:start -->", "<!-- pages-bench:end -->"
TRIPOLI = ZoneInfo("Africa/Tripoli")
CHANNELS = ("telegram", "sms", "whatsapp", "web", "rest")
LANGUAGES = ("en", "ar", "fr", "ha")


def fill(path: Path, messages: int, open_cases: int, registrations: int) -> None:
    """Rows straight into the tables, in big transactions (placeholders, not personal data)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    contacts = max(open_cases, messages // 50)
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO contacts (id, channel, address_hash, address, language, role, opted_out,"
            " created_at, last_seen_at) VALUES (?, ?, ?, 'x', ?, 'migrant', 0, ?, ?)",
            (
                (i, CHANNELS[i % 5], f"h{i}", LANGUAGES[i % 4], now, now)
                for i in range(1, contacts + 1)
            ),
        )
        db.executemany(
            "INSERT INTO messages (contact_id, channel, direction, text, language, status,"
            " payload, attempts, created_at) VALUES (?, ?, ?, 'x', ?, ?, '{}', 0, ?)",
            (
                (
                    1 + i % contacts,
                    CHANNELS[(i % contacts) % 5],
                    "in" if i % 2 == 0 else "out",
                    LANGUAGES[i % 4],
                    "processed" if i % 2 == 0 else "sent",
                    now - timedelta(minutes=(i * 90 * 24 * 60) // messages),
                )
                for i in range(messages)
            ),
        )
        db.executemany(
            "INSERT INTO handoffs (contact_id, status, priority, reason, channel, language,"
            " created_at, waiting_since, escalation_level, updated_at)"
            " VALUES (?, 'open', ?, 'requested', ?, ?, ?, ?, 0, ?)",
            (
                (
                    1 + i,
                    ("emergency", "urgent", "normal")[i % 3],
                    CHANNELS[i % 5],
                    LANGUAGES[i % 4],
                    now - timedelta(minutes=i),
                    now - timedelta(minutes=i),
                    now,
                )
                for i in range(open_cases)
            ),
        )
        db.executemany(
            "INSERT INTO registrations (reference, reference_keypad, contact_id, dedup_hash,"
            " full_name, country, sex, city, detained, family, vulnerabilities, priority,"
            " needs_review, stage, channel, created_at, updated_at)"
            " VALUES (?, ?, ?, 'd', 'x', ?, ?, ?, 0, '[]', '{}', 'normal', 0, ?, 'sms', ?, ?)",
            (
                (
                    f"LY-B{i:08d}",
                    f"{i:08d}",
                    1 + i % contacts,
                    ("NG", "NE", "SD", "TD", "ML")[i % 5],
                    ("male", "female")[i % 2],
                    ("Tripoli", "Sebha", "Misrata")[i % 3],
                    ("registered", "screening")[i % 2],
                    now - timedelta(minutes=(i * 90 * 24 * 60) // max(registrations, 1)),
                    now,
                )
                for i in range(registrations)
            ),
        )
    db.close()


async def timed(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(wall ms, longest loop stall ms) of one call."""
    stalls: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append((time.perf_counter() - before) * 1000 - 1)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await work()
    wall = (time.perf_counter() - start) * 1000
    running = False
    await task
    return wall, max(stalls, default=0.0)


async def measure(
    messages: int, open_cases: int, registrations: int, runs: int
) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="hotline-pages-") as folder:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/hotline.db",
            cache_dir=ROOT / "var" / "cache",
            hotline_key_dir=Path(folder) / "keys",
        )
        runtime = await build_runtime(settings, builtin_nlu=load_nlu(settings))
        try:
            fill(Path(folder) / "hotline.db", messages, open_cases, registrations)
            dates = report_range(None, None, TRIPOLI)
            principal = Principal(
                operator_id=1, username="bench", display_name="", role="supervisor",
                via="session", csrf_token=None, languages=("en",),
            )  # fmt: skip
            pages: dict[str, Callable[[], Awaitable[object]]] = {
                "report (30 days)": lambda: build_report(runtime.db, dates, TRIPOLI),
                "queue (waiting)": lambda: list_cases(runtime, CaseFilters(), principal),
            }
            turns = iter(range(1_000_000))

            async def turn() -> object:  # a new person's greeting: a whole REST turn
                n = next(turns)
                message = InboundMessage("rest", f"bench-{n}", "hello", f"bench-{n}")
                return await runtime.engine.handle(message)

            pages["a REST turn (greeting)"] = turn
            results: dict[str, tuple[float, float]] = {}
            # the first report after an upgrade fills the kept activity from the messages
            results["first report (fills the kept activity, once)"] = await timed(
                pages["report (30 days)"]
            )
            for name, page in pages.items():
                await page()  # warm: caches, query plans
                samples = [await timed(page) for _ in range(runs)]
                results[name] = (
                    statistics.median(s[0] for s in samples),
                    statistics.median(s[1] for s in samples),
                )
            return results
        finally:
            await runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--open-cases", type=int, default=10_000)
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(measure(args.messages, args.open_cases, args.registrations, args.runs))
    lines = [
        START,
        "## Operators' pages on a large database (bench/pages_bench.py)",
        "",
        f"`python bench/pages_bench.py --messages {args.messages} --open-cases "
        f"{args.open_cases} --registrations {args.registrations} --runs {args.runs}` — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, Python {platform.python_version()}, SQLite, a shared 2-core "
        "machine. Medians of the runs; *loop held*: the longest wait of a 1 ms ticker on the "
        "same event loop while the page was built.",
        "",
        "| page | wall | loop held |",
        "|---|---:|---:|",
        *(f"| {name} | {wall:.0f} ms | {held:.0f} ms |" for name, (wall, held) in results.items()),
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_doc:
        text = DOC.read_text(encoding="utf-8")
        if START in text:
            before, rest = text.split(START, 1)
            text = before + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
