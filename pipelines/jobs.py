"""Jobs: the whole graph, one site's ingest, the IWRS ingest, and the nightly refresh.

Selections name asset keys rather than importing the asset objects, so this module stays
independent of the layers that other code fills in; every layer's assets downstream of ingest
are picked up by the nightly refresh without being listed here.
"""

import dagster as dg

from assets.common.partitions import SITE_PARTITIONS

SITE_INGEST = dg.AssetKey("site_ingest")
IWRS_INGEST = dg.AssetKey("iwrs_ingest")

full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=dg.AssetSelection.all(),
    partitions_def=SITE_PARTITIONS,
    description=(
        "Ingest every site and the IWRS, then rebuild SDTM, ADaM and QA. Run it over the whole site "
        "partition range (what `trialpipe run` does) so every site is ingested in one run."
    ),
)

site_ingest_job = dg.define_asset_job(
    "site_ingest_job",
    selection=dg.AssetSelection.assets(SITE_INGEST),
    partitions_def=SITE_PARTITIONS,
    tags={"trialpipe/layer": "ingest"},
    description="Re-ingest one site's newest complete export (requested by the landing zone sensor).",
)

iwrs_ingest_job = dg.define_asset_job(
    "iwrs_ingest_job",
    selection=dg.AssetSelection.assets(IWRS_INGEST),
    tags={"trialpipe/layer": "ingest"},
    description="Re-ingest the newest complete IWRS export (requested by the landing zone sensor).",
)

nightly_refresh_job = dg.define_asset_job(
    "nightly_refresh",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(SITE_INGEST, IWRS_INGEST),
    tags={"trialpipe/layer": "downstream"},
    description=(
        "Rebuild ingest findings, SDTM, ADaM and QA from the ingested site and IWRS files "
        "(the sources themselves are re-ingested by the landing zone sensor)."
    ),
)

ALL_JOBS = [full_refresh_job, site_ingest_job, iwrs_ingest_job, nightly_refresh_job]
