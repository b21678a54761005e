"""The data cut: the time every deterministic output describes, taken from the data, never the clock.

site-export.md (Landing zone layout): ``EXPORT_ID`` is the UTC time of an export and the site's
data cut (v2). The data cut of a source (site or IWRS) is its export in force (the newest complete
one, ``IN_FORCE`` of the ingest inventory); the study's data cut is the newest of them. Outputs
that must be the same bytes on a rerun of the same input (queries, listings, the QA report, the
Data Docs, the submission files) state this time instead of the time of the run.

Pure functions of the inventory frame (``SOURCE EXPORT_ID COMPLETE [IN_FORCE]``), so every layer
can use them without importing ingest.
"""

from __future__ import annotations

import pandas as pd

EXPORT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def export_id_time(export_id: str) -> pd.Timestamp | None:
    """``YYYYMMDDTHHMMSSZ`` as a UTC timestamp; None when it is not one."""
    stamp = pd.to_datetime(str(export_id), format=EXPORT_ID_FORMAT, errors="coerce", utc=True)
    return None if pd.isna(stamp) else stamp


def export_id_iso(export_id: str) -> str:
    """``20260301T020000Z`` -> ``2026-03-01T02:00:00Z`` (empty text when it is not an export id)."""
    stamp = export_id_time(export_id)
    return stamp.strftime(ISO_FORMAT) if stamp is not None else ""


def source_data_cuts(inventory: pd.DataFrame) -> dict[str, str]:
    """Per source, the export id in force: ``IN_FORCE`` when the inventory has it, else the newest
    complete export whose id is a real UTC time. Sources without one are left out."""
    if inventory.empty or not {"SOURCE", "EXPORT_ID"} <= set(inventory.columns):
        return {}
    inv = inventory
    if "IN_FORCE" in inv.columns:
        inv = inv[inv["IN_FORCE"].fillna(False).astype(bool)]
    elif "COMPLETE" in inv.columns:
        inv = inv[inv["COMPLETE"].fillna(False).astype(bool)]
    ids = inv["EXPORT_ID"].astype("string")
    valid = pd.to_datetime(ids, format=EXPORT_ID_FORMAT, errors="coerce", utc=True).notna()
    newest = ids[valid].groupby(inv.loc[valid, "SOURCE"].astype(str)).max()
    return {str(k): str(v) for k, v in sorted(newest.items())}


def study_data_cut(inventory: pd.DataFrame) -> str:
    """The study's data cut: the newest export in force of any source, as its export id; empty text
    when nothing is in force."""
    cuts = source_data_cuts(inventory)
    return max(cuts.values()) if cuts else ""
