"""The run timestamp of the QA assets and the run log ``qa/run.json``.

The run timestamp is configured (``as_of``), else the Dagster run's creation time. It goes into
``qa/run.json`` only: the run log is the one file of the QA layer that records the time of the run
and the Dagster run id, and so the one file that differs between two runs of the same input. Every
other QA output (queries, listings, export status, report, Data Docs) describes the data and is
dated with the data cut (:mod:`assets.common.data_cut`), so a rerun gives the same bytes. The
freshness check (no file) measures the age of exports at this timestamp.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.common.parquet import write_json

RUN_LOG = "run.json"
STALE_TEMP_AGE_SECONDS = 3600.0
"""A temporary file not touched for this long belongs to a dead writer (no single write takes an
hour); a younger one may be a concurrent run's and is left alone."""


class QARunConfig(dg.Config):
    as_of: str = Field(
        default="",
        description="Run timestamp, ISO 8601 UTC (e.g. 2026-05-01T02:00:00Z); empty = the run's creation time",
    )


def utc_timestamp_text(stamp: pd.Timestamp) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a timestamp (a naive one is taken as UTC)."""
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_timestamp(context: dg.AssetExecutionContext, config: QARunConfig | None = None) -> str:
    """The run timestamp as ``YYYY-MM-DDTHH:MM:SSZ``: configured, else the Dagster run's creation."""
    if config is not None and config.as_of:
        stamp = pd.Timestamp(config.as_of)
    else:
        record = context.instance.get_run_record_by_id(context.run_id)
        stamp = pd.Timestamp(record.create_timestamp) if record is not None else pd.Timestamp.now(tz="UTC")
    return utc_timestamp_text(stamp)


def write_run_log(qa_dir: Path, *, as_of: str, run_id: str, mode: str, data_cut: str) -> Path:
    """``qa/run.json``: the run timestamp, the Dagster run id, the mode and the data cut in force
    (the run log; the only QA file that records the run rather than the data)."""
    path = Path(qa_dir) / RUN_LOG
    write_json(path, {"as_of": as_of, "run_id": run_id, "mode": mode, "data_cut": data_cut})
    return path
