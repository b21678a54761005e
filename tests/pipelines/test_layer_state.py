"""Which run produced each layer, and torn or stale layers told apart (issue 14, item 6)."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from assets.common.layer_state import (
    COMPLETE,
    FAILED,
    LAYERS,
    RUNNING,
    layer_of,
    layer_problems,
    mark_layers_finished,
    mark_layers_running,
    read_layer_state,
)
from assets.common.resources import Warehouse
from pipelines.definitions import defs


def test_every_asset_of_the_graph_writes_a_known_layer():
    graph = defs.resolve_asset_graph()
    layers = {layer_of(key) for key in graph.get_all_asset_keys()}
    assert layers == set(LAYERS)


def test_a_run_marks_its_layers_running_then_complete(tmp_path):
    path = tmp_path / "blinded.layers.json"
    previous = mark_layers_running(path, "run-1", ["ingest", "sdtm"])
    assert previous == {"ingest": None, "sdtm": None}
    record = read_layer_state(path)
    assert {k: v["state"] for k, v in record["layers"].items()} == {"ingest": RUNNING, "sdtm": RUNNING}
    assert layer_problems(record, lock_held_elsewhere=True) == []  # a live run: not torn
    assert [p.split(":")[0] for p in layer_problems(record)] == ["layer ingest is torn", "layer sdtm is torn"]
    mark_layers_finished(path, "run-1", ["ingest", "sdtm"], failed=[], previous=previous)
    record = read_layer_state(path)
    assert record["seq"] == 1
    assert record["layers"]["sdtm"]["state"] == COMPLETE and record["layers"]["sdtm"]["run_id"] == "run-1"
    assert layer_problems(record) == []


def test_a_layer_the_run_did_not_write_keeps_its_earlier_record(tmp_path):
    path = tmp_path / "blinded.layers.json"
    first = mark_layers_running(path, "run-1", ["ingest", "sdtm"])
    mark_layers_finished(path, "run-1", ["ingest", "sdtm"], failed=[], previous=first)
    second = mark_layers_running(path, "run-2", ["ingest", "sdtm", "adam"])
    mark_layers_finished(path, "run-2", ["ingest"], failed=[], previous=second)
    layers = read_layer_state(path)["layers"]
    assert layers["ingest"]["run_id"] == "run-2" and layers["ingest"]["seq"] == 2
    assert layers["sdtm"]["run_id"] == "run-1" and layers["sdtm"]["seq"] == 1
    assert "adam" not in layers
    problems = layer_problems(read_layer_state(path))
    assert problems == [
        "layer sdtm is stale: built by run run-1 before ingest was rewritten by run run-2; "
        "the nightly refresh (or `trialpipe run`) rebuilds it"
    ]


def test_a_failed_run_leaves_its_layers_failed(tmp_path):
    path = tmp_path / "blinded.layers.json"
    previous = mark_layers_running(path, "run-1", ["adam", "qa", "submission"])
    mark_layers_finished(path, "run-1", ["adam"], failed=["qa"], previous=previous)
    record = read_layer_state(path)
    assert {k: v["state"] for k, v in record["layers"].items()} == {"adam": COMPLETE, "qa": FAILED}
    previous = mark_layers_running(path, "run-2", ["adam"])
    mark_layers_finished(path, "run-2", [], failed=None, previous=previous)  # a failure of no known layer
    record = read_layer_state(path)
    assert record["layers"]["adam"]["state"] == FAILED
    record["layers"].pop("adam")
    assert layer_problems(record) == [
        "layer qa is torn: run run-1 failed while writing it; the next run rewrites it"
    ]


@pytest.mark.parametrize("content", ["", "{", "[]", '{"layers": 3}'])
def test_an_unreadable_record_reads_as_empty(tmp_path, content):
    path = tmp_path / "blinded.layers.json"
    path.write_text(content)
    assert read_layer_state(path) == {"seq": 0, "layers": {}}


@dg.asset(key="sdtm_dm")
def _sdtm_table(warehouse: Warehouse) -> int:
    return 1


@dg.asset(key="adam_adsl", deps=[_sdtm_table])
def _adam_table_that_fails(warehouse: Warehouse) -> int:
    raise RuntimeError("boom")


def test_every_dagster_run_records_the_layers_it_wrote(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "wh"))
    ok = dg.materialize([_sdtm_table], resources={"warehouse": warehouse})
    layers = read_layer_state(warehouse.layer_state_path)["layers"]
    assert layers == {
        "sdtm": {"state": COMPLETE, "run_id": ok.run_id, "seq": 1, "pid": layers["sdtm"]["pid"]}
    }
    bad = dg.materialize(
        [_sdtm_table, _adam_table_that_fails], resources={"warehouse": warehouse}, raise_on_error=False
    )
    assert not bad.success
    layers = read_layer_state(warehouse.layer_state_path)["layers"]
    assert {k: (v["state"], v["run_id"]) for k, v in layers.items()} == {
        "sdtm": (COMPLETE, bad.run_id),
        "adam": (FAILED, bad.run_id),
    }
    assert json.loads(warehouse.layer_state_path.read_text())["seq"] == 2
