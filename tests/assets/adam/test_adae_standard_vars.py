"""ADAE standard variables of issue 16 (ADaMIG 1.3 OCCDS, pharmaverse/admiral ADAE template): each
derive_* function on a literal frame against its whole expected output."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.adam.adae import (
    MEDDRA,
    SERIOUSNESS,
    derive_adae,
    derive_var_aoccifl,
    derive_var_aoccpfl,
    derive_var_aoccsifl,
    derive_var_asevn,
    derive_vars_duration,
)
from assets.adam.common import derive_var_extreme_flag, finalize
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L

U1, U2 = L.usubjid(1), L.usubjid(2)


def text(values) -> pd.Series:
    return pd.Series(values, dtype="string")


def dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")


def test_asevn_ranks_severity_by_the_study_value_set():
    adae = pd.DataFrame({"ASEV": text(["MILD", "MODERATE", "SEVERE", None, "FATAL"])})
    expected = adae.assign(ASEVN=pd.array([1, 2, 3, None, None], dtype="Int64"))
    pd.testing.assert_frame_equal(derive_var_asevn(adae), expected)


def test_duration_in_days_counts_both_ends():
    adae = pd.DataFrame(
        {
            "ASTDT": dates(["2026-01-10", "2026-01-10", "2026-01-10", "2026-01-10", None]),
            "AENDT": dates(["2026-01-10", "2026-01-19", None, "2026-01-09", "2026-01-19"]),
        }
    )
    expected = adae.assign(
        # same day 1; ten days; ongoing; end before start (a data query); no start
        ADURN=pd.array([1, 10, None, None, None], dtype="Int64"),
        ADURU=text(["DAYS", "DAYS", None, None, None]),
    )
    pd.testing.assert_frame_equal(derive_vars_duration(adae), expected)


def occurrences() -> pd.DataFrame:
    """Subject 1: two headaches (the later one severe), a moderate and a mild rash on one day, an event
    before treatment (not emergent) and one not yet coded; subject 2: one mild headache."""
    return pd.DataFrame(
        {
            "USUBJID": [U1] * 6 + [U2],
            "AESEQ": [1, 2, 3, 4, 5, 6, 1],
            "AEBODSYS": text(["NERVOUS", "NERVOUS", "SKIN", "SKIN", "SKIN", None, "NERVOUS"]),
            "AEDECOD": text(["HEADACHE", "HEADACHE", "RASH", "RASH", "RASH", None, "HEADACHE"]),
            "ASEVN": pd.array([1, 3, 2, 1, 3, 1, 1], dtype="Int64"),
            "ASTDT": dates(
                [
                    "2026-01-12",
                    "2026-02-01",
                    "2026-01-20",
                    "2026-01-20",
                    "2026-01-05",
                    "2026-01-15",
                    "2026-01-11",
                ]
            ),
            "TRTEMFL": text(["Y", "Y", "Y", "Y", None, "Y", "Y"]),
        }
    )


def test_aoccifl_first_most_severe_emergent_event_per_subject():
    adae = occurrences()
    # subject 1: the severe headache (AESEQ 2; the severe rash AESEQ 5 is before treatment)
    expected = adae.assign(AOCCIFL=text([None, "Y", None, None, None, None, "Y"]))
    pd.testing.assert_frame_equal(derive_var_aoccifl(adae), expected)


def test_aoccpfl_first_emergent_occurrence_of_each_preferred_term():
    adae = occurrences()
    # earliest headache AESEQ 1; rashes AESEQ 3 and 4 on one day: the lower AESEQ; the uncoded
    # event is its own group
    expected = adae.assign(AOCCPFL=text(["Y", None, "Y", None, None, "Y", "Y"]))
    pd.testing.assert_frame_equal(derive_var_aoccpfl(adae), expected)


def test_aoccsifl_first_most_severe_emergent_event_per_soc():
    adae = occurrences()
    # NERVOUS: severe headache AESEQ 2; SKIN: the moderate rash AESEQ 3 (the severe one is not
    # emergent); the uncoded SOC is its own group
    expected = adae.assign(AOCCSIFL=text([None, "Y", "Y", None, None, "Y", "Y"]))
    pd.testing.assert_frame_equal(derive_var_aoccsifl(adae), expected)


def test_extreme_flag_last_mode_and_missing_order_values_sort_last():
    df = pd.DataFrame({"G": ["a", "a", "a", "b"], "X": pd.array([2, None, 1, 5], dtype="Int64")})
    first = derive_var_extreme_flag(df, ["G"], [("X", True)], "FL")
    pd.testing.assert_frame_equal(first, df.assign(FL=text([None, None, "Y", "Y"])))
    last = derive_var_extreme_flag(df, ["G"], [("X", False)], "FL", mode="last")
    pd.testing.assert_frame_equal(last, df.assign(FL=text([None, "Y", None, "Y"])))
    with pytest.raises(ValueError, match="mode"):
        derive_var_extreme_flag(df, ["G"], [("X", True)], "FL", mode="middle")


def adsl() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [U1],
            "STUDYID": L.STUDYID,
            "SUBJID": "101-0001",
            "SITEID": "101",
            "TRT01P": text(["BLINDED"]),
            "TRT01PN": pd.array([None], dtype="Float64"),
            "TRT01A": text(["BLINDED"]),
            "TRT01AN": pd.array([None], dtype="Float64"),
            "SAFFL": "Y",
            "AGE": 40,
            "SEX": "F",
            "RACE": "ASIAN",
            "TRTSDT": dates(["2026-01-10"]),
            "TRTEDT": dates(["2026-03-20"]),
        }
    )


def ae_records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [U1, U1],
            "AESEQ": [1, 2],
            "AETERM": ["Headache", "Pneumonia"],
            "AESTDTC": ["2026-01-12", "2026-02"],
            "AEENDTC": ["2026-01-13", None],
            "AESEV": ["MILD", "SEVERE"],
            "AESER": ["N", "Y"],
            "AEREL": ["POSSIBLE", "NOT RELATED"],
        }
    ).assign(**L.AE_CODING)


def test_adae_carries_sdtm_coding_seriousness_and_adsl_covariates():
    ae = ae_records()
    ae.loc[1, ["AEDECOD", "AELLT", "AEBODSYS", "AESOC"]] = [
        "PNEUMONIA",
        "PNEUMONIA",
        "INFECTIONS AND INFESTATIONS",
        "INFECTIONS AND INFESTATIONS",
    ]
    ae.loc[1, ["AESHOSP", "AEOUT"]] = ["Y", "RECOVERING/RESOLVING"]
    out = derive_adae(ae.assign(AEDECOD=ae["AEDECOD"].fillna("HEADACHE")), adsl())
    got = out[["AESEQ", *MEDDRA, *SERIOUSNESS, "AEACN", "AEOUT", "TRT01A", "AGE", "SEX", "RACE", "SAFFL"]]
    expected_coding = pd.DataFrame(
        {
            "AESEQ": [1, 2],
            **{c: [L.AE_CODING[c]] * 2 for c in MEDDRA if c != "AEDECOD"},
            "AEDECOD": ["HEADACHE", "PNEUMONIA"],
        }
    )
    expected_coding.loc[1, ["AELLT", "AEBODSYS", "AESOC"]] = [
        "PNEUMONIA",
        "INFECTIONS AND INFESTATIONS",
        "INFECTIONS AND INFESTATIONS",
    ]
    expected = expected_coding[["AESEQ", *MEDDRA]].assign(
        **{c: "N" for c in SERIOUSNESS},
        AEACN="DOSE NOT CHANGED",
        AEOUT=["RECOVERED/RESOLVED", "RECOVERING/RESOLVING"],
        TRT01A=text(["BLINDED", "BLINDED"]),
        AGE=40,
        SEX="F",
        RACE="ASIAN",
        SAFFL="Y",
    )
    expected.loc[1, "AESHOSP"] = "Y"
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    derived = out[["ASTDT", "ASTDTF", "ADURN", "ADURU", "TRTEMFL", "ASEVN", "AOCCIFL", "AOCCPFL", "AOCCSIFL"]]
    expected_derived = pd.DataFrame(
        {
            "ASTDT": dates(["2026-01-12", "2026-02-01"]),
            "ASTDTF": text([None, "D"]),
            "ADURN": pd.array([2, None], dtype="Int64"),
            "ADURU": text(["DAYS", None]),
            "TRTEMFL": text(["Y", "Y"]),
            "ASEVN": pd.array([1, 3], dtype="Int64"),
            "AOCCIFL": text([None, "Y"]),
            "AOCCPFL": text(["Y", "Y"]),
            "AOCCSIFL": text(["Y", "Y"]),
        }
    )
    pd.testing.assert_frame_equal(derived.reset_index(drop=True), expected_derived, check_dtype=False)
    written = finalize(out, "ADAE")
    assert conformance_failures(written, "ADAE", blinded=True).empty
    assert str(written["AEPTCD"].dtype) == "Int64"


def test_adae_requires_the_contract_v2_ae_columns():
    with pytest.raises(KeyError, match="AESMIE"):
        derive_adae(ae_records().drop(columns="AESMIE"), adsl())
