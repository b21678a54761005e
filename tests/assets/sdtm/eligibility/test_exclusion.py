"""Exclusion criteria EX01-EX13 (data part), each called directly on literal forms of one
subject, with the hand-computed answer at every boundary (issue 4, item 7)."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.sdtm.eligibility.exclusion import (
    active_infection_tests,
    derive_ex01_allergy_data,
    derive_ex03_liver_enzymes,
    derive_ex04_pregnancy_data,
    derive_ex05_malignancy,
    derive_ex06_infection,
    derive_ex07_active_infection_serology,
    derive_ex08_ocular,
    derive_ex09_heart_failure,
    derive_ex12_recent_biologic,
    derive_ex13_other_immunosuppressor,
)
from tests.assets.sdtm.eligibility.literal import (
    SEROLOGY,
    dm_row,
    expected,
    form,
    lab,
    prednisone,
    sle_history,
    subjects,
)

NE = "NOT EVALUABLE"
ALT_OK, AST_OK = lab("ALT", "20", "U/L", "40"), lab("AST", "20", "U/L", "40")


def mh(*rows: dict) -> pd.DataFrame:
    return form("MH", [sle_history(), *rows])


def cm(*rows: dict) -> pd.DataFrame:
    return form("CM", [prednisone(), *rows])


# ---------------------------------------------------------------------------------------- EX01


def test_ex01_allergy_from_history():
    allergy = {"MHTERM": "Allergy to hydroxychloroquine", "MHCAT": "ALLERGY_STUDY_DRUG"}
    out = derive_ex01_allergy_data(subjects(), mh(allergy))
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [True], ["ALLERGY_STUDY_DRUG recorded: Allergy to hydroxychloroquine"])
    )
    out = derive_ex01_allergy_data(subjects(), mh())
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], ["no ALLERGY_STUDY_DRUG recorded"]))


# ---------------------------------------------------------------------------------------- EX03


@pytest.mark.parametrize(
    ("alt", "unit", "hi", "flag"),
    [
        ("80", "U/L", "40", True),  # exactly 2 x ULN excludes
        ("79.6", "U/L", "40", False),  # 1.99 x ULN
        ("1.4", "ukat/L", "0.7", True),  # 84 U/L vs 2 x 42 U/L after x 60 (float noise rounded away)
        ("1.393", "ukat/L", "0.7", False),  # 83.58 U/L = 1.99 x ULN
    ],
)
def test_ex03_alt_exactly_2_x_uln_vs_1_99(alt, unit, hi, flag):
    out = derive_ex03_liver_enzymes(subjects(), form("LB", [lab("ALT", alt, unit, hi), AST_OK]))
    assert out["FLAG"].tolist() == [flag], out["REASON"].tolist()


def test_ex03_ast_in_ukat_per_litre():
    ast = lab("AST", "1.2", "ukat/L", "0.6")  # 72 U/L = 2 x 36 U/L
    out = derive_ex03_liver_enzymes(subjects(), form("LB", [ALT_OK, ast]))
    reason = "ALT 20 U/L < 2 x ULN 40 U/L; AST 72 U/L >= 2 x ULN 36 U/L"
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [reason]))


def test_ex03_missing_ast_not_evaluable_unless_alt_high():
    out = derive_ex03_liver_enzymes(subjects(), form("LB", [ALT_OK]))
    reason = f"{NE}: ALT 20 U/L < 2 x ULN 40 U/L; no SCREENING AST"
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [reason]))
    out = derive_ex03_liver_enzymes(subjects(), form("LB", [lab("ALT", "100", "U/L", "40")]))
    reason = "ALT 100 U/L >= 2 x ULN 40 U/L; no SCREENING AST"
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [reason]))


# ---------------------------------------------------------------------------------------- EX04


def test_ex04_positive_hcg_is_present_and_a_man_is_decided_by_the_data():
    woman, man = subjects(), subjects(dm_row(SEX="M"))
    out = derive_ex04_pregnancy_data(woman, form("LB", [lab("HCG", "POSITIVE")]))
    want = expected(woman, [True], ["screening urine HCG POSITIVE"]).assign(DATA_DECIDES=[False])
    pd.testing.assert_frame_equal(out, want)
    out = derive_ex04_pregnancy_data(man, form("LB", [ALT_OK]))
    want = expected(man, [False], ["male: not applicable"]).assign(DATA_DECIDES=[True])
    pd.testing.assert_frame_equal(out, want)
    out = derive_ex04_pregnancy_data(woman, form("LB", [ALT_OK]))
    assert out["FLAG"].isna().all() and out["REASON"].tolist() == [f"{NE}: no screening urine HCG result"]


# ---------------------------------------------------------------------------------------- EX05


def test_ex05_malignancy_five_years_and_exempt():
    cancer = {
        "MHTERM": "Breast cancer",
        "MHCAT": "MALIGNANCY",
        "MHSTDAT": "01-JAN-2019",
        "MHENDAT": "01-MAR-2021",
        "MHONGO": "N",
    }
    what = "ongoing or ended < 1826 days before consent"
    out = derive_ex05_malignancy(subjects(), mh(cancer))  # 1826 days before consent
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], [f"no MALIGNANCY {what}"]))
    out = derive_ex05_malignancy(subjects(), mh({**cancer, "MHENDAT": "02-MAR-2021"}))  # 1825 days
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [f"MALIGNANCY {what}: Breast cancer"]))
    out = derive_ex05_malignancy(
        subjects(), mh({**cancer, "MHENDAT": "02-MAR-2021", "MHCAT": "MALIGNANCY_EXEMPT"})
    )
    assert out["FLAG"].tolist() == [False]


# ---------------------------------------------------------------------------------------- EX06


def test_ex06_serious_infection_ended_90_days_before_consent():
    sepsis = {
        "MHTERM": "Sepsis",
        "MHCAT": "INFECTION_SERIOUS",
        "MHSTDAT": "01-NOV-2025",
        "MHENDAT": "01-DEC-2025",
        "MHONGO": "N",
    }
    out = derive_ex06_infection(subjects(), mh(sepsis))
    reason = (
        "INFECTION_SERIOUS ongoing or ended <= 90 days before consent: Sepsis; no INFECTION_CHRONIC recorded"
    )
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [reason]))
    out = derive_ex06_infection(subjects(), mh({**sepsis, "MHENDAT": "30-NOV-2025"}))  # 91 days
    assert out["FLAG"].tolist() == [False]


# ---------------------------------------------------------------------------------------- EX07


def test_ex07_serology_is_the_five_tests_of_the_protocol_in_order():
    assert active_infection_tests() == SEROLOGY


def test_ex07_positive_serology_and_missing_test():
    negative = [lab(t, "NEGATIVE") for t in SEROLOGY]
    out = derive_ex07_active_infection_serology(subjects(), form("LB", negative))
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], ["screening serology all NEGATIVE"]))
    out = derive_ex07_active_infection_serology(
        subjects(), form("LB", [*negative[:-1], lab("TBIGRA", "POSITIVE")])
    )
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], ["screening serology POSITIVE: TBIGRA"]))
    out = derive_ex07_active_infection_serology(subjects(), form("LB", negative[:-1]))
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [None], [f"{NE}: no screening result for TBIGRA"])
    )


# ------------------------------------------------------------------------------ EX08, EX09, EX13


def test_ex08_ocular_history_whatever_its_dates():
    cataract = {
        "MHTERM": "Cataract",
        "MHCAT": "OCULAR",
        "MHSTDAT": "UN-UNK-2010",
        "MHONGO": "N",
        "MHENDAT": "UN-UNK-2011",
    }
    out = derive_ex08_ocular(subjects(), mh(cataract))
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], ["OCULAR history: Cataract"]))


def test_ex09_heart_failure_nyha_ii_absent_and_no_grade_not_evaluable():
    hf = {"MHTERM": "Heart failure", "MHCAT": "HEART_FAILURE", "MHSTDAT": "UN-UNK-2020", "MHONGO": "Y"}
    what = "NYHA III/IV ongoing at consent"
    out = derive_ex09_heart_failure(subjects(), mh({**hf, "MHNYHA": "II"}))
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], [f"no HEART_FAILURE {what}"]))
    out = derive_ex09_heart_failure(subjects(), mh({**hf, "MHNYHA": "III"}))
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [f"HEART_FAILURE {what}: Heart failure"]))
    out = derive_ex09_heart_failure(subjects(), mh(hf))
    reason = f"{NE}: HEART_FAILURE dates or grade cannot decide ({what}): Heart failure"
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [reason]))


def test_ex13_other_immunosuppressor_ongoing():
    aza = {"CMTRT": "Aza", "CMDECOD": "AZATHIOPRINE", "CMSTDAT": "01-JAN-2026", "CMONGO": "Y"}
    out = derive_ex13_other_immunosuppressor(subjects(), cm(aza))
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [True], ["immunosuppressor ongoing at consent: AZATHIOPRINE"])
    )
    out = derive_ex13_other_immunosuppressor(subjects(), cm())
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [False], ["no immunosuppressor ongoing at consent"])
    )


# ---------------------------------------------------------------------------------------- EX12


def rituximab(start: str, end: str) -> dict:
    return {"CMTRT": "Rituximab", "CMDECOD": "RITUXIMAB", "CMSTDAT": start, "CMENDAT": end, "CMONGO": "N"}


@pytest.mark.parametrize(
    ("end", "flag"), [("31-AUG-2025", True), ("29-AUG-2025", False), ("30-AUG-2025", False)]
)
def test_ex12_rituximab_ended_182_vs_184_days_before_consent(end, flag):
    # 01-MAR-2026 - 31-AUG-2025 = 182 days (< 183: excluded); 30-AUG = 183; 29-AUG = 184 days.
    out = derive_ex12_recent_biologic(subjects(), cm(rituximab("01-JUN-2025", end)))
    assert out["FLAG"].tolist() == [flag]


def test_ex12_partial_end_date_that_cannot_decide_is_not_evaluable():
    what = "ongoing or ended < 183 days before consent"
    out = derive_ex12_recent_biologic(subjects(), cm(rituximab("UN-JUN-2025", "UN-AUG-2025")))
    reason = f"{NE}: biologic dates cannot decide ({what}): RITUXIMAB"
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [reason]))
    # at the latest 31-JUL-2025: 213 days
    out = derive_ex12_recent_biologic(subjects(), cm(rituximab("UN-JUN-2025", "UN-JUL-2025")))
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], [f"no biologic {what}"]))
