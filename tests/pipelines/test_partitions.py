"""Site partitions: keys follow the landing sites; one site's re-ingest touches only its files."""

from __future__ import annotations

import shutil

import dagster as dg
import pyarrow.parquet as pq
import pytest

import assets.ingest.assets as ingest_assets
from assets.common.partitions import register_sites, registered_sites
from assets.ingest.store import read_qa_table
from pipelines.run import run_pipeline, summarize
from tests.exports import write_export
from tests.pipelines.conftest import SITES, dm_row, write_site_export

pytestmark = pytest.mark.e2e

NEWER = "20260308T020000Z"
# The ingest layer only: these tests are about partitions, and the hand-built exports are too
# thin for the later layers (the whole graph runs on a generated trial in tests/e2e).
INGEST = [dg.AssetKey(k) for k in ("site_ingest", "iwrs_ingest", "ingest_findings")]


def run_ingest(instance, **kwargs):
    return run_pipeline(instance=instance, asset_selection=INGEST, **kwargs)


def materialized_partitions(instance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def dm_file(warehouse, site):
    return warehouse / "blinded" / "ingest" / "forms" / "DM" / f"{site}.parquet"


def test_partition_keys_match_the_landing_sites_and_one_run_ingests_them_all(
    pipeline_env, instance, monkeypatch
):
    monkeypatch.setenv("TRIALPIPE_INGEST_WORKERS", "2")
    results = []
    outcome = run_ingest(instance, on_result=results.append)
    assert outcome.success, outcome.message
    assert registered_sites(instance) == list(SITES)
    assert materialized_partitions(instance, "site_ingest") == set(SITES)
    assert len(results) == 1  # the single-run backfill: every site, the IWRS and downstream
    assert {e.asset_key.to_user_string() for e in results[0].get_asset_materialization_events()} == {
        "site_ingest",
        "iwrs_ingest",
        "ingest_findings",
    }
    site_events = [
        e
        for e in results[0].get_asset_materialization_events()
        if e.asset_key.to_user_string() == "site_ingest"
    ]
    assert {e.partition for e in site_events} == set(SITES)
    assert site_events[0].materialization.metadata["workers"].value == 2  # sites ingested side by side
    for site in SITES:
        assert pq.read_table(dm_file(pipeline_env, site)).column("SUBJID").to_pylist() == [f"{site}-0001"]
    assert "rows read 4 = passed 4 + quarantined 0 (balanced)" in summarize(pipeline_env / "blinded")


def test_each_site_partition_shows_its_own_counts_after_a_single_run(pipeline_env, landing, instance):
    """One run (one step) ingests every site; each partition's materialization carries that site's
    rows read, passed and quarantined (the accounting's), not the run's totals."""
    # 102 sends three rows, two of them with the same RECID (quarantined as duplicates)
    rows = [dm_row("102"), dm_row("102", 2), dm_row("102", 3, RECID="2")]
    write_export(landing, "102", NEWER, {"DM": rows})
    results = []
    outcome = run_ingest(instance, on_result=results.append)
    assert outcome.success, outcome.message
    assert len(results) == 1
    events = {
        e.partition: e.materialization.metadata
        for e in results[0].get_asset_materialization_events()
        if e.asset_key.to_user_string() == "site_ingest"
    }
    assert set(events) == set(SITES)
    acc = read_qa_table(pipeline_env / "blinded" / "ingest", "accounting")
    acc = acc.groupby(acc["SOURCE"].astype(str))[["ROWS_READ", "ROWS_PASSED", "ROWS_QUARANTINED"]].sum()
    for site, meta in events.items():
        shown = [meta[k].value for k in ("rows_read", "rows_passed", "rows_quarantined")]
        assert shown == acc.loc[site].tolist(), site
    assert events["102"]["rows_read"].value == 3 and events["102"]["rows_quarantined"].value > 0
    assert events["101"]["rows_read"].value == 1 and events["101"]["rows_quarantined"].value == 0
    assert events["102"]["export_id"].value == NEWER and events["101"]["export_id"].value != NEWER
    totals = events["101"]["run_totals"].value  # the run's totals stay, under their own name
    assert totals["rows_read"] == int(acc.loc[list(SITES), "ROWS_READ"].sum()) == 5  # the IWRS is apart


def test_per_site_strategy_writes_the_same_files_with_one_run_per_site(pipeline_env, instance, tmp_path):
    results = []
    outcome = run_ingest(instance, strategy="per_site", on_result=results.append)
    assert outcome.success, outcome.message
    assert len(results) == len(SITES) + 1
    assert materialized_partitions(instance, "site_ingest") == set(SITES)
    for site in SITES:
        assert pq.read_table(dm_file(pipeline_env, site)).num_rows == 1


def test_new_site_folder_becomes_a_partition_on_the_next_run(pipeline_env, landing, instance):
    assert run_ingest(instance).success
    write_site_export(landing, "104", NEWER)
    assert run_ingest(instance).success
    assert registered_sites(instance) == [*SITES, "104"]
    assert dm_file(pipeline_env, "104").exists()


def test_reingesting_one_site_rewrites_only_that_sites_files(pipeline_env, landing, instance):
    from pipelines.definitions import defs

    assert run_ingest(instance).success
    before = {s: dm_file(pipeline_env, s).stat().st_mtime_ns for s in SITES}
    write_export(landing, "102", NEWER, {"DM": [dm_row("102", SEX="M"), dm_row("102", 2)]})
    job = defs.resolve_job_def("site_ingest_job")
    result = job.execute_in_process(instance=instance, partition_key="102")
    assert result.success
    after = {s: dm_file(pipeline_env, s).stat().st_mtime_ns for s in SITES}
    assert after["101"] == before["101"] and after["103"] == before["103"]
    assert after["102"] != before["102"]
    dm = pq.read_table(dm_file(pipeline_env, "102")).to_pandas()
    assert dm["SEX"].tolist() == ["M", "F"] and set(dm["SRC_EXPORT"]) == {NEWER}


def test_site_folder_gone_keeps_the_partition_and_removes_its_forms(pipeline_env, landing, instance):
    assert run_ingest(instance).success
    shutil.rmtree(landing / "sites" / "103")
    assert run_ingest(instance).success
    assert registered_sites(instance) == list(SITES)
    assert not dm_file(pipeline_env, "103").exists()
    assert dm_file(pipeline_env, "101").exists()


def test_run_with_no_site_folder_fails_with_a_message(pipeline_env, landing, instance):
    shutil.rmtree(landing / "sites")
    outcome = run_ingest(instance)
    assert not outcome.success
    assert "no site folder" in outcome.message


def test_register_sites_adds_only_new_ones(instance):
    assert register_sites(instance, ["102", "101"]) == ["101", "102"]
    assert register_sites(instance, ["101", "103"]) == ["103"]
    assert registered_sites(instance) == ["101", "102", "103"]


def test_transient_io_error_is_retried_and_a_data_error_is_not(pipeline_env, instance, monkeypatch):
    from pipelines.definitions import defs

    calls = {"n": 0}
    real = ingest_assets._ingest_sources

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("Stale file handle")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_assets, "_ingest_sources", flaky)
    result = defs.resolve_job_def("iwrs_ingest_job").execute_in_process(instance=instance)
    assert result.success and calls["n"] == 2

    def broken(*args, **kwargs):
        calls["n"] += 1
        raise ValueError("a bug")

    calls["n"] = 0
    monkeypatch.setattr(ingest_assets, "_ingest_sources", broken)
    with pytest.raises(ValueError):
        defs.resolve_job_def("iwrs_ingest_job").execute_in_process(instance=instance)
    assert calls["n"] == 1
