"""A whole ingest run (the Dagster assets, several worker processes) on a landing zone with broken
input: it succeeds, every good site is ingested, and each fault is a finding with site, export,
file, line and reason (site-export.md, Bad input)."""

import json

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from assets.common.partitions import register_sites
from assets.common.resources import LandingZone, RestrictedRandomization, RunSettings, Warehouse
from assets.ingest.assets import ingest_findings, iwrs_ingest, site_ingest
from tests.assets.ingest.test_hostile_input import GOOD_ROW, VS_HEADER, write_raw_export
from tests.assets.ingest.test_ingest import NEW, OLD, vs_row
from tests.exports import write_export

FUTURE = "20991231T000000Z"


def test_broken_input_never_fails_the_run_and_every_fault_is_reported(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    write_export(landing, "101", FUTURE, {"VS": [vs_row("VS1"), vs_row("VS9")]})
    # 102: its newest export has a VS row with an extra field (before: the pool's ArrowInvalid)
    write_export(landing, "102", OLD, {"VS": [vs_row("VS1", SUBJID="102-0001")]})
    bad = VS_HEADER + b"\n" + GOOD_ROW.replace(b",101,101-", b",102,102-") + b",EXTRA\n"
    write_raw_export(landing, "102", NEW, {"VS.csv": bad})
    # 103: a manifest entry whose row count is not a number (before: ValueError in discovery)
    folder = write_export(landing, "103", OLD, {"VS": [vs_row("VS1", SUBJID="103-0001")]})
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"]["VS.csv"]["rows"] = "abc"
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    write_export(landing, "1O4", OLD, {"VS": [vs_row("VS1", SUBJID="104-0001")]})
    write_export(landing, "IWRS", OLD, {"RAND": []})

    instance = dg.DagsterInstance.ephemeral()
    register_sites(instance, ["101", "102", "103"])
    resources = {
        "landing": LandingZone(path=str(landing)),
        "warehouse": Warehouse(path=str(wh), mode="blinded"),
        "restricted": RestrictedRandomization(path=""),
        "settings": RunSettings(ingest_workers=2),  # one site batch in a spawned worker
    }
    sites = dg.materialize(
        [site_ingest],
        instance=instance,
        resources=resources,
        tags={"dagster/asset_partition_range_start": "101", "dagster/asset_partition_range_end": "103"},
    )
    assert sites.success
    rest = dg.materialize([iwrs_ingest, ingest_findings], instance=instance, resources=resources)
    assert rest.success

    mode = wh / "blinded"
    vs = pq.read_table(mode / "ingest/forms/VS/101.parquet").to_pandas()
    assert vs["SRC_EXPORT"].unique().tolist() == [OLD]  # the future export is never in force
    vs102 = pq.read_table(mode / "ingest/forms/VS/102.parquet").to_pandas()
    assert vs102["SRC_EXPORT"].unique().tolist() == [OLD]  # the rejected form falls back
    assert not (mode / "ingest/forms/VS/103.parquet").exists()  # no complete export at 103

    findings = pq.read_table(mode / "qa/findings/ingest.parquet").to_pandas()
    cols = ["SITEID", "KIND", "SRC_EXPORT", "FORM", "SRC_FILE", "SRC_LINE"]
    got = {
        tuple(None if pd.isna(v) else v for v in row)
        for row in findings.loc[findings["KIND"].isin(["FORM_REJECTED", "EXPORT_INCOMPLETE"]), cols].values
    }
    assert ("102", "FORM_REJECTED", NEW, "VS", f"sites/102/{NEW}/VS.csv", 2) in got
    assert ("101", "EXPORT_INCOMPLETE", FUTURE, None, None, None) in got
    assert ("103", "EXPORT_INCOMPLETE", OLD, None, None, None) in got
    assert ("LANDING", "EXPORT_INCOMPLETE", "sites/1O4", None, None, None) in got
    message = {(f.SITEID, f.SRC_EXPORT): f.MESSAGE for f in findings.itertuples() if f.KIND != "SCHEMA"}
    assert "row has 10 fields, the header has 9" in message[("102", NEW)]
    assert "later than the run" in message[("101", FUTURE)]
    assert message[("103", OLD)] == "VS.csv: manifest row count 'abc' is not a non-negative integer"
    assert "not three digits" in message[("LANDING", "sites/1O4")]
