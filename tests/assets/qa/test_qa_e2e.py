"""QA assets in Dagster on hand-built exports: a corrected record resolves its query across two runs,
listings and the report are written, and a structural GX failure fails the run loudly."""

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

import study
from assets.common.parquet import write_parquet
from assets.common.resources import RunSettings, Warehouse
from assets.ingest.assets import findings_from_ingest
from assets.ingest.discovery import discover_exports, inventory_frame, list_sites
from assets.ingest.site_ingest import ingest_source
from assets.ingest.store import read_qa_table, write_source
from assets.qa.assets import QA_ASSETS, QA_CHECKS
from tests.exports import write_export

pytestmark = pytest.mark.e2e

OLD, NEW = "20260301T020000Z", "20260401T020000Z"
RUN1, RUN2 = "2026-03-02T03:00:00Z", "2026-04-02T03:00:00Z"
SCRIPT = "<script>alert(1)</script>"


def vs_row(recid, value="70.0"):
    return dict(
        SUBJID="101-0001",
        RECID=recid,
        VISIT="SCREENING",
        VSDAT="07-MAR-2026",
        VSTESTCD="WEIGHT",
        VSORRES=value,
        VSORRESU="kg",
    )


def ae_row(recid, term):
    return dict(SUBJID="101-0001", RECID=recid, AETERM=term, AESTDAT="08-MAR-2026", AESEV="MILD")


def ingest(landing, mode_root):
    """What the ingest assets do, without Dagster partitions: forms, QA tables, findings."""
    ingest_dir = mode_root / "ingest"
    checks = discover_exports(landing)
    for site in list_sites(landing):
        write_source(ingest_dir, ingest_source(site, checks, landing), study.FORMS)
        write_parquet(
            inventory_frame([c for c in checks if c.source == site]),
            ingest_dir / "qa" / "inventory" / f"{site}.parquet",
            sort_by=["SOURCE", "EXPORT_ID"],
        )
    tables = {
        t: read_qa_table(ingest_dir, t) for t in ("quarantine", "rejections", "inventory", "unexpected")
    }
    write_parquet(findings_from_ingest(**tables), mode_root / "qa" / "findings" / "ingest.parquet")


def materialize(wh, as_of):
    config = {"ops": {k: {"config": {"as_of": as_of}} for k in ("qa_queries", "qa_export_status")}}
    return dg.materialize(
        [*QA_ASSETS, *QA_CHECKS],
        resources={"warehouse": Warehouse(path=str(wh)), "settings": RunSettings()},
        run_config=config,
        raise_on_error=False,
    )


@pytest.fixture
def trial(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    mode_root = wh / "blinded"
    # Weight 800 kg (VS1) is quarantined; the AE term carries markup a site typed.
    write_export(
        landing,
        "101",
        OLD,
        {"VS": [vs_row("VS1", "800"), vs_row("VS2", "9000")], "AE": [ae_row("AE1", SCRIPT)]},
    )
    write_export(landing, "102", OLD, {"VS": [vs_row("VS1") | {"SUBJID": "102-0001"}]})
    ingest(landing, mode_root)
    return landing, wh, mode_root


def test_two_runs_corrected_record_resolves_its_query_ids_stay_and_outputs_are_written(trial):
    landing, wh, mode_root = trial
    first = materialize(wh, RUN1)
    assert first.success
    q1 = pq.read_table(mode_root / "qa" / "queries.parquet").to_pandas()
    assert (q1["STATUS"] == "OPEN").all()
    q1 = q1[q1["SITEID"].eq("101") & q1["COLUMN"].eq("VSORRES")].set_index("RECID")
    assert set(q1.index) >= {"VS1", "VS2"}

    # Site 101 corrects VS1 in a newer export; VS2 stays wrong.
    write_export(
        landing,
        "101",
        NEW,
        {"VS": [vs_row("VS1", "80.0"), vs_row("VS2", "9000")], "AE": [ae_row("AE1", SCRIPT)]},
    )
    ingest(landing, mode_root)
    second = materialize(wh, RUN2)
    assert second.success
    q2 = pq.read_table(mode_root / "qa" / "queries.parquet").to_pandas()
    q2 = q2[q2["SITEID"].eq("101") & q2["COLUMN"].eq("VSORRES")].set_index("RECID")
    # Times are data cuts (export ids), not run times: resolved in site 101's new export.
    assert q2.loc["VS1", "STATUS"] == "RESOLVED" and q2.loc["VS1", "RESOLVED_AT"] == NEW
    assert q2.loc["VS2", "STATUS"] == "OPEN" and q2.loc["VS2", "QUERY_ID"] == q1.loc["VS2", "QUERY_ID"]
    assert q2.loc["VS2", "FIRST_SEEN"] == OLD and q2.loc["VS2", "LAST_SEEN"] == NEW
    assert q2.loc["VS2", "SRC_EXPORT"] == NEW
    assert '"run_id"' in (mode_root / "qa" / "run.json").read_text()

    qa = mode_root / "qa"
    assert (qa / "quarantine.parquet").is_file()
    status = pq.read_table(qa / "export_status.parquet").to_pandas().set_index("SITEID")
    # The age at the study's data cut (site 101's new export), not at the run.
    assert status.loc["101", "LAST_EXPORT"] == NEW and status.loc["101", "AGE_DAYS"] == 0
    assert status.loc["102", "LAST_EXPORT"] == OLD and status.loc["102", "AGE_DAYS"] == 31
    for site in ("101", "102"):
        for name in ("queries.csv", "quarantine.csv", "queries.xlsx"):
            assert (qa / "sites" / site / name).is_file()
    listing = pd.read_csv(qa / "sites" / "101" / "queries.csv", dtype=str, encoding="utf-8-sig")
    assert "VS1" not in set(listing["RECID"]) and "VS2" in set(listing["RECID"])
    html = (qa / "report.html").read_text(encoding="utf-8")
    # the site's script is text; the page's one script is its own workspace script
    assert 'id="summary-table"' in html and SCRIPT not in html and html.count("<script>") == 1
    assert (qa / "gx" / "index.html").is_file()
    checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
    assert (
        checks["query_ids_are_unique"].passed and checks["quarantine_listing_matches_row_accounting"].passed
    )
    assert not checks["no_open_data_queries"].passed  # a warning: VS2 is still open
    # The freshness check takes the age on the run date (RUN2): site 102's export is 32 days old.
    fresh = checks["site_exports_are_fresh"]
    assert not fresh.passed and fresh.metadata["run_timestamp"].value == RUN2
    assert checks["sdtm_adam_structure_matches_spec"].passed


def test_structural_gx_failure_fails_the_run_after_the_report_is_written(trial):
    _, wh, mode_root = trial
    dm = pd.DataFrame(
        {"STUDYID": ["LDIL2SLE"] * 2, "DOMAIN": ["DM"] * 2, "USUBJID": ["LDIL2SLE-101-0001"] * 2}
    )
    write_parquet(dm, mode_root / "sdtm" / "dm.parquet")
    result = materialize(wh, RUN1)
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert "sdtm_adam_structure_matches_spec" in {e.check_name for e in failed}
    gx = pq.read_table(mode_root / "qa" / "gx_results.parquet").to_pandas()
    assert not gx.loc[(gx["DATASET"] == "DM") & (gx["RULE"] == "keys_unique"), "SUCCESS"].any()
    assert (mode_root / "qa" / "report.html").is_file()
