"""A killed run is found by the next one (issue 14, item 6): the Dagster run it left STARTED is
marked failed, and the warehouse records whether the last run into it finished."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from assets.common.layer_state import mark_layers_running, read_layer_state
from assets.common.resources import MODE_TAG, Warehouse
from pipelines.resources import resources_for
from pipelines.run import (
    WAREHOUSE_TAG,
    mark_dead_runs_failed,
    read_run_state,
    run_pipeline,
    state_path,
    summarize,
    torn_state_message,
    write_run_state,
)
from tests.pipelines.test_partitions import INGEST


def _started_run(instance: dg.DagsterInstance, run_id: str, warehouse: Warehouse, mode: str) -> None:
    tags = {WAREHOUSE_TAG: str(warehouse.root), MODE_TAG: mode}
    instance.add_run(
        DagsterRun(job_name="full_refresh", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    )


def test_runs_left_started_in_this_warehouse_and_mode_are_marked_failed(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    warehouse = Warehouse(path=str(tmp_path / "wh"))
    other = Warehouse(path=str(tmp_path / "other"))
    _started_run(instance, "killed", warehouse, "blinded")
    _started_run(instance, "elsewhere", other, "blinded")
    _started_run(instance, "other-mode", warehouse, "unblinded")
    assert mark_dead_runs_failed(instance, warehouse) == ["killed"]
    assert instance.get_run_by_id("killed").status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("elsewhere").status == DagsterRunStatus.STARTED
    assert instance.get_run_by_id("other-mode").status == DagsterRunStatus.STARTED


def test_the_run_state_sits_beside_the_mode_root_and_a_torn_state_is_named(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "wh"))
    assert read_run_state(warehouse) == {} and torn_state_message({}) is None
    write_run_state(warehouse, "running", [])
    assert state_path(warehouse) == tmp_path / "wh" / "blinded.state.json"
    state = read_run_state(warehouse)
    assert state["state"] == "running"
    assert "may mix two runs" in torn_state_message(state)
    write_run_state(warehouse, "complete", ["r1"])
    assert torn_state_message(read_run_state(warehouse)) is None


@pytest.mark.e2e
def test_the_next_run_marks_the_killed_one_failed_and_records_its_own_end(pipeline_env, landing, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    resources = resources_for(landing=str(landing), warehouse=str(pipeline_env))
    warehouse = resources["warehouse"]
    _started_run(instance, "killed", warehouse, "blinded")
    write_run_state(warehouse, "running", ["killed"])  # what the killed run left
    mark_layers_running(warehouse.layer_state_path, "killed", ["ingest", "sdtm"])
    before = summarize(warehouse.root)
    assert "may mix two runs" in before
    assert "layer ingest is torn: run killed" in before and "layer sdtm is torn: run killed" in before
    outcome = run_pipeline(instance=instance, asset_selection=INGEST, resources=resources)
    assert outcome.success, outcome.message
    assert instance.get_run_by_id("killed").status == DagsterRunStatus.FAILURE
    state = json.loads(Path(state_path(warehouse)).read_text(encoding="utf-8"))
    assert state["state"] == "complete" and state["run_ids"] == [outcome.run_id]
    after = summarize(warehouse.root)
    # the ingest-only run repaired ingest; SDTM is still the killed run's until a run rewrites it
    assert "may mix two runs" not in after and "layer ingest" not in after
    assert "layer sdtm is torn: run killed" in after
    layers = read_layer_state(warehouse.layer_state_path)["layers"]
    assert layers["ingest"]["run_id"] == outcome.run_id and layers["ingest"]["state"] == "complete"
    run = instance.get_run_by_id(outcome.run_id)
    assert run.tags[WAREHOUSE_TAG] == str(warehouse.root) and run.tags[MODE_TAG] == "blinded"
