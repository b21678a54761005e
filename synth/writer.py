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


def snapshot(form: str, t: Table, cut: int) -> Table:
    """A site's records as they stood at an earlier data cut: later records absent, later ends not yet known."""
    keep = t["_avail"] <= cut
    out = t.take(keep)
    if "_end" in out and len(out):
        later = out["_end"] > cut
        if form == "AE":
            out["AEENDAT"] = np.where(later, "", out["AEENDAT"]).astype(object)
            out["AEONGO"] = np.where(later, "Y", out["AEONGO"]).astype(object)
            out["AEOUT"] = np.where(later, "NOT RECOVERED/NOT RESOLVED", out["AEOUT"]).astype(object)
        elif form == "CM":
            out["CMENDAT"] = np.where(later & (out["CMENDAT"] != ""), "", out["CMENDAT"]).astype(object)
            out["CMONGO"] = np.where(later, "Y", out["CMONGO"]).astype(object)
    return out


def form_file(t: Table, header: list[str], site: Site, extra: str | None = None, drop: str | None = None,
              invalid_utf8: bool = False) -> tuple[bytes, int]:
    """The bytes of one form file of one site and its data-row count."""
    t = t.take(file_order(t))
    cols = [c for c in header if c != drop]
    arrays = [t[c] for c in cols]
    if extra:
        cols = cols + [extra]
        arrays.append(np.asarray(["VERIFIED BY CRA" if i % 7 == 3 else "" for i in range(len(t))], dtype=object))
    if invalid_utf8 and len(t):
        term = np.asarray(arrays[cols.index("AETERM")]).copy()
        term[0] = "Eczéma"
        arrays[cols.index("AETERM")] = term
    data = csv_bytes(cols, arrays, crlf=site.crlf, bom=site.bom)
    if invalid_utf8:
        data = data.replace("Eczéma".encode("utf-8"), "Eczéma".encode("latin-1"), 1)
    return data, len(t)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_ground_truth(path: Path, rows: list[dict]) -> None:
    """GROUND_TRUTH.csv: one line per planted fault (header only for clean data)."""
    order = sorted(rows, key=lambda r: (r["outcome"], r["kind"], r["site"], r["export_id"], r["file"], r["recid"],
                                        r["column"], r["detail"]))  # fmt: skip
    cols = [np.asarray([r[c] for r in order], dtype=object) for c in GROUND_TRUTH_COLUMNS]
    write_bytes(path, csv_bytes(list(GROUND_TRUTH_COLUMNS), cols))
