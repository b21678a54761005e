"""(v2) SRI-4 visits not yet due at the site's data cut (derivations.md, SRI-4), with literal ADSL
and RS frames and hand-computed windows.

Subject 1 of site 101: first dose 10-JAN-2026 (DAY 1 = study day 1). Windows from
study/visits.csv (planned day + window, last day = TRTSDT + planned + window - 1; the window
closes at midnight after it):

    WEEK 4  29+3  last 2026-02-10    WEEK 16 113+7  last 2026-05-09
    WEEK 8  57+3  last 2026-03-10    WEEK 20 141+7  last 2026-06-06
    WEEK 12 85+3  last 2026-04-07    WEEK 24 169+7  last 2026-07-04
"""

from __future__ import annotations

import pandas as pd
import pytest

from assets.adam.adeff import (
    NOT_YET_DUE,
    derive_adeff,
    derive_var_not_yet_due,
    derive_vars_dcut,
    site_data_cuts,
    sri4_visits,
    window_closes,
)
from assets.adam.common import finalize
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L

FIRST_DOSE = "2026-01-10"
VISITS = ["WEEK 4", "WEEK 8", "WEEK 12", "WEEK 16", "WEEK 20", "WEEK 24"]


def adsl(
    *subjects: int, site: str = "101", eosstt: str = "ONGOING", eosdt: str | None = None
) -> pd.DataFrame:
    """A literal ADSL (the variables ADEFF takes from it), subjects all in the FAS, blinded."""
    n = len(subjects)
    return pd.DataFrame(
        {
            "STUDYID": L.STUDYID,
            "USUBJID": [L.usubjid(s) for s in subjects],
            "SUBJID": [f"{site}-{s:04d}" for s in subjects],
            "SITEID": site,
            "AGE": [40.0] * n,
            "AGEU": "YEARS",
            "SEX": "F",
            "RACE": "ASIAN",
            "ETHNIC": "NOT HISPANIC OR LATINO",
            "TRT01P": "BLINDED",
            "TRT01PN": [float("nan")] * n,
            "TRT01A": "BLINDED",
            "TRT01AN": [float("nan")] * n,
            "SAFFL": "Y",
            "FASFL": "Y",
            "PPROTFL": "Y",
            "TRTSDT": pd.to_datetime([FIRST_DOSE] * n),
            "TRTEDT": pd.to_datetime(["2026-03-30"] * n),
            "EOSSTT": eosstt,
            "EOSDT": pd.to_datetime([eosdt] * n),
        }
    )


