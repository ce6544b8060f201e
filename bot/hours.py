"""Opening hours of the operator team, e.g. "sun-thu 08:00-17:00; sat 09:00-13:00"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_time, get_day_names

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SEGMENT = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class Window:
    days: tuple[int, ...]  # 0 = Monday
    start: time
    end: time


class OpeningHours:
    """When operators answer. "always" (or empty) means around the clock."""

    def __init__(self, spec: str, timezone: str = "Africa/Tripoli") -> None:
        self.spec = spec.strip()
        self.zone = ZoneInfo(timezone)
        self.windows = self._parse(self.spec)

    @staticmethod
    def _parse(spec: str) -> tuple[Window, ...]:
        if spec.lower() in ("", "always", "24/7"):
            return ()
        windows = []
        for part in spec.lower().split(";"):
            if not part.strip():
                continue
            match = _SEGMENT.match(part)
            if match is None:
                raise ValueError(f"opening hours: cannot read {part.strip()!r}")
            first = DAYS.index(match["first"])
            last = DAYS.index(match["last"] or match["first"])
            days = tuple((first + i) % 7 for i in range((last - first) % 7 + 1))
            start = time.fromisoformat(match["start"].zfill(5))
            end = time.fromisoformat(match["end"].zfill(5))
            windows.append(Window(days, start, end))
        return tuple(windows)

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, moment: datetime) -> bool:
        if self.always:
            return True
        local = moment.astimezone(self.zone)
        now = local.time()
        return any(local.weekday() in w.days and w.start <= now < w.end for w in self.windows)

    def describe(self, language: str) -> str:
        """The hours in the person's language: "الأحد–الخميس 08:00–17:00"."""
        names = get_day_names("abbreviated", locale=language)
        parts = []
        for window in self.windows:
            first, last = window.days[0], window.days[-1]
            days = names[first] if first == last else f"{names[first]}–{names[last]}"
            start = format_time(window.start, "HH:mm", locale=language)
            end = format_time(window.end, "HH:mm", locale=language)
            parts.append(f"{days} {start}–{end}")
        return "; ".join(parts)
