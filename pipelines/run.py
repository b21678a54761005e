"""Run the code location's whole graph in-process and describe the result for a person.

``run_pipeline`` registers a site partition for every site folder in the landing zone, then runs
``full_refresh`` once over the whole site partition range: ``site_ingest`` has a single-run
backfill policy, so that one run ingests every site, the IWRS, and then builds every
unpartitioned asset downstream. The alternative, one run per site and then one for the rest
(``strategy="per_site"``), gives the same files; it is kept for comparison and measured in
``benchmarks/results.md``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from assets.common.atomic import atomic_write_text, remove_stale_temp_files
from assets.common.layer_state import layer_problems, read_layer_state
from assets.common.partitions import register_sites, registered_sites
from assets.common.resources import (
    MODE_TAG,
    UNBLINDED,
    LandingZone,
    RestrictedRandomization,
    Warehouse,
    WarehouseBusy,
    randlist_problem,
)
from pipelines.instance import home_instance
from pipelines.settings import console_log_level, dagster_home

log = logging.getLogger(__name__)

WAREHOUSE_TAG = "trialpipe/warehouse"
"""The mode root a run writes: with the lock held, a run of the same tag still STARTED is dead."""
RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
STRATEGIES = ("single_run", "per_site")


@dataclass
class RunOutcome:
    success: bool
    message: str
    run_id: str | None = None


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance when one is configured (runs show in the UI), else ephemeral.

    A DAGSTER_HOME folder without a ``dagster.yaml`` is given the minimal one first
    (:func:`pipelines.instance.ensure_instance_config`), so that Dagster does not warn of it."""
    home = dagster_home()
    if home and Path(home).is_dir():
        return home_instance()
    return dg.DagsterInstance.ephemeral()


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    """One paragraph: which steps failed, why, and which blocking checks did not pass."""
    parts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            err = event.step_failure_data.error if event.step_failure_data else None
            cause = err.message.strip().splitlines()[0] if err else "unknown error"
            while err is not None and err.cause is not None:
                err = err.cause
                cause = err.message.strip().splitlines()[0]
            parts.append(f"step '{event.step_key}' failed: {cause}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            parts.append(
                f"blocking check '{evaluation.check_name}' on {evaluation.asset_key.to_user_string()} failed"
            )
    detail = "; ".join(parts) if parts else "no step reported an error"
    return f"trialpipe run failed (run {result.run_id}): {detail}. Nothing downstream of a failed step was written."


def _value(field: str) -> str:
    """A resource field as the run will see it: an ``EnvVar`` (the code location's) resolved now."""
    return (field.get_value() or "") if isinstance(field, dg.EnvVar) else field


def _warehouse(warehouse: Warehouse) -> Warehouse:
    """The warehouse resource with its fields resolved (to name its mode and lock before the run)."""
    path = _value(warehouse.path)
    if not path:
        raise ValueError("TRIALPIPE_WAREHOUSE is not set: no warehouse to run into")
    return Warehouse(path=path, mode=_value(warehouse.mode) or "blinded")


def unblinded_problem(warehouse: Warehouse, restricted: RestrictedRandomization) -> str | None:
    """For an unblinded run, why it cannot start (the randomization list is unreadable), else None.

    A blinded run is never asked: it must not look at the restricted location at all."""
    if warehouse.resolved_mode != UNBLINDED:
        return None
    problem = randlist_problem(_value(restricted.path))
    if problem is None:
        return None
    return (
        f"trialpipe run --unblinded cannot start: {problem}. An unblinded run takes every subject's arm "
        "from that list, so nothing was run and nothing was written. Give --restricted the folder "
        "that holds RANDLIST.csv (or set TRIALPIPE_RESTRICTED)."
    )


def _landing_root(landing: LandingZone) -> Path:
    """The landing zone's folder, also when the resource names it by ``EnvVar`` (the code location's)."""
    path = landing.path.get_value() if isinstance(landing.path, dg.EnvVar) else landing.path
    if not path:
        raise ValueError("TRIALPIPE_LANDING is not set: no landing zone to run on")
    return Path(path).resolve()


def state_path(warehouse: Warehouse) -> Path:
    """``<warehouse>/<mode>.state.json``: which run last wrote the mode root and whether it finished.

    Beside the mode root, not in it, so the outputs stay a function of the input alone."""
    return warehouse.lock_path.with_suffix(".state.json")


