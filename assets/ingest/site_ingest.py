"""Ingest one source (a site, or the IWRS) from its complete exports.

Per form, the newest complete export whose file is usable is in force; a form rejected as a whole
(not UTF-8 CSV, required column missing) falls back to the same form of the site's next older
complete export (site-export.md, Bad input). Every row read ends up in the valid frame or in
quarantine, and the accounting says so per form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import study
from assets.ingest.discovery import IWRS, ExportCheck, complete_exports_newest_first
from assets.ingest.harmonize import drop_helper_columns, harmonize_form
from assets.ingest.reading import read_form
from assets.ingest.validate import empty_quarantine, split_valid_and_quarantine

ACCOUNTING_COLUMNS = [
    "SOURCE",
    "FORM",
    "SRC_EXPORT",
    "ROWS_READ",
    "ROWS_PASSED",
    "ROWS_QUARANTINED",
    "BALANCED",
]
REJECTION_COLUMNS = ["SOURCE", "FORM", "SRC_EXPORT", "SRC_FILE", "SRC_LINE", "REASON", "FALLBACK_EXPORT"]
UNEXPECTED_COLUMNS = ["SOURCE", "FORM", "SRC_EXPORT", "SRC_FILE", "COLUMN", "VALUES_PRESENT"]


@dataclass
class SourceIngest:
    """What ingesting one site (or the IWRS) produced."""

    source: str
    export_id: str | None  # newest complete export, or None when the source has none
    forms: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)
    accounting: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNTING_COLUMNS))
    rejections: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTION_COLUMNS))
    unexpected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNEXPECTED_COLUMNS))


def forms_of(source: str) -> tuple[str, ...]:
    return ("RAND",) if source == IWRS else study.FORMS


def ingest_form(check: ExportCheck, form: str, landing: Path):
    """Read, harmonize and validate one form of one export. Returns (FormRead, valid, quarantine)."""
    read = read_form(check.path / f"{form}.csv", form, check.export_id, relative_to=landing)
    if read.frame is None:
        return read, None, None
    frame = read.frame
    frame.insert(0, "SRC_SITE", check.source if check.source != IWRS else frame.get("SITEID"))
    harmonized = harmonize_form(frame, form)
    valid, quarantine = split_valid_and_quarantine(harmonized, form, check.source)
    return read, drop_helper_columns(valid).drop(columns="SRC_SITE"), quarantine


def ingest_source(source: str, checks: list[ExportCheck], landing: Path) -> SourceIngest:
    """Ingest every form of ``source`` from its complete exports (newest usable per form)."""
    exports = complete_exports_newest_first(checks, source)
    result = SourceIngest(source, exports[0].export_id if exports else None)
    quarantines, accounting, rejections, unexpected = [], [], [], []
    for form in forms_of(source):
        pending_rejections = []
        for check in exports:
            if f"{form}.csv" not in check.files:
                pending_rejections.append((check, f"{form}.csv", None, f"{form}.csv not in the export"))
                continue
            read, valid, quarantine = ingest_form(check, form, landing)
            if valid is None:
                pending_rejections.append(
                    (check, str(read.path.relative_to(landing)), read.line, read.rejection)
                )
                continue
            result.forms[form] = valid
            quarantines.append(quarantine)
            n_read = len(read.frame)
            n_bad = quarantine[["SRC_LINE"]].drop_duplicates().shape[0]
            accounting.append(
                {
                    "SOURCE": source,
                    "FORM": form,
                    "SRC_EXPORT": check.export_id,
                    "ROWS_READ": n_read,
                    "ROWS_PASSED": len(valid),
                    "ROWS_QUARANTINED": n_bad,
                    "BALANCED": n_read == len(valid) + n_bad,
                }
            )
            extra = read.frame.attrs.get("unexpected")
            for col in read.unexpected_columns:
                unexpected.append(
                    {
                        "SOURCE": source,
                        "FORM": form,
                        "SRC_EXPORT": check.export_id,
                        "SRC_FILE": str(read.path.relative_to(landing)),
                        "COLUMN": col,
                        "VALUES_PRESENT": int(extra[col].notna().sum()) if extra is not None else 0,
                    }
                )
            break
        used = result.forms.get(form) is not None
        fallback = (
            accounting[-1]["SRC_EXPORT"] if used and accounting and accounting[-1]["FORM"] == form else ""
        )
        for check, file, line, reason in pending_rejections:
            rejections.append(
                {
                    "SOURCE": source,
                    "FORM": form,
                    "SRC_EXPORT": check.export_id,
                    "SRC_FILE": file,
                    "SRC_LINE": line,
                    "REASON": reason,
                    "FALLBACK_EXPORT": fallback,
                }
            )
    if quarantines:
        result.quarantine = pd.concat(quarantines, ignore_index=True)
    result.accounting = pd.DataFrame(accounting, columns=ACCOUNTING_COLUMNS)
    result.rejections = pd.DataFrame(rejections, columns=REJECTION_COLUMNS).astype({"SRC_LINE": "Int64"})
    result.unexpected = pd.DataFrame(unexpected, columns=UNEXPECTED_COLUMNS)
    return result
