"""ADEFF standard BDS variables (issue 16, item 3): PCHG, PARCAT1, ASEQ and the ADSL covariates,
each rule on a literal frame with the whole expected output (admiral style)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.adam.adeff import (
    ADSL_OPTIONAL_VARS,
    ADSL_VARS,
    adeff_parameters,
    derive_adeff,
    derive_var_aseq,
    derive_var_parcat1,
    derive_var_pchg,
    derive_vars_adsl_covariates,
)
from assets.adam.common import finalize
from study import spec
from tests.assets.adam import literal as L
from tests.assets.adam.test_adeff_not_yet_due import adsl, plain, rs

NA = pd.NA


def test_pchg_is_percent_of_baseline_and_missing_at_base_zero():
    bds = pd.DataFrame(
        {
            "PARAMCD": ["SLEDAI", "SLEDAI", "SLEDAI", "PGA", "PGA", "SLEDAI", "SRI4"],
            "BASE": [10.0, 10.0, 10.0, 1.5, 0.0, 0.0, np.nan],
            "CHG": [-4.0, np.nan, 0.0, -0.5, 0.0, 4.0, np.nan],
        }
    )
    got = derive_var_pchg(bds)
    want = bds.assign(PCHG=pd.array([-40.0, NA, 0.0, -33.333333, NA, NA, NA], dtype="Float64"))
    pd.testing.assert_frame_equal(got, want)
    assert not np.isinf(got["PCHG"].astype("float64")).any()


def test_pchg_needs_base_and_chg():
    with pytest.raises(KeyError, match="derive_var_pchg.*BASE"):
        derive_var_pchg(pd.DataFrame({"CHG": [1.0]}))


def test_parcat1_from_the_parameter_table():
    df = pd.DataFrame({"PARAMCD": ["SRI4", "SLEDAI", "PGA", "OTHER"]})
    want = df.assign(
        PARCAT1=pd.Series(["RESPONSE", "DISEASE ACTIVITY", "DISEASE ACTIVITY", NA], dtype="string")
    )
    pd.testing.assert_frame_equal(derive_var_parcat1(df), want)


def test_adeff_parameters_table():
    p = adeff_parameters()
    want = pd.DataFrame(
        {
            "PARAMCD": ["SLEDAI", "PGA", "SRI4"],
            "PARAMN": [1, 2, 3],
            "PARAM": [
                "SLEDAI-2K Total Score",
                "Physician's Global Assessment (0-3)",
                "SLE Responder Index 4 (SRI-4) Response",
            ],
            "PARCAT1": ["DISEASE ACTIVITY", "DISEASE ACTIVITY", "RESPONSE"],
            "RSCAT": ["SLEDAI-2K", "PGA", ""],
            "RSTESTCD": ["SLEDTOT", "PGA", ""],
        }
    )
    pd.testing.assert_frame_equal(p, want, check_dtype=False)
    assert p["PARAMN"].dtype == np.int64


def test_aseq_numbers_each_subjects_records_in_key_order():
    df = pd.DataFrame(
        {
            "USUBJID": ["B", "A", "A", "B", "A", "A"],
            "PARAMN": [1, 3, 1, 1, 1, 1],
            "AVISITN": [2.0, 4.0, 99.0, 1.0, 2.0, 1.0],
            "ADT": pd.to_datetime(
                ["2026-01-10", "2026-02-07", "2026-01-09", "2026-01-02", "2026-01-10", None]
            ),
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    got = derive_var_aseq(df)
    # A: (1,1) (1,2) (1,99 unscheduled baseline) (3,4); B: (1,1) (1,2)
    want = df.assign(ASEQ=pd.array([2, 4, 3, 1, 2, 1], dtype="Int64"))
    pd.testing.assert_frame_equal(got, want)


def test_aseq_ties_broken_by_date_missing_last():
    df = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A"],
            "PARAMN": [1, 1, 1],
            "AVISITN": [5.0, 5.0, 5.0],
            "ADT": pd.to_datetime([None, "2026-03-02", "2026-03-01"]),
        }
    )
    assert derive_var_aseq(df)["ASEQ"].tolist() == [3, 2, 1]


def test_adsl_covariates_merged_unchanged_with_stratum_when_adsl_has_it():
    a = adsl(1, 2).assign(
        STRAT1R=["SLEDAI>=10", "SLEDAI<10"], AGE=[33.0, 61.0], SEX=["F", "M"], EXTRA=["x", "y"]
    )
    records = pd.DataFrame(
        {"USUBJID": [L.usubjid(2), L.usubjid(1), L.usubjid(2), "UNKNOWN"], "AVAL": [1.0, 2, 3, 4]}
    )
    got = derive_vars_adsl_covariates(records, a)
    cols = [c for c in [*ADSL_VARS, *ADSL_OPTIONAL_VARS] if c != "USUBJID"]
    rows = [1, 0, 1]
    want = records.copy()
    for c in cols:
        want[c] = list(a[c].iloc[rows]) + [None]
    assert list(got.columns) == ["USUBJID", "AVAL", *cols]  # EXTRA (not an ADEFF covariate) not taken
    pd.testing.assert_frame_equal(plain(got), plain(want))


def test_adsl_covariates_stratum_missing_when_adsl_lacks_it():
    got = derive_vars_adsl_covariates(pd.DataFrame({"USUBJID": [L.usubjid(1)]}), adsl(1))
    assert "STRAT1R" in got.columns and got["STRAT1R"].isna().all()
    with pytest.raises(KeyError, match="merge_adsl"):
        derive_vars_adsl_covariates(pd.DataFrame({"USUBJID": [L.usubjid(1)]}), adsl(1).drop(columns="AGE"))


def test_every_adeff_column_is_a_spec_variable_with_label_type_origin_method():
    out = derive_adeff(adsl(1).assign(STRAT1R="SLEDAI>=10"), rs(), {"101": "20260415T020000Z"})
    final = finalize(out, "ADEFF")
    v = spec.variables("adam", "ADEFF")
    assert list(final.columns) == v["VARIABLE"].tolist()
    new = ["AGE", "AGEU", "SEX", "RACE", "ETHNIC", "STRAT1R", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN"]
    new += ["TRTEDT", "DCUTDTC", "ASEQ", "PARCAT1", "PCHG"]
    rows = v.set_index("VARIABLE").loc[new]
    assert (rows["LABEL"] != "").all() and (rows["TYPE"].isin(["Char", "Num"])).all()
    assert (rows["ORIGIN"] != "").all()
    assert (rows.loc[rows["ORIGIN"] == "Derived", "METHOD"] != "").all()
    assert final["STRAT1R"].unique().tolist() == ["SLEDAI>=10"]
    # ASEQ is the record number of the subject in file order
    assert final["ASEQ"].tolist() == list(range(1, len(final) + 1))
