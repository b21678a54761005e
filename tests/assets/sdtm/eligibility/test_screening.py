"""Screened subjects and their last screening values; the values the protocol-limit schema checks."""

from __future__ import annotations

import pandas as pd

from assets.sdtm.eligibility.screening import derive_screening_values, screening_weight
from tests.assets.sdtm.eligibility.literal import all_forms, eligible_subject, form, lab, subjects, weight


def test_screening_values_for_the_protocol_schema():
    raw = eligible_subject()
    raw["LB"][0] = lab("ALT", "1.4", "ukat/L", "0.7")
    vals = derive_screening_values(all_forms(raw))
    expected = pd.DataFrame(
        {
            "USUBJID": pd.array(["LDIL2SLE-101-0001"], dtype="string"),
            "SUBJID": pd.array(["101-0001"], dtype="string"),
            "SITEID": pd.array(["101"], dtype="string"),
            "AGE": pd.array([45.0], dtype="Float64"),
            "WEIGHT": pd.array([60.0], dtype="Float64"),
            "ALT_XULN": pd.array([2.0], dtype="Float64"),
            "AST_XULN": pd.array([0.5], dtype="Float64"),
            "SLEDAI": pd.array([10.0], dtype="Float64"),
        }
    )
    pd.testing.assert_frame_equal(vals, expected)


def test_screening_weight_is_the_last_screening_weight_in_kg():
    vs = form(
        "VS",
        [
            weight("81", date="03-MAR-2026"),
            weight("176.4", "LB", date="06-MAR-2026"),
            weight("50", date="20-MAR-2026", visit="DAY 1"),
        ],
    )
    assert screening_weight(subjects(), vs).round(4).tolist() == [80.0137]
