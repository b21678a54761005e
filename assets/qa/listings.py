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


XLSX_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""Zip entry time of every XLSX part when no document time is given (the zip format's earliest)."""


_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
"""Characters XML 1.0 cannot carry (openpyxl refuses them): dropped from listing text."""


def _text_safe_cell(ws, value: str):
    """A cell that holds ``value`` as text: openpyxl types a string starting with ``=`` as a formula
    and one equal to an error code (``#N/A``) as an error, so ``data_type`` is forced to string."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _cells_xml(series: pd.Series, letter: str, row_numbers: pd.Series) -> pd.Series:
    """SpreadsheetML ``<c>`` elements of one column, vectorized: text as an inline string (never a
    formula, whatever it starts with), numbers and booleans as values, missing and empty as nothing."""
    ref = '<c r="' + letter + row_numbers
    if pd.api.types.is_bool_dtype(series):
        body = ref + '" t="b"><v>' + series.astype("boolean").astype("Int64").astype("string") + "</v></c>"
    elif pd.api.types.is_numeric_dtype(series):
        text = series.astype(object).where(series.notna(), None).map(str, na_action="ignore").astype("string")
        body = ref + '"><v>' + text + "</v></c>"
    else:
        text = series.astype("string").str.replace(_XML_ILLEGAL, "", regex=True)
        text = text.mask(text.eq(""))
        escaped = (
            text.str.replace("&", "&amp;", regex=False)
            .str.replace("<", "&lt;", regex=False)
            .str.replace(">", "&gt;", regex=False)
            .str.replace("\r", "&#13;", regex=False)  # a literal CR would read back as LF
        )
        body = ref + '" t="inlineStr"><is><t xml:space="preserve">' + escaped + "</t></is></c>"
    return body.fillna("")


def _rows_xml(frame: pd.DataFrame) -> str:
    """The ``<row>`` elements of the frame's values (sheet rows 2..n+1, row 1 is the header)."""
    from openpyxl.utils import get_column_letter

    if frame.empty:
        return ""
    frame = frame.reset_index(drop=True)  # the columns are concatenated by position
    row_numbers = pd.Series(range(2, len(frame) + 2), index=frame.index).astype("string")
    rows = '<row r="' + row_numbers + '">'
    for i, col in enumerate(frame.columns, start=1):
        rows = rows + _cells_xml(frame[col], get_column_letter(i), row_numbers)
    return "".join((rows + "</row>").tolist())


def _finish_package(data: bytes, sheet_rows: dict[str, str], date_time: tuple) -> bytes:
    """The zip openpyxl wrote with each sheet's data rows inserted after its header row and every
    entry stamped ``date_time`` (zipfile stamps the current local time): same workbook, same bytes."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in sheet_rows:
                head, sep, tail = content.decode("utf-8").rpartition("</sheetData>")
                if not sep:
                    raise ValueError(f"write_xlsx: no sheetData in {info.filename}")
                content = (head + sheet_rows[info.filename] + sep + tail).encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=date_time)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, content)
    return buf.getvalue()


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, created: pd.Timestamp | None = None) -> Path:
    """One workbook, one sheet per frame, header row frozen; every cell written as a value: a text
    is stored as an inline string, never as a formula, whatever it starts with (the formula-injection
    escaping upstream protects the CSV and anyone who re-types the value).

    openpyxl (write-only mode) writes the package and the header rows; the data rows are generated
    as SpreadsheetML in vectorized pandas, because openpyxl's per-cell XML serialization dominated
    the cost (~0.15 s per 1,000 rows). Deterministic: with ``created`` the document's created and
    modified times are ``created`` (openpyxl's ``save`` would stamp "now" as modified) and every zip
    entry carries that time; without it the zip entries carry 1980-01-01. The same listing gives
    the same bytes."""
    import zipfile

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    sheet_rows = {}
    for number, (name, frame) in enumerate(sheets.items(), start=1):
        ws = wb.create_sheet(title=name[:31])
        # Column widths and the frozen header: a write-only sheet needs them before the first row.
        for i, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200).tolist()])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"
        ws.append([_text_safe_cell(ws, str(c)) for c in frame.columns])
        sheet_rows[f"xl/worksheets/sheet{number}.xml"] = _rows_xml(frame)
    date_time = XLSX_FIXED_TIME
    if created is not None:
        stamp = created.tz_convert("UTC").tz_localize(None) if created.tzinfo else created
        wb.properties.created = wb.properties.modified = stamp.to_pydatetime()
        date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()  # save_workbook() would overwrite the modified time with now
    atomic_write_bytes(Path(path), _finish_package(buf.getvalue(), sheet_rows, date_time))
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
