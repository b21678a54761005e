"""The SDTM fast paths give what the straightforward pandas code gives, on awkward literal input:
lookups per distinct value, the Arrow LBNRIND, casting to spec types, SLEDAI missing items, Arrow
``isin`` of text, test codes spread by position, visit windows by lookup instead of merges, dated
VISITNUM looked up for the UNSCHEDULED rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import study
from assets.sdtm.eligibility.logic import names_by_subject
from assets.sdtm.findings import ABNORMAL_WORDS, NORMAL_WORDS, derive_var_lbnrind, derive_vars_testcd
from assets.sdtm.mapping import (
    cast_to_spec_types,
    is_integer_var,
    isin_text,
    map_by_value,
    study_day_by_value,
)
from assets.sdtm.sledai import derive_var_sledai_total
from assets.sdtm.timing import derive_var_visitnum, find_visits_outside_window, unscheduled_visitnums
from study import spec

TEXT = ["SCREENING", "WEEK 4", None, "UNSCHEDULED", "", "SCREENING", "Wéek 4", "𝄞", "WEEK 4"]


@pytest.mark.parametrize("dtype", ["str", "string", object])
@pytest.mark.parametrize(
    "mapping",
    [
        {"SCREENING": "SCREENING", "WEEK 4": "TREATMENT", "": "EMPTY", "𝄞": None},
        pd.Series({"SCREENING": "A", "UNSCHEDULED": "B"}),
        {},
    ],
)
def test_map_by_value_equals_series_map(dtype, mapping):
    values = pd.Series(TEXT, dtype=dtype, index=range(50, 50 + len(TEXT)))
    expected = values.map(mapping).astype("string")
    pd.testing.assert_series_equal(map_by_value(values, mapping), expected, check_names=False)
    empty = pd.Series([], dtype=dtype)
    pd.testing.assert_series_equal(map_by_value(empty, mapping), empty.map(mapping).astype("string"))


def reference_lbnrind(lb: pd.DataFrame) -> pd.Series:
    """LBNRIND as first written: numpy text arrays of every row."""
    value = lb["LBSTRESN"].astype("float64").to_numpy()
    lo = lb["LBSTNRLO"].astype("float64").to_numpy()
    hi = lb["LBSTNRHI"].astype("float64").to_numpy()
    qual = lb["LBRESQUAL"].astype("string").fillna("").to_numpy()
    word = lb["LBSTRESC"].astype("string").fillna("").to_numpy()
    plain = (qual == "") & ~np.isnan(value)
    has_range = ~np.isnan(lo) | ~np.isnan(hi)
    with np.errstate(invalid="ignore"):
        ind = np.select(
            [
                plain & (value < lo),
                plain & (value > hi),
                plain & has_range,
                np.char.startswith(qual.astype(str), "<") & (value <= lo),
                np.char.startswith(qual.astype(str), ">") & (value >= hi),
                np.isin(word, NORMAL_WORDS),
                np.isin(word, ABNORMAL_WORDS),
            ],
            ["LOW", "HIGH", "NORMAL", "LOW", "HIGH", "NORMAL", "ABNORMAL"],
            default="",
        )
    return pd.Series(ind, index=lb.index, dtype="string").replace("", pd.NA)


def test_lbnrind_equals_reference_on_awkward_rows():
    nan = np.nan
    lb = pd.DataFrame(
        {
            "LBSTRESN": [1, 5, 10, nan, 2, 9, 3, 3, nan, nan, nan, 4, 0.5],
            "LBSTNRLO": [2, 2, 2, 2, 2, 2, nan, nan, nan, nan, 1, 2, 0.5],
            "LBSTNRHI": [8, 8, 8, 8, 8, 8, nan, 4, nan, nan, 3, nan, nan],
            "LBRESQUAL": [None, "", None, None, "<", ">", None, None, None, "", "<", "<", "<"],
            "LBSTRESC": [
                "1",
                "5",
                "10",
                "POSITIVE",
                "<2",
                ">9",
                "3",
                "3",
                "NEGATIVE",
                "ABSENT",
                None,
                "é",
                "",
            ],
        },
        index=range(7, 20),
    ).astype({"LBRESQUAL": "str", "LBSTRESC": "string"})
    out = derive_var_lbnrind(lb)
    pd.testing.assert_series_equal(out["LBNRIND"], reference_lbnrind(lb), check_names=False)
    assert out.drop(columns="LBNRIND").equals(lb)
    empty = derive_var_lbnrind(lb.iloc[:0])
    pd.testing.assert_series_equal(empty["LBNRIND"], reference_lbnrind(lb.iloc[:0]), check_names=False)


def reference_cast(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    out = df.copy()
    for var, typ in spec.variables("sdtm", dataset)[["VARIABLE", "TYPE"]].itertuples(index=False):
        if var not in out.columns:
            continue
        if typ == "Char":
            col = out[var].astype("string")
            out[var] = col.where(col.str.len() > 0)
        elif is_integer_var(var):
            out[var] = pd.to_numeric(out[var], errors="coerce").round().astype("Int64")
        else:
            out[var] = pd.to_numeric(out[var], errors="coerce").astype("float64")
    return out


def test_cast_to_spec_types_equals_reference():
    df = pd.DataFrame(
        {
            "AETERM": ["Headache", "", None, "é", "𝄞"],  # empty text becomes missing
            "AESEV": ["MILD", "MILD", "MILD", "MILD", "MILD"],  # no empty text: unchanged
            "AESEQ": [pd.NA] * 5,
            "AESTDY": ["3", 4.4, None, "x", -2],
            "EXTRA": [1, 2, 3, 4, 5],
        },
        index=range(3, 8),
    ).astype({"AESEV": "str", "AESEQ": object})
    df["AEDECOD"] = pd.Series([None] * 5, index=df.index, dtype="string")
    before = df.copy()
    pd.testing.assert_frame_equal(cast_to_spec_types(df, "AE"), reference_cast(df, "AE"))
    pd.testing.assert_frame_equal(df, before)  # the input is not changed
    pd.testing.assert_frame_equal(cast_to_spec_types(df.iloc[:0], "AE"), reference_cast(df.iloc[:0], "AE"))


def test_sledai_missing_items_equal_joining_every_row():
    items = list(study.sledai_weights())
    rows = [dict.fromkeys(items, "N") for _ in range(4)]
    rows[1][items[0]], rows[1][items[-1]] = None, "maybe"
    rows[2] = dict.fromkeys(items, None)
    rows[3][items[5]] = "Y"
    scored = derive_var_sledai_total(pd.DataFrame(rows, index=range(10, 14), dtype="string"))
    names = np.array(items)
    expected = [" ".join(names[[v not in ("Y", "N") for v in row.values()]]) for row in rows]
    assert scored["SLEDAI_MISSING_ITEMS"].tolist() == expected
    assert str(scored["SLEDAI_MISSING_ITEMS"].dtype) == "string"
    assert derive_var_sledai_total(pd.DataFrame(columns=items))["SLEDAI_MISSING_ITEMS"].tolist() == []


def test_names_by_subject_equals_arrow_strings_version():
    names = pd.Series(["Méthotrexate", None, "A", "A", "𝄞", "B", "", "A"], dtype="string")
    usubjid = pd.Series(["S2", "S2", "S1", "S1", "S1", "S3", "S3", None], dtype="str")
    index = pd.Index(["S1", "S2", "S3", "S4"])
    frame = pd.DataFrame({"U": usubjid.to_numpy(), "X": names.astype("string").fillna("?").to_numpy()})
    joined = frame.drop_duplicates().groupby("U", sort=False)["X"].agg(", ".join)
    expected = joined.reindex(index).fillna("").astype("string")
    pd.testing.assert_series_equal(names_by_subject(names, usubjid, index), expected)
    assert names_by_subject(names, usubjid, index).tolist() == ["A, 𝄞", "Méthotrexate, ?", "B, ", ""]


@pytest.mark.parametrize("dtype", ["str", "string", object])
@pytest.mark.parametrize("allowed", [["WEEK 4", None, "𝄞"], ["Wéek 4", ""], [], TEXT * 3])
def test_isin_text_equals_pandas_isin(dtype, allowed):
    values = pd.Series(TEXT, dtype=dtype, index=range(50, 50 + len(TEXT)))
    allowed = pd.Series(allowed, dtype=dtype)
    expected = values.isin(allowed).to_numpy(dtype=bool)
    np.testing.assert_array_equal(isin_text(values, allowed), expected)
    np.testing.assert_array_equal(isin_text(pd.Index(values), allowed), pd.Index(values).isin(allowed))
    assert isin_text(pd.Series([], dtype=dtype), allowed).tolist() == []


def test_derive_vars_testcd_equals_series_map():
    lb = pd.DataFrame({"SRC": ["ALT", None, "HCG", "ALT", "CREAT", None]}, index=range(10, 16), dtype="str")
    codes = study.table("sdtm_test_codes")
    codes = codes[codes["DOMAIN"] == "LB"].set_index("SOURCE_TESTCD")
    got = derive_vars_testcd(lb, "LB", "SRC")
    for column in ("TESTCD", "TEST", "SPEC"):
        expected = lb["SRC"].map(codes[column]).astype(codes[column].dtype)
        pd.testing.assert_series_equal(got[f"LB{column}"], expected, check_names=False)
    pd.testing.assert_series_equal(got["MARKERS"], lb["SRC"].map(codes["MARKERS"]), check_names=False)


def reference_visits_outside_window(visits: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`find_visits_outside_window` reports, as first written: inner merges of every
    visit row with the schedule and DM."""
    sched = study.visits().dropna(subset=["PLANNED_DAY"])[["VISIT", "PLANNED_DAY", "WINDOW_DAYS"]]
    df = visits.merge(sched, on="VISIT", how="inner").merge(reference[["USUBJID", "RFSTDTC"]], on="USUBJID")
    df["DY"] = study_day_by_value(df["DTC"], df["RFSTDTC"])
    off = (df["DY"] - df["PLANNED_DAY"]).abs() > df["WINDOW_DAYS"].fillna(0)
    bad = df[off.fillna(False)].sort_values(["USUBJID", "VISIT", "FORM", "DTC", "RECID"], kind="stable")
    return bad.drop_duplicates(["USUBJID", "VISIT", "FORM", "DTC"])


