"""The ingest fast paths give the straightforward results, on tricky literal input.

Parsing once per distinct value, running the schema checks without pandera's error report, and
slicing sources out of a form are checked against the plain computations they replace: missing
values, empty text, non-ASCII digits and spaces, boundary values, duplicates, empty frames."""

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

import study
from assets.common.dates import parse_cdash_dates
from assets.common.distinct import per_distinct
from assets.common.units import RESULT_PATTERN, parse_number, parse_result
from assets.ingest.harmonize import harmonize_form
from assets.ingest.site_ingest import _split
from assets.ingest.validate import _PANDERA_RULES, _failing_rows, failures_of
from schemas.raw_forms import _fullmatch, _range_ok, raw_form_schema

DATES = [
    "07-MAR-2026", "UN-MAR-2026", "UN-UNK-2019", "29-FEB-2024", "29-FEB-2025", "31-DEC-1899",
    "07-UNK-2019", " 07-MAR-2026 ", "07-mar-2026", "\u0660\u0667-MAR-\u0662\u0660\u0662\u0666",
    "UN-UNK-\u0662\u0660\u0662\u0666", "07-MAR-2026\n", "\xa007-MAR-2026", "2026-03-07", "", None,
]  # fmt: skip
NUMBERS = [
    "70.5", "-1", "+2", ".5", "5.", "8O.5", "\u0665", " 12 ", "1e3", "0x10", "", None,
    "99999999999999999999", "9007199254740993", "<5", "-0", "1.0000005",
]  # fmt: skip
RESULTS = NUMBERS + ["< 5", ">=10", "<\x0b5", "POSITIVE", "negative", "NEGATIVE", "abc", "a\nb", "<\u0665"]
TEXT = ["x", "\u00dcn\u00efc\u00f6d\u00e9", "a\nb", "", None, "  "]


def _pool(form: str, column: str, col_type: str, valueset: str) -> list:
    if column == "STUDYID":
        return [study.studyid(), study.studyid(), "OTHER", None]
    if column in ("SITEID", "SRC_SITE"):
        return ["101", "101", "102", None]
    if column == "SUBJID":
        return ["101-0001", "101-0002", "102-0001", "1010001", "\u0661\u0660\u0661-0001", None]
    if column in ("RECID", "RANDNO"):
        return [f"R{i}" for i in range(40)] + ["R1", None]
    if column == "LBORRES":
        return RESULTS
    if column.endswith("ORRESU"):
        units = study.unit_conversions()["UNIT"].tolist()
        return units + ["furlong", "", None]
    if valueset:
        return list(study.valueset(valueset)) + ["bogus", "", None]
    return {"DATE": DATES, "NUMBER": NUMBERS, "INTEGER": ["3", "03", "-3", "3.0", "\u0663", "", None]}.get(
        col_type,
        {"TIME": ["08:30", "23:59", "24:00", "8:30", "\u0660\u0668:30", "", None]}.get(col_type, TEXT),
    )


def tricky_form(form: str, n: int = 600, seed: int = 7) -> pd.DataFrame:
    """A raw form as read (text, lineage) with every column drawn from valid and broken values."""
    rng = np.random.default_rng(seed)
    types = study.form_columns(form).set_index("COLUMN")
    data = {"SRC_SOURCE": rng.choice(["101", "102"], n), "SRC_SITE": None}
    for column in study.required_columns(form):
        row = types.loc[column] if column in types.index else None
        pool = _pool(
            form, column, row["TYPE"] if row is not None else "", row["VALUESET"] if row is not None else ""
        )
        data[column] = [pool[i] for i in rng.integers(0, len(pool), n)]
    df = pd.DataFrame(data, dtype="str")
    df["SRC_SITE"] = df["SRC_SOURCE"] if form != "RAND" else df["SITEID"]
    df["SRC_EXPORT"] = "20260301T020000Z"
    df["SRC_FILE"] = "sites/" + df["SRC_SOURCE"] + "/" + form + ".csv"
    df["SRC_LINE"] = np.arange(n, dtype=np.int64) + 2
    return df