def rs(*extra: pd.DataFrame) -> pd.DataFrame:
    return L.rs_all(
        L.rs(1, "SCREENING", "2026-01-02", 12, 1.6, "D"),
        L.rs(1, "DAY 1", FIRST_DOSE, 10, 1.5, "D"),
        L.rs(1, "WEEK 4", "2026-02-07", 6, 1.5, "D"),
        *extra,
    )


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, every kind of missing as None: compares values, not dtypes."""
    out = df.astype(object)
    return out.where(df.notna().to_numpy(), None).reset_index(drop=True)


def sri4_rows(out: pd.DataFrame) -> pd.DataFrame:
    s = out[out["PARAMCD"] == "SRI4"].sort_values("AVISITN")
    return plain(s[["AVISIT", "AVAL", "AVALC", "NRREAS", "DTYPE", "DCUTDTC"]])


def expected(avalc: list, nrreas: list, dtype: list, dcut: str | None) -> pd.DataFrame:
    aval = [{"Y": 1.0, "N": 0.0}.get(a) for a in avalc]
    return plain(
        pd.DataFrame(
            {
                "AVISIT": VISITS,
                "AVAL": aval,
                "AVALC": avalc,
                "NRREAS": nrreas,
                "DTYPE": dtype,
                "DCUTDTC": [dcut] * 6,
            }
        )
    )


MISSED = "VISIT NOT ATTENDED"
PH = "PHANTOM"


def test_visits_after_the_cut_are_not_yet_due_and_earlier_unassessed_visits_missed():
    # site cut 2026-04-15 02:00 UTC: WEEK 8 and WEEK 12 windows closed unassessed (missed),
    # WEEK 16..WEEK 24 windows still open (not yet due)
    out = derive_adeff(adsl(1), rs(), {"101": "20260415T020000Z", "IWRS": "20260415T040000Z"})
    want = expected(
        ["Y", "N", "N", None, None, None],
        [None, MISSED, MISSED, NOT_YET_DUE, NOT_YET_DUE, NOT_YET_DUE],
        [None, PH, PH, PH, PH, PH],
        "2026-04-15T02:00:00Z",
    )
    pd.testing.assert_frame_equal(sri4_rows(out), want)


@pytest.mark.parametrize(
    ("export_id", "week8"),
    [
        ("20260310T235959Z", "not yet due"),  # the last day of the window is not over
        ("20260311T000000Z", "missed"),  # the window closed exactly at the cut: not after it
        ("20260311T020000Z", "missed"),
    ],
)
def test_window_closing_exactly_at_the_cut(export_id, week8):
    out = derive_adeff(adsl(1), rs(), {"101": export_id})
    row = sri4_rows(out).set_index("AVISIT").loc["WEEK 8"]
    if week8 == "missed":
        assert (row["AVALC"], row["AVAL"], row["NRREAS"]) == ("N", 0.0, MISSED)
    else:
        assert pd.isna(row["AVALC"]) and pd.isna(row["AVAL"]) and row["NRREAS"] == NOT_YET_DUE


def test_an_assessment_in_an_open_window_is_evaluated_not_held_back():
    # WEEK 8 assessed on 2026-03-07, cut 2026-03-08: its window is open but an assessment exists
    out = derive_adeff(adsl(1), rs(L.rs(1, "WEEK 8", "2026-03-07", 9, 1.5, "D")), {"101": "20260308T020000Z"})
    got = sri4_rows(out).set_index("AVISIT")
    assert (got.loc["WEEK 8", "AVALC"], got.loc["WEEK 8", "NRREAS"]) == ("N", "SLEDAI-2K REDUCTION < 4")
    assert got.loc["WEEK 12":, "NRREAS"].tolist() == [NOT_YET_DUE] * 4


def test_a_partial_assessment_in_an_open_window_is_a_missing_component():
    out = derive_adeff(
        adsl(1), rs(L.rs(1, "WEEK 8", "2026-03-07", 6, None, "D")), {"101": "20260308T020000Z"}
    )
    row = sri4_rows(out).set_index("AVISIT").loc["WEEK 8"]
    assert (row["AVALC"], row["NRREAS"]) == ("N", "PGA MISSING")


@pytest.mark.parametrize(
    ("eosstt", "eosdt", "reasons"),
    [
        # discontinued on 2026-03-20: visits after it are lost, whatever the cut says
        ("DISCONTINUED", "2026-03-20", [MISSED] + ["DISCONTINUED BEFORE VISIT"] * 4),
        # completed early (study ended for them): an unattended open window is missed
        ("COMPLETED", "2026-03-20", [MISSED] * 5),
    ],
)
def test_a_subject_no_longer_in_the_study_has_no_visit_not_yet_due(eosstt, eosdt, reasons):
    out = derive_adeff(adsl(1, eosstt=eosstt, eosdt=eosdt), rs(), {"101": "20260415T020000Z"})
    got = sri4_rows(out)
    assert got["NRREAS"].tolist()[1:] == reasons and got["AVALC"].tolist()[1:] == ["N"] * 5


def test_each_subject_uses_the_cut_of_its_own_site():
    two = pd.concat([adsl(1, site="101"), adsl(2, site="102")], ignore_index=True)
    two["USUBJID"] = [L.usubjid(1), L.usubjid(2)]
    records = L.rs_all(
        *(
            L.rs(s, v, d, t, 1.5, "D")
            for s in (1, 2)
            for v, d, t in (
                ("SCREENING", "2026-01-02", 12),
                ("DAY 1", FIRST_DOSE, 10),
                ("WEEK 4", "2026-02-07", 6),
            )
        )
    )
    out = derive_adeff(two, records, {"101": "20260415T020000Z", "102": "20260601T020000Z"})
    s = out[out["PARAMCD"] == "SRI4"].sort_values(["USUBJID", "AVISITN"])
    due = s.groupby("USUBJID")["NRREAS"].apply(lambda r: int((r == NOT_YET_DUE).sum())).tolist()
    # site 101 (cut 15 April): WEEK 16..24; site 102 (cut 1 June): WEEK 20 (last day 6 June) and WEEK 24
    assert due == [3, 2]


def test_without_a_cut_every_window_is_closed():
    out = derive_adeff(adsl(1), rs())
    got = sri4_rows(out)
    assert got["NRREAS"].tolist() == [None] + [MISSED] * 5
    assert got["DCUTDTC"].isna().all()


def test_every_fas_subject_has_one_sri4_record_per_visit_and_the_file_conforms():
    out = derive_adeff(adsl(1), rs(), {"101": "20260415T020000Z"})
    assert out.loc[out["PARAMCD"] == "SRI4", "AVISIT"].tolist() == VISITS
    final = finalize(out, "ADEFF")
    assert conformance_failures(final, "ADEFF", blinded=True).empty


def test_site_data_cuts_keeps_sites_with_a_real_export_time():
    got = site_data_cuts({"102": "20260301T021500Z", "IWRS": "20260301T040000Z", "101": "not-a-time"})
    want = pd.DataFrame(
        {
            "SITEID": pd.Series(["102"], dtype="string"),
            "DCUTDTC": pd.Series(["2026-03-01T02:15:00Z"], dtype="string"),
            "DCUTDTM": pd.to_datetime(["2026-03-01 02:15:00"]).astype("datetime64[ns]"),
        }
    )
    pd.testing.assert_frame_equal(got, want)
    assert site_data_cuts(None).empty and list(site_data_cuts(None).columns) == list(want.columns)


def test_derive_vars_dcut_by_site():
    df = pd.DataFrame({"USUBJID": ["A", "B", "C"], "SITEID": ["101", "102", "103"]})
    got = derive_vars_dcut(df, {"101": "20260301T020000Z", "102": "20260228T230000Z"})
    want = df.assign(
        DCUTDTC=pd.Series(["2026-03-01T02:00:00Z", "2026-02-28T23:00:00Z", None], dtype="string"),
        DCUTDTM=pd.to_datetime(["2026-03-01 02:00:00", "2026-02-28 23:00:00", None]).astype("datetime64[ns]"),
    )
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(KeyError, match="SITEID"):
        derive_vars_dcut(df.drop(columns="SITEID"), {})


def test_derive_var_not_yet_due_truth_table():
    grid = pd.DataFrame(
        {
            "TRTSDT": pd.to_datetime([FIRST_DOSE] * 6),
            "PLANNED_DAY": [57.0] * 6,
            "WINDOW_DAYS": [3.0] * 6,  # window closes 2026-03-11 00:00
            "EOSSTT": ["ONGOING", "ONGOING", "ONGOING", "DISCONTINUED", "ONGOING", None],
            "DCUTDTM": pd.to_datetime(
                [
                    "2026-03-10 23:59",
                    "2026-03-11 00:00",
                    "2026-03-10 02:00",
                    "2026-03-10 02:00",
                    None,
                    "2026-03-10 00:00",
                ]
            ),
        }
    )
    attended = pd.Series([False, False, True, False, False, False])
    assert window_closes(grid).tolist() == [pd.Timestamp("2026-03-11")] * 6
    assert derive_var_not_yet_due(grid, attended).tolist() == [True, False, False, False, False, False]


def test_sri4_visits_are_the_post_baseline_sledai_visits_with_windows():
    v = sri4_visits()
    assert v["VISIT"].tolist() == VISITS
    assert v["PLANNED_DAY"].tolist() == [29, 57, 85, 113, 141, 169]
    assert v["WINDOW_DAYS"].tolist() == [3, 3, 3, 7, 7, 7]
