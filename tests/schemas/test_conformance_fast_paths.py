"""The vectorized conformance checks give what the straightforward per-value rules give, on
tricky literal input: UTF-8 byte length (Arrow) and the ADaM ``date32`` check (types in C)."""

import datetime

import pandas as pd
import pyarrow as pa
import pytest

from schemas.adam_conformance import _is_date32
from schemas.sdtm_conformance import byte_length_ok

BOUNDARY_TEXT = ["a" * 200, "a" * 201, "é" * 100, "é" * 101, "€" * 66, "€" * 67, "𝄞" * 50, "𝄞" * 51, "", None]


def reference_byte_length_ok(s: pd.Series) -> pd.Series:
    """The rule value by value: null passes, else at most 200 bytes once encoded in UTF-8."""
    return s.isna() | s.astype("string").str.encode("utf-8").str.len().le(200)


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_byte_length_matches_encoding_each_value(dtype):
    values = pd.Series(BOUNDARY_TEXT, dtype=dtype, index=range(50, 50 + len(BOUNDARY_TEXT)))
    ok = byte_length_ok(values)
    assert ok.tolist() == reference_byte_length_ok(values).tolist()
    assert ok.tolist() == [True, False] * 4 + [True, True]
    assert ok.index.equals(values.index) and ok.dtype == bool


def test_byte_length_of_numbers_mixed_objects_and_empty_series():
    mixed = pd.Series([10**250, "x" * 201, 1.5, None, float("nan")], dtype=object)
    assert (
        byte_length_ok(mixed).tolist()
        == reference_byte_length_ok(mixed).tolist()
        == [False, False] + [True] * 3
    )
    numbers = pd.Series([1.0, float("nan")])
    assert byte_length_ok(numbers).tolist() == reference_byte_length_ok(numbers).tolist()
    empty = pd.Series([], dtype="str")
    assert byte_length_ok(empty).tolist() == []


def reference_is_date32(s: pd.Series) -> bool:
    """The rule value by value: Arrow date32, or objects that are all exactly ``datetime.date``."""
    if str(s.dtype) == "date32[day][pyarrow]":
        return True
    return s.dtype == object and all(type(v) is datetime.date for v in s.dropna())


DAY = datetime.date(2026, 5, 1)


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([DAY, None, DAY], dtype=object),
        pd.Series([DAY, datetime.datetime(2026, 5, 1, 2)], dtype=object),  # a datetime is a date subclass
        pd.Series([datetime.datetime(2026, 5, 1)], dtype=object),
        pd.Series([DAY, pd.Timestamp("2026-05-01")], dtype=object),
        pd.Series([DAY, "2026-05-01"], dtype=object),
        pd.Series([None, None], dtype=object),
        pd.Series([], dtype=object),
        pd.Series([DAY], dtype=pd.ArrowDtype(pa.date32())),
        pd.Series(pd.to_datetime(["2026-05-01"])),
        pd.Series(["2026-05-01"], dtype="str"),
    ],
)
def test_is_date32_matches_checking_each_value_type(series):
    assert _is_date32(series) == reference_is_date32(series)
