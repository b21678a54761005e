"""ADEFF: baseline rule and SRI-4 with hand-computed answers at every boundary (issue 4, item 7).

One subject: first dose 10-JAN-2026 (DAY 1), baseline SLEDAI-2K 10, PGA 1.5, BILAG all D (C for
the one "B at baseline" case). Each test changes the WEEK 24 assessment and reads SRI4 there.
"""

from __future__ import annotations

import pandas as pd
import pytest

from assets.adam.adeff import derive_adeff, sri4_visits
from assets.adam.adsl import derive_adsl
from tests.assets.adam import literal as L

FIRST_DOSE = "2026-01-10"


def run(
    week24: pd.DataFrame | None, ds_rows=(), day1_bilag="D", extra: list[pd.DataFrame] | None = None
) -> pd.DataFrame:
    parts = [
        L.rs(1, "SCREENING", "2026-01-02", 12, 1.6, "D"),
        L.rs(1, "DAY 1", FIRST_DOSE, 10, 1.5, day1_bilag),
        *(extra or []),
    ]
    if week24 is not None:
        parts.append(week24)
    rs = L.rs_all(*parts)
    adsl = derive_adsl(
        L.dm(1),
        L.ex(1, FIRST_DOSE, 21),
        L.ds(list(ds_rows)),
        L.vs_weight([(1, "SCREENING", "2026-01-02", 60.0)]),
        rs,
        L.rand(1),
        L.eligibility(1),
        None,
    )
    return derive_adeff(adsl, rs)


def sri4(adeff: pd.DataFrame, visit: str = "WEEK 24") -> pd.Series:
    row = adeff[(adeff["PARAMCD"] == "SRI4") & (adeff["AVISIT"] == visit)]
    assert len(row) == 1
    return row.iloc[0]


def week24(sledai=6, pga=1.5, bilag="D") -> pd.DataFrame:
    return L.rs(1, "WEEK 24", "2026-06-27", sledai, pga, bilag)


def test_responder_when_all_three_components_hold():
    r = sri4(run(week24()))
    assert (r["AVALC"], r["AVAL"], r["CRIT1FL"], r["CRIT2FL"], r["CRIT3FL"]) == ("Y", 1, "Y", "Y", "Y")
    assert pd.isna(r["NRREAS"]) and pd.isna(r["DTYPE"])


@pytest.mark.parametrize(("sledai", "avalc"), [(6, "Y"), (7, "N")])
def test_sledai_reduction_exactly_4_vs_3(sledai, avalc):
    r = sri4(run(week24(sledai=sledai)))
    assert r["AVALC"] == avalc and r["CRIT1FL"] == avalc
    if avalc == "N":
        assert r["NRREAS"] == "SLEDAI-2K REDUCTION < 4"


@pytest.mark.parametrize(
    ("bilag", "avalc", "reason"),
    [
        ({"RENAL": "B"}, "Y", None),  # one new B is allowed
        ({"RENAL": "B", "HAEM": "B"}, "N", "2 OR MORE NEW BILAG B"),
        ({"MUCOCUT": "A"}, "N", "NEW BILAG A"),
        ({"RENAL": "C", "HAEM": "C"}, "Y", None),  # worse than D but not B: no new B
    ],
)
def test_one_vs_two_new_bilag_b_and_a_new_bilag_a(bilag, avalc, reason):
    r = sri4(run(week24(bilag=bilag)))
    assert r["AVALC"] == avalc and r["CRIT2FL"] == avalc
    assert (r["NRREAS"] if avalc == "N" else None) == reason


def test_b_that_was_already_b_at_baseline_is_not_new():
    r = sri4(run(week24(bilag={"RENAL": "B", "HAEM": "B"}), day1_bilag={"RENAL": "B"}))
    assert r["CRIT2FL"] == "Y"  # only HAEM is a new B


@pytest.mark.parametrize(("pga", "avalc"), [(1.8, "N"), (1.7, "Y")])
def test_pga_worse_by_0_3_vs_0_2(pga, avalc):
    # 1.8 - 1.5 = 0.30000000000000004 and 1.7 - 1.5 = 0.19999999999999996 in binary floating point
    r = sri4(run(week24(pga=pga)))
    assert r["AVALC"] == avalc and r["CRIT3FL"] == avalc
    if avalc == "N":
        assert r["NRREAS"] == "PGA WORSE BY 0.3 OR MORE"


