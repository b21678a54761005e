"""The export status of every site: newest complete export, its age, and what was skipped.

Issue 5: per site (and the IWRS) the newest complete export, its age in days, and the incomplete
exports that were skipped and why. The file gives the age at the study's data cut (the newest export
in force of any source), so a rerun writes the same bytes; the freshness check takes the age on the
run date (:func:`export_age_at`) (site-export.md, Landing zone layout). The
column labels are in ``study/qa_variables.csv`` (:mod:`assets.qa.labels`).
"""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.ingest.discovery import LANDING

EXPORT_STATUS_COLUMNS = [
    "SITEID",
    "LAST_EXPORT",
    "LAST_EXPORT_DTC",
    "AGE_DAYS",
    "EXPORTS_FOUND",
    "EXPORTS_INCOMPLETE",
    "INCOMPLETE_SKIPPED",
]


def export_time(export_ids: pd.Series) -> pd.Series:
    """``YYYYMMDDTHHMMSSZ`` export ids as UTC timestamps (NaT when the id is malformed)."""
    return pd.to_datetime(export_ids.astype("string"), format="%Y%m%dT%H%M%SZ", errors="coerce", utc=True)


def derive_export_status(inventory: pd.DataFrame, now: str) -> pd.DataFrame:
    """Per source (site or IWRS): newest complete export, its age in whole days at ``now`` (the
    run timestamp), how many export folders were found and which incomplete ones were skipped,
    with the reason (site-export.md: the newest complete export is in force)."""
    if inventory.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="Int64" if "EXPORTS" in c or c == "AGE_DAYS" else "string")
                for c in EXPORT_STATUS_COLUMNS
            }
        )
    require_columns(inventory, ["SOURCE", "EXPORT_ID", "COMPLETE", "REASON"], "derive_export_status")
    inv = inventory.copy()
    inv["COMPLETE"] = inv["COMPLETE"].astype(bool)
    run_time = pd.Timestamp(now)
    run_time = run_time.tz_localize("UTC") if run_time.tzinfo is None else run_time.tz_convert("UTC")
    complete = inv[inv["COMPLETE"]]
    newest = complete.groupby("SOURCE")["EXPORT_ID"].max()
    incomplete = inv[~inv["COMPLETE"]].sort_values(["SOURCE", "EXPORT_ID"])
    skipped = (
        (incomplete["EXPORT_ID"].astype(str) + " (" + incomplete["REASON"].astype(str) + ")")
        .groupby(incomplete["SOURCE"])
        .agg("; ".join)
    )
    out = pd.DataFrame({"SITEID": sorted(inv["SOURCE"].astype(str).unique())})
    out["LAST_EXPORT"] = out["SITEID"].map(newest).astype("string")
    stamp = export_time(out["LAST_EXPORT"])
    out["LAST_EXPORT_DTC"] = stamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
    out["AGE_DAYS"] = ((run_time - stamp).dt.total_seconds() // 86400).astype("Int64")
    out["EXPORTS_FOUND"] = out["SITEID"].map(inv.groupby("SOURCE").size()).astype("Int64")
    out["EXPORTS_INCOMPLETE"] = (
        out["SITEID"].map(incomplete.groupby("SOURCE").size()).fillna(0).astype("Int64")
    )
    out["INCOMPLETE_SKIPPED"] = out["SITEID"].map(skipped).astype("string")
    out["SITEID"] = out["SITEID"].astype("string")
    return out[EXPORT_STATUS_COLUMNS]


def export_age_at(export_status: pd.DataFrame, now: str) -> pd.DataFrame:
    """The status with ``AGE_DAYS`` taken at ``now`` (e.g. the run timestamp) instead of the data cut."""
    if export_status.empty:
        return export_status
    require_columns(export_status, ["LAST_EXPORT"], "export_age_at")
    run_time = pd.Timestamp(now)
    run_time = run_time.tz_localize("UTC") if run_time.tzinfo is None else run_time.tz_convert("UTC")
    out = export_status.copy()
    age = (run_time - export_time(out["LAST_EXPORT"])).dt.total_seconds() // 86400
    out["AGE_DAYS"] = age.astype("Int64")
    return out


def stale_export_status(export_status: pd.DataFrame, max_age_days: int) -> pd.DataFrame:
    """The rows of sources whose newest complete export is older than ``max_age_days`` days, or
    that have none. The landing zone's own problems (source ``LANDING``: folders that are not a
    site or not an export) are listed in the status but are no source that can be stale."""
    if export_status.empty:
        return export_status
    sources = export_status[export_status["SITEID"] != LANDING]
    return sources[sources["AGE_DAYS"].isna() | (sources["AGE_DAYS"] > max_age_days)]
