"""Which run produced each layer of a warehouse mode, and whether it finished (issue 14, item 6).

``<warehouse>/<mode>.layers.json`` (beside the mode root, not in it, so the outputs stay a function
of the input) holds, per layer (``ingest sdtm adam qa submission``), the run that last wrote it, its
state (``running``, ``complete`` or ``failed``) and a sequence number that grows with every run.
A run marks the layers it is about to write ``running`` when it takes the warehouse lock and records
the outcome when it ends; a run that is killed leaves them ``running``. A reader can then tell:

- a **torn** layer: ``running`` while no run holds the lock (its run was killed), or ``failed``: its
  files may mix two runs (each file is written atomically, so every file is readable);
- a **stale** layer: built before the layer it is derived from was last rewritten (e.g. the sensor
  re-ingested a site and the nightly refresh has not run yet).

The next run that writes such a layer repairs it (``trialpipe run`` rewrites every layer; the nightly
refresh every layer downstream of ingest).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from assets.common import keys
from assets.common.atomic import atomic_write_text

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
LAYERS = ("ingest", "sdtm", "adam", "qa", "submission")
UPSTREAM = {"sdtm": "ingest", "adam": "sdtm", "qa": "adam", "submission": "adam"}
"""The layer each layer is derived from (for staleness)."""

_BY_KEY = {
    keys.SITE_INGEST: "ingest",
    keys.IWRS_INGEST: "ingest",
    keys.INGEST_FINDINGS: "ingest",
    keys.ELIGIBILITY: "sdtm",
    keys.SLEDAI_FINDINGS: "sdtm",
    keys.CONSISTENCY_FINDINGS: "sdtm",
    keys.ADAM_STATS: "adam",
    **dict.fromkeys(keys.SDTM_TABLES, "sdtm"),
    **dict.fromkeys(keys.ADAM_TABLES, "adam"),
    **dict.fromkeys(keys.QA_ASSETS, "qa"),
    keys.EXPORT_XPT: "submission",
    keys.EXPORT_DATASET_JSON: "submission",
    keys.EXPORT_DEFINE_XML: "submission",
    keys.EXPORT_DUCKDB: "submission",
}


def layer_of(key: dg.AssetKey) -> str:
    """The layer an asset writes (every key of :mod:`assets.common.keys` is listed)."""
    if key in _BY_KEY:
        return _BY_KEY[key]
    raise KeyError(f"asset {key.to_user_string()} belongs to no layer (assets/common/layer_state.py)")


def layers_of(asset_keys: Iterable[dg.AssetKey] | None) -> list[str]:
    """The layers these assets write, in layer order; None (a whole job) is every layer. Keys of no
    layer (an asset outside the trial's graph, e.g. in a test) are left out."""
    if asset_keys is None:
        return list(LAYERS)
    found = set()
    for key in asset_keys:
        try:
            found.add(layer_of(key))
        except KeyError:
            continue
    return [layer for layer in LAYERS if layer in found]


def read_layer_state(path: Path) -> dict:
    """The record (``seq`` and ``layers``: layer -> ``state run_id seq pid``); empty when none."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"seq": 0, "layers": {}}
    if not isinstance(record, dict) or not isinstance(record.get("layers"), dict):
        return {"seq": 0, "layers": {}}
    return record


def _write(path: Path, record: dict) -> None:
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def mark_layers_running(path: Path, run_id: str, layers: list[str]) -> dict:
    """Before a run writes anything: its layers are ``running`` under its run id (lock held)."""
    record = read_layer_state(path)
    seq = int(record.get("seq", 0)) + 1
    record["seq"] = seq
    previous = {layer: record["layers"].get(layer) for layer in layers}
    for layer in layers:
        record["layers"][layer] = {"state": RUNNING, "run_id": run_id, "seq": seq, "pid": os.getpid()}
    _write(path, record)
    return previous


def mark_layers_finished(
    path: Path, run_id: str, written: list[str], failed: list[str] | None, previous: dict[str, dict | None]
) -> None:
    """After a run: a layer it wrote is ``complete``, or ``failed`` when it also had a failed step
    (``failed`` None: the failure names no layer, so every layer the run was writing failed); a layer
    it was to write but did not touch goes back to what it was."""
    record = read_layer_state(path)
    for layer, entry in list(record["layers"].items()):
        if not isinstance(entry, dict) or entry.get("run_id") != run_id or entry.get("state") != RUNNING:
            continue
        if failed is None or layer in failed:
            entry["state"] = FAILED
        elif layer in written:
            entry["state"] = COMPLETE
        elif previous.get(layer) is not None:
            record["layers"][layer] = previous[layer]
        else:
            del record["layers"][layer]
    _write(path, record)


def layer_problems(record: dict, lock_held_elsewhere: bool = False) -> list[str]:
    """One sentence per torn or stale layer (empty when every layer is complete and current)."""
    layers = record.get("layers") or {}
    out = []
    for layer in LAYERS:
        entry = layers.get(layer)
        if not isinstance(entry, dict):
            continue
        state, run = entry.get("state"), entry.get("run_id")
        if state == RUNNING and not lock_held_elsewhere:
            out.append(
                f"layer {layer} is torn: run {run} (pid {entry.get('pid')}) was writing it and never "
                "finished; its files may come from two runs until a run rewrites it"
            )
        elif state == FAILED:
            out.append(f"layer {layer} is torn: run {run} failed while writing it; the next run rewrites it")
        up = layers.get(UPSTREAM.get(layer, ""))
        if isinstance(up, dict) and state == COMPLETE and int(up.get("seq", 0)) > int(entry.get("seq", 0)):
            out.append(
                f"layer {layer} is stale: built by run {run} before {UPSTREAM[layer]} was rewritten by run "
                f"{up.get('run_id')}; the nightly refresh (or `trialpipe run`) rebuilds it"
            )
    return out
