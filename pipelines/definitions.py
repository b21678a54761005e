"""The code location: assembles assets, checks, resources, jobs, sensors and schedules. Nothing else."""

import dagster as dg

from assets.adam.assets import ADAM_ASSETS, ADAM_CHECKS
from assets.exports.assets import EXPORTS_ASSETS, EXPORTS_CHECKS
from assets.ingest.assets import INGEST_ASSETS, INGEST_CHECKS
from assets.qa.assets import QA_ASSETS, QA_CHECKS
from assets.sdtm.assets import SDTM_ASSETS
from assets.sdtm.consistency.assets import CONSISTENCY_ASSETS
from assets.sdtm.eligibility.assets import ELIGIBILITY_ASSETS, ELIGIBILITY_CHECKS
from pipelines.checks import FRESHNESS_CHECKS
from pipelines.jobs import ALL_JOBS
from pipelines.resources import resources_from_env
from pipelines.schedules import nightly_refresh_schedule
from pipelines.sensors import landing_zone_sensor


def build_definitions(resources: dict) -> dg.Definitions:
    """The whole graph with the given resource instances (the environment's, or ``trialpipe run``'s)."""
    return dg.Definitions(
        assets=[
            *INGEST_ASSETS,
            *ELIGIBILITY_ASSETS,
            *CONSISTENCY_ASSETS,
            *SDTM_ASSETS,
            *ADAM_ASSETS,
            *QA_ASSETS,
            *EXPORTS_ASSETS,
        ],
        asset_checks=[
            *INGEST_CHECKS,
            *FRESHNESS_CHECKS,
            *ELIGIBILITY_CHECKS,
            *ADAM_CHECKS,
            *QA_CHECKS,
            *EXPORTS_CHECKS,
        ],
        jobs=ALL_JOBS,
        sensors=[landing_zone_sensor],
        schedules=[nightly_refresh_schedule],
        resources=resources,
        # One process runs all of a run's steps (ingest still fans out to its own workers): a
        # process per step costs more than most steps, and the run holds its warehouse's lock.
        executor=dg.in_process_executor,
    )


defs = build_definitions(resources_from_env())
