"""Site partitions of the ingest layer: one dynamic partition per ``sites/<SITEID>/`` folder.

A site folder that appears in the landing zone becomes a partition (the landing sensor adds it,
``trialpipe run`` registers every folder it finds before running). Partitions are never deleted
automatically: a site whose folder disappeared keeps its partition and its Dagster history; its
next ingest finds no complete export, writes no forms for it (so SDTM and later layers stop
carrying it), and the freshness check reports it until an operator removes the partition
(``instance.delete_dynamic_partition("site", "<SITEID>")``) or the folder comes back.
"""

from __future__ import annotations

import warnings

import dagster as dg

SITE_PARTITIONS_NAME = "site"
SITE_PARTITIONS = dg.DynamicPartitionsDefinition(name=SITE_PARTITIONS_NAME)


def registered_sites(instance: dg.DagsterInstance) -> list[str]:
    """Site partition keys in the instance, in the instance's order (the order ranges follow)."""
    return list(instance.get_dynamic_partitions(SITE_PARTITIONS_NAME))


def register_sites(instance: dg.DagsterInstance, sites: list[str]) -> list[str]:
    """Add the sites that are not yet partitions; returns the ones added (sorted)."""
    known = set(registered_sites(instance))
    new = sorted(set(sites) - known)
    if new:
        instance.add_dynamic_partitions(SITE_PARTITIONS_NAME, new)
    return new


# The single-run backfill policy of site_ingest is marked beta; the warning would print on every
# load of the code location and says nothing an operator can act on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
