"""The run timestamp of the QA assets: configured (``as_of``), else the Dagster run's creation time.

FIRST_SEEN / LAST_SEEN of queries and the age of exports are computed at this instant, so every
QA asset of one run uses the same one.
"""

import dagster as dg
import pandas as pd
from pydantic import Field


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
