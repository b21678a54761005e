"""End to end at an interim data cut (issue 16): ``trialpipe generate --data-cut`` then ``trialpipe
run``; ADEFF keeps visits not yet due apart (derivations.md, SRI-4) and the stats add up.

The expectations are recomputed here from the landing zone (each site's newest export id is its
data cut), SDTM RS (which visits were assessed), ADSL (first dose, status) and study/visits.csv,
not read from the pipeline's own flags.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import study
from assets.common.parquet import read_labels
from tests.e2e.test_blinding import leaks

pytestmark = pytest.mark.e2e

CUT = "2025-11-30"  # 90 days before study/synth.yaml data_cut: most subjects mid-study
SRI4_VISITS = ["WEEK 4", "WEEK 8", "WEEK 12", "WEEK 16", "WEEK 20", "WEEK 24"]
LAST_CONSENT_DAYS = 45  # study/synth.yaml last_consent_days_before_cut


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("interim_cut")
    cli = [sys.executable, "-m", "pipelines.cli"]
    gen = subprocess.run(
        [
            *cli,
            "generate",
            "--out",
            str(base / "landing"),
            "--restricted-out",
            str(base / "restricted"),
            "--seed",
            "5",
            "--sites",
            "2",
            "--subjects",
            "40",
            "--data-cut",
            CUT,
        ],
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    done = subprocess.run(
        [*cli, "run", "--landing", str(base / "landing"), "--warehouse", str(base / "wh")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return base, base / "wh" / "blinded"


def _read(root: Path, rel: str) -> pd.DataFrame:
    return pq.read_table(root / rel).to_pandas()


def site_cuts(landing: Path) -> dict[str, pd.Timestamp]:
    """Each site's data cut: the time of its newest export (all complete: no defects)."""
    return {
        site.name: pd.to_datetime(max(p.name for p in site.iterdir()), format="%Y%m%dT%H%M%SZ")
        for site in sorted((landing / "sites").iterdir())
    }


def test_the_generator_cut_the_data_at_the_interim_date(run):
    base, root = run
    cuts = site_cuts(base / "landing")
    # the export runs the day after the cut
    assert {c.date() for c in cuts.values()} == {(pd.Timestamp(CUT) + pd.Timedelta(days=1)).date()}
    dm = _read(root, "sdtm/dm.parquet")
    assert 0 < len(dm) < 40  # subjects consenting later than 45 days before the cut are not there yet
    assert (pd.to_datetime(dm["RFICDTC"]) <= pd.Timestamp(CUT) - pd.Timedelta(days=LAST_CONSENT_DAYS)).all()
    rs = _read(root, "sdtm/rs.parquet")
    assert (pd.to_datetime(rs["RSDTC"], errors="coerce").dropna() <= pd.Timestamp(CUT)).all()


def test_every_fas_subject_has_one_sri4_record_per_visit(run):
    _, root = run
    adsl, adeff = _read(root, "adam/adsl.parquet"), _read(root, "adam/adeff.parquet")
    fas = sorted(adsl.loc[adsl["FASFL"] == "Y", "USUBJID"])
    assert len(fas) >= 10
    sri4 = adeff[adeff["PARAMCD"] == "SRI4"]
    got = sri4.groupby("USUBJID")["AVISIT"].apply(list).to_dict()
    assert sorted(got) == fas
    assert all(visits == SRI4_VISITS for visits in got.values())


def test_not_yet_due_exactly_where_the_window_is_open_at_the_sites_cut_and_nothing_was_assessed(run):
    base, root = run
    cuts = site_cuts(base / "landing")
    adsl, adeff = _read(root, "adam/adsl.parquet"), _read(root, "adam/adeff.parquet")
    rs = _read(root, "sdtm/rs.parquet")
    assessed = set(zip(rs["USUBJID"], rs["VISIT"], strict=True))
    visits = study.visits().set_index("VISIT")
    s = adeff[adeff["PARAMCD"] == "SRI4"].merge(
        adsl[["USUBJID", "TRTSDT", "EOSSTT"]], on="USUBJID", suffixes=("", "_ADSL")
    )
    closes = pd.to_datetime(s["TRTSDT_ADSL"]) + pd.to_timedelta(
        s["AVISIT"].map(visits["PLANNED_DAY"] + visits["WINDOW_DAYS"]), unit="D"
    )
    open_at_cut = closes > s["SITEID"].map(cuts)
    none = ~pd.Series(
        [(u, v) in assessed for u, v in zip(s["USUBJID"], s["AVISIT"], strict=True)], index=s.index
    )
    expect = open_at_cut & none & (s["EOSSTT"] == "ONGOING")
    flagged = s["NRREAS"] == "NOT YET DUE"
    assert flagged.sum() > 0 and (flagged == expect).all()
    assert s.loc[flagged, "AVALC"].isna().all() and s.loc[flagged, "AVAL"].isna().all()
    assert s.loc[~flagged, "AVALC"].isin(["Y", "N"]).all()
    # a window closed without any assessment is a missed visit: non-responder
    missed = ~open_at_cut & none
    assert (s.loc[missed, "AVALC"] == "N").all()
    # the record says which cut it used: the site's export in force
    assert (pd.to_datetime(s["DCUTDTC"]).dt.tz_localize(None) == s["SITEID"].map(cuts)).all()


def test_the_sri4_summary_adds_up_to_the_fas_at_every_visit(run):
    _, root = run
    adsl, adeff = _read(root, "adam/adsl.parquet"), _read(root, "adam/adeff.parquet")
    n_fas = int((adsl["FASFL"] == "Y").sum())
    t = _read(root, "stats/sri4_by_visit.parquet")
    assert t["AVISIT"].tolist() == SRI4_VISITS and (t["GROUP"] == "ALL SUBJECTS").all()
    assert (t["RESPONDERS"] + t["NONRESP"] + t["NOTDUE"] == t["NFAS"]).all() and (t["NFAS"] == n_fas).all()
    assert (t["N"] == t["RESPONDERS"] + t["NONRESP"]).all()
    # recounted from ADEFF
    s = adeff[(adeff["PARAMCD"] == "SRI4") & (adeff["FASFL"] == "Y")]
    recount = s.groupby("AVISIT").agg(
        R=("AVALC", lambda a: int((a == "Y").sum())),
        D=("NRREAS", lambda r: int((r == "NOT YET DUE").sum())),
    )
    assert t.set_index("AVISIT")["RESPONDERS"].to_dict() == recount["R"].to_dict()
    assert t.set_index("AVISIT")["NOTDUE"].to_dict() == recount["D"].to_dict()
    week24 = _read(root, "stats/sri4_week24.parquet")
    assert week24.to_dict("records") == t[t["AVISIT"] == "WEEK 24"].to_dict("records")
    assert int(week24["NOTDUE"].iloc[0]) > 0  # some subjects are mid-study at the cut


def test_stats_files_are_labelled_and_blinded(run):
    _, root = run
    for name in ("sri4_week24", "sri4_by_visit", "sledai_change"):
        labels, dataset_label = read_labels(root / "stats" / f"{name}.parquet")
        columns = pq.read_schema(root / "stats" / f"{name}.parquet").names
        assert dataset_label and set(labels) == set(columns) and all(labels.values()), name
    for png in ("sledai_change.png", "sri4_response.png"):
        assert (root / "stats" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert leaks(root / "stats") == [] and leaks(root / "adam") == []
