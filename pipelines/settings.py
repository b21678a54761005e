"""The environment of the code location, read in this one module.

Two kinds of setting: run-time ones become resource fields through ``dg.EnvVar`` (resolved when a
run starts, so a run sees the environment of the process that executes it; see
:mod:`pipelines.resources`), and load-time ones shape the definitions themselves (sensor interval,
schedule, default status) and are read here when the code location loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_LANDING = "TRIALPIPE_LANDING"
ENV_WAREHOUSE = "TRIALPIPE_WAREHOUSE"
ENV_MODE = "TRIALPIPE_MODE"
ENV_RESTRICTED = "TRIALPIPE_RESTRICTED"
ENV_FRESHNESS_DAYS = "TRIALPIPE_FRESHNESS_DAYS"
ENV_INGEST_WORKERS = "TRIALPIPE_INGEST_WORKERS"
ENV_LOCK_WAIT = "TRIALPIPE_LOCK_WAIT_SECONDS"
ENV_SENSOR_INTERVAL = "TRIALPIPE_SENSOR_INTERVAL_SECONDS"
ENV_AUTOMATION_DEFAULT = "TRIALPIPE_AUTOMATION_DEFAULT"
ENV_NIGHTLY_CRON = "TRIALPIPE_NIGHTLY_CRON"
ENV_LOG_LEVEL = "TRIALPIPE_LOG_LEVEL"
ENV_DAGSTER_HOME = "DAGSTER_HOME"

DEFAULT_NIGHTLY_CRON = "0 2 * * *"
DEFAULT_SENSOR_INTERVAL_SECONDS = 60
DEFAULT_LOG_LEVEL = "WARNING"
# A run launched from the UI, the sensor or the schedule waits this long for another run of its
# warehouse and mode (the sensor requests one run per site at once); `trialpipe run` never waits.
DEFAULT_LOCK_WAIT_SECONDS = 3600


def env(name: str) -> str:
    """The variable's value, stripped; empty when unset."""
    return os.environ.get(name, "").strip()


@dataclass(frozen=True)
class AutomationSettings:
    """Load-time settings of the sensor and the schedule."""

    running_by_default: bool
    sensor_interval_seconds: int
    nightly_cron: str

    @classmethod
    def from_env(cls) -> AutomationSettings:
        """Sensor and schedule start stopped unless ``TRIALPIPE_AUTOMATION_DEFAULT=running`` (production);
        the sensor ticks every ``TRIALPIPE_SENSOR_INTERVAL_SECONDS`` (60); the nightly refresh runs at
        ``TRIALPIPE_NIGHTLY_CRON`` (a cron expression in UTC, default 02:00)."""
        interval = env(ENV_SENSOR_INTERVAL)
        return cls(
            running_by_default=env(ENV_AUTOMATION_DEFAULT).lower() == "running",
            sensor_interval_seconds=int(interval) if interval else DEFAULT_SENSOR_INTERVAL_SECONDS,
            nightly_cron=env(ENV_NIGHTLY_CRON) or DEFAULT_NIGHTLY_CRON,
        )


def console_log_level() -> str:
    """Console log level of an in-process ``trialpipe run`` (``TRIALPIPE_LOG_LEVEL``, default WARNING)."""
    return (env(ENV_LOG_LEVEL) or DEFAULT_LOG_LEVEL).upper()


def dagster_home() -> str:
    """``DAGSTER_HOME`` when set (runs are then recorded in that instance and show in the UI)."""
    return env(ENV_DAGSTER_HOME)
