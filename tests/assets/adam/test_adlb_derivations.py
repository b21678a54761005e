"""ADLB derivations one by one (issue 16, item 3), each on a literal frame with its whole expected
output: censored results (AVAL, DTYPE), ANRIND decided on what a result says, R2A1HI, BASETYPE,
PCHG, ONTRTFL, ANL01FL (nearest to the visit's target day, then latest), and derive_adlb end to end
with PARCAT1 and the SDTM traceability copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.adam.adlb import (
    adlb_parameters,
    derive_adlb,
    derive_var_anl01fl_nearest,
    derive_var_anrind,
    derive_var_basetype,
    derive_var_ontrtfl,
    derive_var_pchg,
    derive_var_r2a1hi,
)
from assets.adam.adlb_results import derive_vars_aval_censored, result_bounds
from assets.adam.common import finalize
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L
from tests.assets.adam.test_adsl_adae_adlb import FIRST, adsl

NA = pd.NA


def s(values, dtype="string"):
    return pd.Series(values, dtype=dtype)


def dates(values):
    return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")


def test_censored_results_get_an_imputed_aval_and_dtype():
    df = pd.DataFrame(
        {
            "AVAL": s([12.0, None, None, None, None, None, None, 3.0], "Float64"),
            "AVALC": s(["12", "<10", "<=0.5", ">2000", ">= 3", "POSITIVE", None, "<10"]),
        }
    )
    expected = df.assign(
        AVAL=s([12.0, 5.0, 0.25, 2000.0, 3.0, None, None, 3.0], "Float64"),
        DTYPE=s([NA, "HALFLLOQ", "HALFLLOQ", "ULOQ", "ULOQ", NA, NA, NA]),
    )
    pd.testing.assert_frame_equal(derive_vars_aval_censored(df), expected)


def test_result_bounds_of_reported_and_censored_values():
    aval = s([12.0, 5.0, 0.25, 2000.0, 3.0, None], "Float64")
    avalc = s(["12", "<10", "<=0.5", ">2000", ">=3", None])
    expected = pd.DataFrame(
        {
            "LO": [12.0, 0.0, 0.0, 2000.0, 3.0, np.nan],
            "LO_OPEN": [False, False, False, True, False, False],
            "HI": [12.0, 10.0, 0.5, np.inf, np.inf, np.nan],
            "HI_OPEN": [False, True, False, False, False, False],
        }
    )
    pd.testing.assert_frame_equal(result_bounds(aval, avalc), expected)


def test_anrind_at_every_boundary_and_for_censored_results():
    rows = [
        # AVAL, AVALC, A1LO, A1HI, expected
        (5.0, "5", 5.0, 40.0, "NORMAL"),  # on the lower limit
        (4.9, "4.9", 5.0, 40.0, "LOW"),
        (40.0, "40", 5.0, 40.0, "NORMAL"),  # on the upper limit
        (40.0000001, "40.0000001", 5.0, 40.0, "NORMAL"),  # equal at 6 decimals (a converted value)
        (40.1, "40.1", 5.0, 40.0, "HIGH"),
        (3.0, "3", None, 40.0, "NORMAL"),  # upper limit only
        (3.0, "3", None, None, NA),  # no range
        (None, None, 5.0, 40.0, NA),  # no value
        (5.0, "<10", 0.0, 30.0, "NORMAL"),  # [0, 10) within 0-30
        (5.0, "<10", 15.0, 30.0, "LOW"),  # [0, 10) all below 15
        (5.0, "<10", 10.0, 30.0, "LOW"),  # [0, 10) below 10
        (5.0, "<=10", 10.0, 30.0, NA),  # [0, 10]: 10 would be NORMAL, 9 LOW
        (5.0, "<10", 5.0, 30.0, NA),  # the bound does not decide
        (5.0, "<40", 0.0, 30.0, NA),
        (100.0, ">100", 0.0, 100.0, "HIGH"),  # (100, inf) all above 100
        (50.0, ">50", 0.0, 100.0, NA),
    ]
    df = pd.DataFrame(
        {
            "AVAL": s([r[0] for r in rows], "Float64"),
            "AVALC": s([r[1] for r in rows]),
            "A1LO": s([r[2] for r in rows], "Float64"),
            "A1HI": s([r[3] for r in rows], "Float64"),
        }
    )
    expected = df.assign(ANRIND=s([r[4] for r in rows]))
    pd.testing.assert_frame_equal(derive_var_anrind(df), expected)


def test_r2a1hi_basetype_and_pchg():
    df = pd.DataFrame(
        {
            "PARAMCD": s(["ALT", "ALT", "ALT", "ALT", "ALT"]),
            "AVAL": s([84.0, 10.0, 1.0, 4.0, None], "Float64"),
            "A1HI": s([42.0, 0.0, None, 3.0, 42.0], "Float64"),
            "BASE": s([40.0, 0.0, None, 3.0, 40.0], "Float64"),
            "CHG": s([44.0, 10.0, None, 1.0, None], "Float64"),
        }
    )
    out = derive_var_pchg(derive_var_basetype(derive_var_r2a1hi(df)))
    expected = df.assign(
        R2A1HI=s([2.0, None, None, 1.333333, None], "Float64"),
        BASETYPE=s(["LAST"] * 5),
        PCHG=s([110.0, None, None, 33.333333, None], "Float64"),  # BASE 0: no percent change
    )
    pd.testing.assert_frame_equal(out, expected)


@pytest.mark.parametrize("window", [28, None])  # None: study/protocol_limits.csv (28 days)
def test_ontrtfl_after_first_dose_to_last_dose_plus_window(window):
    df = pd.DataFrame(
        {
            "ADT": dates(
                ["2026-01-09", "2026-01-10", "2026-01-11", "2026-03-19", "2026-03-20", None, "2026-02-01"]
            ),
            "TRTSDT": dates(["2026-01-10"] * 6 + [None]),
            "TRTEDT": dates(["2026-02-19"] * 6 + [None]),
        }
    )
    expected = df.assign(ONTRTFL=s([NA, NA, "Y", "Y", NA, NA, NA]))
    pd.testing.assert_frame_equal(derive_var_ontrtfl(df, window), expected)


def test_anl01fl_nearest_to_target_day_then_latest():
    """First dose 2026-01-10, so WEEK 4 (planned day 29) targets 2026-02-07 and DAY 1 2026-01-10."""
    rows = [
        # PARAMCD, AVISIT, ADT, SRCSEQ, AVAL, ABLFL, expected ANL01FL
        ("ALT", "SCREENING", "2026-01-02", 1, 30.0, NA, NA),
        ("ALT", "SCREENING", "2026-01-05", 2, 31.0, NA, "Y"),  # latest screening value
        ("ALT", "DAY 1", "2026-01-10", 3, 32.0, "Y", "Y"),  # the baseline
        ("ALT", "WEEK 4", "2026-02-05", 4, 33.0, NA, NA),  # 2 days off
        ("ALT", "WEEK 4", "2026-02-08", 5, 34.0, NA, "Y"),  # 1 day off
        ("ALT", "WEEK 4", "2026-02-09", 6, 35.0, NA, NA),  # 2 days off
        ("AST", "WEEK 4", "2026-02-06", 7, 20.0, NA, NA),  # 1 day early
        ("AST", "WEEK 4", "2026-02-08", 8, 21.0, NA, "Y"),  # 1 day late: as near, later
        ("AST", "WEEK 8", "2026-03-07", 9, 22.0, NA, NA),  # same day: the later LBSEQ
        ("AST", "WEEK 8", "2026-03-07", 10, 23.0, NA, "Y"),
        ("AST", "WEEK 12", "2026-04-04", 11, None, NA, NA),  # no value
        ("AST", "WEEK 12", "2026-04-10", 12, 24.0, NA, "Y"),
        ("AST", "UNSCHEDULED", "2026-02-20", 13, 25.0, NA, NA),
        ("AST", "UNSCHEDULED", "2026-02-21", 14, 26.0, NA, NA),
        ("HGB", "DAY 1", "2026-01-09", 15, 120.0, "Y", "Y"),  # the baseline keeps its visit
        ("HGB", "DAY 1", "2026-01-11", 16, 121.0, NA, NA),  # as near, later, but not the baseline
        ("HGB", "UNSCHEDULED", "2026-01-12", 17, 122.0, NA, NA),
    ]
    df = pd.DataFrame(
        {
            "USUBJID": s([L.usubjid(1)] * len(rows)),
            "PARAMCD": s([r[0] for r in rows]),
            "AVISIT": s([r[1] for r in rows]),
            "ADT": dates([r[2] for r in rows]),
            "TRTSDT": dates([FIRST] * len(rows)),
            "SRCSEQ": [r[3] for r in rows],
            "AVAL": s([r[4] for r in rows], "Float64"),
            "ABLFL": s([r[5] for r in rows]),
        }
    )
    expected = df.assign(ANL01FL=s([r[6] for r in rows]))
    pd.testing.assert_frame_equal(derive_var_anl01fl_nearest(df), expected)


def test_anl01fl_without_first_dose_is_the_latest_per_visit():
    df = pd.DataFrame(
        {
            "USUBJID": s([L.usubjid(4)] * 3),
            "PARAMCD": s(["ALT"] * 3),
            "AVISIT": s(["SCREENING", "SCREENING", "DAY 1"]),
            "ADT": dates(["2026-01-02", "2026-01-04", "2026-01-10"]),
            "TRTSDT": dates([None] * 3),
            "AVAL": s([30.0, 31.0, 32.0], "Float64"),
            "ABLFL": s([NA] * 3),
        }
    )
    expected = df.assign(ANL01FL=s([NA, "Y", "Y"]))
    pd.testing.assert_frame_equal(derive_var_anl01fl_nearest(df), expected)


def test_derivations_need_their_columns():
    with pytest.raises(KeyError, match="derive_var_ontrtfl"):
        derive_var_ontrtfl(pd.DataFrame({"ADT": [], "TRTSDT": []}))
    with pytest.raises(KeyError, match="derive_vars_aval_censored"):
        derive_vars_aval_censored(pd.DataFrame({"AVAL": []}))
    with pytest.raises(KeyError, match="derive_var_pchg"):
        derive_var_pchg(pd.DataFrame({"CHG": []}))


def lb_rows() -> pd.DataFrame:
    """Subject 1 (first dose 2026-01-10, last 2026-02-19): ALT at screening, day 1 and week 4 (abnormal
    baseline, graded against it), anti-dsDNA <10 at day 1 and 45 at week 4, one unscheduled ALT."""
    rows = [
        # LBSEQ, LBTESTCD, LBSPEC, LBORRES, LBORRESU, LBSTRESC, LBSTRESN, LO, HI, VISIT, LBDTC
        (1, "ALT", "SERUM", "35", "U/L", "35", 35.0, 0.0, 40.0, "SCREENING", "2026-01-02"),
        (2, "ALT", "SERUM", "60", "U/L", "60", 60.0, 0.0, 40.0, "DAY 1", FIRST),
        (3, "ALT", "SERUM", "1.5", "ukat/L", "90", 90.0, 0.0, 40.0, "WEEK 4", "2026-02-07"),
        (4, "ALT", "SERUM", "41", "U/L", "41", 41.0, 0.0, 40.0, "UNSCHEDULED", "2026-03-30"),
        (5, "DSDNA", "SERUM", "<10", "IU/mL", "<10", None, 0.0, 30.0, "DAY 1", FIRST),
        (6, "DSDNA", "SERUM", "45", "IU/mL", "45", 45.0, 0.0, 30.0, "WEEK 4", "2026-02-07"),
        (7, "HCG", "URINE", "NEGATIVE", "", "NEGATIVE", None, None, None, "SCREENING", "2026-01-02"),
    ]
    cols = ["LBSEQ", "LBTESTCD", "LBSPEC", "LBORRES", "LBORRESU", "LBSTRESC", "LBSTRESN", "LBSTNRLO", "LBSTNRHI",
            "VISIT", "LBDTC"]  # fmt: skip
    lb = pd.DataFrame(rows, columns=cols)
    lb["USUBJID"] = L.usubjid(1)
    lb["LBSTRESU"] = lb["LBTESTCD"].map({"ALT": "U/L", "DSDNA": "IU/mL"})
    lb["VISITNUM"] = lb["VISIT"].map(L.VISITNUM).where(lb["VISIT"] != "UNSCHEDULED", 99.01)
    return lb


def test_derive_adlb_whole_output_for_one_subject():
    out = finalize(derive_adlb(lb_rows(), adsl()), "ADLB")
    got = out[
        ["LBSEQ", "PARAMCD", "PARCAT1", "AVISIT", "ADY", "AVAL", "AVALC", "DTYPE", "ANRIND", "BASE", "CHG", "PCHG",
         "ATOXGRH", "ATOXGR", "BTOXGR", "ABLFL", "ONTRTFL", "ANL01FL", "LBORRES", "LBORRESU", "VISITNUM"]
    ]  # fmt: skip
    expected = pd.DataFrame(
        {
            "LBSEQ": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
            "PARAMCD": s(["ALT", "ALT", "ALT", "ALT", "DSDNA", "DSDNA"]),
            "PARCAT1": s(["CHEMISTRY"] * 4 + ["IMMUNOLOGY"] * 2),
            "AVISIT": s(["SCREENING", "DAY 1", "WEEK 4", "UNSCHEDULED", "DAY 1", "WEEK 4"]),
            "ADY": pd.array([-8, 1, 29, 80, 1, 29], dtype="Int64"),
            "AVAL": s([35.0, 60.0, 90.0, 41.0, 5.0, 45.0], "Float64"),
            "AVALC": s(["35", "60", "90", "41", "<10", "45"]),
            "DTYPE": s([NA, NA, NA, NA, "HALFLLOQ", NA]),
            "ANRIND": s(["NORMAL", "HIGH", "HIGH", "HIGH", "NORMAL", "HIGH"]),
            "BASE": s([60.0, 60.0, 60.0, 60.0, 5.0, 5.0], "Float64"),
            "CHG": s([None, None, 30.0, -19.0, None, 40.0], "Float64"),
            "PCHG": s([None, None, 50.0, -31.666667, None, 800.0], "Float64"),
            # the baseline (60 > ULN 40) is graded against ULN; after it, an abnormal baseline is the
            # reference: 90 = 1.5 x 60 is grade 1, 41 < 90 is grade 0 although above ULN
            "ATOXGRH": s(["0", "1", "1", "0", NA, NA]),
            "ATOXGR": s(["0", "1", "1", "0", NA, NA]),
            "BTOXGR": s(["1", "1", "1", "1", NA, NA]),
            "ABLFL": s([NA, "Y", NA, NA, "Y", NA]),
            "ONTRTFL": s([NA, NA, "Y", NA, NA, "Y"]),  # 2026-03-30 is 39 days after the last dose
            "ANL01FL": s(["Y", "Y", "Y", NA, "Y", "Y"]),
            "LBORRES": s(["35", "60", "1.5", "41", "<10", "45"]),
            "LBORRESU": s(["U/L", "U/L", "ukat/L", "U/L", "IU/mL", "IU/mL"]),
            "VISITNUM": s([1.0, 2.0, 4.0, 99.01, 2.0, 4.0], "Float64"),
        }
    )
    pd.testing.assert_frame_equal(got, expected)
    assert (out["BASETYPE"] == "LAST").all() and (out["LBSTRESC"] == out["AVALC"]).all()
    assert out["ATOXDSCH"].tolist()[:4] == ["Alanine aminotransferase increased"] * 4
    assert out["ATOXDSCL"].isna().all() and out["ATOXGRL"].isna().all()
    assert conformance_failures(out, "ADLB").empty
    assert conformance_failures(out, "ADLB", blinded=True).empty


def test_parcat1_is_the_lab_category_of_each_parameter():
    import study

    params = adlb_parameters()
    codes = study.table("sdtm_test_codes").query("DOMAIN == 'LB'")
    tests = study.lab_tests().merge(
        codes, left_on="LBTESTCD", right_on="SOURCE_TESTCD", suffixes=("_SRC", "")
    )
    merged = params.merge(tests, left_on=["LBTESTCD", "LBSPEC"], right_on=["TESTCD", "SPEC"], how="left")
    assert merged["LBCAT"].notna().all()
    assert (merged["PARCAT1"] == merged["LBCAT"]).all()
    assert merged.groupby("PARAMCD")["PARCAT1"].nunique().max() == 1
