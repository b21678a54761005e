"""Ingest one source (a site, or the IWRS) from its complete exports.

Per form, the newest complete export whose file is usable is in force; a form rejected as a whole
(not UTF-8 CSV, required column missing) falls back to the same form of the site's next older
complete export (site-export.md, Bad input). A form with a header and no rows is kept, and
reported when the site's previous complete export had rows. Every row read ends up in the valid
frame or in quarantine, and the accounting says so per form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import study
from assets.ingest.discovery import IWRS, ExportCheck, complete_exports_newest_first
from assets.ingest.harmonize import harmonize_form, helper_columns
from assets.ingest.reading import FormRead, read_form
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
EMPTIED_COLUMNS = ["SOURCE", "FORM", "SRC_EXPORT", "SRC_FILE", "PREVIOUS_EXPORT", "PREVIOUS_ROWS"]


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
    emptied: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EMPTIED_COLUMNS))
    failed: bool = False  # ingest failed beyond any rule: only ``rejections`` (one row) says why


def forms_of(source: str) -> tuple[str, ...]:
    return ("RAND",) if source == IWRS else study.FORMS


def select_form(exports: list[ExportCheck], form: str, landing: Path):
    """The newest complete export whose ``form`` file is usable, read as text.

    Returns (FormRead or None, export used or None, rejections of the newer exports skipped)."""
    rejected: list[tuple[ExportCheck, str, int | None, str]] = []
    for check in exports:
        if f"{form}.csv" not in check.files:
            rejected.append((check, f"{form}.csv", None, f"{form}.csv not in the export"))
            continue
        read = _read_guarded(check.path / f"{form}.csv", form, check.export_id, landing)
        if read.table is None:
            rejected.append((check, str(read.path.relative_to(landing)), read.line, read.rejection))
            continue
        return read, check, rejected
    return None, None, rejected


def _read_guarded(path: Path, form: str, export_id: str, landing: Path) -> FormRead:
    """:func:`read_form`, with any failure other than an I/O error (retried by the asset) turned into
    the rejection of that one form: a file never stops the other forms and sites (site-export.md,
    Bad input)."""
    try:
        return read_form(path, form, export_id, relative_to=landing)
    except OSError:
        raise
    except Exception as exc:  # any fault of one file rejects that file only
        return FormRead(form, path, None, f"file could not be read: {type(exc).__name__}: {exc}")


def emptied_form(exports: list[ExportCheck], check: ExportCheck, form: str) -> ExportCheck | None:
    """The complete export before ``check`` when its ``form`` file had rows (by its verified
    manifest), else None: a header-only file is kept, and this is what gets it reported
    (site-export.md, Bad input)."""
    older = [e for e in exports if e.export_id < check.export_id]
    if not older:
        return None
    entry = older[0].files.get(f"{form}.csv")
    rows = entry.get("rows") if isinstance(entry, dict) else None
    return older[0] if isinstance(rows, int) and rows > 0 else None


def with_source(table: pa.Table, source: str) -> pa.Table:
    """A source's table of a form with SRC_SOURCE and SRC_SITE in front: the site whose folder the
    file came from (the IWRS serves every site: its rows' SITEID)."""
    n = table.num_rows
    site = table["SITEID"] if source == IWRS else pa.repeat(pa.scalar(source, pa.string()), n)
    return table.add_column(0, "SRC_SITE", site).add_column(
        0, "SRC_SOURCE", pa.repeat(pa.scalar(source, pa.string()), n)
    )


def validate_form(tables: list[pa.Table], form: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Harmonize and validate one form of several sources in one pass (one pandera run per form,
    not per site: the per-call cost of pandera dominates small frames). Tables carry SRC_SOURCE
    (see :func:`with_source`) and become one DataFrame: one conversion, not one per file."""
    frame = pa.concat_tables(tables).to_pandas()
    harmonized = harmonize_form(frame, form)
    return split_valid_and_quarantine(
        harmonized, form, harmonized["SRC_SOURCE"], drop=helper_columns(harmonized) + ["SRC_SITE"]
    )


def _split(
    df: pd.DataFrame, sources: list[str], column: str = "SRC_SOURCE", drop: bool = True
) -> dict[str, pd.DataFrame]:
    """Each source's rows of ``df`` (named by ``column``, left out when ``drop``), in their order.

    The forms are concatenated source by source and validation keeps the order, so a source's rows
    are one block: slicing it out copies nothing (a group-by would copy every column). Rows not in
    blocks (the quarantines of all forms, one form after the other) are brought together first."""
    codes, names = pd.factorize(df[column])
    if drop:
        df = df.drop(columns=column)  # once: a drop per block would copy every numeric column
    if (np.diff(codes) < 0).any():  # not in blocks: bring each source's rows together, order kept
        order = np.argsort(codes, kind="stable")
        df, codes = df.take(order), codes[order]
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    # A source with no row gets the empty block past the last one.
    block = {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(names)}
    empty = (len(df), len(df))
    return {s: _renumbered(df.iloc[slice(*block.get(s, empty))]) for s in sources}


def _renumbered(block: pd.DataFrame) -> pd.DataFrame:
    """``block.reset_index(drop=True)`` for a new frame (a slice): its index is replaced in place,
    where ``reset_index`` would make yet another frame (a shallow copy of every column)."""
    block.index = pd.RangeIndex(len(block))
    return block


def ingest_sources(sources: list[str], checks: list[ExportCheck], landing: Path) -> dict[str, SourceIngest]:
    """Ingest every form of every source (sites, or the IWRS) from its complete exports.

    Per source and form the newest usable file is read; then each form is harmonized and validated
    for all sources at once and split back, so the result is the same as source by source."""
    results: dict[str, SourceIngest] = {}
    picked: dict[str, dict[str, tuple]] = {}
    rows: dict[str, dict[str, list]] = {}
    for source in sources:
        exports = complete_exports_newest_first(checks, source)
        results[source] = SourceIngest(source, exports[0].export_id if exports else None)
        rows[source] = {"accounting": [], "rejections": [], "unexpected": [], "emptied": []}
        for form in forms_of(source):
            read, check, rejected = select_form(exports, form, landing)
            fallback = check.export_id if check is not None else ""
            for bad, file, line, reason in rejected:
                rows[source]["rejections"].append(
                    {
                        "SOURCE": source,
                        "FORM": form,
                        "SRC_EXPORT": bad.export_id,
                        "SRC_FILE": file,
                        "SRC_LINE": line,
                        "REASON": reason,
                        "FALLBACK_EXPORT": fallback,
                    }
                )
            if read is None:
                continue
            picked.setdefault(form, {})[source] = (read, check)
            previous = emptied_form(exports, check, form) if read.table.num_rows == 0 else None
            if previous is not None:
                rows[source]["emptied"].append(
                    {
                        "SOURCE": source,
                        "FORM": form,
                        "SRC_EXPORT": check.export_id,
                        "SRC_FILE": str(read.path.relative_to(landing)),
                        "PREVIOUS_EXPORT": previous.export_id,
                        "PREVIOUS_ROWS": int(previous.files[f"{form}.csv"]["rows"]),
                    }
                )
            for col in read.unexpected_columns:
                rows[source]["unexpected"].append(
                    {
                        "SOURCE": source,
                        "FORM": form,
                        "SRC_EXPORT": check.export_id,
                        "SRC_FILE": str(read.path.relative_to(landing)),
                        "COLUMN": col,
                        "VALUES_PRESENT": read.values_present(col),
                    }
                )
    quarantines: list[pd.DataFrame] = []  # per form, every source's
    for form, by_source in picked.items():
        tables = [with_source(read.table, source) for source, (read, _check) in by_source.items()]
        valid, quarantine = validate_form(tables, form)
        valid_by_source = _split(valid, list(by_source))
        quarantines.append(quarantine)
        # Rows, not failures: a source's file is one per form, so its lines name its rows.
        rows_bad = quarantine.drop_duplicates(["SOURCE", "SRC_LINE"])["SOURCE"].value_counts()
        for source, (read, check) in by_source.items():
            ok = valid_by_source[source]
            results[source].forms[form] = ok
            n_read, n_bad = read.table.num_rows, int(rows_bad.get(source, 0))
            rows[source]["accounting"].append(
                {
                    "SOURCE": source,
                    "FORM": form,
                    "SRC_EXPORT": check.export_id,
                    "ROWS_READ": n_read,
                    "ROWS_PASSED": len(ok),
                    "ROWS_QUARANTINED": n_bad,
                    "BALANCED": n_read == len(ok) + n_bad,
                }
            )
    # Each source's quarantine, form after form: one concatenation and one split for all sources
    # instead of a group-by per form and a concatenation per source.
    if quarantines:
        bad = _split(pd.concat(quarantines, ignore_index=True), sources, column="SOURCE", drop=False)
        for source in {s for by_source in picked.values() for s in by_source}:
            results[source].quarantine = bad[source]
    for source, result in results.items():
        acc = pd.DataFrame(rows[source]["accounting"], columns=ACCOUNTING_COLUMNS)
        order = {f: i for i, f in enumerate(forms_of(source))}
        result.accounting = acc.sort_values("FORM", key=lambda c: c.map(order)).reset_index(drop=True)
        result.rejections = pd.DataFrame(rows[source]["rejections"], columns=REJECTION_COLUMNS).astype(
            {"SRC_LINE": "Int64"}
        )
        result.unexpected = pd.DataFrame(rows[source]["unexpected"], columns=UNEXPECTED_COLUMNS)
        result.emptied = pd.DataFrame(rows[source]["emptied"], columns=EMPTIED_COLUMNS).astype(
            {"PREVIOUS_ROWS": "int64"}
        )
    return results


def ingest_source(source: str, checks: list[ExportCheck], landing: Path) -> SourceIngest:
    """Ingest every form of one source (see :func:`ingest_sources`)."""
    return ingest_sources([source], checks, landing)[source]
