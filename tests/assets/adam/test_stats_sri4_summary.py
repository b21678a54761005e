"""Stats tables and plots (issue 16, item 4): SRI-4 by visit with not yet due reported apart and out
of the denominator, the exact interval, the SLEDAI-2K change by planned week, labels from study/.

Literal ADSL/ADEFF: three FAS subjects and one outside the FAS; outcomes per visit WEEK 4..WEEK 24
(Y responder, N non-responder, D not yet due):

    S1 Placebo      Y N N Y D D
    S2 IL-2 1 MIU   Y Y Y N N D
    S3 IL-2 1 MIU   N N Y Y Y Y
    S4 Placebo      Y Y Y Y Y Y   (FASFL = N: counted nowhere)

Clopper-Pearson bounds with closed forms: n = 1: r = 1 -> (0.025, 1), r = 0 -> (0, 0.975);
n = 2: r = 2 -> (sqrt(0.025), 1), r = 1 -> (1 - sqrt(0.975), sqrt(0.975)), r = 0 -> (0, 1 - sqrt(0.025)).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from assets.adam.adeff import NOT_YET_DUE
from assets.adam.stats import (
    POOLED,
    SRI4_COLUMNS,
    proportion_interval,
    sledai_change_plot,
    sledai_change_table,
    sri4_by_visit_table,
    sri4_response_plot,
    sri4_response_table,
    sri4_summary_mismatches,
    stats_dataset_label,
    stats_file,
    stats_keys,
    stats_labels,
    visit_weeks,
)
from assets.common.parquet import read_labels, write_parquet

VISITS = ["WEEK 4", "WEEK 8", "WEEK 12", "WEEK 16", "WEEK 20", "WEEK 24"]
VISITNUM = [4.0, 6.0, 8.0, 9.0, 10.0, 11.0]
WEEKS = [4.0, 8.0, 12.0, 16.0, 20.0, 24.0]
OUTCOMES = {
    "S1": ("Placebo", 0.0, "Y", "YNNYDD"),
    "S2": ("IL-2 1 MIU", 1.0, "Y", "YYYNND"),
    "S3": ("IL-2 1 MIU", 1.0, "Y", "NNYYYY"),
    "S4": ("Placebo", 0.0, "N", "YYYYYY"),
}
R975, R025 = math.sqrt(0.975), math.sqrt(0.025)


def adsl() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": list(OUTCOMES),
            "FASFL": [o[2] for o in OUTCOMES.values()],
            "TRT01P": [o[0] for o in OUTCOMES.values()],
            "TRT01PN": [o[1] for o in OUTCOMES.values()],
        }
    )


def adeff(drop: tuple[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for subject, (trt, trtn, fas, outcomes) in OUTCOMES.items():
        for visit, o in zip(VISITS, outcomes, strict=True):
            if (subject, visit) == drop:
                continue
            rows.append(
                {
                    "USUBJID": subject,
                    "PARAMCD": "SRI4",
                    "AVISIT": visit,
                    "FASFL": fas,
                    "AVALC": None if o == "D" else o,
                    "NRREAS": {"Y": None, "N": "SLEDAI-2K REDUCTION < 4", "D": NOT_YET_DUE}[o],
                    "TRTP": trt,
                    "TRTPN": trtn,
                }
            )
    # a SLEDAI record is no SRI-4 record
    rows.append({**rows[0], "PARAMCD": "SLEDAI", "AVALC": None, "NRREAS": NOT_YET_DUE})
    return pd.DataFrame(rows)


def table(group, groupn, nfas, responders, nonresp, notdue, ci) -> pd.DataFrame:
    n = [r + nr for r, nr in zip(responders, nonresp, strict=True)]
    return pd.DataFrame(
        {
            "GROUP": pd.Series([group] * 6, dtype="string"),
            "GROUPN": [groupn] * 6,
            "AVISIT": pd.Series(VISITS, dtype="string"),
            "AVISITN": VISITNUM,
            "WEEK": WEEKS,
            "NFAS": pd.Series([nfas] * 6, dtype="int64"),
            "N": pd.Series(n, dtype="int64"),
            "RESPONDERS": pd.Series(responders, dtype="int64"),
            "NONRESP": pd.Series(nonresp, dtype="int64"),
            "NOTDUE": pd.Series(notdue, dtype="int64"),
            "PCT": [100.0 * r / k if k else np.nan for r, k in zip(responders, n, strict=True)],
            "CI_LO_PCT": [100.0 * lo for lo, _ in ci],
            "CI_HI_PCT": [100.0 * hi for _, hi in ci],
            "CI_METHOD": "CLOPPER-PEARSON",
        }
    )


def test_sri4_by_visit_by_arm_with_not_yet_due_apart():
    got = sri4_by_visit_table(adeff(), adsl(), blinded=False)
    nan = (np.nan, np.nan)
    placebo = table(
        "Placebo", 0.0, 1, [1, 0, 0, 1, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1],
        [(0.025, 1.0), (0.0, 0.975), (0.0, 0.975), (0.025, 1.0), nan, nan],
    )  # fmt: skip
    high = table(
        "IL-2 1 MIU", 1.0, 2, [1, 1, 2, 1, 1, 1], [1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 1],
        [(1 - R975, R975), (1 - R975, R975), (R025, 1.0), (1 - R975, R975), (1 - R975, R975), (0.025, 1.0)],
    )  # fmt: skip
    want = pd.concat([placebo, high], ignore_index=True)[SRI4_COLUMNS]
    pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=1e-9)
    assert sri4_summary_mismatches(got).empty


def test_blinded_summary_is_pooled_and_holds_no_treatment():
    got = sri4_by_visit_table(adeff(), adsl(), blinded=True)
    assert got["GROUP"].tolist() == [POOLED] * 6 and got["GROUPN"].tolist() == [0.0] * 6
    assert got["NFAS"].tolist() == [3] * 6
    assert got[["RESPONDERS", "NONRESP", "NOTDUE", "N"]].values.tolist() == [
        [2, 1, 0, 3],
        [1, 2, 0, 3],
        [2, 1, 0, 3],
        [2, 1, 0, 3],
        [1, 1, 1, 2],
        [1, 0, 2, 1],
    ]
    texts = {str(v) for v in got.astype(str).to_numpy().ravel()}
    assert not texts & {"Placebo", "IL-2 1 MIU"}
    # WEEK 4: 2 of 3; the closed form at r = 0 and r = n holds, here (2, 3): lo, hi strictly inside
    lo, hi = got.loc[0, ["CI_LO_PCT", "CI_HI_PCT"]]
    assert 0 < lo < 100 * 2 / 3 < hi < 100


def test_a_fas_subject_without_a_record_shows_as_a_mismatch():
    got = sri4_by_visit_table(adeff(drop=("S3", "WEEK 8")), adsl(), blinded=False)
    bad = sri4_summary_mismatches(got)
    assert bad[["GROUP", "AVISIT", "NFAS", "RESPONDERS", "NONRESP", "NOTDUE"]].values.tolist() == [
        ["IL-2 1 MIU", "WEEK 8", 2, 1, 0, 0]
    ]


def test_primary_endpoint_table_is_week_24_of_the_by_visit_table():
    by_visit = sri4_by_visit_table(adeff(), adsl(), blinded=False)
    got = sri4_response_table(adeff(), adsl(), blinded=False)
    want = by_visit[by_visit["AVISIT"] == "WEEK 24"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert got[["GROUP", "NFAS", "N", "RESPONDERS", "NOTDUE"]].values.tolist() == [
        ["Placebo", 1, 0, 0, 1],
        ["IL-2 1 MIU", 2, 1, 1, 1],
    ]
    assert math.isnan(got.loc[0, "PCT"])  # nobody evaluable: no percentage, no interval


def test_a_group_with_no_records_still_appears_with_zero_counts():
    a = pd.concat([adsl(), adsl().iloc[[0]].assign(USUBJID="S9", TRT01P="IL-2 0.2 MIU", TRT01PN=0.2)])
    got = sri4_response_table(adeff(), a, blinded=False)
    row = got[got["GROUP"] == "IL-2 0.2 MIU"]
    assert row[["NFAS", "N", "RESPONDERS", "NONRESP", "NOTDUE"]].values.tolist() == [[1, 0, 0, 0, 0]]
    assert len(sri4_summary_mismatches(got)) == 1


@pytest.mark.parametrize(
    ("r", "n", "lo", "hi"),
    [
        (1, 1, 0.025, 1.0),
        (0, 1, 0.0, 0.975),
        (1, 2, 1 - R975, R975),
        (2, 2, R025, 1.0),
        (0, 4, 0.0, 1 - 0.025**0.25),
    ],
)
def test_clopper_pearson_closed_forms(r, n, lo, hi):
    got = proportion_interval(r, n)
    assert got[2] == "CLOPPER-PEARSON"
    assert got[0] == pytest.approx(lo, abs=1e-12) and got[1] == pytest.approx(hi, abs=1e-12)


def test_clopper_pearson_no_subject():
    lo, hi, method = proportion_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi) and method == "CLOPPER-PEARSON"


def sledai_adeff() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PARAMCD": ["SLEDAI"] * 6 + ["PGA"],
            "FASFL": ["Y", "Y", "Y", "Y", "N", "Y", "Y"],
            "ANL01FL": ["Y", "Y", "Y", "Y", "Y", None, "Y"],
            "AVISIT": ["WEEK 4", "WEEK 4", "WEEK 24", "DAY 1", "WEEK 4", "WEEK 4", "WEEK 4"],
            "AVISITN": [4.0, 4.0, 11.0, 2.0, 4.0, 4.0, 4.0],
            "CHG": [-4.0, -2.0, -6.0, None, -10.0, -8.0, -1.0],
            "TRTP": "BLINDED",
            "TRTPN": np.nan,
        }
    )


def test_sledai_change_table_by_planned_week():
    got = sledai_change_table(sledai_adeff(), blinded=True)
    want = pd.DataFrame(
        {
            "GROUP": pd.Series([POOLED, POOLED], dtype="string"),
            "GROUPN": [0.0, 0.0],
            "AVISIT": pd.Series(["WEEK 4", "WEEK 24"], dtype="string"),
            "AVISITN": [4.0, 11.0],
            "WEEK": [4.0, 24.0],
            "N": pd.Series([2, 1], dtype="int64"),
            "MEAN": [-3.0, -6.0],
            "SD": [math.sqrt(2.0), np.nan],
            "SE": [1.0, np.nan],
        }
    )
    pd.testing.assert_frame_equal(got, want)


def test_visit_weeks_from_the_schedule():
    w = visit_weeks().set_index("AVISIT")["WEEK"]
    assert w["DAY 1"] == 0.0 and w["WEEK 2"] == 2.0 and w["WEEK 24"] == 24.0
    assert "SCREENING" not in w.index and "UNSCHEDULED" not in w.index


@pytest.mark.parametrize("dataset", ["SRI4_WEEK24", "SRI4_BY_VISIT", "SLEDAI_CHANGE"])
def test_every_stats_column_has_a_label_and_the_file_carries_it(dataset, tmp_path):
    tables = {
        "SRI4_WEEK24": sri4_response_table(adeff(), adsl(), blinded=False),
        "SRI4_BY_VISIT": sri4_by_visit_table(adeff(), adsl(), blinded=False),
        "SLEDAI_CHANGE": sledai_change_table(sledai_adeff(), blinded=True),
    }
    t = tables[dataset]
    labels = stats_labels(dataset)
    assert list(labels) == list(t.columns)
    assert all(0 < len(label) <= 40 for label in labels.values())
    assert not t.duplicated(stats_keys(dataset)).any()
    path = write_parquet(
        t,
        tmp_path / stats_file(dataset),
        sort_by=stats_keys(dataset),
        labels=labels,
        dataset_label=stats_dataset_label(dataset),
    )
    got_labels, got_dataset = read_labels(path)
    assert got_labels == labels and got_dataset == stats_dataset_label(dataset)


def test_unknown_stats_table_has_no_labels():
    with pytest.raises(KeyError, match="stats_variables"):
        stats_labels("NOPE")


def _png_shape(data: bytes) -> tuple:
    import matplotlib.image as mpimg

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(io.BytesIO(data), format="png").shape


@pytest.mark.parametrize("blinded", [True, False])
def test_plots_are_pngs_and_the_same_bytes_on_a_rerun(blinded):
    by_visit = sri4_by_visit_table(adeff(), adsl(), blinded)
    change = sledai_change_table(sledai_adeff(), blinded=True)
    for make, data in ((sri4_response_plot, by_visit), (sledai_change_plot, change)):
        first, second = make(data, blinded), make(data, blinded)
        assert first == second
        assert len(_png_shape(first)) == 3


def test_plots_of_empty_tables():
    empty = sri4_by_visit_table(adeff().iloc[0:0], adsl().iloc[0:0], blinded=True)
    assert empty.empty
    assert len(_png_shape(sri4_response_plot(empty, True))) == 3
    assert len(_png_shape(sledai_change_plot(sledai_change_table(sledai_adeff().iloc[0:0], True), True))) == 3
