"""Run the ingest and SDTM layers alone (no ADaM/QA wiring) on a landing zone, for tests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.common.partitions import register_sites
from assets.common.resources import LandingZone, RestrictedRandomization, RunSettings, Warehouse
from assets.ingest.assets import iwrs_ingest, site_ingest
from assets.ingest.discovery import list_sites
from assets.sdtm.assets import SDTM_ASSETS


def run_sdtm_layer(landing: Path, warehouse: Path, unblinded: bool = False, restricted: Path | None = None):
    """Ingest every site (one partition each) and the IWRS, then materialize every SDTM asset and
    check. Returns the SDTM run's result; raises if ingest fails."""
    resources = {
        "landing": LandingZone(path=str(landing)),
        "warehouse": Warehouse(path=str(warehouse), mode="unblinded" if unblinded else "blinded"),
        "restricted": RestrictedRandomization(path=str(restricted) if restricted else ""),
        "settings": RunSettings(),
    }
    instance = dg.DagsterInstance.ephemeral()
    sites = list_sites(Path(landing))
    register_sites(instance, sites)
    for site in sites:
        dg.materialize([site_ingest], partition_key=site, instance=instance, resources=resources)
    return dg.materialize(
        [iwrs_ingest, *SDTM_ASSETS],
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )
