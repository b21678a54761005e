"""Where ingested data lives in the warehouse, and how later layers read it back.

``<mode root>/ingest/forms/<FORM>/<SOURCE>.parquet``   valid harmonized rows of one site (or IWRS)
``<mode root>/ingest/qa/<table>/<SOURCE>.parquet``     quarantine, accounting, rejections, unexpected,
                                                        emptied (header-only forms that had rows)
``<mode root>/ingest/export_inventory.parquet``        every export folder and its verdict

One file per source keeps a site's re-ingest independent of the others (site partitions).
"""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from assets.common.cache import LruCache, arrow_nbytes, cache_budget_bytes
from assets.common.parquet import file_identity, write_parquet

if TYPE_CHECKING:  # annotations only: importing it at run time pulls in pandera for every reader
    from assets.ingest.site_ingest import SourceIngest

QA_TABLES = ("quarantine", "accounting", "rejections", "unexpected", "emptied")
_SORT = {
    "quarantine": ["SRC_FILE", "SRC_LINE", "COLUMN", "RULE"],
    "accounting": ["SOURCE", "FORM"],
    "rejections": ["SOURCE", "FORM", "SRC_EXPORT"],
    "unexpected": ["SOURCE", "FORM", "COLUMN"],
    "emptied": ["SOURCE", "FORM"],
}


ParquetFile = tuple[pd.DataFrame, Path, list[str]]
"""A file to write: the frame, its path, the sort keys."""

WRITE_THREADS = 4
"""Files written side by side: Parquet encoding and each file's fsync release the GIL, so one file's
wait for the disk overlaps the next one's conversion (the bytes written are the same)."""


def source_files(ingest_dir: Path, result: SourceIngest, forms: tuple[str, ...]) -> list[ParquetFile]:
    """One source's forms and QA tables as files to write; a form with no usable file removes the
    stale file."""
    files = []
    for form in forms:
        path = Path(ingest_dir) / "forms" / form / f"{result.source}.parquet"
        frame = result.forms.get(form)
        if frame is None:
            path.unlink(missing_ok=True)
            continue
        keys = ["SUBJID", "RECID"] if "RECID" in frame.columns else ["SUBJID"]
        files.append((frame, path, keys + ["SRC_LINE"]))
    for table in QA_TABLES:
        path = Path(ingest_dir) / "qa" / table / f"{result.source}.parquet"
        files.append((getattr(result, table), path, _SORT[table]))
    return files


def write_files(files: list[ParquetFile]) -> None:
    """Write every file (one pool of threads for all of them: starting threads per source costs)."""
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        # list() waits for every file and re-raises the first error
        list(pool.map(lambda f: write_parquet(f[0], f[1], sort_by=f[2]), files))


def write_source(ingest_dir: Path, result: SourceIngest, forms: tuple[str, ...]) -> dict[str, int]:
    """Write one source's forms and QA tables (see :func:`source_files`); rows written per form."""
    write_files(source_files(ingest_dir, result, forms))
    return {form: len(result.forms[form]) for form in forms if form in result.forms}


_TABLE_CACHE: LruCache[pa.Table] = LruCache(
    24, cache_budget_bytes(), arrow_nbytes
)  # folders (13 forms + RAND + QA tables); Arrow tables are immutable


def _read_table(folder: Path, files: list[Path]) -> pa.Table:
    """Every column of the folder's files as one Arrow table, read once per run: the SDTM, ADaM
    and QA assets of one run read the same ingested forms several times (in-process executor), and
    the cache is keyed by the files' identity, so a changed or new file is always read again."""
    return _TABLE_CACHE.get_or_make(tuple(file_identity(f) for f in files), lambda: _scan(files))


def _scan(files: list[Path]) -> pa.Table:
    """The files as one table: one multi-threaded dataset scan instead of a read per site file
    (50 sites x 13 forms is thousands of small reads a run); the schema is unified first because a
    column that is empty at one site is typed null in that site's file."""
    schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
    try:
        return ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_table()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")


def _folder_table(folder: Path) -> pa.Table | None:
    files = sorted(Path(folder).glob("*.parquet")) if Path(folder).is_dir() else []
    return _read_table(Path(folder), files) if files else None


def _read_dir(folder: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    table = _folder_table(folder)
    if table is None:
        return None
    return (table.select(columns) if columns is not None else table).to_pandas()


def read_form(ingest_dir: Path, form: str, columns: list[str] | None = None) -> pd.DataFrame:
    """All sources' valid rows of ``form`` (empty frame with no columns when none were ingested);
    ``columns`` reads only those (a projection: much less to decode for wide forms)."""
    df = _read_dir(Path(ingest_dir) / "forms" / form, columns)
    return df if df is not None else pd.DataFrame()


def read_form_present(ingest_dir: Path, form: str, wanted: Collection[str]) -> pd.DataFrame:
    """:func:`read_form` of those columns of ``wanted`` the form has, in the form's order (a
    projection for a reader that names more columns than one form carries)."""
    table = _folder_table(Path(ingest_dir) / "forms" / form)
    if table is None:
        return pd.DataFrame()
    return table.select([c for c in table.column_names if c in wanted]).to_pandas()


def read_forms(ingest_dir: Path, forms: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    return {form: read_form(ingest_dir, form) for form in forms}


def read_qa_table(ingest_dir: Path, table: str) -> pd.DataFrame:
    df = _read_dir(Path(ingest_dir) / "qa" / table)
    return df if df is not None else pd.DataFrame()
