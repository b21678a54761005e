"""Writes exports: CSV bytes per site habit, MANIFEST.json, IWRS and restricted lists, ground truth."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np

import study
from synth.assemble import contract_columns, file_order
from synth.params import stream
from synth.sites import Site
from synth.table import Table

BOM = b"\xef\xbb\xbf"
INVALID_TERM = "Eczéma"  # written in Latin-1 where the file must be UTF-8
GROUND_TRUTH_COLUMNS = ("kind", "outcome", "site", "export_id", "file", "recid", "column", "detail")


def csv_bytes(header: list[str], columns: list[np.ndarray], crlf: bool = False, bom: bool = False) -> bytes:
    """RFC 4180 CSV (minimal quoting) of column arrays, UTF-8, optionally CRLF and BOM."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(zip(*columns))
    data = buf.getvalue().encode("utf-8")
    return BOM + data if bom else data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(site_label: str, export_id: str, files: dict[str, tuple[str, int]]) -> bytes:
    """MANIFEST.json per contract; files listed by name."""
    body = {
        "study": study.studyid(),
        "site": site_label,
        "export_id": export_id,
        "files": {name: {"sha256": h, "rows": rows} for name, (h, rows) in sorted(files.items())},
    }
    return (json.dumps(body, indent=2) + "\n").encode("utf-8")


def site_columns(site: Site, form: str, seed: int) -> list[str]:
    """The column order a site writes a form in (shuffled once per site and form, if that is its habit)."""
    cols = contract_columns(form)
    if not site.shuffle_columns:
        return cols
    perm = stream(seed, f"columns-{site.siteid}-{form}").permutation(len(cols))
    return [cols[i] for i in perm]


def site_rows(t: Table, n_sites: int) -> list[np.ndarray]:
    """Per site, the table's row positions in file order (subjects are numbered site by site)."""
    order = file_order(t)
    bounds = np.searchsorted(t["_site"][order], np.arange(n_sites + 1))
    return [order[bounds[s] : bounds[s + 1]] for s in range(n_sites)]


def _column(t: Table, col: str, rows: np.ndarray, form: str, cut: int | None) -> np.ndarray:
    """A column's values for the rows written; at an earlier cut, end dates after it are not yet known."""
    values = t[col][rows]
    if cut is None or "_end" not in t or col not in _PATCH.get(form, {}):
        return values
    later = t["_end"][rows] > cut
    return np.where(later, _PATCH[form][col], values).astype(object)


_PATCH = {
    "AE": {"AEENDAT": "", "AEONGO": "Y", "AEOUT": "NOT RECOVERED/NOT RESOLVED"},
    "CM": {"CMENDAT": "", "CMONGO": "Y"},
}


def form_file(
    form: str,
    t: Table,
    rows: np.ndarray,
    header: list[str],
    site: Site,
    cut: int | None = None,
    extra: str | None = None,
    drop: str | None = None,
    invalid_utf8: bool = False,
) -> tuple[bytes, int]:
    """The bytes of one form file of one site and its data-row count.

    ``rows`` are the site's rows in file order; with ``cut`` (an earlier snapshot) only records
    that existed by then are written, as they stood then.
    """
    if cut is not None:
        rows = rows[t["_avail"][rows] <= cut]
    cols = [c for c in header if c != drop]
    arrays = [_column(t, c, rows, form, cut) for c in cols]
    if extra:
        cols = cols + [extra]
        arrays.append(
            np.asarray(["VERIFIED BY CRA" if i % 7 == 3 else "" for i in range(len(rows))], dtype=object)
        )
    if invalid_utf8 and len(rows):
        term = arrays[cols.index("AETERM")].copy()
        term[0] = INVALID_TERM
        arrays[cols.index("AETERM")] = term
    data = csv_bytes(cols, arrays, crlf=site.crlf, bom=site.bom)
    if invalid_utf8:
        data = data.replace(INVALID_TERM.encode("utf-8"), INVALID_TERM.encode("latin-1"), 1)
    return data, len(rows)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_ground_truth(path: Path, rows: list[dict]) -> None:
    """GROUND_TRUTH.csv: one line per planted fault (header only for clean data)."""
    order = sorted(
        rows,
        key=lambda r: (
            r["outcome"],
            r["kind"],
            r["site"],
            r["export_id"],
            r["file"],
            r["recid"],
            r["column"],
            r["detail"],
        ),
    )
    cols = [np.asarray([r[c] for r in order], dtype=object) for c in GROUND_TRUTH_COLUMNS]
    write_bytes(path, csv_bytes(list(GROUND_TRUTH_COLUMNS), cols))
