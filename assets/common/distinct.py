"""Work once per distinct value: columns of ~10^5-10^6 rows repeat a few codes, visits and dates."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd

SeriesOrFrame = TypeVar("SeriesOrFrame", pd.Series, pd.DataFrame)


def per_distinct(values: pd.Series, func: Callable[[pd.Series], SeriesOrFrame]) -> SeriesOrFrame:
    """``func(values)`` for an element-wise ``func`` (returning a Series or a frame of one row per
    value), computed once per distinct value, missing included, and spread back to every row with
    the index of ``values``. The result equals ``func(values)`` because ``func`` works value by
    value: parsers of raw text, date parsing and code look-ups, which cost per element."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return func(pd.Series(uniques, dtype=values.dtype)).take(codes).set_axis(values.index)
