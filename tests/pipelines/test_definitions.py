"""The code location loads (in-process, with `dagster` and with `dg`) with its jobs and automation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.settings import DEFAULT_NIGHTLY_CRON, AutomationSettings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_site_ingest_is_partitioned_by_the_dynamic_site_partitions_and_the_rest_is_not():
    graph = defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == {"site_ingest"}
    pdef = graph.get(dg.AssetKey("site_ingest")).partitions_def
    assert isinstance(pdef, dg.DynamicPartitionsDefinition) and pdef.name == "site"
    assert graph.get(dg.AssetKey("iwrs_ingest")).partitions_def is None


def test_jobs_select_what_their_names_say():
    def keys(job):
        return {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.executable_asset_keys}

    assert keys("site_ingest_job") == {"site_ingest"}
    assert keys("iwrs_ingest_job") == {"iwrs_ingest"}
    nightly = keys("nightly_refresh")
    assert "ingest_findings" in nightly and not nightly & {"site_ingest", "iwrs_ingest"}
    assert keys("full_refresh") == nightly | {"site_ingest", "iwrs_ingest"}


def test_sensor_and_nightly_schedule_are_in_the_code_location():
    sensor = defs.resolve_sensor_def("landing_zone_sensor")
    assert {j.name for j in sensor.jobs} == {"site_ingest_job", "iwrs_ingest_job"}
    schedule = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.job_name == "nightly_refresh"
    assert schedule.execution_timezone == "UTC"
    assert schedule.cron_schedule == AutomationSettings.from_env().nightly_cron


def test_nightly_cron_defaults_to_two_utc_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv("TRIALPIPE_NIGHTLY_CRON", raising=False)
    assert AutomationSettings.from_env().nightly_cron == DEFAULT_NIGHTLY_CRON == "0 2 * * *"
    monkeypatch.setenv("TRIALPIPE_NIGHTLY_CRON", "30 1 * * 1-5")
    assert AutomationSettings.from_env().nightly_cron == "30 1 * * 1-5"


def _cli(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TRIALPIPE_LANDING": str(tmp_path / "landing"),
        "TRIALPIPE_WAREHOUSE": str(tmp_path / "warehouse"),
        "VIRTUAL_ENV": str(BIN.parent),  # dg warns when the project's venv is not the active one
        "DAGSTER_HOME": str(tmp_path),
    }
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.e2e  # runs a subprocess or the pipeline: slow tier
def test_dagster_cli_validates_the_workspace(tmp_path):
    proc = _cli([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr


@pytest.mark.e2e  # runs a subprocess or the pipeline: slow tier
def test_dg_checks_the_project_defs(tmp_path):
    if not (BIN / "dg").exists():
        pytest.skip("dg (dagster-dg-cli) is not installed in this environment")
    proc = _cli([str(BIN / "dg"), "check", "defs"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_jobs_run_every_step_in_the_run_process():
    """Issue 18, item 1: a run launched from the UI starts no process per step (ingest still
    spreads over its own workers), so it costs what `trialpipe run` costs."""
    for job in defs.resolve_all_job_defs():
        assert job.executor_def is dg.in_process_executor, job.name