def test_visits_outside_window_equal_merging_every_row():
    rows = [
        # USUBJID, VISIT, DTC, FORM, RECID
        ("S1", "WEEK 8", "2025-03-05", "LB", "L2"),  # day 63: outside 57 +- 3
        ("S1", "WEEK 8", "2025-03-05", "LB", "L1"),  # same visit, form and date: one finding (L1)
        ("S1", "WEEK 8", "2025-03-05", "VS", "V1"),
        ("S1", "WEEK 4", "2025-02-01", "LB", "L3"),  # day 31: inside
        ("S1", "WEEK 4", "2025-02", "LB", "L4"),  # partial date: not checked
        ("S1", "UNSCHEDULED", "2025-06-01", "LB", "L5"),  # no planned day
        ("S1", "SCREENING", "2024-12-01", "LB", "L6"),
        ("S2", "WEEK 8", "2025-06-01", "LB", "L7"),  # never dosed
        ("S9", "WEEK 8", "2025-06-01", "LB", "L8"),  # not in DM
        ("S3", "WEEK 2", None, "LB", "L9"),
        ("S3", "Wéek 2", "2025-06-01", "LB", "L10"),  # unknown visit
        ("S3", "DAY 1", "2025-01-20", "PGA", "P1"),  # day 20: outside 1 +- 0
    ]
    visits = pd.DataFrame(rows, columns=["USUBJID", "VISIT", "DTC", "FORM", "RECID"], dtype="str")
    visits["SITEID"], visits["SUBJID"], visits["VISITNUM"] = "101", visits["USUBJID"], 1.0
    visits["SRC_EXPORT"], visits["SRC_FILE"], visits["SRC_LINE"] = (
        "E1",
        visits["FORM"] + ".csv",
        range(len(rows)),
    )
    reference = pd.DataFrame(
        {"USUBJID": ["S1", "S2", "S3"], "RFSTDTC": ["2025-01-01", None, "2025-01-01"]}, dtype="str"
    )
    expected = reference_visits_outside_window(visits, reference)
    got = find_visits_outside_window(visits, reference)
    assert got["RECID"].tolist() == expected["RECID"].tolist() == ["L1", "V1", "P1"]
    assert got["MESSAGE"].tolist()[0] == "WEEK 8 dated on study day 64, outside the window (day 54 to 60)"
    empty = find_visits_outside_window(visits.iloc[:0], reference)
    assert len(empty) == len(reference_visits_outside_window(visits.iloc[:0], reference)) == 0


