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
# ``[0-9]``, never ``\d``: Python's ``\d`` also matches full-width and Arabic-Indic digits.
CDASH_DATE_PATTERN = r"^(?P<day>[0-9]{2}|UN)-(?P<mon>" + "|".join(MONTHS) + r"|UNK)-(?P<year>[0-9]{4})$"
TIME_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
EARLIEST_YEAR = 1900
"""site-export.md (File format, v2): a year before 1900 is implausible."""
EXPORT_ID_PATTERN = r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})T[0-9]{6}Z$"
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days of each month (1-12) of each year, proleptic Gregorian calendar (leap years included)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _DAYS_IN_MONTH[month - 1] + ((month == 2) & leap)


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
    # In the calendar or not, by the calendar's rules: a date pandas cannot hold (year 0001) exists.
    complete = (day_known & mon_known).fillna(False).to_numpy(dtype=bool)
    in_calendar = np.ones(len(text), dtype=bool)
    if complete.any():
        y = pd.to_numeric(parts["year"][complete]).to_numpy(dtype=np.int64)
        m = pd.to_numeric(month[complete]).to_numpy(dtype=np.int64)
        d = pd.to_numeric(parts["day"][complete]).to_numpy(dtype=np.int64)
        in_calendar[complete] = (d >= 1) & (d <= _days_in_month(y, m))
    exists = pd.Series(in_calendar, index=text.index)
    full = pd.to_datetime(full_text.where(complete & in_calendar), format="%Y-%m-%d", errors="coerce")
    valid = form_ok & (empty | exists)

    iso = pd.Series(pd.NA, index=values.index, dtype="string")
    year_only = matched & ~mon_known & ~day_known
    month_only = matched & mon_known & ~day_known
    iso = iso.mask(valid & year_only, parts["year"])
    iso = iso.mask(valid & month_only, parts["year"] + "-" + month)
    iso = iso.mask(valid & day_known & mon_known, full_text)
    return pd.DataFrame(
        {
            "iso": iso,
            "date": full.where(valid),
            "form_ok": form_ok.fillna(False),
            "valid": valid.fillna(False),
        },
        index=values.index,
    )


def export_cut_date(export_id: pd.Series) -> pd.Series:
    """The data cut of each row's export as ISO date text (``20260301T020000Z`` -> ``2026-03-01``,
    the UTC date of the export id, site-export.md Landing zone layout); missing when the id is not
    in the ``YYYYMMDDTHHMMSSZ`` form."""
    parts = export_id.astype("string").str.extract(EXPORT_ID_PATTERN)
    return (parts["y"] + "-" + parts["m"] + "-" + parts["d"]).astype("string")


def iso_bounds_text(iso: pd.Series) -> pd.DataFrame:
    """:func:`iso_bounds` as ISO text (``lo``, ``hi``, ``YYYY-MM-DD``), for any year 0000-9999:
    text compares like the dates for four-digit years, and no year is out of pandas' range."""
    return per_distinct(iso.astype("string"), _iso_bounds_text)


def _iso_bounds_text(iso: pd.Series) -> pd.DataFrame:
    s = iso.str.slice(0, 10)
    year, month = s.str.len().eq(4).fillna(False), s.str.len().eq(7).fillna(False)
    lo = s.mask(month, s + "-01").mask(year, s + "-01-01")
    hi = s.mask(year, s + "-12-31")
    if month.any():
        y = pd.to_numeric(s[month].str.slice(0, 4)).to_numpy(dtype=np.int64)
        m = pd.to_numeric(s[month].str.slice(5, 7)).to_numpy(dtype=np.int64)
        last = pd.Series(_days_in_month(y, m), index=s[month].index).astype("string").str.zfill(2)
        hi = hi.mask(month, s + "-" + last)
    return pd.DataFrame({"lo": lo.astype("string"), "hi": hi.astype("string")}, index=iso.index)


def _from_1900(iso: pd.Series) -> pd.Series:
    year = pd.to_numeric(iso.str.slice(0, 4), errors="coerce")
    return ~(year < EARLIEST_YEAR).fillna(False).astype(bool)


def date_plausibility(iso: pd.Series, cut: pd.Series | None) -> pd.DataFrame:
    """site-export.md (File format, v2) on ISO dates of any precision: ``from_1900`` (the year is
    1900 or later) and ``by_cut`` (the earliest day the value can stand for is not after ``cut``,
    the export's data cut as ISO date text; the day of the cut itself is allowed). A missing date,
    or a missing cut, passes."""
    text = iso.astype("string")
    from_1900 = per_distinct(text, _from_1900)
    if cut is None:
        by_cut = pd.Series(True, index=iso.index)
    else:
        lo = iso_bounds_text(text)["lo"]
        by_cut = ~(lo > cut.astype("string")).fillna(False)
    return pd.DataFrame({"from_1900": from_1900.astype(bool), "by_cut": by_cut.astype(bool)}, index=iso.index)


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
