"""Compare two warehouses written by two versions of the code (a refactor must change no output).

Usage: ``python -m benchmarks.compare_outputs OLD_WH NEW_WH [old=new ...]``; each ``old=new`` pair
is a text rename that is allowed (reported as RENAMED-ONLY). Write both warehouses with
``benchmarks/fixed_time_run.py`` so that the QA timestamp is the same. Compared:

- every file by its bytes, except
- Parquet: equal data, schema and field metadata; the schema's ``code_version`` is ignored;
- Dataset-JSON: equal after removing ``sourceSystem`` (it names the code version);
- define.xml: equal after removing the ODM root's ``SourceSystem``/``SourceSystemVersion``;
- ``qa/run.json`` (the run log) and the GX Data Docs HTML (timestamped by GX) are skipped;
- ``warehouse.duckdb``: compared by its view definitions;
- XLSX listings: compared by sheet and cell values;
- ``qa/report.html``: the Dagster run id it names may differ (RUN-ID-ONLY).

Prints one line per difference and a summary; exits 1 when a difference is not a rename.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

VOLATILE_DEFINE = re.compile(rb' SourceSystem(Version)?="[^"]*"')
RUN_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def skipped(rel: str) -> bool:
    return rel.endswith("qa/run.json") or ("/qa/gx/" in "/" + rel and rel.endswith(".html"))


class Renames:
    def __init__(self, pairs: list[str]) -> None:
        self.pairs = [tuple(p.split("=", 1)) for p in pairs]

    def undo(self, data: bytes) -> bytes:
        for old, new in self.pairs:
            data = data.replace(new.encode(), old.encode())
        return data

    def undo_table(self, table: pa.Table) -> pa.Table:
        columns = []
        for col in table.columns:
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                values = [None if v is None else self.undo(v.encode()).decode() for v in col.to_pylist()]
                columns.append(pa.array(values, type=col.type))
            else:
                columns.append(col)
        return pa.table(columns, schema=table.schema)


def without_code_version(table: pa.Table) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta.pop(b"code_version", None)
    return table.replace_schema_metadata(meta)


def compare_parquet(old: Path, new: Path, renames: Renames) -> str:
    a, b = without_code_version(pq.read_table(old)), without_code_version(pq.read_table(new))
    if not a.schema.equals(b.schema, check_metadata=True):
        return "DIFF parquet schema"
    if a.equals(b):
        return ""
    return "RENAMED-ONLY" if renames.pairs and a.equals(renames.undo_table(b)) else "DIFF parquet"


def duckdb_views(path: Path) -> list:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    sql = "select schema_name, view_name, sql from duckdb_views() where not internal order by 1, 2"
    return con.execute(sql).fetchall()


def xlsx_cells(path: Path) -> list:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return [(sheet.title, list(sheet.iter_rows(values_only=True))) for sheet in book.worksheets]


def compare_file(old: Path, new: Path, rel: str, renames: Renames) -> str:
    if rel.endswith(".parquet"):
        return compare_parquet(old, new, renames)
    a, b = old.read_bytes(), new.read_bytes()
    if a == b:
        return ""
    if rel.endswith("warehouse.duckdb"):
        return "" if duckdb_views(old) == duckdb_views(new) else "DIFF duckdb views"
    if rel.endswith(".json"):
        ja, jb = json.loads(a), json.loads(b)
        ja.pop("sourceSystem", None)
        jb.pop("sourceSystem", None)
        if ja == jb:
            return ""
    if rel.endswith("define.xml") and VOLATILE_DEFINE.sub(b"", a) == VOLATILE_DEFINE.sub(b"", b):
        return ""
    if rel.endswith(".xlsx"):  # a zip: compare the cells (and renamed text in them)
        cells_a, cells_b = xlsx_cells(old), xlsx_cells(new)
        if cells_a == cells_b:
            return ""
        undone = json.loads(renames.undo(json.dumps(cells_b, default=str).encode()))
        return "RENAMED-ONLY" if undone == json.loads(json.dumps(cells_a, default=str)) else "DIFF xlsx cells"
    if rel.endswith("report.html"):  # names the Dagster run id, which differs on every run
        a, b = RUN_ID.sub(b"RUN", a), RUN_ID.sub(b"RUN", b)
        if a == b:
            return "RUN-ID-ONLY"
    return "RENAMED-ONLY" if renames.pairs and renames.undo(b) == a else "DIFF bytes"


def main(argv: list[str]) -> int:
    old_root, new_root, renames = Path(argv[0]), Path(argv[1]), Renames(argv[2:])
    old_files, new_files = files(old_root), files(new_root)
    lines = [f"ONLY {'old' if r in old_files else 'new'}: {r}" for r in sorted(old_files ^ new_files)]
    lines = [line for line in lines if not skipped(line.split(": ", 1)[1])]
    equal = 0
    for rel in sorted(old_files & new_files):
        if skipped(rel):
            continue
        verdict = compare_file(old_root / rel, new_root / rel, rel, renames)
        if verdict:
            lines.append(f"{verdict} {rel}")
        else:
            equal += 1
    print("\n".join(lines))
    print(f"{equal} files equal, {len(lines)} differences ({len(old_files)} old files, {len(new_files)} new)")
    return 1 if any(not line.startswith(("RENAMED-ONLY", "RUN-ID-ONLY")) for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
