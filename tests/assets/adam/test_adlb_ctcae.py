"""CTCAE v5.0 toxicity grades of ADLB (issue 16, item 3): the criteria table study/ctcae_v5_grades.csv,
and ATOXDSCL/ATOXDSCH, ATOXGRL/ATOXGRH, ATOXGR, BTOXGRL/BTOXGRH/BTOXGR on literal frames with the
whole expected output, at every grade boundary of the six graded tests."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from assets.adam.adlb import adlb_parameters
from assets.adam.adlb_ctcae import (
    ctcae_grades,
    derive_var_atoxgr,
    derive_vars_atoxdsc,
    derive_vars_atoxgr_dir,
    derive_vars_btoxgr,
)

NA = pd.NA
FIRST = "2026-01-10"
PRE, POST = "2026-01-09", "2026-02-07"


def s(values, dtype="string"):
    return pd.Series(values, dtype=dtype)


def graded(rows) -> pd.DataFrame:
    """Rows (PARAMCD, AVAL, AVALC, A1LO, A1HI, BASE, BNRIND, ADT, ATOXGRL, ATOXGRH) -> input frame
    and the frame expected from derive_vars_atoxgr_dir."""
    df = pd.DataFrame(
        {
            "PARAMCD": s([r[0] for r in rows]),
            "AVAL": s([r[1] for r in rows], "Float64"),
            "AVALC": s([r[2] for r in rows]),
            "A1LO": s([r[3] for r in rows], "Float64"),
            "A1HI": s([r[4] for r in rows], "Float64"),
            "BASE": s([r[5] for r in rows], "Float64"),
            "BNRIND": s([r[6] for r in rows]),
            "ADT": pd.Series(pd.to_datetime([r[7] for r in rows]), dtype="datetime64[ns]"),
            "TRTSDT": pd.Series(pd.to_datetime([FIRST] * len(rows)), dtype="datetime64[ns]"),
        }
    )
    expected = df.assign(ATOXGRL=s([r[8] for r in rows]), ATOXGRH=s([r[9] for r in rows]))
    return df, expected


def test_alt_against_uln_when_baseline_normal_and_against_base_when_abnormal():
    rows = [
        ("ALT", 40.0, "40", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "0"),  # = ULN
        ("ALT", 41.0, "41", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "1"),
        ("ALT", 120.0, "120", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "1"),  # = 3 x ULN
        ("ALT", 121.0, "121", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "2"),
        ("ALT", 200.0, "200", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "2"),  # = 5 x ULN
        ("ALT", 201.0, "201", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "3"),
        ("ALT", 800.0, "800", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "3"),  # = 20 x ULN
        ("ALT", 801.0, "801", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "4"),
        ("ALT", 41.0, "41", 0.0, 40.0, None, None, POST, NA, "1"),  # no baseline: as normal
        ("ALT", 89.0, "89", 0.0, 40.0, 60.0, "HIGH", POST, NA, "0"),  # abnormal baseline 60: < 1.5 x
        ("ALT", 90.0, "90", 0.0, 40.0, 60.0, "HIGH", POST, NA, "1"),  # = 1.5 x BASE (inclusive)
        ("ALT", 180.0, "180", 0.0, 40.0, 60.0, "HIGH", POST, NA, "1"),  # = 3 x BASE
        ("ALT", 181.0, "181", 0.0, 40.0, 60.0, "HIGH", POST, NA, "2"),
        ("ALT", 301.0, "301", 0.0, 40.0, 60.0, "HIGH", POST, NA, "3"),
        ("ALT", 1201.0, "1201", 0.0, 40.0, 60.0, "HIGH", POST, NA, "4"),
        ("ALT", 60.0, "60", 0.0, 40.0, 60.0, "HIGH", FIRST, NA, "1"),  # the baseline itself: vs ULN
        ("ALT", 130.0, "130", 0.0, 40.0, 60.0, "HIGH", PRE, NA, "2"),  # before the first dose: vs ULN
        ("ALT", 50.0, "50", 0.0, None, 30.0, "NORMAL", POST, NA, NA),  # no ULN: undecided
        ("ALT", None, None, 0.0, 40.0, 30.0, "NORMAL", POST, NA, NA),  # no result
        ("ALT", 2.4, "<4.8", 7.2, 40.2, 30.0, "NORMAL", POST, NA, "0"),  # [0, 4.8) <= ULN
        ("AST", 121.0, "121", 0.0, 40.0, 30.0, "NORMAL", POST, NA, "2"),  # AST: as ALT
        ("AST", 90.0, "90", 0.0, 40.0, 60.0, "HIGH", POST, NA, "1"),
    ]
    df, expected = graded(rows)
    pd.testing.assert_frame_equal(derive_vars_atoxgr_dir(df), expected)


def test_creatinine_against_uln_and_baseline():
    rows = [
        ("CREAT", 100.0, "100", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "0"),
        ("CREAT", 101.0, "101", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "1"),
        ("CREAT", 150.0, "150", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "1"),  # = 1.5 x ULN
        ("CREAT", 151.0, "151", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "2"),
        ("CREAT", 76.0, "76", 45.0, 100.0, 50.0, "NORMAL", POST, NA, "2"),  # > 1.5 x BASE, < ULN
        ("CREAT", 76.0, "76", 45.0, 100.0, 50.0, "NORMAL", PRE, NA, "0"),  # not against BASE before dosing
        ("CREAT", 151.0, "151", 45.0, 100.0, 50.0, "NORMAL", POST, NA, "3"),  # > 3 x BASE
        ("CREAT", 301.0, "301", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "3"),  # > 3 x ULN
        ("CREAT", 601.0, "601", 45.0, 100.0, 100.0, "NORMAL", POST, NA, "4"),  # > 6 x ULN
        ("CREAT", 160.0, "160", 45.0, None, 50.0, "NORMAL", POST, NA, NA),  # grade 3 by BASE, 4 unknown
    ]
    df, expected = graded(rows)
    pd.testing.assert_frame_equal(derive_vars_atoxgr_dir(df), expected)


def test_low_direction_absolute_thresholds_and_both_directions():
    rows = [
        ("PLAT", 150.0, "150", 150.0, 400.0, None, None, POST, "0", NA),  # = LLN
        ("PLAT", 149.0, "149", 150.0, 400.0, None, None, POST, "1", NA),
        ("PLAT", 75.0, "75", 150.0, 400.0, None, None, POST, "1", NA),  # = 75: not below
        ("PLAT", 74.9, "74.9", 150.0, 400.0, None, None, POST, "2", NA),
        ("PLAT", 49.0, "49", 150.0, 400.0, None, None, POST, "3", NA),
        ("PLAT", 24.0, "24", 150.0, 400.0, None, None, POST, "4", NA),
        ("PLAT", 60.0, "60", None, 400.0, None, None, POST, "2", NA),  # no LLN, absolute grade 2
        ("PLAT", 100.0, "100", None, 400.0, None, None, POST, NA, NA),  # no LLN: grade 1 undecided
        ("WBC", 2.5, "2.5", 3.5, 9.5, None, None, POST, "2", "0"),
        ("WBC", 100.0, "100", 3.5, 9.5, None, None, POST, "0", "0"),  # leukocytosis: > 100
        ("WBC", 101.0, "101", 3.5, 9.5, None, None, POST, "0", "3"),
        ("WBC", 0.9, "0.9", 3.5, 9.5, None, None, POST, "4", "0"),
        ("HGB", 119.0, "119", 120.0, 160.0, None, None, POST, "1", "0"),
        ("HGB", 99.0, "99", 120.0, 160.0, None, None, POST, "2", "0"),
        ("HGB", 79.0, "79", 120.0, 160.0, None, None, POST, "3", "0"),
        ("HGB", 161.0, "161", 120.0, 160.0, None, None, POST, "0", "1"),
        ("HGB", 181.0, "181", 120.0, 160.0, None, None, POST, "0", "2"),  # > ULN + 20 g/L
        ("HGB", 201.0, "201", 120.0, 160.0, None, None, POST, "0", "3"),  # > ULN + 40 g/L
        ("DSDNA", 45.0, "45", 0.0, 30.0, None, None, POST, NA, NA),  # not graded
    ]
    df, expected = graded(rows)
    pd.testing.assert_frame_equal(derive_vars_atoxgr_dir(df), expected)


def test_censored_result_graded_only_where_its_bound_decides():
    rows = [
        ("PLAT", 10.0, "<20", 150.0, 400.0, None, None, POST, "4", NA),  # [0, 20) < 25
        ("PLAT", 15.0, "<30", 150.0, 400.0, None, None, POST, NA, NA),  # grade 3 or 4
        ("PLAT", 500.0, ">500", 150.0, 400.0, None, None, POST, "0", NA),
        ("WBC", 50.0, ">50", 3.5, 9.5, None, None, POST, "0", NA),  # may or may not exceed 100
    ]
    df, expected = graded(rows)
    pd.testing.assert_frame_equal(derive_vars_atoxgr_dir(df), expected)


def test_atoxdsc_terms_per_parameter():
    df = pd.DataFrame({"PARAMCD": s(["ALT", "HGB", "WBC", "PLAT", "CREAT", "C3"])})
    expected = df.assign(
        ATOXDSCL=s([NA, "Anemia", "White blood cell decreased", "Platelet count decreased", NA, NA]),
        ATOXDSCH=s(["Alanine aminotransferase increased", "Hemoglobin increased", "Leukocytosis", NA,
                    "Creatinine increased", NA]),
    )  # fmt: skip
    pd.testing.assert_frame_equal(derive_vars_atoxdsc(df), expected)


def test_atoxgr_signed_combination_of_the_directions():
    rows = [
        # ATOXDSCL, ATOXDSCH, ATOXGRL, ATOXGRH, expected ATOXGR
        ("Anemia", "Hemoglobin increased", "0", "0", "0"),
        ("Anemia", "Hemoglobin increased", "2", "0", "-2"),
        ("Anemia", "Hemoglobin increased", "0", "1", "1"),
        ("Anemia", "Hemoglobin increased", NA, "0", NA),  # low undecided: not normal
        ("Anemia", "Hemoglobin increased", "0", NA, NA),
        ("Anemia", "Hemoglobin increased", "3", NA, "-3"),
        ("Platelet count decreased", NA, "0", NA, "0"),  # one direction only
        ("Platelet count decreased", NA, NA, NA, NA),
        (NA, "Alanine aminotransferase increased", NA, "3", "3"),
        (NA, NA, NA, NA, NA),  # not graded
    ]
    df = pd.DataFrame(
        {c: s([r[i] for r in rows]) for i, c in enumerate(["ATOXDSCL", "ATOXDSCH", "ATOXGRL", "ATOXGRH"])}
    )
    expected = df.assign(ATOXGR=s([r[4] for r in rows]))
    pd.testing.assert_frame_equal(derive_var_atoxgr(df), expected)


def test_btoxgr_from_the_baseline_record():
    df = pd.DataFrame(
        {
            "USUBJID": s(["S1", "S1", "S1", "S2", "S2", "S1"]),
            "PARAMCD": s(["HGB", "HGB", "HGB", "HGB", "HGB", "ALT"]),
            "ABLFL": s([NA, "Y", NA, NA, NA, "Y"]),
            "ATOXGRL": s(["0", "2", "0", "1", "0", NA]),
            "ATOXGRH": s(["0", "0", "1", "0", "0", "1"]),
            "ATOXGR": s(["0", "-2", "1", "-1", "0", "1"]),
        }
    )
    expected = df.assign(
        BTOXGRL=s(["2", "2", "2", NA, NA, NA]),
        BTOXGRH=s(["0", "0", "0", NA, NA, "1"]),
        BTOXGR=s(["-2", "-2", "-2", NA, NA, "1"]),  # S2 has no baseline
    )
    pd.testing.assert_frame_equal(derive_vars_btoxgr(df), expected)


def test_grading_needs_its_columns():
    with pytest.raises(KeyError, match="derive_vars_atoxgr_dir"):
        derive_vars_atoxgr_dir(pd.DataFrame({"PARAMCD": [], "AVAL": []}))
    with pytest.raises(KeyError, match="derive_var_atoxgr"):
        derive_var_atoxgr(pd.DataFrame({"ATOXGRL": []}))


def test_criteria_table_covers_the_graded_tests_in_their_standard_units():
    """study/ctcae_v5_grades.csv: the six graded tests, grades 1-4, absolute thresholds in the
    parameter's standard unit (study/lab_tests.csv), thresholds ordered with the grade."""
    grades = ctcae_grades()
    assert set(grades["PARAMCD"]) == {"ALT", "AST", "CREAT", "PLAT", "WBC", "HGB"}
    assert set(grades["PARAMCD"]) <= set(adlb_parameters()["PARAMCD"])
    assert grades["GRADE"].between(1, 4).all()
    units = adlb_parameters().set_index("PARAMCD")["PARAM"].str.extract(r"\((?P<unit>[^)]+)\)")["unit"]
    absolute = grades[grades["ADD"] != 0]
    assert (absolute["UNIT"] == absolute["PARAMCD"].map(units)).all()
    assert set(absolute["UNIT"]) <= set(study.lab_tests()["STD_UNIT"])
    high = grades[grades["DIRECTION"] == "HIGH"].sort_values("GRADE")
    for _, g in high.groupby(["PARAMCD", "REFERENCE", "BASELINE"]):
        level = g["FACTOR"] * 100 + g["ADD"]  # with a reference of 100: the order of the thresholds
        assert (level.diff().dropna() > 0).all()
    low = grades[(grades["DIRECTION"] == "LOW") & (grades["REFERENCE"] == "NONE")].sort_values(
        ["PARAMCD", "GRADE"]
    )
    assert (low.groupby("PARAMCD")["ADD"].diff().dropna() < 0).all()
    assert grades["CTCAE_TEXT"].str.len().gt(0).all()


def test_bad_criteria_table_is_refused(monkeypatch):
    table = study.table("ctcae_v5_grades")
    table.loc[0, "OPERATOR"] = "=>"
    monkeypatch.setattr(study, "table", lambda name: table.copy())
    with pytest.raises(ValueError, match="ctcae_v5_grades"):
        ctcae_grades()
