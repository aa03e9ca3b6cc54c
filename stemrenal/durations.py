"""Durations as people write them ("8 weeks", "18m", "1.5 years") turned into months."""

from __future__ import annotations

import math
import re
from functools import lru_cache

from stemrenal.text import quoted

#: Average month length in days, so 52 weeks and 12 months come out the same.
_DAYS_PER_MONTH = 365.25 / 12

_UNITS: dict[str, float] = {}
for _names, _months in (
    (("d", "day", "days", "天", "日"), 1 / _DAYS_PER_MONTH),
    (("w", "wk", "wks", "week", "weeks", "周", "星期"), 7 / _DAYS_PER_MONTH),
    (("m", "mo", "mos", "mon", "month", "months", "个月", "月"), 1.0),
    (("y", "yr", "yrs", "year", "years", "年"), 12.0),
):
    for _name in _names:
        _UNITS[_name] = _months

_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([^\d\s.]+)\s*$")

#: Shown to users whenever a duration cannot be read.
ACCEPTED_FORMS = "a number and a unit, e.g. 8w, 8 weeks, 90 days, 6mo, 6 months, 18m, 1y, 1.5 years"


@lru_cache(maxsize=4096)  # a registry repeats a few durations: validation, follow_up_months
def parse_duration(text: str) -> float:
    """Months in ``text``; ValueError (naming the accepted forms) when it cannot be read."""
    match = _PATTERN.match(text.casefold())
    unit = _UNITS.get(match.group(2)) if match else None
    if match is None or unit is None:
        raise ValueError(f"cannot read duration {quoted(text)}: use {ACCEPTED_FORMS}")
    months = round(float(match.group(1)) * unit, 2)
    if not math.isfinite(months):  # hundreds of digits: infinity would not survive JSON
        raise ValueError(f"cannot read duration {quoted(text)}: the number is too large")
    return months