def failures_by_pandera(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """The straightforward reading: pandera's lazy report, one row per failing row/column/rule."""
    try:
        raw_form_schema(form).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    else:
        return pd.DataFrame(columns=["index", "COLUMN", "RULE"])
    fc = fc[fc["index"].notna()].copy()
    check = fc["check"].astype(str)
    cross = check.str.contains(":", regex=False)
    column = fc["column"].astype(str).where(~cross, check.str.split(":", n=1).str[0])
    column = column.str.split("__", n=1).str[0]
    rule = check.str.split(":", n=1).str[-1].map(lambda r: _PANDERA_RULES.get(r, r))
    out = pd.DataFrame({"index": fc["index"].astype("int64"), "COLUMN": column, "RULE": rule})
    if form == "RAND":
        out.loc[out["RULE"] == "unique_recid", "RULE"] = "unique_randno"
    return out.drop_duplicates().sort_values(["index", "COLUMN", "RULE"]).reset_index(drop=True)


@pytest.mark.parametrize("form", [*study.FORMS, "RAND"])
def test_failures_are_pandera_lazy_reports(form):
    df = harmonize_form(tricky_form(form), form)
    fast, slow = failures_of(df, form), failures_by_pandera(df, form)
    assert not slow.empty
    assert fast.astype(str).values.tolist() == slow.astype(str).values.tolist()


@pytest.mark.parametrize("form", ["VS", "LB", "DM"])
def test_failures_of_an_empty_form(form):
    empty = harmonize_form(tricky_form(form).iloc[0:0], form)
    assert failures_of(empty, form).empty and failures_by_pandera(empty, form).empty


@pytest.mark.parametrize(
    "parse, values",
    [
        (parse_cdash_dates, DATES),
        (parse_number, NUMBERS),
        (parse_number, ["1", "2", "99999999999999999999"]),  # to_numeric decides on the value kinds
        (parse_number, ["1.5", "9007199254740993"]),
        (parse_result, RESULTS),
        (parse_cdash_dates, []),
        (parse_number, [None, None]),
    ],
)
def test_parsing_distinct_values_equals_parsing_every_value(parse, values):
    s = pd.Series((values * 3)[::-1], dtype="str", index=np.arange(len(values) * 3) * 10)
    pd.testing.assert_frame_equal(per_distinct(s, parse), parse(s), check_exact=True)


@pytest.mark.parametrize("values", [RESULTS, NUMBERS, DATES, [], [None]])
def test_fullmatch_once_per_distinct_value(values):
    s = pd.Series(values * 2, dtype="string")
    pd.testing.assert_series_equal(_fullmatch(s, RESULT_PATTERN), s.str.fullmatch(RESULT_PATTERN))


@pytest.mark.parametrize("order", [["101", "101", "102", "103"], ["102", "101", "102", "101"], []])
@pytest.mark.parametrize("drop", [True, False])
def test_sources_sliced_out_of_a_form_equal_a_group_by(order, drop):
    df = pd.DataFrame({"SRC_SOURCE": pd.Series(order, dtype="str"), "V": range(len(order))})
    got = _split(df, ["101", "102", "104"], drop=drop)
    for source in ("101", "102", "104"):
        expected = df[df["SRC_SOURCE"] == source].reset_index(drop=True)
        expected = expected.drop(columns="SRC_SOURCE") if drop else expected
        pd.testing.assert_frame_equal(got[source], expected)


def _failing_by_pandera(check: pa.Check, obj) -> list:
    """The rows pandera's own check call names (a check that raises names none, as in its report)."""
    try:
        result = check(obj)
    except Exception:
        return []
    return [] if result.failure_cases is None else list(result.failure_cases.index)


@pytest.mark.parametrize(
    "verdict",
    [
        lambda d: d["A"].notna() & (d["A"] != "x"),  # a row of missing values fails, but passes
        lambda d: d["A"].astype("string") == d["B"].astype("string"),  # missing verdicts and fails
        lambda d: d["A"].astype("string").isna() | (d["A"].astype("string") != "\u00fc"),
        lambda d: pd.Series(True, index=d.index),
        lambda d: True,  # no row-wise verdict
        lambda d: d["MISSING"] == 1,  # cannot run
    ],
)
def test_failing_rows_are_the_rows_pandera_names(verdict):
    df = pd.DataFrame(
        {"A": ["x", None, "\u00fc", "y", None], "B": ["x", "y", "\u00fc", None, None]},
        dtype="str",
        index=[3, 1, 4, 0, 2],
    )
    frame_check = pa.Check(verdict, name="rule")
    assert list(_failing_rows(frame_check, df)) == _failing_by_pandera(frame_check, df)
    column_check = pa.Check(lambda s: s.isin(["x", "\u00fc"]), name="value_set")
    assert list(_failing_rows(column_check, df["A"])) == _failing_by_pandera(column_check, df["A"])
    assert list(_failing_rows(column_check, df["A"].iloc[0:0])) == []


def test_plausible_ranges_looked_up_once_per_test_equal_a_lookup_per_row():
    ranges = pd.DataFrame(
        {
            "TESTCD": ["HGB", "ALT", "HGB", "\u00c4"],
            "PLAUSIBLE_LO": [1.0, 0.0, 2.0, None],
            "PLAUSIBLE_HI": [20.0, None, 25.0, 5.0],
        }
    )
    df = pd.DataFrame(
        {
            "TESTCD": pd.Series(
                ["HGB", "HGB", "ALT", None, "UNKNOWN", "\u00c4", "HGB", "ALT", "\u00c4"], dtype="str"
            ),
            "VALUE": [1.5, 25.0, -1.0, 1e9, 1e9, 5.0, np.nan, 1e9, 5.5],
        }
    ).set_axis(np.arange(9) * 2)  # an index that is not 0..n-1
    bounds = ranges.drop_duplicates("TESTCD", keep="last")  # the last range of a test wins
    at = pd.Index(bounds["TESTCD"]).get_indexer(df["TESTCD"])
    lo = pd.Series(np.append(bounds["PLAUSIBLE_LO"].to_numpy(), np.nan)[at], index=df.index)
    hi = pd.Series(np.append(bounds["PLAUSIBLE_HI"].to_numpy(), np.nan)[at], index=df.index)
    v = df["VALUE"]
    expected = ~(v.notna() & ((lo.notna() & (v < lo)) | (hi.notna() & (v > hi))))
    got = _range_ok(df, "TESTCD", "VALUE", ranges, "TESTCD")
    pd.testing.assert_series_equal(got, expected)
    assert got.tolist() == [False, True, False, True, True, True, True, True, False]
    assert _range_ok(df.iloc[0:0], "TESTCD", "VALUE", ranges, "TESTCD").empty
