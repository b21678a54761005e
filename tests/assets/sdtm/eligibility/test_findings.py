"""Eligibility findings and the protocol-deviation listing on literal eligibility frames."""

from __future__ import annotations

import pandas as pd

from assets.sdtm.eligibility.assembly import ELIGIBILITY_COLUMNS
from assets.sdtm.eligibility.findings import (
    DEVIATION_COLUMNS,
    derive_disagreement_findings,
    derive_protocol_deviations,
    derive_randomized_ineligible_findings,
    protocol_limit_findings,
)
from tests.assets.sdtm.eligibility.literal import SUBJ, USUBJID, harmonized

WEIGHT_REASON = "age 45; screening weight 82 kg > 80 kg"


def eligibility() -> pd.DataFrame:
    """IN02 met (answer Y), IN03 not met (answer Y: the investigator disagrees)."""
    df = pd.DataFrame(
        {
            "USUBJID": [USUBJID, USUBJID],
            "SUBJID": [SUBJ, SUBJ],
            "SITEID": ["101", "101"],
            "IETESTCD": ["IN02", "IN03"],
            "IECAT": ["INCLUSION", "INCLUSION"],
            "IETEST": ["SLE disease activity index (SLEDAI) >= 8", "Age 18 to 75 years, weight 45-80 kg"],
            "RESULT": ["MET", "NOT MET"],
            "COUNTS_AGAINST": [False, True],
            "INV_ANSWER": ["Y", "Y"],
            "AGREES": pd.array([True, False], dtype="boolean"),
            "REASON": ["screening SLEDAI-2K 10 >= 8", WEIGHT_REASON],
            "SOURCE": ["DERIVED", "DERIVED"],
            "ICDTC": ["2026-03-01", "2026-03-01"],
        }
    )
    return df.astype({c: "string" for c in ELIGIBILITY_COLUMNS if c not in ("COUNTS_AGAINST", "AGREES")})


def rand() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [USUBJID],
            "SUBJID": [SUBJ],
            "SITEID": ["101"],
            "RANDNO": ["R0001"],
            "RANDDTC": ["2026-03-20"],
            "SRC_EXPORT": ["x"],
            "SRC_FILE": ["iwrs/x/RAND.csv"],
            "SRC_LINE": [2],
        }
    ).astype({"SRC_LINE": "Int64"})


def test_protocol_deviation_and_finding_for_randomized_ineligible_subject():
    dev = derive_protocol_deviations(eligibility(), rand())
    expected = pd.DataFrame(
        [[USUBJID, SUBJ, "101", "R0001", "2026-03-20", "IN03", "INCLUSION",
          "Age 18 to 75 years, weight 45-80 kg", "NOT MET", "Y", WEIGHT_REASON]],
        columns=DEVIATION_COLUMNS,
    ).astype("string")  # fmt: skip
    pd.testing.assert_frame_equal(dev, expected)
    f = derive_randomized_ineligible_findings(dev, rand())
    assert f["KIND"].tolist() == ["RANDOMIZED_INELIGIBLE"] and f["VALUE"].tolist() == ["IN03"]
    assert f["MESSAGE"].tolist() == [f"randomized while ineligible: IN03 ({WEIGHT_REASON})"]
    assert f[["RECID", "SRC_FILE", "SRC_LINE"]].values.tolist() == [["R0001", "iwrs/x/RAND.csv", 2]]
    assert derive_protocol_deviations(eligibility(), rand().iloc[0:0]).empty
    assert derive_randomized_ineligible_findings(dev.iloc[0:0], rand()).empty


def test_disagreement_finding_carries_the_ie_row_lineage():
    ie = harmonized("IE", [{"IETESTCD": "IN02", "IEORRES": "Y"}, {"IETESTCD": "IN03", "IEORRES": "Y"}])
    f = derive_disagreement_findings(eligibility(), ie)
    assert f[["RULE", "RECID", "COLUMN", "VALUE", "SRC_LINE"]].values.tolist() == [
        ["IN03:investigator_agrees_with_data", "IE002", "IEORRES", "Y", 3]
    ]
    assert f["MESSAGE"].tolist() == [f"IN03: investigator answered Y, data say NOT MET ({WEIGHT_REASON})"]
    assert derive_disagreement_findings(eligibility(), None)["RECID"].isna().all()


def test_protocol_limit_findings_name_the_rule():
    failures = pd.DataFrame(
        {
            "USUBJID": [USUBJID],
            "SUBJID": [SUBJ],
            "SITEID": ["101"],
            "IETESTCD": ["IN03"],
            "COLUMN": ["WEIGHT"],
            "RULE": ["IN03:weight_within_limits"],
            "VALUE": ["82.0"],
        }
    ).astype("string")
    f = protocol_limit_findings(failures)
    assert f[["KIND", "FORM", "VISIT", "COLUMN", "RULE", "VALUE"]].values.tolist() == [
        ["PROTOCOL_LIMIT", "IN03", "SCREENING", "WEIGHT", "IN03:weight_within_limits", "82.0"]
    ]
    assert f["MESSAGE"].tolist() == [
        "IN03: screening WEIGHT 82.0 outside the protocol limit (IN03:weight_within_limits)"
    ]
    assert protocol_limit_findings(failures.iloc[0:0]).empty