def read_run_state(warehouse: Warehouse) -> dict:
    """The recorded state (``state`` running | complete | failed, ``run_ids``, ``pid``); empty if none."""
    path = state_path(warehouse)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_run_state(warehouse: Warehouse, state: str, run_ids: list[str]) -> None:
    record = {"state": state, "mode": warehouse.resolved_mode, "pid": os.getpid(), "run_ids": run_ids}
    atomic_write_text(state_path(warehouse), json.dumps(record, indent=1, sort_keys=True) + "\n")


def torn_state_message(state: dict) -> str | None:
    """A reader's warning when the last run did not finish: its outputs may mix two runs."""
    if state.get("state") in (None, COMPLETE):
        return None
    return (
        f"the last run into this warehouse ({', '.join(state.get('run_ids') or []) or 'no run id'}, "
        f"pid {state.get('pid')}) is recorded as {state.get('state')}: its layers may mix two runs; "
        "the next complete `trialpipe run` rebuilds every layer"
    )


def mark_dead_runs_failed(instance: dg.DagsterInstance, warehouse: Warehouse) -> list[str]:
    """Runs into this warehouse and mode that the instance still shows as started or starting.

    Called with the warehouse lock held, when no other run can be writing there, so such a run's
    process is gone (killed): it is reported failed, so that it does not stay STARTED for ever."""
    from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

    live = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
    tags = {WAREHOUSE_TAG: str(warehouse.root), MODE_TAG: warehouse.resolved_mode}
    dead = instance.get_runs(filters=RunsFilter(statuses=live, tags=tags))
    for run in dead:
        instance.report_run_failed(run, "process ended before the run finished (found by the next run)")
    return [run.run_id for run in dead]


def _outcome(results: list[dg.ExecuteInProcessResult]) -> RunOutcome:
    failed = [r for r in results if not r.success]
    if failed:
        return RunOutcome(False, _failure_message(failed[0]), failed[0].run_id)
    return RunOutcome(True, "ok", results[-1].run_id if results else None)


def _quiet_console() -> dict:
    """Console log level of the in-process run: ``TRIALPIPE_LOG_LEVEL`` (default WARNING), so a
    person sees warnings and the summary, not every step event (the UI keeps the full event log)."""
    return {"loggers": {"console": {"config": {"log_level": console_log_level()}}}}


