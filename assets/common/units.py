"""Numeric results and unit conversion driven by ``study/unit_conversions.csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.common.precision import DECIMALS

# site-export.md (File format, v2): ASCII digits, an optional leading "-", "." as the decimal
# separator. ``[0-9]``, never ``\d``: Python's ``\d`` matches full-width and Arabic-Indic digits.
NUMBER_PATTERN = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"
RESULT_PATTERN = r"^(?P<qual>[<>]=?)?\s*(?P<num>-?(?:[0-9]+\.?[0-9]*|\.[0-9]+))$"
INTEGER_PATTERN = r"^[0-9]+$"


def _finite(text: pd.Series) -> pd.Series:
    """Text already in number form -> float64; a value too large for a 64-bit float -> NaN."""
    value = pd.to_numeric(text, errors="coerce").astype("float64")
    return value.where(np.isfinite(value.to_numpy(dtype="float64", na_value=np.nan)))


def parse_number(values: pd.Series, pattern: str = NUMBER_PATTERN) -> pd.DataFrame:
    """Plain decimal text -> float (site-export.md, File format). Columns ``value`` (float, NaN
    when empty or invalid, never infinite) and ``ok`` (empty, or a number in the contract's form
    that a 64-bit float holds: ``"1" * 400`` is not ok, it would be infinite)."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    form = text.str.fullmatch(pattern).fillna(False) & ~empty
    value = _finite(text.where(form))
    ok = empty | (form & value.notna())
    return pd.DataFrame({"value": value, "ok": ok.astype(bool)}, index=values.index)


def parse_integer(values: pd.Series) -> pd.DataFrame:
    """:func:`parse_number` of whole numbers (ASCII digits only, no sign)."""
    return parse_number(values, INTEGER_PATTERN)


def parse_result(values: pd.Series) -> pd.DataFrame:
    """Lab result text: a number, optionally behind ``<``/``>`` (``<5``), or a word.

    Columns: ``value`` (float or NaN; NaN, never infinite, for a number too large for a 64-bit
    float), ``qualifier`` (``<``, ``>``, ``<=``, ``>=`` or missing),
    ``word`` (upper-case text when not numeric, else missing), ``number_ok`` (False only for a
    number in form that a 64-bit float cannot hold).
    """
    text = values.astype("string").str.strip()
    parts = text.str.extract(RESULT_PATTERN)
    value = _finite(parts["num"])
    is_num = parts["num"].notna()
    word = text.where(~is_num & text.ne("")).str.upper()
    return pd.DataFrame(
        {
            "value": value,
            "qualifier": parts["qual"].astype("string"),
            "word": word,
            "number_ok": (~is_num | value.notna()).astype(bool),
        },
        index=values.index,
    )


def conversion_table(domain: str) -> pd.DataFrame:
    """TESTCD, UNIT -> STD_UNIT, ADD_BEFORE, FACTOR for one domain (``LB``, ``VS``, ``FC``)."""
    conv = study.unit_conversions()
    return conv[conv["DOMAIN"] == domain].drop(columns="DOMAIN").reset_index(drop=True)


def convert_to_standard(testcd: pd.Series, unit: pd.Series, value: pd.Series, domain: str) -> pd.DataFrame:
    """Convert ``value`` in ``unit`` to the standard unit of its test (site-export.md unit tables).

    Returns ``std_value`` (float), ``std_unit``, ``factor`` (multiplier recorded for traceability),
    ``add_before`` (offset applied before the factor, non-zero only for Fahrenheit) and
    ``unit_known`` (the test/unit pair is in the contract's table).
    """
    key = pd.DataFrame({"TESTCD": testcd.astype("string").values, "UNIT": unit.astype("string").values})
    conv = conversion_table(domain).astype({"TESTCD": "string", "UNIT": "string"})
    merged = key.merge(conv, on=["TESTCD", "UNIT"], how="left")
    factor = merged["FACTOR"].to_numpy(dtype="float64")
    add = merged["ADD_BEFORE"].to_numpy(dtype="float64")
    with np.errstate(over="ignore"):  # an overflow is infinite, out of every plausible range
        std = (value.to_numpy(dtype="float64") + add) * factor
    return pd.DataFrame(
        {
            "std_value": std,
            "std_unit": merged["STD_UNIT"].astype("string").to_numpy(),
            "factor": factor,
            "add_before": add,
            "unit_known": ~np.isnan(factor),
        },
        index=value.index,
    )


STANDARD_DECIMALS_COLUMN = "STD_DECIMALS"
"""The column of study/lab_tests.csv and study/vital_signs.csv giving, per test, the decimals of a
result converted to the standard unit (:func:`round_to_decimals`)."""


def standard_decimals(domain: str) -> pd.Series:
    """Per source test code (``LBTESTCD`` of study/lab_tests.csv, ``VSTESTCD`` of
    study/vital_signs.csv), the decimals of a result converted to the standard unit (``STD_DECIMALS``,
    :mod:`assets.common.precision`); tests without one (qualitative tests) are left out."""
    table, key = {"LB": ("lab_tests", "LBTESTCD"), "VS": ("vital_signs", "VSTESTCD")}[domain]
    df = study.table(table)
    decimals = pd.to_numeric(df[STANDARD_DECIMALS_COLUMN].replace("", None), errors="coerce")
    return pd.Series(decimals.to_numpy(), index=df[key].to_numpy(), name=STANDARD_DECIMALS_COLUMN).dropna()


def round_to_decimals(values: pd.Series, decimals: pd.Series) -> pd.Series:
    """``values`` rounded row by row to ``decimals`` (same index; NaN decimals: :data:`DECIMALS`).

    numpy rounds half to even on the binary value; the results of a unit conversion that this rounds
    (``36.666666666666664``, ``10.200000000000001``) are never exact halves at these precisions.
    """
    value = values.to_numpy(dtype="float64", na_value=np.nan)
    places = decimals.to_numpy(dtype="float64", na_value=np.nan)
    places = np.where(np.isnan(places), DECIMALS, places).astype("int64")
    out = value.copy()
    for d in np.unique(places):  # a handful of distinct precisions
        sel = places == d
        out[sel] = np.round(value[sel], int(d))
    return pd.Series(out, index=values.index)


def format_number(values: pd.Series) -> pd.Series:
    """Numbers as short text for ``--STRESC`` (rounded to ``DECIMALS`` decimals, shortest form, no trailing zeros).

    Vectorized through pyarrow's float-to-string cast (the shortest repr that round-trips), so a
    number already rounded (:func:`round_to_decimals`) gives the text of that same number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rounded = pa.array(np.round(values.to_numpy(dtype="float64"), DECIMALS), from_pandas=True)
    text = pc.cast(rounded, pa.string()).to_pandas()
    text.index = values.index
    return text.str.replace(r"\.0$", "", regex=True).astype("string")