def test_visitnum_equals_looking_up_every_row():
    visits = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S1", "S2", "S2", None, "S3"],
            "VISIT": ["UNSCHEDULED", "WEEK 4", "UNSCHEDULED", "UNSCHEDULED", None, "UNSCHEDULED", "WEEK 4"],
            "VISITNUM": ["99", "4", "99", "99", None, "99", "x"],
            "DTC": [
                "2025-02-03T10:00",
                "2025-02-01",
                "2025-01",
                None,
                "2025-03-01",
                "2025-01-01",
                "2025-02-01",
            ],
        },
        dtype="str",
    )
    unscheduled = unscheduled_visitnums(visits)
    # as first written: every row's subject and date looked up
    key = pd.DataFrame(
        {
            "USUBJID": visits["USUBJID"].astype("string"),
            "VISITDATE": visits["DTC"].astype("string").str.slice(0, 10),
        }
    )
    uns = unscheduled.astype({"USUBJID": "string", "VISITDATE": "string"})
    dated = key.merge(uns, on=["USUBJID", "VISITDATE"], how="left")["VISITNUM"].to_numpy()
    scheduled = pd.to_numeric(visits["VISITNUM"], errors="coerce").astype("float64").to_numpy()
    is_uns = visits["VISIT"].eq("UNSCHEDULED").fillna(False).to_numpy()
    expected = np.where(is_uns & ~np.isnan(dated.astype("float64")), dated, scheduled)
    got = derive_var_visitnum(visits, "DTC", unscheduled)
    np.testing.assert_array_equal(got["VISITNUM"].to_numpy(), expected)
    assert got["VISITNUM"].tolist()[:3] == [99.02, 4.0, 99.01]
    assert derive_var_visitnum(visits.iloc[:0], "DTC", unscheduled)["VISITNUM"].tolist() == []
