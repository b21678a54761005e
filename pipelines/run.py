"""Run the code location's whole graph in-process and describe the result for a person."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq


@dataclass
class RunOutcome:
    success: bool
    message: str
    run_id: str | None = None


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance when one is configured (runs show in the UI), else ephemeral."""
    home = os.environ.get("DAGSTER_HOME")
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


def run_pipeline() -> RunOutcome:
    """Execute the ``full_refresh`` job of :mod:`pipelines.definitions` (the UI's code location)."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def("full_refresh")
    try:
        result = job.execute_in_process(instance=_instance(), raise_on_error=False)
    except dg.DagsterError as exc:
        return RunOutcome(False, f"trialpipe run could not start: {exc}")
    if result.success:
        return RunOutcome(True, "ok", result.run_id)
    return RunOutcome(False, _failure_message(result), result.run_id)


def summarize(mode_root: Path) -> str:
    """What the run wrote: tables with row counts, quarantined rows by rule, where QA outputs are."""
    lines = [f"Wrote {mode_root}"]
    for layer in ("sdtm", "adam", "qa"):
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
    qa = mode_root / "qa"
    lines.append(
        f"  QA outputs: {qa}" + (f" (report: {qa / 'report.html'})" if (qa / "report.html").exists() else "")
    )
    return "\n".join(lines)