def test_missing_pga_at_week_24_is_non_response_with_reason():
    r = sri4(run(week24(pga=None)))
    assert r["AVALC"] == "N" and r["AVAL"] == 0
    assert pd.isna(r["CRIT3FL"]) and r["CRIT1FL"] == "Y" and r["CRIT2FL"] == "Y"
    assert r["NRREAS"] == "PGA MISSING"


def test_missing_bilag_domain_is_non_response():
    grades = {"RENAL": None}
    r = sri4(run(week24(bilag=grades)))
    assert r["AVALC"] == "N" and pd.isna(r["CRIT2FL"]) and r["NRREAS"] == "BILAG MISSING"


def test_discontinued_before_week_24():
    out = run(
        None,
        ds_rows=[(1, "WITHDRAWAL BY SUBJECT", "2026-04-01")],
        extra=[L.rs(1, "WEEK 4", "2026-02-07", 5, 1.0, "D")],
    )
    r = sri4(out)
    assert r["AVALC"] == "N" and r["NRREAS"] == "DISCONTINUED BEFORE VISIT" and r["DTYPE"] == "PHANTOM"
    assert sri4(out, "WEEK 4")["AVALC"] == "Y"  # before the discontinuation: evaluated normally
    assert len(out[out["PARAMCD"] == "SRI4"]) == len(sri4_visits()) == 6  # WEEK 4..WEEK 24, attended or not


def test_visit_not_attended_by_a_subject_who_completed():
    out = run(week24(), ds_rows=[(1, "COMPLETED", "2026-06-27")])
    r = sri4(out, "WEEK 8")
    assert r["AVALC"] == "N" and r["NRREAS"] == "VISIT NOT ATTENDED" and r["DTYPE"] == "PHANTOM"


def test_unscheduled_assessments_are_not_used_for_endpoints():
    out = run(None, extra=[L.rs(1, "UNSCHEDULED", "2026-06-27", 2, 1.0, "D")])
    assert sri4(out)["AVALC"] == "N"
    assert not ((out["PARAMCD"] == "SLEDAI") & (out["AVISIT"] == "UNSCHEDULED")).any()


def test_baseline_is_day_1_on_first_dose_day_and_change_on_post_baseline_records():
    out = run(week24(sledai=6))
    s = out[out["PARAMCD"] == "SLEDAI"].set_index("AVISIT")
    assert s.loc["DAY 1", "ABLFL"] == "Y" and pd.isna(s.loc["SCREENING", "ABLFL"])
    assert (s["BASE"] == 10).all()
    assert (
        s.loc["WEEK 24", "CHG"] == -4
        and pd.isna(s.loc["DAY 1", "CHG"])
        and pd.isna(s.loc["SCREENING", "CHG"])
    )
    assert s.loc["WEEK 24", "ADY"] == 169 and s.loc["SCREENING", "ADY"] == -8
    assert s.loc["DAY 1", "ANL01FL"] == "Y" and pd.isna(s.loc["SCREENING", "ANL01FL"])


def test_screening_is_baseline_only_when_nothing_later_qualifies():
    rs = L.rs_all(
        L.rs(1, "SCREENING", "2026-01-02", 12, 1.6, "D"),
        L.rs(1, "DAY 1", FIRST_DOSE, None, 1.5, "D"),
        week24(sledai=8),
    )
    adsl = derive_adsl(
        L.dm(1), L.ex(1, FIRST_DOSE, 21), L.ds([]), L.vs_weight([]), rs, L.rand(1), L.eligibility(1), None
    )
    out = derive_adeff(adsl, rs)
    s = out[out["PARAMCD"] == "SLEDAI"].set_index("AVISIT")
    assert s.loc["SCREENING", "ABLFL"] == "Y" and s.loc["WEEK 24", "CHG"] == -4
    assert adsl["SLEDAIBL"].tolist() == [12]
    p = out[out["PARAMCD"] == "PGA"].set_index("AVISIT")
    assert p.loc["DAY 1", "ABLFL"] == "Y"  # per parameter


def test_day_1_dated_after_first_dose_is_not_baseline():
    rs = L.rs_all(
        L.rs(1, "SCREENING", "2026-01-02", 12, 1.6, "D"), L.rs(1, "DAY 1", "2026-01-11", 10, 1.5, "D")
    )
    adsl = derive_adsl(
        L.dm(1), L.ex(1, FIRST_DOSE, 21), L.ds([]), L.vs_weight([]), rs, L.rand(1), L.eligibility(1), None
    )
    assert adsl["SLEDAIBL"].tolist() == [12]
