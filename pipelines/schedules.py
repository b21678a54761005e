"""The nightly refresh: rebuild ingest findings, SDTM, ADaM and QA from what has been ingested.

02:00 UTC by default; ``TRIALPIPE_NIGHTLY_CRON`` (a cron expression, evaluated in UTC) overrides
it, e.g. ``30 1 * * 1-5`` for 01:30 on weekdays (read in :mod:`pipelines.settings`).
"""

import dagster as dg

from pipelines.jobs import nightly_refresh_job
from pipelines.sensors import AUTOMATION, automation_default_status

nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh_job,
    cron_schedule=AUTOMATION.nightly_cron,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus(automation_default_status().value),
    description="Nightly rebuild of ingest findings, SDTM, ADaM and QA (cron from TRIALPIPE_NIGHTLY_CRON).",
)
