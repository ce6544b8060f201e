"""The reports page (supervisors): charts drawn as inline SVG on the server.

The charts are plain SVG shapes laid out here and written by a Jinja template (autoescaped),
with colours as presentation attributes: no script and no inline style, so they work under the
console's CSP (`script-src 'self'; style-src 'self'`) and load nothing from elsewhere. Every
chart has its numbers in a table beside it, for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.access import Principal, require_supervisor
from bot.channels import channel_label
from bot.console import i18n
from bot.console.web import page_language, render
from bot.http import runtime_of
from bot.reports import NOT_REGISTERED, Report, TimeStats, build_report, report_range

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

PALETTE = ("#0b5cad", "#b35c00", "#3b6e3b", "#7a3fa0")
TOP = 12  # categories shown in a chart; the rest are summed as "other"
WIDTH = 720


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    value: float
    title: str  # the tooltip: "Nigeria, registrations: 12"


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Line:
    points: str
    stroke: str


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    fill: str
    value: float
    title: str


@dataclass
class Chart:
    id: str
    title: str
    width: int
    height: int
    legend: list[tuple[str, str]]  # (name, colour)
    columns: list[str]  # the table's header
    rows: list[list[str]]  # the table's numbers
    rects: list[Rect] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    grid: list[tuple[float, float, float, float]] = field(default_factory=list)  # x1 y1 x2 y2
    empty: bool = False


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `value` (an axis maximum)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _top(items: list[tuple[str, int]], top: int = TOP) -> list[tuple[str, int]]:
    if len(items) <= top:
        return items
    return [*items[: top - 1], ("other", sum(count for _, count in items[top - 1 :]))]


def horizontal_bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
) -> Chart:
    """One row per category, one bar per series in it; the value written after each bar."""
    label_width, value_room, bar_height, gap = 170, 48, 16, 10
    row_height = bar_height * len(series) + gap
    height = max(1, len(categories)) * row_height + 30
    plot = WIDTH - label_width - value_room
    peak = max((v for _, values in series for v in values), default=0)
    scale = plot / nice_ceiling(peak) if peak else 0
    chart = Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=height,
        legend=[(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)]
        if len(series) > 1
        else [],
        columns=["", *(name for name, _ in series)],
        rows=[
            [category, *(_number(values[i]) for _, values in series)]
            for i, category in enumerate(categories)
        ],
        empty=not categories,
    )
    for i, category in enumerate(categories):
        top = 24 + i * row_height
        chart.texts.append(
            Text(label_width - 8, top + bar_height * len(series) / 2 + 4, category, "end")
        )
        for s, (name, values) in enumerate(series):
            value = values[i]
            y = top + s * bar_height
            width = max(value * scale, 1 if value else 0)
            colour = PALETTE[s % len(PALETTE)]
            chart.rects.append(
                Rect(
                    label_width,
                    y,
                    width,
                    bar_height - 2,
                    colour,
                    value,
                    f"{category}, {name}: {_number(value)}",
                )
            )
            chart.texts.append(Text(label_width + width + 4, y + bar_height - 5, _number(value)))
    return chart


def day_chart(
    chart_id: str,
    title: str,
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    kind: str = "bars",
    unit: str = "",
    day_column: str = "Day",
    day_label: Callable[[date], str] = lambda day: day.strftime("%d %b"),
) -> Chart:
    """Days along the bottom: grouped bars (counts) or lines with dots (times; gaps stay gaps)."""
    left, right, top, bottom, height = 48, 12, 24, 36, 260
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max((v for _, values in series for v in values if v is not None), default=0)
    ceiling = 4 * nice_ceiling(peak / 4)  # four guides at round values
    chart = Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=height,
        legend=[(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)],
        columns=[day_column, *(f"{name}{f' ({unit})' if unit else ''}" for name, _ in series)],
        rows=[
            [day.isoformat(), *(_number(values[i]) for _, values in series)]
            for i, day in enumerate(days)
        ],
        empty=peak == 0,
    )
    for step in range(5):  # horizontal guides with their values
        value = ceiling * step / 4
        y = top + plot_h - plot_h * step / 4
        chart.grid.append((left, y, WIDTH - right, y))
        chart.texts.append(Text(left - 6, y + 4, _number(value), "end"))
    slot = plot_w / max(1, len(days))
    every = max(1, math.ceil(len(days) / 10))
    for i, day in enumerate(days):
        if i % every == 0:
            chart.texts.append(Text(left + slot * (i + 0.5), height - 14, day_label(day), "middle"))

    def y_of(value: float) -> float:
        return top + plot_h - (value / ceiling) * plot_h

    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        if kind == "bars":
            width = slot * 0.8 / len(series)
            for i, bar in enumerate(values):
                if not bar:
                    continue
                x = left + slot * i + slot * 0.1 + s * width
                chart.rects.append(
                    Rect(
                        x,
                        y_of(bar),
                        width,
                        plot_h - (y_of(bar) - top),
                        colour,
                        bar,
                        f"{days[i].isoformat()}, {name}: {_number(bar)}",
                    )
                )
            continue
        run: list[str] = []
        for i, point in enumerate([*values, None]):
            if point is None:
                if len(run) > 1:
                    chart.lines.append(Line(" ".join(run), colour))
                run = []
                continue
            cx, cy = left + slot * (i + 0.5), y_of(point)
            run.append(f"{cx:.1f},{cy:.1f}")
            chart.dots.append(
                Dot(
                    cx, cy, colour, point, f"{days[i].isoformat()}, {name}: {_number(point)} {unit}"
                )
            )
    return chart


_day_chart = day_chart  # charts_for's own day_chart adds the words of the page's language


def _named(items: list[tuple[str, int]], language: str = "en") -> list[tuple[str, int]]:
    term = i18n.term_translator(language)
    return [
        (term(label) if label == NOT_REGISTERED else i18n.country_name(label, language), n)
        for label, n in items
    ]


def charts_for(report: Report, language: str = "en") -> list[Chart]:
    """The report's charts, their words in the console's `language`."""
    days = report.days
    _ = i18n.gettext(language)
    term = i18n.term_translator(language)

    def bars(chart_id: str, title: str, items: list[tuple[str, int]], name: str) -> Chart:
        items = [(term(k), n) for k, n in _top(items)]
        return horizontal_bars(
            chart_id, title, [k for k, _ in items], [(name, [n for _, n in items])]
        )

    def day_chart(
        chart_id: str,
        title: str,
        days: Sequence[date],
        series: Sequence[tuple[str, Sequence[float | None]]],
        **options: str,
    ) -> Chart:
        return _day_chart(
            chart_id,
            title,
            days,
            series,
            day_column=_("Day"),
            day_label=lambda day: i18n.day_label(day, language),
            **options,
        )

    languages = sorted(
        {k for k, _ in report.conversations_by_language} | {k for k, _ in report.calls_by_language}
    )
    conversations = dict(report.conversations_by_language)
    calls = dict(report.calls_by_language)

    def times(stats: list[TimeStats]) -> list[tuple[str, list[float | None]]]:
        return [
            (_("median"), [t.median_minutes for t in stats]),
            (_("90th percentile"), [t.p90_minutes for t in stats]),
        ]

    return [
        day_chart(
            "by-day",
            _("Conversations (people who wrote) and calls, by day"),
            days,
            [
                (_("conversations"), [float(v) for v in report.conversations_by_day]),
                (_("calls"), [float(v) for v in report.calls_by_day]),
            ],
        ),
        bars(
            "by-channel",
            _("Conversations by channel"),
            [(channel_label(code), n) for code, n in report.conversations_by_channel],
            _("people"),
        ),
        horizontal_bars(
            "by-language",
            _("Conversations and calls by language"),
            languages,
            [
                (_("conversations"), [conversations.get(k, 0) for k in languages]),
                (_("calls"), [calls.get(k, 0) for k in languages]),
            ],
        ),
        bars(
            "people-sex",
            _("People who wrote or called, by sex"),
            report.people_by_sex,
            _("people"),
        ),
        bars(
            "people-nationality",
            _("People who wrote or called, by nationality"),
            _named(report.people_by_nationality, language),
            _("people"),
        ),
        bars(
            "registrations-nationality",
            _("Registrations by nationality"),
            _named(report.registrations_by_nationality, language),
            _("registrations"),
        ),
        bars(
            "registrations-city",
            _("Registrations by city"),
            report.registrations_by_city,
            _("registrations"),
        ),
        bars(
            "registrations-stage",
            _("Registrations by stage"),
            report.registrations_by_stage,
            _("registrations"),
        ),
        day_chart(
            "waiting",
            _("Waiting for an operator (opened → taken or answered), by day"),
            days,
            times(report.waiting),
            kind="lines",
            unit=_("minutes"),
        ),
        day_chart(
            "first-response",
            _("First response (opened → first answer), by day"),
            days,
            times(report.first_response),
            kind="lines",
            unit=_("minutes"),
        ),
    ]


@router.get("/reports")
async def reports_page(
    request: Request,
    principal: Annotated[Principal, Depends(require_supervisor)],
    date_from: str | None = None,
    date_to: str | None = None,
) -> Response:
    runtime = runtime_of(request)
    zone = ZoneInfo(runtime.settings.operator_timezone)
    try:
        dates = report_range(date_from or None, date_to or None, zone)
    except ValueError as exc:
        return render(
            request,
            "reports.html",
            principal,
            status_code=422,
            error=str(exc),
            report=None,
            charts=[],
            date_from=date_from or "",
            date_to=date_to or "",
        )
    report = await build_report(runtime.db, dates, zone)
    return render(
        request,
        "reports.html",
        principal,
        report=report,
        charts=charts_for(report, page_language(request, principal)),
        date_from=dates.start.isoformat(),
        date_to=dates.end.isoformat(),
    )
