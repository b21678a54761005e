"""The landing zone sensor: one run per new complete export, none for a seen or incomplete one."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from assets.common.partitions import SITE_PARTITIONS_NAME
from assets.common.resources import LandingZone
from pipelines.sensors import landing_zone_sensor, scan_landing
from tests.pipelines.conftest import FIRST, IWRS_FIRST, SITES, write_iwrs_export, write_site_export

NEWER = "20260308T020000Z"
NEWEST = "20260315T020000Z"


def tick(landing, instance, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": LandingZone(path=str(landing))}
    )
    return landing_zone_sensor(context)


def requested(result: dg.SensorResult) -> list[tuple[str, str | None, str]]:
    return sorted((r.run_key, r.partition_key, r.job_name) for r in result.run_requests or [])


def apply_partition_requests(instance, result: dg.SensorResult) -> None:
    """What the daemon does with the result's partition requests."""
    for req in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))


def test_first_tick_requests_every_site_and_the_iwrs_once_and_adds_the_partitions(landing, instance):
    result = tick(landing, instance)
    assert requested(result) == sorted(
        [(f"{s}:{FIRST}", s, "site_ingest_job") for s in SITES]
        + [(f"IWRS:{IWRS_FIRST}", None, "iwrs_ingest_job")]
    )
    adds = result.dynamic_partitions_requests
    assert [(a.partitions_def_name, sorted(a.partition_keys)) for a in adds] == [
        (SITE_PARTITIONS_NAME, list(SITES))
    ]
    assert json.loads(result.cursor) == {**{s: FIRST for s in SITES}, "IWRS": IWRS_FIRST}


def test_same_exports_again_request_nothing(landing, instance):
    first = tick(landing, instance)
    apply_partition_requests(instance, first)
    again = tick(landing, instance, cursor=first.cursor)
    assert requested(again) == []
    assert not again.dynamic_partitions_requests
    assert again.cursor == first.cursor


def test_new_export_of_one_site_requests_only_that_site(landing, instance):
    first = tick(landing, instance)
    apply_partition_requests(instance, first)
    write_site_export(landing, "102", NEWER)
    result = tick(landing, instance, cursor=first.cursor)
    assert requested(result) == [(f"102:{NEWER}", "102", "site_ingest_job")]
    assert json.loads(result.cursor)["102"] == NEWER


def test_incomplete_export_waits_until_its_manifest_verifies(landing, instance):
    first = tick(landing, instance)
    apply_partition_requests(instance, first)
    folder = write_site_export(landing, "101", NEWER)
    manifest = (folder / "MANIFEST.json").read_text()
    (folder / "MANIFEST.json").unlink()  # files arrived, manifest not yet
    waiting = tick(landing, instance, cursor=first.cursor)
    assert requested(waiting) == []
    assert waiting.cursor == first.cursor
    assert "some still arriving" in str(waiting.skip_reason)
    (folder / "MANIFEST.json").write_text(manifest)
    dm = folder / "DM.csv"
    good = dm.read_bytes()
    dm.write_bytes(good[: len(good) // 2])  # manifest arrived, DM.csv still being copied
    assert requested(tick(landing, instance, cursor=first.cursor)) == []
    dm.write_bytes(good)
    done = tick(landing, instance, cursor=first.cursor)
    assert requested(done) == [(f"101:{NEWER}", "101", "site_ingest_job")]


def test_complete_older_export_is_requested_while_a_newer_one_is_still_arriving(landing, instance):
    first = tick(landing, instance)
    apply_partition_requests(instance, first)
    write_site_export(landing, "103", NEWER)
    write_site_export(landing, "103", NEWEST, write_manifest=False)
    result = tick(landing, instance, cursor=first.cursor)
    assert requested(result) == [(f"103:{NEWER}", "103", "site_ingest_job")]
    write_site_export(landing, "103", NEWEST)
    later = tick(landing, instance, cursor=result.cursor)
    assert requested(later) == [(f"103:{NEWEST}", "103", "site_ingest_job")]


def test_two_new_complete_exports_in_one_tick_request_the_newest_only(landing, instance):
    first = tick(landing, instance)
    write_site_export(landing, "101", NEWER)
    write_site_export(landing, "101", NEWEST)
    assert requested(tick(landing, instance, cursor=first.cursor)) == [
        (f"101:{NEWEST}", "101", "site_ingest_job")
    ]


def test_new_site_folder_becomes_a_partition_and_gets_a_run(landing, instance):
    first = tick(landing, instance)
    apply_partition_requests(instance, first)
    write_site_export(landing, "104", FIRST)
    result = tick(landing, instance, cursor=first.cursor)
    assert [sorted(a.partition_keys) for a in result.dynamic_partitions_requests] == [["104"]]
    assert requested(result) == [(f"104:{FIRST}", "104", "site_ingest_job")]


def test_new_iwrs_export_requests_the_iwrs_job(landing, instance):
    first = tick(landing, instance)
    write_iwrs_export(landing, "20260302T040000Z")
    assert requested(tick(landing, instance, cursor=first.cursor)) == [
        ("IWRS:20260302T040000Z", None, "iwrs_ingest_job")
    ]


def test_scan_ignores_folders_that_are_not_export_ids(landing):
    shutil.copytree(landing / "sites/101" / FIRST, landing / "sites/101/tmp-upload")
    scan = scan_landing(landing, {s: FIRST for s in SITES} | {"IWRS": IWRS_FIRST})
    assert scan.requests == [] and scan.waiting == {}
