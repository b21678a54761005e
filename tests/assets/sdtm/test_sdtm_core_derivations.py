"""Literal-frame tests of the derivations added for CDISC CORE findings (issue 15 item 2): one
rounded number for --STRESN/--STRESC, LBNRIND of censored results, LBLOBXFL/VSLOBXFL, CM end
relative to a time point, DM ACTARMUD, SV SVPRESP/SVOCCUR and missed visits, MH study days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from assets.common.units import round_to_decimals, standard_decimals
from assets.sdtm import events, special
from assets.sdtm.findings import derive_var_lbnrind, derive_var_lobxfl, derive_vars_stres_rounded
from assets.sdtm.interventions import derive_vars_cm_end_reference


def _text(values) -> pd.Series:
    return pd.Series(values, dtype="string")


# --- CORE-000542: --STRESN equals a numeric --STRESC -------------------------------------------


def test_standard_decimals_are_study_metadata_per_test():
    lb, vs = standard_decimals("LB"), standard_decimals("VS")
    assert (lb["ALT"], lb["CREAT"], lb["HGB"], lb["C3"], lb["PROT24"]) == (1, 1, 0, 2, 3)
    assert (vs["TEMP"], vs["WEIGHT"], vs["SYSBP"]) == (1, 1, 0)
    assert "HCG" not in lb.index  # a qualitative test has no number to round


def test_round_to_decimals_per_row_and_default_precision():
    out = round_to_decimals(
        pd.Series([36.666666666666664, 10.200000000000001, 0.12345678, np.nan], index=[5, 6, 7, 8]),
        pd.Series([1, 1, np.nan, 2], index=[5, 6, 7, 8]),
    )
    pdt.assert_series_equal(out, pd.Series([36.7, 10.2, 0.123457, np.nan], index=[5, 6, 7, 8]))


def _lb(rows: list[tuple]) -> pd.DataFrame:
    cols = ["SRC_TESTCD", "LBORRESU", "LBSTRESU", "LBSTRESN", "LBRESQUAL", "LBSTRESC", "LBSTNRLO", "LBSTNRHI"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("SRC_TESTCD", "LBORRESU", "LBSTRESU", "LBRESQUAL", "LBSTRESC"):
        df[c] = df[c].astype("string")
    return df


def test_lb_stres_rounded_once_for_converted_results_only():
    """CORE-000542 condition: LBSTRESC matches ^-?(0|[1-9]\\d*)(\\.\\d+)?$ and LBSTRESN != LBSTRESC."""
    lb = _lb(
        [
            # ALT 0.17 ukat/L x 60 = 10.200000000000001 -> 10.2 (1 decimal)
            ("ALT", "ukat/L", "U/L", 0.17 * 60, None, "10.2", 0.12 * 60, 0.67 * 60),
            # sent in the standard unit: digits kept, range untouched
            ("ALT", "U/L", "U/L", 10.25, None, "10.25", 7.0, 40.0),
            # censored: the limit 0.08 ukat/L converted and rounded; LBSTRESN still the limit here
            ("ALT", "ukat/L", "U/L", 0.08 * 60, "<", "<4.8", 0.12 * 60, 0.67 * 60),
            # CREAT 0.74 mg/dL x 88.42 = 65.4308 -> 65.4; range 0.6-1.2 mg/dL -> 53.1-106.1
            ("CREAT", "mg/dL", "umol/L", 0.74 * 88.42, None, "65.4308", 0.6 * 88.42, 1.2 * 88.42),
            # a word keeps its text; a number without a unit is not converted, so not rounded
            ("HCG", None, None, np.nan, None, "NEGATIVE", np.nan, np.nan),
            ("CREAT", None, None, 65.4308, None, "65.4308", np.nan, np.nan),
        ]
    )
    out = derive_vars_stres_rounded(lb, "LB", "SRC_TESTCD")
    assert out["LBSTRESN"].tolist()[:4] == [10.2, 10.25, 4.8, 65.4]
    assert out["LBSTRESC"].tolist() == ["10.2", "10.25", "<4.8", "65.4", "NEGATIVE", "65.4308"]
    assert out["LBSTNRLO"].tolist()[:4] == [7.2, 7.0, 7.2, 53.1]
    assert out["LBSTNRHI"].tolist()[:4] == [40.2, 40.0, 40.2, 106.1]
    assert np.isnan(out["LBSTRESN"].iloc[4]) and out["LBSTRESN"].iloc[5] == 65.4308
    # the CORE comparison: every numeric LBSTRESC is the text of LBSTRESN
    numeric = out["LBSTRESC"].str.fullmatch(r"-?(0|[1-9]\d*)(\.\d+)?").fillna(False)
    assert (
        out.loc[numeric, "LBSTRESN"].astype(str).str.replace(r"\.0$", "", regex=True)
        == out.loc[numeric, "LBSTRESC"]
    ).all()
    assert "LBSTRESN" in lb and lb["LBSTRESN"].iloc[0] == 0.17 * 60  # input not changed


def test_vs_stres_rounded_temperature_weight_and_unconverted():
    vs = pd.DataFrame(
        {
            "VSTESTCD": _text(["TEMP", "TEMP", "WEIGHT", "SYSBP", "WEIGHT"]),
            "VSORRESU": _text(["F", "C", "LB", "mmHg", "LB"]),
            "VSSTRESU": _text(["C", "C", "kg", "mmHg", "kg"]),
            "VSSTRESN": [(98.0 - 32) * 0.5555555555555556, 36.65, 119.8 * 0.45359237, 120.0, np.nan],
        }
    )
    out = derive_vars_stres_rounded(vs, "VS", "VSTESTCD")
    assert out["VSSTRESN"].tolist()[:4] == [36.7, 36.65, 54.3, 120.0]
    assert out["VSSTRESC"].tolist()[:4] == ["36.7", "36.65", "54.3", "120"]
    assert np.isnan(out["VSSTRESN"].iloc[4]) and pd.isna(out["VSSTRESC"].iloc[4])


def test_stres_rounded_requires_its_columns():
    with pytest.raises(KeyError):
        derive_vars_stres_rounded(pd.DataFrame({"VSTESTCD": ["TEMP"]}), "VS", "VSTESTCD")


# --- CORE-000289/290/298/299 record: LBNRIND of a censored result ------------------------------


@pytest.mark.parametrize(
    ("qual", "x", "lo", "hi", "expected"),
    [
        ("<", 10, 0, 30, "NORMAL"),  # anti-dsDNA <10 within 0-30
        ("<", 10, 0, 10, "NORMAL"),  # every value below 10 is at most the upper limit 10
        ("<", 10, np.nan, 30, "NORMAL"),  # a missing lower limit does not bound
        ("<", 10, 0, 9, None),  # could be above 9
        ("<", 10, 5, 30, None),  # could be below 5 or not
        ("<", 10, 10, 30, "LOW"),  # every value is below the lower limit 10
        ("<=", 10, 10, 30, None),  # could equal the lower limit
        ("<=", 10, 11, 30, "LOW"),
        ("<=", 10, 0, 10, "NORMAL"),
        (">", 40, 0, 40, "HIGH"),
        (">=", 40, 0, 40, None),  # could equal the upper limit
        (">=", 41, 0, 40, "HIGH"),
        (">", 40, 0, 50, None),
        (">", 40, 5, np.nan, "NORMAL"),  # no upper limit: above 40 is above 5
        (">", 4, 5, np.nan, None),
        ("<", 10, np.nan, np.nan, None),  # no range at all
    ],
)
def test_lbnrind_censored_result_decided_by_its_limit(qual, x, lo, hi, expected):
    lb = pd.DataFrame(
        {
            "LBSTRESN": [float(x)],
            "LBRESQUAL": _text([qual]),
            "LBSTRESC": _text([f"{qual}{x}"]),
            "LBSTNRLO": [float(lo)],
            "LBSTNRHI": [float(hi)],
        }
    )
    got = derive_var_lbnrind(lb)["LBNRIND"].iloc[0]
    assert (pd.isna(got) and expected is None) or got == expected


def test_lbnrind_plain_numbers_and_words_unchanged():
    lb = pd.DataFrame(
        {
            "LBSTRESN": [4.9, 5.0, 30.0, 30.1, np.nan, np.nan, 12.0],
            "LBRESQUAL": _text([None] * 7),
            "LBSTRESC": _text(["4.9", "5", "30", "30.1", "NEGATIVE", "PRESENT", "12"]),
            "LBSTNRLO": [5.0, 5.0, 5.0, 5.0, np.nan, np.nan, np.nan],
            "LBSTNRHI": [30.0, 30.0, 30.0, 30.0, np.nan, np.nan, np.nan],
        }
    )
    expected = _text(["LOW", "NORMAL", "NORMAL", "HIGH", "NORMAL", "ABNORMAL", None])
    pdt.assert_series_equal(derive_var_lbnrind(lb)["LBNRIND"], expected, check_names=False)


# --- CORE-000083/000105/000170/000915: --LOBXFL ------------------------------------------------


def _vs_rows() -> pd.DataFrame:
    rows = [
        # USUBJID, VSTESTCD, VSDTC, VSORRES, VSSTRESC, VISITNUM, RECID, RFSTDTC
        ("S1", "WEIGHT", "2026-02-20", "60", "60", 1.0, "R1", "2026-03-01T10:00"),
        ("S1", "WEIGHT", "2026-03-01", "61", "61", 2.0, "R2", "2026-03-01T10:00"),  # first-dose day: last
        ("S1", "WEIGHT", "2026-03-02", "62", "62", 99.01, "R3", "2026-03-01T10:00"),  # after first dose
        ("S1", "PULSE", "2026-02-20", "70", "70", 1.0, "R4", "2026-03-01T10:00"),
        ("S1", "PULSE", "2026-03-01", None, None, 2.0, "R5", "2026-03-01T10:00"),  # no result: skipped
        ("S1", "TEMP", "2026-02", "36.5", "36.5", 1.0, "R6", "2026-03-01T10:00"),  # partial date: none
        ("S2", "WEIGHT", "2026-02-20", "50", "50", 1.0, "R7", None),  # never dosed: none
        ("S3", "WEIGHT", "2026-02-20", "70", "70", 1.0, "R8", "2026-03-05"),
        ("S3", "WEIGHT", "2026-02-20", "71", "71", 99.01, "R9", "2026-03-05"),  # same date, later visit
    ]
    cols = ["USUBJID", "VSTESTCD", "VSDTC", "VSORRES", "VSSTRESC", "VISITNUM", "RECID", "RFSTDTC"]
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c != "VISITNUM":
            df[c] = df[c].astype("string")
    return df


def test_lobxfl_one_last_record_before_exposure_per_subject_and_test():
    out = derive_var_lobxfl(_vs_rows(), "VS", ["VSTESTCD"])
    expected = _text([None, "Y", None, "Y", None, None, None, None, "Y"])
    pdt.assert_series_equal(out["VSLOBXFL"], expected, check_names=False)
    flagged = out[out["VSLOBXFL"].eq("Y").fillna(False)]
    # CORE-000915: unique per USUBJID and test; CORE-000105/000083: STRESC and ORRES present
    assert not flagged.duplicated(["USUBJID", "VSTESTCD"]).any()
    assert flagged["VSSTRESC"].notna().all() and flagged["VSORRES"].notna().all()


def test_lobxfl_groups_by_specimen():
    lb = pd.DataFrame(
        {
            "USUBJID": _text(["S1", "S1"]),
            "LBTESTCD": _text(["WBC", "WBC"]),
            "LBCAT": _text(["HEMATOLOGY", "URINALYSIS"]),
            "LBSPEC": _text(["BLOOD", "URINE"]),
            "LBDTC": _text(["2026-02-20", "2026-02-20"]),
            "LBORRES": _text(["5.1", "2"]),
            "LBSTRESC": _text(["5.1", "2"]),
            "VISITNUM": [1.0, 1.0],
            "RECID": _text(["A", "B"]),
            "RFSTDTC": _text(["2026-03-01", "2026-03-01"]),
        }
    )
    assert derive_var_lobxfl(lb, "LB", ["LBTESTCD", "LBCAT", "LBSPEC"])["LBLOBXFL"].tolist() == ["Y", "Y"]


# --- CORE-000177: CMENRF only with a reference period; CMENRTPT/CMENTPT -------------------------


def test_cm_end_relative_to_time_point_and_reference_period():
    cm = pd.DataFrame(
        {
            "CMONGO": _text(["Y", "Y", "N", None]),
            "SRC_EXPORT": _text(["20260301T020000Z"] * 4),
            "RFSTDTC": _text(["2026-01-05T09:00", None, "2026-01-05T09:00", "2026-01-05T09:00"]),
            "RFENDTC": _text(["2026-02-20", None, "2026-02-20", "2026-02-20"]),
        }
    )
    out = derive_vars_cm_end_reference(cm)
    pdt.assert_series_equal(out["CMENRTPT"], _text(["ONGOING", "ONGOING", None, None]), check_names=False)
    pdt.assert_series_equal(
        out["CMENTPT"], _text(["2026-03-01", "2026-03-01", None, None]), check_names=False
    )
    # the screen failure (no RFENDTC) has no CMENRF: CORE-000177 (DM.RFENDTC empty, --ENRF populated)
    pdt.assert_series_equal(out["CMENRF"], _text(["ONGOING", None, None, None]), check_names=False)


# --- CORE-000334: DM ACTARMUD --------------------------------------------------------------------


def test_actarmud_only_for_unplanned_treatment():
    dm = pd.DataFrame({"ARMNRS": _text(["UNPLANNED TREATMENT", "SCREEN FAILURE", None])})
    out = special.derive_var_actarmud(dm)
    pdt.assert_series_equal(out["ACTARMUD"], _text(["IL-2 OR PLACEBO", None, None]), check_names=False)


# --- CORE-000334 and the SV rules it switches on: SVPRESP, SVOCCUR, missed visits -----------------


def test_sv_presp_occur_of_attended_visits():
    sv = pd.DataFrame({"VISIT": _text(["SCREENING", "WEEK 2", "UNSCHEDULED"])})
    out = special.derive_vars_sv_presp_occur(sv)
    # CORE-000037/000038/000040: Y on TV visits, null on unscheduled ones
    assert out["SVPRESP"].tolist()[:2] == ["Y", "Y"] and pd.isna(out["SVPRESP"].iloc[2])
    assert out["SVOCCUR"].tolist()[:2] == ["Y", "Y"] and pd.isna(out["SVOCCUR"].iloc[2])


def _subjects(rfstdtc: list, site: str = "101") -> pd.DataFrame:
    n = len(rfstdtc)
    return pd.DataFrame(
        {
            "USUBJID": _text([f"S{i + 1}" for i in range(n)]),
            "SITEID": _text([site] * n),
            "RFSTDTC": _text(rfstdtc),
        }
    )


def _missed(subjects, cut, attended=(), eos=None) -> list[tuple]:
    att = pd.DataFrame(list(attended) or [("X", "DAY 1")], columns=["USUBJID", "VISIT"]).astype("string")
    out = special.derive_sv_missed_visits(att, subjects, pd.Series(eos or {}, dtype="string"), {"101": cut})
    assert set(out["SVPRESP"]) <= {"Y"} and set(out["SVOCCUR"]) <= {"N"}
    return list(out[["USUBJID", "VISIT", "VISITDY"]].itertuples(index=False, name=None))


def test_missed_visit_only_once_its_window_has_closed_by_the_site_cut():
    # first dose 2026-01-01: DAY 1 window ends on day 1 (01-01), WEEK 2 on day 15 + 3 (01-18)
    subj = _subjects(["2026-01-01T09:00"])
    assert _missed(subj, "20260119T020000Z") == [("S1", "DAY 1", 1.0), ("S1", "WEEK 2", 15.0)]
    # the cut on the window's last day: WEEK 2 not yet due (derivations.md v2)
    assert _missed(subj, "20260118T020000Z") == [("S1", "DAY 1", 1.0)]
    assert _missed(subj, "20260101T020000Z") == []
    # attended (a record names the visit, dated or not) is never missed
    assert _missed(subj, "20260119T020000Z", attended=[("S1", "DAY 1")]) == [("S1", "WEEK 2", 15.0)]


def test_no_missed_visit_after_end_of_study_never_dosed_or_without_cut():
    subj = _subjects(["2026-01-01T09:00"])
    # discontinued on 01-17, before WEEK 2's window closed: no longer planned
    assert _missed(subj, "20260119T020000Z", eos={"S1": "2026-01-17"}) == [("S1", "DAY 1", 1.0)]
    # discontinued on the window's last day: the visit was still due
    assert len(_missed(subj, "20260119T020000Z", eos={"S1": "2026-01-18"})) == 2
    assert _missed(_subjects([None]), "20260301T020000Z") == []  # never dosed: no planned days
    assert _missed(_subjects(["2026-01"]), "20260301T020000Z") == []  # partial first dose
    out = special.derive_sv_missed_visits(
        pd.DataFrame({"USUBJID": _text([]), "VISIT": _text([])}),
        _subjects(["2026-01-01"], site="102"),
        pd.Series(dtype="string"),
        {"101": "20260301T020000Z"},
    )
    assert out.empty  # no export in force for the subject's site: nothing is due


def test_end_of_study_dates_are_disposition_events_only():
    ds = pd.DataFrame(
        {
            "USUBJID": _text(["S1", "S1", "S2", "S3"]),
            "DSDECOD": _text(["RANDOMIZED", "ADVERSE EVENT", "INFORMED CONSENT OBTAINED", "COMPLETED"]),
            "DSSTDTC": _text(["2026-01-01", "2026-02-10", "2025-12-01", "2026-06-01"]),
        }
    )
    pdt.assert_series_equal(
        special.end_of_study_dates(ds),
        pd.Series({"S1": "2026-02-10", "S3": "2026-06-01"}, dtype="string"),
        check_names=False,
        check_index_type=False,
    )


# --- CORE-000328/000776: MHSTDY and MHENDY --------------------------------------------------------


def test_mh_study_days():
    mh = pd.DataFrame(
        {
            "STUDYID": "LDIL2SLE",
            "USUBJID": ["S1", "S1"],
            "MHTERM": ["Lupus", "Cataract"],
            "MHCAT": ["SLE", "OCULAR"],
            "MHSTDTC": ["2026-02-28", "2020-05"],
            "MHENDTC": ["2026-03-02", None],
            "MHONGO": ["N", "Y"],
            "MHNYHA": [None, None],
            "RECID": ["M1", "M2"],
        }
    ).astype("string")
    ref = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": ["2026-03-01T10:00"], "RFICDTC": ["2026-02-01"]})
    out = events.build_mh(mh, ref)["MH"].set_index("MHTERM")
    # no day 0: the day before the first dose is -1, the day after +2; a partial date has none
    assert out.loc["Lupus", ["MHSTDY", "MHENDY"]].tolist() == [-1, 2]
    assert pd.isna(out.loc["Cataract", "MHSTDY"]) and pd.isna(out.loc["Cataract", "MHENDY"])
    assert out["MHSTDY"].dtype == "Int64"
