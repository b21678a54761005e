"""Per-site listings to send to sites (CSV, XLSX) and the export status of every site.

Issue 5: listings are safe against spreadsheet formula injection — a text value a site sent
that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return would run as a formula when the
site opens the file, so it gets a leading ``'`` (OWASP CSV injection guidance). Export status:
per site the newest complete export, its age in days on the run date, and the incomplete exports
that were skipped and why (site-export.md, Landing zone layout).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from assets.common.parquet import atomic_write_bytes

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

LISTING_COLUMNS = [
    "QUERY_ID",
    "STATUS",
    "KIND",
    "SEVERITY",
    "SUBJID",
    "FORM",
    "VISIT",
    "RECID",
    "COLUMN",
    "RULE",
    "VALUE",
    "MESSAGE",
    "SRC_EXPORT",
    "SRC_FILE",
    "SRC_LINE",
    "FIRST_SEEN",
    "LAST_SEEN",
]
LISTING_SORT = ["SUBJID", "FORM", "RECID", "KIND", "COLUMN", "QUERY_ID"]

EXPORT_STATUS_COLUMNS = [
    "SITEID",
    "LAST_EXPORT",
    "LAST_EXPORT_DTC",
    "AGE_DAYS",
    "EXPORTS_FOUND",
    "EXPORTS_INCOMPLETE",
    "INCOMPLETE_SKIPPED",
]
EXPORT_STATUS_LABELS = {
    "SITEID": "Study site identifier (IWRS for randomization)",
    "LAST_EXPORT": "Newest complete export (in force)",
    "LAST_EXPORT_DTC": "Newest complete export time (ISO 8601 UTC)",
    "AGE_DAYS": "Age of the newest complete export (days)",
    "EXPORTS_FOUND": "Export folders found",
    "EXPORTS_INCOMPLETE": "Incomplete export folders (skipped)",
    "INCOMPLETE_SKIPPED": "Skipped exports and why",
}


def escape_formula_injection(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to every text value starting with ``=``, ``+``, ``-``, ``@``, tab or CR, so a
    spreadsheet shows it as text instead of evaluating it. Numbers stay numbers (a numeric
    ``-5`` is not text and is not touched)."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        text = series.astype("string")
        risky = text.str.startswith(FORMULA_TRIGGERS).fillna(False)
        if risky.any():
            out[col] = text.mask(risky, "'" + text)
    return out


def derive_site_listing(queries: pd.DataFrame, siteid: str) -> pd.DataFrame:
    """The open queries of one site in the columns a site answers, escaped for spreadsheets."""
    missing = [c for c in LISTING_COLUMNS + ["SITEID"] if c not in queries.columns]
    if missing:
        raise KeyError(f"derive_site_listing: columns missing: {missing}")
    rows = queries[queries["SITEID"].eq(siteid).fillna(False) & queries["STATUS"].eq("OPEN").fillna(False)]
    listing = rows[LISTING_COLUMNS].sort_values(LISTING_SORT, kind="stable", na_position="last")
    return escape_formula_injection(listing.reset_index(drop=True))


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """UTF-8 with BOM (spreadsheets then read accents correctly), ``\\n`` line ends, atomic."""
    text = df.to_csv(index=False, lineterminator="\n")
    atomic_write_bytes(Path(path), b"\xef\xbb\xbf" + text.encode("utf-8"))
    return Path(path)


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, created: pd.Timestamp | None = None) -> Path:
    """One workbook, one sheet per frame; every cell written as a value (a string is never taken
    for a formula: openpyxl would store a text starting with ``=`` as one, hence the escaping
    upstream and ``data_type`` forced to string here)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        ws.append(list(frame.columns))
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
            ws.append(list(row))
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        for i, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200).tolist()])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"
    if created is not None:
        # Fixed document times: the same listing gives the same workbook properties.
        wb.properties.created = wb.properties.modified = created.to_pydatetime().replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def export_time(export_ids: pd.Series) -> pd.Series:
    """``YYYYMMDDTHHMMSSZ`` export ids as UTC timestamps (NaT when the id is malformed)."""
    return pd.to_datetime(export_ids.astype("string"), format="%Y%m%dT%H%M%SZ", errors="coerce", utc=True)


def derive_export_status(inventory: pd.DataFrame, now: str) -> pd.DataFrame:
    """Per source (site or IWRS): newest complete export, its age in whole days at ``now`` (the
    run timestamp), how many export folders were found and which incomplete ones were skipped,
    with the reason (site-export.md: the newest complete export is in force)."""
    needed = ["SOURCE", "EXPORT_ID", "COMPLETE", "REASON"]
    missing = [c for c in needed if c not in inventory.columns]
    if missing and not inventory.empty:
        raise KeyError(f"derive_export_status: columns missing: {missing}")
    if inventory.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="Int64" if "EXPORTS" in c or c == "AGE_DAYS" else "string")
                for c in EXPORT_STATUS_COLUMNS
            }
        )
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
