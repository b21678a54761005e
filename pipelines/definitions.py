"""The code location: assembles assets, checks, resources, jobs, sensors and schedules. Nothing else."""

import dagster as dg

from assets.adam.assets import ADAM_ASSETS, ADAM_CHECKS
from assets.ingest.assets import INGEST_ASSETS, INGEST_CHECKS
from assets.qa.assets import QA_ASSETS, QA_CHECKS
from assets.sdtm.assets import SDTM_ASSETS, SDTM_CHECKS
from assets.sdtm.eligibility_assets import ELIGIBILITY_ASSETS, ELIGIBILITY_CHECKS
from pipelines.jobs import full_refresh_job
from pipelines.resources import resources_from_env

defs = dg.Definitions(
    assets=[*INGEST_ASSETS, *ELIGIBILITY_ASSETS, *SDTM_ASSETS, *ADAM_ASSETS, *QA_ASSETS],
    asset_checks=[*INGEST_CHECKS, *ELIGIBILITY_CHECKS, *SDTM_CHECKS, *ADAM_CHECKS, *QA_CHECKS],
    jobs=[full_refresh_job],
    resources=resources_from_env(),
)
