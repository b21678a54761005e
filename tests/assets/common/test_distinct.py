"""Work once per distinct value (:func:`assets.common.distinct.per_distinct`) equals the work on
every row, on literal awkward input: missing values, repeats, unicode, a shuffled index, empty."""

from __future__ import annotations

import pandas as pd

from assets.common.dates import iso_to_date
from assets.common.distinct import per_distinct
from assets.common.units import parse_number


def test_per_distinct_matches_the_whole_column():
    text = pd.Series(
        ["2026-01-05", None, "2026-01", "2026-01-05", "2026-02-30", "", "2026-01-05T10:00"], dtype="string"
    )
    pd.testing.assert_series_equal(per_distinct(text, iso_to_date), iso_to_date(text))
    codes = pd.Series(["ALT", "ÄST", None, "ALT"], dtype="string", index=[4, 2, 9, 1])
    labels = {"ALT": "Alanine", "ÄST": "Äspartate"}
    pd.testing.assert_series_equal(per_distinct(codes, lambda c: c.map(labels)), codes.map(labels))
    empty = text.iloc[:0]
    pd.testing.assert_series_equal(per_distinct(empty, iso_to_date), iso_to_date(empty))


def test_per_distinct_spreads_a_frame_result_to_every_row():
    raw = pd.Series(["1.5", None, "abc", "1.5", " 2 ", "1,5"], dtype="string", index=[3, 0, 5, 1, 2, 4])
    pd.testing.assert_frame_equal(per_distinct(raw, parse_number), parse_number(raw), check_exact=True)
