"""The nightly refresh: rebuild ingest findings, SDTM, ADaM and QA from what has been ingested.

02:00 UTC by default; ``TRIALPIPE_NIGHTLY_CRON`` (a cron expression, evaluated in UTC) overrides
it, e.g. ``30 1 * * 1-5`` for 01:30 on weekdays.
"""

import os

import dagster as dg

from pipelines.jobs import nightly_refresh_job
from pipelines.sensors import automation_default_status

ENV_NIGHTLY_CRON = "TRIALPIPE_NIGHTLY_CRON"
DEFAULT_NIGHTLY_CRON = "0 2 * * *"


def nightly_cron() -> str:
    return os.environ.get(ENV_NIGHTLY_CRON, "").strip() or DEFAULT_NIGHTLY_CRON


nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh_job,
    cron_schedule=nightly_cron(),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus(automation_default_status().value),
    description="Nightly rebuild of ingest findings, SDTM, ADaM and QA (cron from TRIALPIPE_NIGHTLY_CRON).",
)
