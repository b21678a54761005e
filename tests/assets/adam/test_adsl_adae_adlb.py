"""ADSL populations and treatment per blinding mode, ADAE TRTEMFL, ADLB reference ranges and shift,
and the conform-to-spec step (labels, date32, keys)."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

import study
from assets.adam.adae import derive_adae
from assets.adam.adlb import adlb_parameters, derive_adlb
from assets.adam.adsl import derive_adsl
from assets.adam.common import finalize
from assets.adam.stats import proportion_interval, sri4_response_table, wilson_interval
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L

FIRST = "2026-01-10"


def adsl(randlist=None, injections=(21, 17, 16, 0), ineligible=(), weights=None):
    """Subjects 1-4 randomized with the given numbers of injections; subject 5 a screen failure."""
    subjects = (1, 2, 3, 4, 5)
    ex = pd.concat([L.ex(s, FIRST, n) for s, n in zip(subjects, injections) if n], ignore_index=True)
    rs = L.rs_all(*(L.rs(s, "DAY 1", FIRST, 10, 1.5, "D") for s in (1, 2, 3, 4)))
    vs = L.vs_weight(
        weights
        or [
            (1, "SCREENING", "2026-01-02", 60.0),
            (1, "DAY 1", FIRST, 61.0),
            (1, "WEEK 12", "2026-04-04", 62.0),
            (5, "SCREENING", "2026-01-02", 82.0),
        ]
    )
    return derive_adsl(
        L.dm(*subjects),
        ex,
        L.ds([(5, "SCREEN FAILURE", "2026-01-05")]),
        vs,
        rs,
        L.rand(1, 2, 3, 4),
        L.eligibility(*subjects, ineligible=(5, *ineligible)),
        randlist,
    )


def test_populations_and_17_of_21_injections_for_per_protocol():
    a = adsl().set_index("SUBJID")
    assert a["RANDFL"].tolist() == ["Y", "Y", "Y", "Y", "N"]
    assert a["SAFFL"].tolist() == ["Y", "Y", "Y", "N", "N"]  # subject 4 never dosed
    assert a["FASFL"].tolist() == ["Y", "Y", "Y", "N", "N"]
    assert a["PPROTFL"].tolist() == ["Y", "Y", "N", "N", "N"]  # 17 given: in; 16: out
    assert a["INJGIVN"].tolist() == [21, 17, 16, 0, 0]
    assert a.loc["101-0005", "EOSSTT"] == "DISCONTINUED" and a.loc["101-0005", "DCSREAS"] == "SCREEN FAILURE"


def test_ineligible_subject_is_not_per_protocol():
    a = adsl(ineligible=(1,)).set_index("SUBJID")
    assert a.loc["101-0001", "ELIGFL"] == "N" and a.loc["101-0001", "PPROTFL"] == "N"
    assert a.loc["101-0001", "FASFL"] == "Y"


def test_weightbl_last_on_or_before_first_dose_or_screening_when_never_dosed():
    a = adsl().set_index("SUBJID")
    assert a.loc["101-0001", "WEIGHTBL"] == 61.0  # DAY 1 on the first-dose day, not WEEK 12
    assert a.loc["101-0005", "WEIGHTBL"] == 82.0


def test_blinded_treatment_variables():
    a = adsl().set_index("SUBJID")
    assert set(a.loc[["101-0001", "101-0002"], ["ARMCD", "ARM", "ACTARM", "TRT01P", "TRT01A"]].stack()) == {
        "BLINDED"
    }
    assert a["TRT01PN"].isna().all() and a["TRT01AN"].isna().all()
    # never dosed: null actual arm, as SDTM DM (ARMNRS), in both modes
    assert a.loc["101-0004", ["ACTARMCD", "ACTARM", "TRT01A"]].isna().all()
    assert a.loc["101-0005", ["ARMCD", "TRT01P"]].isna().all()


def test_unblinded_treatment_from_the_randomization_list():
    randlist = pd.DataFrame(
        {"RANDNO": ["R0001", "R0002", "R0003", "R0004"], "ARMCD": ["PBO", "IL2L", "IL2M", "IL2H"]}
    )
    a = adsl(randlist=randlist).set_index("SUBJID")
    assert a["TRT01P"].tolist()[:4] == ["Placebo", "IL-2 0.2 MIU", "IL-2 0.5 MIU", "IL-2 1 MIU"]
    assert a["TRT01PN"].tolist()[:4] == [0, 0.2, 0.5, 1]
    assert a.loc["101-0004", ["ACTARMCD", "ACTARM", "TRT01A", "TRT01AN"]].isna().all()
    assert a.loc["101-0003", "TRT01A"] == "IL-2 0.5 MIU"


def test_adsl_conforms_with_dates_as_date32():
    out = finalize(adsl(), "ADSL")
    assert str(out["TRTSDT"].dtype) == "date32[day][pyarrow]"
    assert out.loc[0, "TRTSDT"] == datetime.date(2026, 1, 10) and out.loc[0, "TRTEDT"] == datetime.date(
        2026, 2, 19
    )
    assert conformance_failures(out, "ADSL", blinded=True).empty
    unblinded_labels = out.assign(TRT01P="Placebo")
    assert not conformance_failures(unblinded_labels, "ADSL", blinded=True).empty


@pytest.mark.parametrize(
    ("start", "emergent"),
    [
        ("2026-01-09", False),  # the day before the first dose
        ("2026-01-10", True),  # first-dose day
        ("2026-03-19", True),  # last dose 19-FEB-2026 + 28 days
        ("2026-03-20", False),  # + 29 days
        ("2026-01", True),  # partial: the month of the first dose -> imputed to the first dose date
        ("2025-12", False),
    ],
)
def test_trtemfl_first_dose_to_last_dose_plus_28_days(start, emergent):
    ae = pd.DataFrame(
        {
            "USUBJID": [L.usubjid(1)],
            "AESEQ": [1],
            "AETERM": ["Headache"],
            "AEDECOD": ["HEADACHE"],
            "AESTDTC": [start],
            "AEENDTC": [None],
            "AESEV": ["MILD"],
            "AESER": ["N"],
            "AEREL": ["POSSIBLE"],
        }
    ).assign(**L.AE_CODING)
    out = derive_adae(ae, adsl())
    assert (out["TRTEMFL"].fillna("").iloc[0] == "Y") == emergent
    if len(start) == 7:
        assert out["ASTDTF"].iloc[0] == "D"


def test_adlb_range_indicator_ratio_baseline_and_shift():
    lb = pd.DataFrame(
        {
            "USUBJID": L.usubjid(1),
            "LBSEQ": [1, 2, 3, 4],
            "LBTESTCD": ["ALT", "ALT", "ALT", "HCG"],
            "LBSPEC": ["SERUM", "SERUM", "SERUM", "URINE"],
            "LBSTRESN": [40.0, 84.0, 4.0, None],
            "LBSTRESC": ["40", "84", "4", "NEGATIVE"],
            "LBSTRESU": "U/L",
            "LBSTNRLO": [5.0, 5.0, 5.0, None],
            "LBSTNRHI": [42.0, 42.0, 42.0, None],
            "LBDTC": [FIRST, "2026-02-07", "2026-03-07", "2026-01-02"],
            "VISIT": ["DAY 1", "WEEK 4", "WEEK 8", "SCREENING"],
        }
    ).assign(LBORRES=lambda d: d["LBSTRESC"], LBORRESU=lambda d: d["LBSTRESU"])
    lb["VISITNUM"] = lb["VISIT"].map(L.VISITNUM)
    out = derive_adlb(lb, adsl()).sort_values("LBSEQ").set_index("AVISIT")
    assert list(out.index) == ["DAY 1", "WEEK 4", "WEEK 8"]  # qualitative HCG stays in SDTM LB
    assert out["ANRIND"].tolist() == ["NORMAL", "HIGH", "LOW"]
    assert out.loc["WEEK 4", "R2A1HI"] == 2.0
    assert (
        out.loc["DAY 1", "ABLFL"] == "Y" and (out["BASE"] == 40).all() and (out["BNRIND"] == "NORMAL").all()
    )
    assert out.loc["WEEK 4", "CHG"] == 44 and out["SHIFT1"].tolist()[1:] == [
        "NORMAL to HIGH",
        "NORMAL to LOW",
    ]


def lab(rows: list[tuple[int, str, str, float, str, str]]) -> pd.DataFrame:
    """SDTM LB of subject 1: (LBSEQ, LBTESTCD, LBSPEC, LBSTRESN, VISIT, LBDTC), range 1-10."""
    return pd.DataFrame(
        {
            "USUBJID": L.usubjid(1),
            "LBSEQ": [r[0] for r in rows],
            "LBTESTCD": [r[1] for r in rows],
            "LBSPEC": [r[2] for r in rows],
            "LBSTRESN": [r[3] for r in rows],
            "LBSTRESC": [str(r[3]) for r in rows],
            "LBSTRESU": "",
            "LBSTNRLO": 1.0,
            "LBSTNRHI": 10.0,
            "LBDTC": [r[5] for r in rows],
            "VISIT": [r[4] for r in rows],
            "VISITNUM": [L.VISITNUM[r[4]] for r in rows],
        }
    ).assign(LBORRES=lambda d: d["LBSTRESC"], LBORRESU="")


BLOOD_WBC = [
    (1, "WBC", "BLOOD", 6.0, "DAY 1", FIRST),
    (2, "WBC", "BLOOD", 11.0, "WEEK 4", "2026-02-07"),
]
URINE = [
    (3, "WBC", "URINE", 0.5, "DAY 1", FIRST),
    (4, "WBC", "URINE", 2.0, "WEEK 4", "2026-02-07"),
    (5, "RBC", "URINE", 3.0, "DAY 1", FIRST),
    (6, "PROT", "URINE", 0.2, "DAY 1", FIRST),
    (7, "CSCELL", "URINE", float("nan"), "DAY 1", FIRST),  # qualitative: stays in SDTM LB
]


def test_adlb_one_parameter_per_test_and_specimen():
    """(v2) blood and urine WBC at the same visits are two parameters, each with its own baseline,
    change, range indicator and shift; before, they were one WBC parameter with two records a visit
    and the baseline could be the urine value."""
    out = derive_adlb(lab(BLOOD_WBC + URINE), adsl()).set_index("LBSEQ")
    assert sorted(out.index) == [1, 2, 3, 4, 5, 6]
    assert out["PARAMCD"].to_dict() == {1: "WBC", 2: "WBC", 3: "WBCU", 4: "WBCU", 5: "RBCU", 6: "PROTU"}
    assert out.loc[3, "PARAM"] == "Leukocytes (/HPF), Urine" and out.loc[1, "PARAM"] == "Leukocytes (10^9/L)"
    assert out.loc[[1, 3, 5, 6], "PARAMN"].tolist() == [6, 12, 11, 10]
    # one record per subject, parameter and visit; each parameter its own baseline
    assert not out.duplicated(["PARAMCD", "AVISIT"]).any()
    assert out.loc[[1, 3, 5, 6], "ABLFL"].tolist() == ["Y"] * 4 and out.loc[[2, 4], "ABLFL"].isna().all()
    assert out.loc[2, "BASE"] == 6.0 and out.loc[2, "CHG"] == 5.0 and out.loc[2, "SHIFT1"] == "NORMAL to HIGH"
    assert out.loc[4, "BASE"] == 0.5 and out.loc[4, "CHG"] == 1.5 and out.loc[4, "BNRIND"] == "LOW"
    assert out.loc[4, "SHIFT1"] == "LOW to NORMAL"
    assert (out["ANL01FL"] == "Y").all()


def test_adlb_blood_parameter_unchanged_by_urine_records():
    alone = derive_adlb(lab(BLOOD_WBC), adsl())
    mixed = derive_adlb(lab(BLOOD_WBC + URINE), adsl())
    blood = mixed.loc[mixed["PARAMCD"] == "WBC"].sort_values("LBSEQ").reset_index(drop=True)
    pd.testing.assert_frame_equal(blood, alone.sort_values("LBSEQ").reset_index(drop=True))


def test_adlb_per_specimen_conforms_to_spec():
    out = finalize(derive_adlb(lab(BLOOD_WBC + URINE), adsl()), "ADLB")
    assert conformance_failures(out, "ADLB").empty
    assert conformance_failures(out, "ADLB", blinded=True).empty


def test_adlb_parameter_table_matches_lab_and_sdtm_test_codes():
    """study/adlb_parameters.csv: one parameter per SDTM LB (LBTESTCD, LBSPEC) of every numeric lab
    test, PARAM "<test name> (<standard unit>)" from lab_tests.csv, blood and serum tests keep their
    LBTESTCD as PARAMCD, urine ones a PARAMCD of their own naming the specimen."""
    params = adlb_parameters()
    codes = study.table("sdtm_test_codes").query("DOMAIN == 'LB'")
    tests = study.lab_tests().merge(
        codes, left_on="LBTESTCD", right_on="SOURCE_TESTCD", suffixes=("_SRC", "")
    )
    numeric = tests.loc[tests["RESULT_TYPE"] == "NUMERIC"]
    merged = numeric.merge(params, left_on=["TESTCD", "SPEC"], right_on=["LBTESTCD", "LBSPEC"], how="outer")
    assert merged["PARAMCD"].notna().all() and merged["SOURCE_TESTCD"].notna().all()
    assert len(merged) == len(params) == len(numeric)
    assert params["PARAMCD"].str.fullmatch(r"[A-Z][A-Z0-9]{0,7}").all()
    assert (merged["PARAM"].str.split(",").str[0] == merged["LBTEST"] + " (" + merged["STD_UNIT"] + ")").all()
    for row in merged.itertuples():
        if row.SPEC == "URINE":
            assert row.PARAMCD != row.TESTCD and str(row.PARAM).endswith(", Urine")
        else:
            assert row.PARAMCD == row.TESTCD and "," not in str(row.PARAM)
    assert params["PARAMN"].tolist() == list(range(1, len(params) + 1))


def test_confidence_intervals_known_values():
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 and 15/148
    assert tuple(round(x, 4) for x in wilson_interval(81, 263)) == (0.2553, 0.3662)
    assert tuple(round(x, 4) for x in wilson_interval(15, 148)) == (0.0624, 0.1605)
    lo, hi, method = proportion_interval(81, 263)
    if method == "CLOPPER-PEARSON":
        assert (round(lo, 4), round(hi, 4)) == (0.2527, 0.3676)
    lo, hi, method = proportion_interval(0, 10)
    assert method in ("CLOPPER-PEARSON", "WILSON") and lo == 0.0
    if method == "CLOPPER-PEARSON":
        assert round(hi, 4) == 0.3085  # 1 - 0.025 ** (1/10)


def test_sri4_table_pooled_when_blinded():
    adeff = pd.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4"],
            "PARAMCD": "SRI4",
            "AVISIT": "WEEK 24",
            "FASFL": "Y",
            "AVALC": ["Y", "N", "N", "Y"],
            "NRREAS": [None, "SLEDAI-2K REDUCTION < 4", "VISIT NOT ATTENDED", None],
            "TRTP": ["BLINDED"] * 4,
            "TRTPN": [None] * 4,
        }
    )
    adsl = adeff[["USUBJID", "FASFL"]].assign(TRT01P="BLINDED", TRT01PN=None)
    t = sri4_response_table(adeff, adsl, blinded=True)
    assert t[["GROUP", "N", "RESPONDERS", "PCT"]].values.tolist() == [["ALL SUBJECTS", 4, 2, 50.0]]
