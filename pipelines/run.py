"""Run the code location's whole graph in-process and describe the result for a person.

``run_pipeline`` registers a site partition for every site folder in the landing zone, then runs
``full_refresh`` once over the whole site partition range: ``site_ingest`` has a single-run
backfill policy, so that one run ingests every site, the IWRS, and then builds every
unpartitioned asset downstream. The alternative, one run per site and then one for the rest
(``strategy="per_site"``), gives the same files; it is kept for comparison and measured in
``benchmarks/results.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from assets.common.partitions import register_sites, registered_sites
from assets.common.resources import LandingZone
from pipelines.settings import console_log_level, dagster_home

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
STRATEGIES = ("single_run", "per_site")


@dataclass
class RunOutcome:
    success: bool
    message: str
    run_id: str | None = None


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance when one is configured (runs show in the UI), else ephemeral."""
    home = dagster_home()
    if home and Path(home).is_dir():
        return dg.DagsterInstance.get()
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


def _landing_root(landing: LandingZone) -> Path:
    """The landing zone's folder, also when the resource names it by ``EnvVar`` (the code location's)."""
    path = landing.path.get_value() if isinstance(landing.path, dg.EnvVar) else landing.path
    if not path:
        raise ValueError("TRIALPIPE_LANDING is not set: no landing zone to run on")
    return Path(path).resolve()


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
    from assets.ingest.discovery import list_sites
    from pipelines.definitions import build_definitions
    from pipelines.resources import resources_from_env

    try:
        resources = resources or resources_from_env()
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
        register_sites(instance, sites)
        keys = registered_sites(instance)
        job = defs.resolve_job_def("full_refresh")
        results: list[dg.ExecuteInProcessResult] = []

        def execute(**kwargs) -> bool:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_config=_quiet_console(), **kwargs
            )
            results.append(result)
            if on_result is not None:
                on_result(result)
            return result.success

        selection = list(asset_selection or job.asset_layer.executable_asset_keys)
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
    except (dg.DagsterError, ValueError, OSError) as exc:
        return RunOutcome(False, f"trialpipe run could not start: {exc}")
    return _outcome(results)


def summarize(mode_root: Path) -> str:
    """What the run wrote: tables with row counts, quarantined rows by rule, where QA outputs are."""
    lines = [f"Wrote {mode_root}"]
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
    qa = mode_root / "qa"
    lines.append(
        f"  QA outputs: {qa}" + (f" (report: {qa / 'report.html'})" if (qa / "report.html").exists() else "")
    )
    return "\n".join(lines)
