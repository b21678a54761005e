"""Jobs: the whole graph, and the nightly refresh of the layers built on the ingested data."""

import dagster as dg

full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest every site and the IWRS, then rebuild SDTM, ADaM and QA.",
)
