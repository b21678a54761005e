"""ISO dates are parsed once per distinct text (:func:`assets.common.distinct.per_distinct`): the
result must be what parsing every row gives, unit and name included, on awkward input."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.common.dates import iso_bounds, iso_to_date


def reference_iso_to_date(iso: pd.Series) -> pd.Series:
    s = iso.astype("string").str.slice(0, 10)
    return pd.to_datetime(s.where(s.str.len().eq(10)), format="%Y-%m-%d", errors="coerce")


def reference_iso_bounds(iso: pd.Series) -> pd.DataFrame:
    s = iso.astype("string").str.slice(0, 10)
    lo_text = s.mask(s.str.len().eq(7), s + "-01").mask(s.str.len().eq(4), s + "-01-01")
    lo = pd.to_datetime(lo_text, format="%Y-%m-%d", errors="coerce")
    hi = lo.mask(s.str.len().eq(7), lo + pd.offsets.MonthEnd(0))
    hi = hi.mask(s.str.len().eq(4), lo + pd.offsets.YearEnd(0))
    return pd.DataFrame({"lo": lo, "hi": hi}, index=iso.index)


AWKWARD = [
    ["2026-03-01", "2026-03-01", None, "2026-02", "2026", "2026-03-01T10:00", "2026-03-01"],
    ["2024-02-29", "2023-02-29", "2026-13", "2026-02-31", "", "abcd", "é2026-01", " 2026-01-01"],
    ["2026-03", "2019", None],  # partial dates only: no full date, NaT for iso_to_date
    [None, None],
    [],
    ["9999-12-31T23:59:59", "0001-01-01"],
]


@pytest.mark.parametrize("values", AWKWARD)
@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_by_value_equals_parsing_every_row(values, dtype):
    s = pd.Series(values, dtype=dtype, index=range(100, 100 + len(values)), name="XXDTC")
    pd.testing.assert_series_equal(iso_to_date(s), reference_iso_to_date(s), check_exact=True)
    pd.testing.assert_frame_equal(iso_bounds(s), reference_iso_bounds(s), check_exact=True)
