"""Inclusion criteria IN02-IN06, each called directly on literal forms of one subject, with the
hand-computed answer at every boundary (issue 4, item 7)."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.sdtm.eligibility.inclusion import (
    derive_in02_sledai_at_least_minimum,
    derive_in03_age_and_weight,
    derive_in04_standard_treatment,
    derive_in05_negative_pregnancy_test,
    derive_in06_informed_consent,
)
from tests.assets.sdtm.eligibility.literal import (
    dm_row,
    expected,
    form,
    lab,
    prednisone,
    sledai_row,
    subjects,
    weight,
)

NE = "NOT EVALUABLE"


# ---------------------------------------------------------------------------------------- IN02


def in02(rows: list[dict]) -> pd.DataFrame:
    return derive_in02_sledai_at_least_minimum(subjects(), form("SLEDAI", rows))


@pytest.mark.parametrize(
    ("yes", "flag", "reason"),
    [
        (["ARTHRITIS", "RASH", "ALOPECIA"], True, "screening SLEDAI-2K 8 >= 8"),
        (["ARTHRITIS", "RASH", "FEVER"], False, "screening SLEDAI-2K 7 < 8"),
    ],
)
def test_in02_sledai_exactly_8_meets_and_7_does_not(yes, flag, reason):
    out = in02([sledai_row("SCREENING", "05-MAR-2026", yes)])
    pd.testing.assert_frame_equal(out, expected(subjects(), [flag], [reason]))


def test_in02_uses_recomputed_total_not_site_total_and_missing_item_is_not_evaluable():
    out = in02([sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS", "RASH", "FEVER"], SLTOTAL="8")])
    assert out["FLAG"].tolist() == [False]
    out = in02([sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS", "RASH", "ALOPECIA"], FEVER=None)])
    expect = f"{NE}: SCREENING SLEDAI-2K total missing (an item not answered)"
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [expect]))


def test_in02_without_screening_assessment_is_not_evaluable():
    out = in02([sledai_row("DAY 1", "20-MAR-2026", ["ARTHRITIS", "RASH", "ALOPECIA"])])
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [None], [f"{NE}: no SCREENING SLEDAI-2K assessment"])
    )


# ---------------------------------------------------------------------------------------- IN03


def in03(vs_rows: list[dict], **dm: str) -> pd.DataFrame:
    return derive_in03_age_and_weight(subjects(dm_row(**dm)), form("VS", vs_rows))


@pytest.mark.parametrize(
    ("value", "unit", "flag"),
    [
        ("45.0", "kg", True),
        ("44.9", "kg", False),
        ("80.0", "kg", True),
        ("80.1", "kg", False),
        ("176.4", "LB", False),  # 176.4 x 0.45359237 = 80.0137 kg: just above 80
        ("176.3", "LB", True),  # 79.9683 kg
        ("176.369809", "LB", True),  # 79.99999999 kg: rounds to 80.000000 at 6 decimals
    ],
)
def test_in03_weight_bounds_inclusive_and_pounds_converted(value, unit, flag):
    out = in03([weight(value, unit)])
    assert out["FLAG"].tolist() == [flag], out["REASON"].tolist()


def test_in03_reason_names_the_weight_and_the_limit():
    out = in03([weight("82.0")])
    pd.testing.assert_frame_equal(
        out, expected(subjects(), [False], ["age 45; screening weight 82 kg > 80 kg"])
    )


def test_in03_last_screening_weight_counts():
    out = in03([weight("81", date="03-MAR-2026"), weight("79", date="06-MAR-2026")])
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], ["age 45; screening weight 79 kg"]))


@pytest.mark.parametrize(
    ("birth", "flag"),
    [
        ("UN-APR-1950", True),  # imputed 15-APR-1950: 75 at 01-MAR-2026
        ("UN-FEB-1950", False),  # imputed 15-FEB-1950: 76
        ("UN-MAR-1950", True),  # imputed 15-MAR-1950: 75 (birthday not yet reached on 1 March)
        ("02-MAR-2008", False),  # 17 the day before the 18th birthday
        ("01-MAR-2008", True),  # 18 on the day
    ],
)
def test_in03_age_at_consent_with_day_unknown_birth_date(birth, flag):
    assert in03([weight()], BRTHDAT=birth)["FLAG"].tolist() == [flag]


def test_in03_missing_weight_is_not_evaluable_but_age_77_is_not_met():
    subj = subjects()
    pd.testing.assert_frame_equal(in03([]), expected(subj, [None], [f"{NE}: age 45; no SCREENING weight"]))
    # a known failure beats an unknown part
    out = in03([], BRTHDAT="01-JAN-1949")
    pd.testing.assert_frame_equal(out, expected(subj, [False], ["age 77 > 75; no SCREENING weight"]))


# ---------------------------------------------------------------------------------------- IN04


def in04(cm_rows: list[dict], vs_rows: list[dict] | None = None) -> pd.DataFrame:
    vs = form("VS", [weight()] if vs_rows is None else vs_rows)
    return derive_in04_standard_treatment(subjects(), form("CM", cm_rows), vs)


def test_in04_prednisone_20_mg_for_14_months_is_met():
    out = in04([prednisone()])
    reason = (
        "standard therapy >= 90 days and ongoing at consent: PREDNISONE; "
        "prednisone-equivalent 0.333333 mg/kg/day <= 1 mg/kg"
    )
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [reason]))


@pytest.mark.parametrize(
    ("dose", "unit", "freq", "drug", "flag"),
    [
        ("60", "mg", "QD", "PREDNISONE", True),  # 60 mg / 60 kg = 1.0 mg/kg: limit inclusive
        ("61", "mg", "QD", "PREDNISONE", False),
        ("30", "mg", "BID", "PREDNISONE", True),  # 60 mg/day
        ("48", "mg", "QD", "METHYLPREDNISOLONE", True),  # 48 x 1.25 = 60 mg prednisone
        ("49", "mg", "QD", "METHYLPREDNISOLONE", False),  # 61.25
        ("1.0", "mg/kg", "QD", "PREDNISONE", True),  # 1.0 mg/kg x 60 kg
        ("0.06", "g", "QD", "PREDNISONE", True),  # 60 mg
    ],
)
def test_in04_prednisone_equivalent_dose_exactly_1_mg_per_kg_vs_above(dose, unit, freq, drug, flag):
    out = in04([prednisone(CMDECOD=drug, CMDOSE=dose, CMDOSU=unit, CMDOSFRQ=freq)])
    assert out["FLAG"].tolist() == [flag], out["REASON"].tolist()


def test_in04_standard_therapy_90_days_before_consent():
    hcq = {"CMTRT": "HCQ", "CMDECOD": "HYDROXYCHLOROQUINE", "CMSTDAT": "01-DEC-2025", "CMONGO": "Y"}
    no_cortico = "no corticosteroid ongoing at consent"
    out = in04([hcq])  # 90 days before 01-MAR-2026
    reason = f"standard therapy >= 90 days and ongoing at consent: HYDROXYCHLOROQUINE; {no_cortico}"
    pd.testing.assert_frame_equal(out, expected(subjects(), [True], [reason]))
    out = in04([{**hcq, "CMSTDAT": "02-DEC-2025"}])  # 89 days
    reason = f"no standard therapy started >= 90 days before consent and ongoing at consent; {no_cortico}"
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], [reason]))
    out = in04([{**hcq, "CMSTDAT": "UN-DEC-2025"}])  # 1 to 31 December: cannot decide
    reason = f"{NE}: standard therapy dates cannot decide >= 90 days / ongoing at consent; {no_cortico}"
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [reason]))
    # stopped the day before consent
    out = in04([{**hcq, "CMSTDAT": "01-JAN-2025", "CMONGO": "N", "CMENDAT": "28-FEB-2026"}])
    assert out["FLAG"].tolist() == [False]


def test_in04_corticosteroid_without_frequency_is_not_evaluable():
    out = in04([prednisone(CMDOSFRQ=None)])
    assert out["FLAG"].isna().all()
    assert out["REASON"].iloc[0].startswith(f"{NE}: standard therapy >= 90 days and ongoing at consent")


def test_in04_dose_per_kg_needs_the_screening_weight():
    out = in04([prednisone()], vs_rows=[])
    assert out["FLAG"].isna().all()
    assert out["REASON"].iloc[0].startswith(f"{NE}: standard therapy >= 90 days and ongoing at consent")


# ---------------------------------------------------------------------------------------- IN05


def test_in05_positive_hcg_is_not_met():
    out = derive_in05_negative_pregnancy_test(subjects(), form("LB", [lab("HCG", "POSITIVE")]))
    pd.testing.assert_frame_equal(out, expected(subjects(), [False], ["screening urine HCG POSITIVE"]))


def test_in05_male_met_female_without_test_not_evaluable():
    no_hcg = form("LB", [lab("ALT", "20", "U/L", "40")])
    woman, man, unknown = subjects(), subjects(dm_row(SEX="M")), subjects(dm_row(SEX=None))
    out = derive_in05_negative_pregnancy_test(woman, no_hcg)
    pd.testing.assert_frame_equal(out, expected(woman, [None], [f"{NE}: no screening urine HCG result"]))
    out = derive_in05_negative_pregnancy_test(man, no_hcg)
    pd.testing.assert_frame_equal(out, expected(man, [True], ["male: not applicable"]))
    out = derive_in05_negative_pregnancy_test(unknown, no_hcg)
    pd.testing.assert_frame_equal(out, expected(unknown, [None], [f"{NE}: sex missing"]))


# ---------------------------------------------------------------------------------------- IN06


def test_in06_consent_after_a_screening_assessment():
    forms = {"VS": form("VS", [weight()]), "LB": form("LB", [lab("HCG", "NEGATIVE")])}
    same_day = subjects(dm_row(ICDAT="05-MAR-2026"))  # same day is on or before
    out = derive_in06_informed_consent(same_day, forms)
    pd.testing.assert_frame_equal(
        out, expected(same_day, [True], ["consent 2026-03-05 on or before every SCREENING date"])
    )
    late = subjects(dm_row(ICDAT="06-MAR-2026"))
    out = derive_in06_informed_consent(late, {"VS": forms["VS"]})
    pd.testing.assert_frame_equal(
        out, expected(late, [False], ["consent 2026-03-06 after SCREENING VS dated 2026-03-05"])
    )


def test_in06_without_consent_date_or_screening_record():
    no_ic = subjects(dm_row(ICDAT=None))
    out = derive_in06_informed_consent(no_ic, {})
    pd.testing.assert_frame_equal(out, expected(no_ic, [False], ["informed consent date missing"]))
    out = derive_in06_informed_consent(subjects(), {})
    pd.testing.assert_frame_equal(out, expected(subjects(), [None], [f"{NE}: no dated SCREENING record"]))
