"""ADSL populations and treatment per blinding mode, ADAE TRTEMFL, ADLB reference ranges and shift,
and the conform-to-spec step (labels, date32, keys)."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from assets.adam.adae import derive_adae
from assets.adam.adlb import derive_adlb
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
    assert a.loc["101-0004", "ACTARMCD"] == "NOTTRT" and pd.isna(a.loc["101-0004", "TRT01A"])
    assert a.loc["101-0005", ["ARMCD", "TRT01P"]].isna().all()


def test_unblinded_treatment_from_the_randomization_list():
    randlist = pd.DataFrame(
        {"RANDNO": ["R0001", "R0002", "R0003", "R0004"], "ARMCD": ["PBO", "IL2L", "IL2M", "IL2H"]}
    )
    a = adsl(randlist=randlist).set_index("SUBJID")
    assert a["TRT01P"].tolist()[:4] == ["Placebo", "IL-2 0.2 MIU", "IL-2 0.5 MIU", "IL-2 1 MIU"]
    assert a["TRT01PN"].tolist()[:4] == [0, 0.2, 0.5, 1]
    assert a.loc["101-0004", "ACTARMCD"] == "NOTTRT" and pd.isna(a.loc["101-0004", "TRT01AN"])
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
    )
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
            "LBSTRESN": [40.0, 84.0, 4.0, None],
            "LBSTRESC": ["40", "84", "4", "NEGATIVE"],
            "LBSTRESU": "U/L",
            "LBSTNRLO": [5.0, 5.0, 5.0, None],
            "LBSTNRHI": [42.0, 42.0, 42.0, None],
            "LBDTC": [FIRST, "2026-02-07", "2026-03-07", "2026-01-02"],
            "VISIT": ["DAY 1", "WEEK 4", "WEEK 8", "SCREENING"],
        }
    )
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
            "PARAMCD": "SRI4",
            "AVISIT": "WEEK 24",
            "FASFL": "Y",
            "AVALC": ["Y", "N", "N", "Y"],
            "TRTP": ["BLINDED"] * 4,
            "TRTPN": [None] * 4,
        }
    )
    t = sri4_response_table(adeff, blinded=True)
    assert t[["GROUP", "N", "RESPONDERS", "PCT"]].values.tolist() == [["ALL SUBJECTS", 4, 2, 50.0]]
