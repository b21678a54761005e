"""Freshness: every site sends a complete export at least every N days.

The age of a site's data is the time since its newest complete export, read from the export id
(the UTC time of the export, site-export.md) in the ingest inventory. A site with no complete
export at all, or one that is a partition but no longer has a folder in the landing zone, is
stale too. N is the ``freshness_days`` run setting (``TRIALPIPE_FRESHNESS_DAYS``, default 7). The check is a warning: stale data is
a reason to chase a site, not to stop the nightly run.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.common import keys
from assets.common.partitions import registered_sites
from assets.common.resources import LandingZone, RunSettings, Warehouse
from assets.ingest.discovery import IWRS, list_sites
from assets.ingest.store import read_qa_table

EXPORT_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def site_export_ages(inventory: pd.DataFrame, sites: list[str], now: datetime) -> pd.DataFrame:
    """One row per site: SITEID, NEWEST_EXPORT (newest complete export id, missing if none) and
    AGE_DAYS (days from that export's UTC time to ``now``; missing if none). The IWRS is not a site."""
    inv = inventory if not inventory.empty else pd.DataFrame(columns=["SOURCE", "EXPORT_ID", "COMPLETE"])
    complete = inv[inv["COMPLETE"].astype(bool) & (inv["SOURCE"] != IWRS)]
    newest = complete.groupby("SOURCE")["EXPORT_ID"].max()
    out = pd.DataFrame({"SITEID": sorted(set(sites) | set(newest.index))})
    out["NEWEST_EXPORT"] = out["SITEID"].map(newest)
    exported = pd.to_datetime(out["NEWEST_EXPORT"], format=EXPORT_ID_FORMAT, utc=True, errors="coerce")
    out["AGE_DAYS"] = (pd.Timestamp(now).tz_convert("UTC") - exported).dt.total_seconds() / 86400.0
    return out


def stale_sites(ages: pd.DataFrame, max_age_days: float) -> pd.DataFrame:
    """The sites whose newest complete export is older than ``max_age_days`` or missing."""
    return ages[ages["AGE_DAYS"].isna() | (ages["AGE_DAYS"] > max_age_days)]


@dg.asset_check(
    asset=keys.INGEST_FINDINGS,
    blocking=False,
    description=(
        "Every site sent a complete export within the last TRIALPIPE_FRESHNESS_DAYS days "
        "(default 7), judged by export ids (UTC)."
    ),
)
def sites_exported_within_freshness_window(
    context: dg.AssetCheckExecutionContext,
    landing: LandingZone,
    warehouse: Warehouse,
    settings: RunSettings,
) -> dg.AssetCheckResult:
    threshold = settings.freshness_days
    sites = sorted(set(list_sites(landing.root)) | set(registered_sites(context.instance)))
    now = datetime.now(UTC)
    ages = site_export_ages(read_qa_table(warehouse.root / "ingest", "inventory"), sites, now)
    stale = stale_sites(ages, threshold)
    return dg.AssetCheckResult(
        passed=stale.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "threshold_days": threshold,
            "evaluated_at_utc": now.strftime(EXPORT_ID_FORMAT),
            "sites": len(ages),
            "stale_sites": len(stale),
            "stale": dg.MetadataValue.json(
                [
                    {
                        "site": site,
                        "newest_complete_export": newest if isinstance(newest, str) else None,
                        "age_days": None if pd.isna(age) else round(float(age), 1),
                    }
                    for site, newest, age in zip(stale["SITEID"], stale["NEWEST_EXPORT"], stale["AGE_DAYS"])
                ]
            ),
        },
    )


FRESHNESS_CHECKS = [sites_exported_within_freshness_window]
