"""A DuckDB catalog of the warehouse: views over the Parquet tables, no copy of the data.

``<mode root>/warehouse.duckdb`` holds one schema per layer (``sdtm``, ``adam``, ``qa``) and one view
per Parquet file (``sdtm.dm`` over ``sdtm/dm.parquet``); a folder of Parquet files under ``qa/``
(e.g. ``qa/findings/*.parquet``) becomes one view over all of them (``qa.findings``, columns
united by name). Column labels are column comments and dataset labels view comments
(``duckdb_columns()``, ``duckdb_views()``).

Paths: DuckDB binds a view's ``read_parquet`` path each time the view is queried, and resolves a
relative path against ``file_search_path`` (default: the process's working folder), never against
the database file's folder; a session setting is not stored in the file, and a table function's
argument cannot be a subquery (so not ``duckdb_databases()``). What a stored view can read is the
``temp_directory`` setting, which defaults to ``<database file>.tmp`` with the file's absolute
path: every view reads ``<folder of that>/<layer>/<file>``, so the plain ``duckdb`` CLI or
``duckdb.connect`` opens the catalog from any working folder, and after the whole mode root is
copied or moved elsewhere, with no rebuild and no re-pointing. Each view also checks
(:data:`_GUARD`) that the catalog is the only database of the session and ``temp_directory`` is
its default; otherwise (``ATTACH`` into another session, a ``temp_directory`` set by the user) a
query fails with an error that says so, rather than read another folder's files. In those cases
open the file on its own, e.g. with :func:`connect_catalog`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from assets.common.atomic import atomic_path
from assets.common.parquet import read_labels

LAYERS = ("sdtm", "adam", "qa")
CATALOG_NAME = "warehouse.duckdb"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# the catalog's folder, with its trailing separator (a stored view may read a setting, not a subquery)
_ROOT = r"regexp_replace(current_setting('temp_directory'), '[^/\\]*$', '')"
# true when the folder above is this catalog's; otherwise an error rather than another folder's files
_GUARD = (
    "(SELECT CASE WHEN count(*) = 1 AND max(path) || '.tmp' = current_setting('temp_directory') "
    "THEN true ELSE error('warehouse.duckdb: open this file on its own (not ATTACHed, temp_directory "
    "left at its default) so its views find the Parquet files beside it') END "
    "FROM duckdb_databases() WHERE NOT internal)"
)


def catalog_views(mode_root: Path) -> list[dict]:
    """The views to create: schema, name, relative path or glob, label source file."""
    root = Path(mode_root)
    views = []
    for layer in LAYERS:
        folder = root / layer
        if not folder.is_dir():
            continue
        stems = set()
        for path in sorted(folder.glob("*.parquet")):
            stems.add(path.stem.lower())
            views.append(
                {"schema": layer, "name": path.stem.lower(), "glob": f"{layer}/{path.name}", "files": [path]}
            )
        if layer != "qa":
            continue
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            files = sorted(sub.glob("*.parquet"))
            if not files:
                continue
            name = sub.name.lower() if sub.name.lower() not in stems else f"{sub.name.lower()}_all"
            views.append(
                {"schema": layer, "name": name, "glob": f"{layer}/{sub.name}/*.parquet", "files": files}
            )
    return views


def view_sql(view: dict) -> list[str]:
    """CREATE VIEW and its COMMENT statements. Labels come from the Parquet metadata (for a folder
    view, the first file holding a column's label wins); only columns the files have are named."""
    qualified = f"{_ident(view['schema'])}.{_ident(view['name'])}"
    union = ", union_by_name = true" if "*" in view["glob"] else ""
    source = f"{_ROOT} || {_literal(view['glob'])}"
    statements = [f"CREATE VIEW {qualified} AS SELECT * FROM read_parquet({source}{union}) WHERE {_GUARD}"]
    labels, dataset_label, columns = {}, None, set()
    for f in reversed(view["files"]):
        file_labels, file_ds_label = read_labels(f)
        labels.update(file_labels)
        dataset_label = file_ds_label or dataset_label
        columns.update(pq.read_schema(f).names)
    if dataset_label:
        statements.append(f"COMMENT ON VIEW {qualified} IS {_literal(dataset_label)}")
    statements += [
        f"COMMENT ON COLUMN {qualified}.{_ident(col)} IS {_literal(label)}"
        for col, label in sorted(labels.items())
        if col in columns
    ]
    return statements


def build_catalog(mode_root: Path, db_path: Path | None = None) -> tuple[Path, list[dict]]:
    """Create ``<mode root>/warehouse.duckdb`` through a temp file and a rename; returns the path
    and the views made (schema, name, glob, files)."""
    root = Path(mode_root).resolve()
    db_path = Path(db_path) if db_path else root / CATALOG_NAME
    views = catalog_views(root)
    with atomic_path(db_path) as tmp:
        tmp.unlink()  # DuckDB wants to create the file itself
        try:
            con = duckdb.connect(str(tmp))
            try:
                statements = [f"CREATE SCHEMA IF NOT EXISTS {_ident(layer)}" for layer in LAYERS]
                statements += [sql for view in views for sql in view_sql(view)]
                # one script: a statement per round trip costs seconds over a few hundred comments
                con.execute(";\n".join(statements) + ";\nCHECKPOINT;")
            finally:
                con.close()
        finally:
            Path(f"{tmp}.wal").unlink(missing_ok=True)  # empty after the checkpoint; or a failed run's
    return db_path, views


def connect_catalog(db_path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the catalog on its own (the views need nothing more: see the module's note on paths)."""
    return duckdb.connect(str(Path(db_path).resolve()), read_only=read_only)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The number a ``SELECT count(*)`` answers."""
    row = con.execute(sql).fetchone()
    if row is None:  # count(*) always answers one row
        raise RuntimeError(f"no row from {sql!r}")
    return int(row[0])


def view_row_counts(db_path: Path) -> dict[str, tuple[int, int]]:
    """``schema.view`` -> (rows through the view, rows in the Parquet files): equal when sound."""
    root = Path(db_path).resolve().parent
    out = {}
    con = connect_catalog(db_path)
    try:
        for view in catalog_views(root):
            qualified = f"{view['schema']}.{view['name']}"
            through_view = _count(
                con, f"SELECT count(*) FROM {_ident(view['schema'])}.{_ident(view['name'])}"
            )
            in_files = sum(pq.read_metadata(f).num_rows for f in view["files"])
            out[qualified] = (through_view, int(in_files))
    finally:
        con.close()
    return out
