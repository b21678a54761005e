"""CDASH dates (``DD-MON-YYYY`` with ``UN``/``UNK`` unknown parts) to ISO 8601, vectorized.

Contract (site-export.md, File format): unknown parts are ``UN`` (day) and ``UNK`` (month);
the year is never left out. The ISO value keeps the precision delivered:
``07-MAR-2026`` -> ``2026-03-07``, ``UN-MAR-2026`` -> ``2026-03``, ``UN-UNK-2019`` -> ``2019``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.common.distinct import per_distinct

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUM = {m: f"{i:02d}" for i, m in enumerate(MONTHS, start=1)}
CDASH_DATE_PATTERN = r"^(?P<day>\d{2}|UN)-(?P<mon>" + "|".join(MONTHS) + r"|UNK)-(?P<year>\d{4})$"
TIME_PATTERN = r"^(?:[01]\d|2[0-3]):[0-5]\d$"


def parse_cdash_dates(values: pd.Series) -> pd.DataFrame:
    """Parse CDASH date text.

    Returns a frame aligned with ``values`` with columns:
    ``iso`` (ISO 8601 text at the delivered precision, missing when empty or invalid),
    ``date`` (full date as datetime64 when day, month and year are known, else NaT),
    ``form_ok`` (text is empty or matches the CDASH form, incl. a day given with an unknown month
    being rejected), ``valid`` (form_ok and the date exists, so ``31-FEB-2026`` is False).
    """
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    parts = text.str.extract(CDASH_DATE_PATTERN)
    matched = parts["year"].notna()
    day_known = parts["day"].ne("UN") & matched
    mon_known = parts["mon"].ne("UNK") & matched
    # A known day with an unknown month is not a CDASH partial date.
    form_ok = empty | (matched & ~(day_known & ~mon_known))

    month = parts["mon"].map(_MONTH_NUM)
    full_text = parts["year"] + "-" + month + "-" + parts["day"]
    full = pd.to_datetime(full_text.where(day_known & mon_known), format="%Y-%m-%d", errors="coerce")
    exists = ~(day_known & mon_known) | full.notna()
    valid = form_ok & (empty | exists)

    iso = pd.Series(pd.NA, index=values.index, dtype="string")
    year_only = matched & ~mon_known & ~day_known
    month_only = matched & mon_known & ~day_known
    iso = iso.mask(valid & year_only, parts["year"])
    iso = iso.mask(valid & month_only, parts["year"] + "-" + month)
    iso = iso.mask(valid & day_known & mon_known & full.notna(), full_text)
    return pd.DataFrame(
        {
            "iso": iso,
            "date": full.where(valid),
            "form_ok": form_ok.fillna(False),
            "valid": valid.fillna(False),
        },
        index=values.index,
    )


def iso_with_time(iso_date: pd.Series, time_text: pd.Series) -> pd.Series:
    """Join an ISO date and ``HH:MM`` time as ``YYYY-MM-DDTHH:MM`` where both are complete."""
    t = time_text.astype("string").str.strip()
    ok = iso_date.str.len().eq(10) & t.str.fullmatch(TIME_PATTERN).fillna(False)
    return iso_date.mask(ok, iso_date + "T" + t)


def _iso_to_date(iso: pd.Series) -> pd.Series:
    """:func:`iso_to_date` of every value of a ``string`` Series."""
    s = iso.str.slice(0, 10)
    return pd.to_datetime(s.where(s.str.len().eq(10)), format="%Y-%m-%d", errors="coerce")


def iso_to_date(iso: pd.Series) -> pd.Series:
    """Full dates only (``YYYY-MM-DD``, optionally with a time) as datetime64; partial dates -> NaT."""
    # parsed once per distinct text: a visit's date repeats on every record of the visit
    dates = per_distinct(iso.astype("string"), _iso_to_date)
    dates.name = iso.name
    return dates


def impute_birth_date(iso: pd.Series) -> pd.Series:
    """Birth date for age (derivations.md, Time): missing day -> 15th; missing month and day -> 1 July."""
    s = iso.astype("string")
    filled = s.mask(s.str.len().eq(7), s + "-15").mask(s.str.len().eq(4), s + "-07-01")
    return pd.to_datetime(filled, format="%Y-%m-%d", errors="coerce")


def age_in_years(birth: pd.Series, reference: pd.Series) -> pd.Series:
    """Whole years from ``birth`` to ``reference`` (both datetime64); missing if either is missing."""
    b = pd.to_datetime(birth)
    r = pd.to_datetime(reference)
    years = r.dt.year - b.dt.year
    before_birthday = (r.dt.month < b.dt.month) | ((r.dt.month == b.dt.month) & (r.dt.day < b.dt.day))
    age = years - before_birthday.astype("Int64")
    return age.astype("Int64").where(b.notna() & r.notna())


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day per derivations.md: on/after reference -> diff + 1, before -> diff; no day 0.

    ``dates`` may be ISO text (partial dates get no study day) or datetime64.
    """
    d = iso_to_date(dates) if not pd.api.types.is_datetime64_any_dtype(dates) else dates
    ref = reference if pd.api.types.is_datetime64_any_dtype(reference) else iso_to_date(reference)
    diff = (d - ref).dt.days
    dy = np.where(diff >= 0, diff + 1, diff)
    return pd.Series(dy, index=dates.index).astype("Int64").where(diff.notna())


def iso_bounds(iso: pd.Series) -> pd.DataFrame:
    """Earliest and latest full date an ISO date of any precision can stand for.

    ``2026-03`` -> (2026-03-01, 2026-03-31); ``2019`` -> (2019-01-01, 2019-12-31). Used to compare
    partial dates "at the precision they have" (derivations.md, Eligibility).
    """
    return per_distinct(iso.astype("string"), _iso_bounds)


def _iso_bounds(iso: pd.Series) -> pd.DataFrame:
    """:func:`iso_bounds` of every value of a ``string`` Series (columns ``lo``, ``hi``)."""
    s = iso.str.slice(0, 10)
    lo_text = s.mask(s.str.len().eq(7), s + "-01").mask(s.str.len().eq(4), s + "-01-01")
    lo = pd.to_datetime(lo_text, format="%Y-%m-%d", errors="coerce")
    hi = lo.copy()
    month = s.str.len().eq(7)
    year = s.str.len().eq(4)
    hi = hi.mask(month, lo + pd.offsets.MonthEnd(0))
    hi = hi.mask(year, lo + pd.offsets.YearEnd(0))
    return pd.DataFrame({"lo": lo, "hi": hi})
