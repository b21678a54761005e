"""ADSL standard variables of issue 16 (ADaMIG 1.3, pharmaverse/admiral ADSL template): each derive_*
function on a literal frame against its whole expected output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.adam.adsl import (
    derive_adsl,
    derive_var_lstalvdt,
    derive_var_strat1r,
    derive_vars_agegr1,
    derive_vars_dm,
    derive_vars_dthdt,
    derive_vars_eot,
    derive_vars_treatment,
    derive_vars_trt_dtm,
    end_of_treatment_visit,
)
from assets.adam.common import finalize
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L

S = [L.usubjid(n) for n in range(1, 7)]


def text(values) -> pd.Series:
    return pd.Series(values, dtype="string")


def dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")


def test_dm_variables_are_copied_unchanged():
    dm = pd.DataFrame(
        {
            "USUBJID": S[:2],
            "COUNTRY": "CHN",
            "RFICDTC": ["2026-01-02", "2026-01-03"],
            "RFSTDTC": ["2026-01-10T08:30", None],
            "RFENDTC": ["2026-03-20T17:05", None],
            "RFXSTDTC": ["2026-01-10T08:30", None],
            "RFXENDTC": ["2026-03-20T17:05", None],
            "ARMNRS": [None, "ASSIGNED, NOT TREATED"],
            "DTHFL": ["Y", None],
            "DTHDTC": ["2026-04", None],
        }
    )
    out = derive_vars_dm(pd.DataFrame({"USUBJID": S[:2]}), dm)
    expected = dm.astype("string").assign(USUBJID=S[:2])
    pd.testing.assert_frame_equal(out, expected)


def test_dm_variables_missing_in_dm_is_an_error():
    with pytest.raises(KeyError, match="ARMNRS"):
        derive_vars_dm(pd.DataFrame({"USUBJID": S[:1]}), L.dm(1).drop(columns="ARMNRS"))


def test_agegr1_boundaries_from_study_age_groups():
    out = derive_vars_agegr1(pd.DataFrame({"AGE": pd.array([17, 18, 64, 65, None], dtype="Int64")}))
    expected = pd.DataFrame(
        {
            "AGE": pd.array([17, 18, 64, 65, None], dtype="Int64"),
            "AGEGR1": text(["<18", "18-64", "18-64", ">64", None]),
            "AGEGR1N": pd.array([1, 2, 2, 3, None], dtype="Int64"),
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_trt_datetimes_with_time_imputation_flags():
    ex = pd.DataFrame(
        {
            "USUBJID": [S[0]] * 3 + [S[1]] * 3 + [S[2]],
            "EXSEQ": [1, 2, 3, 1, 2, 3, 1],
            "EXSTDTC": [
                "2026-01-10T08:30",
                "2026-01-12T09:00",
                "2026-03-20T17:05",
                "2026-01-11",  # first injection without a time: 00:00:00, H
                "2026-02",  # partial date: not an exposure date
                "2026-03-21",  # last injection without a time: 23:59:59, H
                "2026-01-15T14",  # hour only: minutes imputed, M
            ],
        }
    )
    adsl = pd.DataFrame({"USUBJID": S[:4]})  # subject 4 never dosed
    out = derive_vars_trt_dtm(adsl, ex)
    expected = pd.DataFrame(
        {
            "USUBJID": S[:4],
            "TRTSDTM": pd.Series(
                pd.to_datetime(["2026-01-10 08:30:00", "2026-01-11 00:00:00", "2026-01-15 14:00:00", None]),
                dtype="datetime64[s]",
            ),
            "TRTSTMF": text([None, "H", "M", None]),
            "TRTEDTM": pd.Series(
                # the latest moment the collected precision allows (admiral time_imputation = "last")
                pd.to_datetime(["2026-03-20 17:05:59", "2026-03-21 23:59:59", "2026-01-15 14:59:59", None]),
                dtype="datetime64[s]",
            ),
            "TRTETMF": text([None, "H", "M", None]),
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_trt_datetime_ties_on_one_day_take_the_time_order():
    ex = pd.DataFrame(
        {
            "USUBJID": [S[0]] * 2,
            "EXSEQ": [1, 2],
            "EXSTDTC": ["2026-01-10T15:00", "2026-01-10T07:45"],
        }
    )
    out = derive_vars_trt_dtm(pd.DataFrame({"USUBJID": S[:1]}), ex)
    assert out["TRTSDTM"].tolist() == [pd.Timestamp("2026-01-10 07:45")]
    assert out["TRTEDTM"].tolist() == [pd.Timestamp("2026-01-10 15:00:59")]


def test_strat1r_from_the_iwrs_record_of_the_subjects_randno():
    rand = pd.DataFrame(
        {
            "USUBJID": [S[0], S[1], S[1]],
            "RANDNO": ["R0001", "R0002", "R0009"],
            "STRATUM": ["SLEDAI<10", "SLEDAI>=10", "SLEDAI<10"],
        }
    )
    adsl = pd.DataFrame({"USUBJID": S[:3], "RANDNO": text(["R0001", "R0002", None])})
    out = derive_var_strat1r(adsl, rand)
    expected = adsl.assign(STRAT1R=text(["SLEDAI<10", "SLEDAI>=10", None]))
    pd.testing.assert_frame_equal(out, expected)
    empty = derive_var_strat1r(adsl, pd.DataFrame())
    pd.testing.assert_frame_equal(empty, adsl.assign(STRAT1R=text([None, None, None])))


@pytest.mark.parametrize("randlist", [None, pd.DataFrame({"RANDNO": ["R1", "R2"], "ARMCD": ["IL2M", "PBO"]})])
def test_never_dosed_randomized_subject_has_a_null_actual_arm_in_both_modes(randlist):
    adsl = pd.DataFrame(
        {
            "USUBJID": S[:3],
            "RANDNO": text(["R1", "R2", None]),
            "RANDFL": text(["Y", "Y", "N"]),
            "TRTSDT": dates(["2026-01-10", None, None]),  # subject 2 randomized, never dosed
        }
    )
    out = derive_vars_treatment(adsl, randlist)
    blinded = randlist is None
    planned = ["BLINDED", "BLINDED", None] if blinded else ["IL-2 0.5 MIU", "Placebo", None]
    codes = ["BLINDED", "BLINDED", None] if blinded else ["IL2M", "PBO", None]
    dose = [np.nan] * 3 if blinded else [0.5, 0.0, np.nan]
    expected = adsl.assign(
        ARMCD=text(codes),
        ARM=text(planned),
        ACTARMCD=text([codes[0], None, None]),
        ACTARM=text([planned[0], None, None]),
        TRT01P=text(planned),
        TRT01PN=pd.array(dose, dtype="Float64"),
        TRT01A=text([planned[0], None, None]),
        TRT01AN=pd.array([dose[0], np.nan, np.nan], dtype="Float64"),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_end_of_treatment_visit_is_week_12_from_study_visits():
    assert end_of_treatment_visit() == (8, 88)


def test_eotstt_and_dctreas():
    first = "2026-01-01"
    adsl = pd.DataFrame(
        {
            "USUBJID": S,
            "TRTSDT": dates([first] * 5 + [None]),
            # 1 attended WEEK 12; 2 completed the study; 3 left on day 88 (last day of the WEEK 12
            # window), 4 on day 89; 5 ongoing with an unscheduled visit only; 6 never dosed
            "EOSSTT": text(
                ["ONGOING", "COMPLETED", "DISCONTINUED", "DISCONTINUED", "ONGOING", "DISCONTINUED"]
            ),
            "EOSDT": dates([None, "2026-06-20", "2026-03-29", "2026-03-30", None, "2026-01-05"]),
            "DCSREAS": text(
                [None, None, "ADVERSE EVENT", "WITHDRAWAL BY SUBJECT", None, "WITHDRAWAL BY SUBJECT"]
            ),
        }
    )
    sv = pd.DataFrame({"USUBJID": [S[0], S[4]], "VISITNUM": [8.0, 99.0]})
    out = derive_vars_eot(adsl, sv)
    expected = adsl.assign(
        EOTSTT=text(["COMPLETED", "COMPLETED", "DISCONTINUED", "COMPLETED", "ONGOING", None]),
        DCTREAS=text([None, None, "ADVERSE EVENT", None, None, None]),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_dthdt_imputes_partial_death_dates_to_the_first():
    adsl = pd.DataFrame({"DTHDTC": text(["2026-04-17", "2026-04", "2026", None])})
    out = derive_vars_dthdt(adsl)
    expected = adsl.assign(
        DTHDT=dates(["2026-04-17", "2026-04-01", "2026-01-01", None]),
        DTHDTF=text([None, "D", "M", None]),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_lstalvdt_latest_complete_date_of_the_dated_records():
    adsl = pd.DataFrame(
        {
            "USUBJID": S[:4],
            "RFICDTC": text(["2026-01-02", "2026-01-02", "2026-01-03", None]),
            "TRTEDT": dates(["2026-03-10", "2026-03-10", None, None]),
        }
    )
    ae = pd.DataFrame(
        {
            "USUBJID": [S[0], S[1], S[1]],
            "AESTDTC": ["2026-03-01", "2026-03-20", "2026-05"],  # a partial date never counts
            "AEENDTC": ["2026-04-30", "2026-04-02", None],
            "AEOUT": ["RECOVERED/RESOLVED", "FATAL", "NOT RECOVERED/NOT RESOLVED"],
        }
    )
    sv = pd.DataFrame(
        {
            "USUBJID": [S[0], S[1], S[2]],
            "SVSTDTC": ["2026-04-01", "2026-03-18", "2026-01-05"],
            "SVENDTC": ["2026-04-02", "2026-03-18", "2026-01-06"],
        }
    )
    out = derive_var_lstalvdt(adsl, ae, sv)
    # 1: AE end; 2: AE start (the fatal event's end is the death date); 3: screening visit; 4: none
    expected = adsl.assign(LSTALVDT=dates(["2026-04-30", "2026-03-20", "2026-01-06", None]))
    pd.testing.assert_frame_equal(out, expected)


def test_adsl_written_with_the_new_variables_conforms_in_blinded_mode():
    dm = L.dm(1, 2).assign(
        RFICDTC=text(["2026-01-02", "2026-01-02"]),
        RFSTDTC=text(["2026-01-10T08:30", None]),
        RFXSTDTC=text(["2026-01-10T08:30", None]),
        ARMNRS=text([None, "ASSIGNED, NOT TREATED"]),
    )
    ex = L.ex(1, "2026-01-10", 3).assign(EXSTDTC=["2026-01-10T08:30", "2026-01-12T09:10", "2026-01-14"])
    rs = L.rs_all(L.rs(1, "DAY 1", "2026-01-10", 10, 1.5, "D"))
    sv = pd.DataFrame(
        {"USUBJID": [L.usubjid(1)], "VISITNUM": [2.0], "SVSTDTC": ["2026-01-10"], "SVENDTC": ["2026-01-10"]}
    )
    adsl = derive_adsl(
        dm,
        ex,
        L.ds([]),
        L.vs_weight([(1, "DAY 1", "2026-01-10", 60.0)]),
        rs,
        L.rand(1, 2),
        L.eligibility(1, 2),
        None,
        sv=sv,
    )
    out = finalize(adsl, "ADSL")
    assert conformance_failures(out, "ADSL", blinded=True).empty
    got = out.set_index("SUBJID")[
        ["ACTARMCD", "ARMNRS", "STRAT1R", "RANDNO", "TRTSDTM", "TRTETMF", "EOTSTT", "LSTALVDT", "AGEGR1"]
    ]
    assert got.loc["101-0001"].tolist() == [
        "BLINDED",
        pd.NA,
        "SLEDAI>=10",
        "R0001",
        pd.Timestamp("2026-01-10 08:30"),
        "H",
        "ONGOING",
        pd.Timestamp("2026-01-14").date(),
        "18-64",
    ]
    assert got.loc["101-0002", ["ACTARMCD", "EOTSTT"]].isna().all()
    assert got.loc["101-0002", "ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert str(out["TRTSDTM"].dtype) == "datetime64[s]"