def run_pipeline(
    strategy: str = "single_run",
    instance: dg.DagsterInstance | None = None,
    on_result: Callable[[dg.ExecuteInProcessResult], None] | None = None,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    resources: dict | None = None,
) -> RunOutcome:
    """Materialize the whole graph of :mod:`pipelines.definitions` (the UI's code location).

    ``resources`` are the resource instances of the run (``pipelines.resources.resources_for``, as
    ``trialpipe run`` passes them); None is the code location's, from the environment as it is now.
    ``on_result`` sees each finished run (the benchmark reads step timings from it);
    ``asset_selection`` limits the run to some assets (tests, debugging); None is the whole graph.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    from pipelines.resources import resources_from_env

    try:
        resources = resources or resources_from_env()
        warehouse = _warehouse(resources["warehouse"])
        problem = unblinded_problem(warehouse, resources["restricted"])
        if problem:
            return RunOutcome(False, problem)
        with warehouse.run_lock():
            return _run_locked(strategy, instance, on_result, asset_selection, resources, warehouse)
    except WarehouseBusy as exc:
        return RunOutcome(False, f"trialpipe run refused: {exc}")
    except (dg.DagsterError, ValueError, OSError) as exc:
        return RunOutcome(False, f"trialpipe run could not start: {exc}")


def _run_locked(
    strategy: str,
    instance: dg.DagsterInstance | None,
    on_result: Callable[[dg.ExecuteInProcessResult], None] | None,
    asset_selection: Sequence[dg.AssetKey] | None,
    resources: dict,
    warehouse: Warehouse,
) -> RunOutcome:
    """:func:`run_pipeline` once the lock of the warehouse and mode is held."""
    from assets.ingest.discovery import list_sites
    from pipelines.definitions import build_definitions

    mode_tag = {MODE_TAG: warehouse.resolved_mode, WAREHOUSE_TAG: str(warehouse.root)}
    # The lock is held, so no other run writes here: whatever a killed run left is stale.
    remove_stale_temp_files(warehouse.root)
    for problem in layer_problems(read_layer_state(warehouse.layer_state_path)):
        log.warning("before this run: %s", problem)
    defs = build_definitions(resources)
    landing = _landing_root(resources["landing"])
    sites = list_sites(landing)
    if not sites:
        return RunOutcome(
            False,
            f"trialpipe run found no site folder under {landing / 'sites'}: nothing to ingest. "
            "Check --landing (a landing zone holds sites/<SITEID>/<EXPORT_ID>/).",
        )
    instance = instance or _instance()
    mark_dead_runs_failed(instance, warehouse)
    register_sites(instance, sites)
    keys = registered_sites(instance)
    job = defs.resolve_job_def("full_refresh")
    results: list[dg.ExecuteInProcessResult] = []

    def execute(**kwargs) -> bool:
        tags = {**kwargs.pop("tags", {}), **mode_tag}
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, run_config=_quiet_console(), tags=tags, **kwargs
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
        return result.success

    selection = list(asset_selection or job.asset_layer.executable_asset_keys)
    write_run_state(warehouse, RUNNING, [])
    if strategy == "single_run":
        execute(tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, asset_selection=selection)
    else:
        site_key = dg.AssetKey("site_ingest")
        rest = [k for k in selection if k != site_key]
        for key in keys:
            if not execute(partition_key=key, asset_selection=[site_key]):
                break
        else:
            execute(asset_selection=rest, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
    outcome = _outcome(results)
    write_run_state(warehouse, COMPLETE if outcome.success else FAILED, [r.run_id for r in results])
    return outcome


def summarize(mode_root: Path) -> str:
    """What the run wrote: tables with row counts, quarantined rows by rule, where QA outputs are."""
    lines = [f"Wrote {mode_root}"]
    try:
        state = json.loads(mode_root.with_name(f"{mode_root.name}.state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    torn = torn_state_message(state) if isinstance(state, dict) else None
    if torn:
        lines.append(f"  WARNING: {torn}")
    layers = read_layer_state(mode_root.with_name(f"{mode_root.name}.layers.json"))
    for problem in layer_problems(layers):
        lines.append(f"  WARNING: {problem}")
    for layer in ("sdtm", "adam", "stats", "qa"):
        folder = mode_root / layer
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            continue
        lines.append(f"  {layer}/")
        for f in files:
            lines.append(f"    {f.name:<28} {pq.read_metadata(f).num_rows:>9,} rows")
    from assets.ingest.store import read_qa_table

    acc = read_qa_table(mode_root / "ingest", "accounting")
    if not acc.empty:
        lines.append(
            f"  rows read {int(acc['ROWS_READ'].sum()):,} = passed {int(acc['ROWS_PASSED'].sum()):,}"
            f" + quarantined {int(acc['ROWS_QUARANTINED'].sum()):,}"
            f" ({'balanced' if acc['BALANCED'].all() else 'NOT BALANCED'})"
        )
    q = read_qa_table(mode_root / "ingest", "quarantine")
    if not q.empty:
        lines.append("  quarantined rows by rule:")
        by_rule = q.drop_duplicates(["SRC_FILE", "SRC_LINE", "RULE"]).groupby("RULE").size()
        for rule, n in by_rule.sort_values(ascending=False).items():
            lines.append(f"    {rule:<28} {n:>6}")
    rej = read_qa_table(mode_root / "ingest", "rejections")
    if not rej.empty:
        lines.append(f"  forms rejected as a whole: {len(rej)}")
    inv = read_qa_table(mode_root / "ingest", "inventory")
    if not inv.empty:
        bad = inv[~inv["COMPLETE"].astype(bool)]
        lines.append(f"  exports: {len(inv)} found, {len(bad)} incomplete and skipped")
    submission = mode_root / "submission"
    if submission.is_dir():
        n_xpt = len(list(submission.rglob("*.xpt")))
        n_json = len(list(submission.rglob("*.json")))
        lines.append(
            f"  submission/: {n_xpt} XPT v5, {n_json} Dataset-JSON, define.xml; SQL: {mode_root / 'warehouse.duckdb'}"
        )
        from assets.exports.build import not_written

        missing = not_written(mode_root)
        if missing:
            lines.append(
                f"  submission files not written ({len(missing)}; values listed in qa/findings/, queried):"
            )
            for m in missing:
                lines.append(f"    {m.file:<22} {m.reason}")
    qa = mode_root / "qa"
    lines.append(
        f"  QA outputs: {qa}" + (f" (report: {qa / 'report.html'})" if (qa / "report.html").exists() else "")
    )
    return "\n".join(lines)
