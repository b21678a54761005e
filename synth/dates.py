"""Dates as integer day numbers (days since 1970-01-01) and their CDASH text forms.

Generation works on numpy integer arrays; text is produced once per form column by table
look-up, which keeps millions of dates cheap.
"""

from __future__ import annotations

from functools import cache

import numpy as np

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_FIRST = int(np.datetime64("1900-01-01", "D").astype(np.int64))
_LAST = int(np.datetime64("2040-12-31", "D").astype(np.int64))


def day(iso: str) -> int:
    """Day number of an ISO date ``YYYY-MM-DD``."""
    return int(np.datetime64(iso, "D").astype(np.int64))


def ymd(days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of month of day numbers."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    dom = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, dom


def from_ymd(year, month, dom) -> np.ndarray:
    """Day numbers of calendar dates given as arrays (29 February of a common year becomes the 28th)."""
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    dom = np.asarray(dom, dtype=np.int64)
    first = (year - 1970) * 12 + (month - 1)
    first_day = first.astype("datetime64[M]").astype("datetime64[D]")
    length = ((first + 1).astype("datetime64[M]").astype("datetime64[D]") - first_day).astype(np.int64)
    return first_day.astype(np.int64) + np.minimum(dom, length) - 1


@cache
def _full_table() -> np.ndarray:
    year, month, dom = ymd(np.arange(_FIRST, _LAST + 1))
    return np.asarray([f"{d:02d}-{MONTHS[m - 1]}-{y:04d}" for y, m, d in zip(year, month, dom)], dtype=object)


def cdash(days) -> np.ndarray:
    """``DD-MON-YYYY`` text of day numbers (object array)."""
    return _full_table()[np.asarray(days, dtype=np.int64) - _FIRST]


def cdash_partial(days, precision) -> np.ndarray:
    """CDASH text keeping only some parts: precision 0 full, 1 month (``UN-MAR-2019``), 2 year (``UN-UNK-2019``)."""
    days = np.asarray(days, dtype=np.int64)
    precision = np.broadcast_to(np.asarray(precision), days.shape)
    out = cdash(days)
    if (precision > 0).any():
        year, month, _ = ymd(days)
        for i in np.flatnonzero(precision > 0):
            out[i] = (
                f"UN-{MONTHS[month[i] - 1]}-{year[i]:04d}" if precision[i] == 1 else f"UN-UNK-{year[i]:04d}"
            )
    return out


def age_on(birth, on) -> np.ndarray:
    """Whole years from birth to ``on`` (both day numbers)."""
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(on)
    return oy - by - ((om < bm) | ((om == bm) & (od < bd))).astype(np.int64)


def impute_partial(days, precision) -> np.ndarray:
    """The date the derivations use for a partial birth date: the 15th, or 1 July without a month."""
    year, month, _ = ymd(days)
    precision = np.asarray(precision)
    return np.where(
        precision == 0,
        np.asarray(days, dtype=np.int64),
        np.where(precision == 1, from_ymd(year, month, 15), from_ymd(year, 7, 1)),
    )


def export_id(day_number: int, minutes: int) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a day number plus minutes after midnight (UTC)."""
    y, m, d = (int(v[0]) for v in ymd([day_number]))
    return f"{y:04d}{m:02d}{d:02d}T{minutes // 60:02d}{minutes % 60:02d}00Z"
