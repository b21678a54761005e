"""The one Parquet writer: labelled, sorted, atomic and byte-deterministic.

derivations.md (Output layout): every Parquet file carries per column the CDISC label in the field
metadata, and per file the dataset label, the contract version and the code version (:mod:`assets.common.version`); rows are sorted by the
dataset's keys so the same input gives the same file contents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.common.atomic import atomic_write_bytes, atomic_write_text
from assets.common.cache import LruCache, arrow_nbytes, cache_budget_bytes
from assets.common.version import code_version, contract_version

LABEL_KEY = b"label"
DATASET_LABEL_KEY = b"dataset_label"
CONTRACT_KEY = b"contract_version"
CODE_KEY = b"code_version"


def to_arrow(
    df: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    dataset_label: str | None = None,
    extra_metadata: Mapping[str, str] | None = None,
) -> pa.Table:
    """DataFrame -> Arrow table with labels in field metadata and dataset metadata on the schema."""
    # nthreads=1: a thread pool per table costs more than it saves on the many small tables here
    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    labels = labels or {}
    fields = []
    for field in table.schema:
        meta = dict(field.metadata or {})
        if field.name in labels and labels[field.name]:
            meta[LABEL_KEY] = labels[field.name].encode("utf-8")
        fields.append(field.with_metadata(meta or None))
    schema_meta = {CONTRACT_KEY: contract_version().encode(), CODE_KEY: code_version().encode()}
    if dataset_label:
        schema_meta[DATASET_LABEL_KEY] = dataset_label.encode("utf-8")
    for key, value in (extra_metadata or {}).items():
        schema_meta[key.encode()] = value.encode("utf-8")
    # The pandas metadata block is dropped: it is not needed to read back and keeps bytes stable.
    return table.cast(pa.schema(fields, metadata=schema_meta))


def sort_table(table: pa.Table, sort_by: Sequence[str] | None) -> pa.Table:
    """Rows in ``sort_by`` order, stable, missing values last: the order of pandas'
    ``sort_values(kind="stable", na_position="last")`` (UTF-8 byte order is code point order), in
    Arrow, which sorts several text keys many times faster than pandas; no copy when the rows are
    already in order (the SDTM builders sort by the keys to number --SEQ)."""
    if not sort_by or table.num_rows < 2:
        return table
    order = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_end") for k in sort_by])
    positions = order.to_numpy()
    if (positions == np.arange(len(positions))).all():
        return table
    return table.take(order)


# An SDTM/ADaM table is read by its check, ADaM, QA and the exports.
_READ_CACHE: LruCache[pa.Table] = LruCache(64, cache_budget_bytes(), arrow_nbytes)


def write_parquet(
    df: pd.DataFrame,
    path: Path,
    sort_by: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    dataset_label: str | None = None,
    extra_metadata: Mapping[str, str] | None = None,
) -> Path:
    """Sort (stable) by ``sort_by``, attach labels, and write atomically. Returns the path."""
    if sort_by:
        missing = [c for c in sort_by if c not in df.columns]
        if missing:
            raise KeyError(f"write_parquet({Path(path).name}): sort keys not in frame: {missing}")
    table = sort_table(to_arrow(df.reset_index(drop=True), labels, dataset_label, extra_metadata), sort_by)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, store_schema=True)
    atomic_write_bytes(Path(path), sink.getvalue().to_pybytes())
    # The table just written is what reading the file gives (same schema, metadata and values), so
    # the file's checks and the layers downstream need not read and decode it again. Dictionary
    # columns (pandas categoricals) are the exception: they read back with other value types.
    if not any(pa.types.is_dictionary(field.type) for field in table.schema):
        _READ_CACHE.put(file_identity(path), table)
    return Path(path)


def file_identity(path: Path) -> tuple:
    """What identifies a file's content here: path, inode, size, modification time. Every write is
    an atomic rename (:func:`atomic_write_bytes`), so a rewritten file has a new inode."""
    st = Path(path).stat()
    return (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def read_arrow(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """A Parquet file as an Arrow table, read once per process while the file is unchanged: in a
    run (in-process executor) a written table is read again by its checks and by every layer
    downstream. Arrow tables are immutable, so sharing one is safe."""
    table = _READ_CACHE.get_or_make(file_identity(path), lambda: pq.read_table(path))
    return table.select(list(columns)) if columns is not None else table


def read_parquet(path: Path, columns: Sequence[str] | None = None, **to_pandas) -> pd.DataFrame:
    """A Parquet file as a DataFrame (each caller gets its own frame; see :func:`read_arrow`)."""
    return read_arrow(path, columns).to_pandas(**to_pandas)


def read_labels(path: Path) -> tuple[dict[str, str], str | None]:
    """Column labels and the dataset label of a Parquet file written by :func:`write_parquet`."""
    schema = pq.read_schema(path)
    labels = {
        f.name: f.metadata[LABEL_KEY].decode() for f in schema if f.metadata and LABEL_KEY in f.metadata
    }
    meta = schema.metadata or {}
    ds = meta.get(DATASET_LABEL_KEY)
    return labels, ds.decode() if ds else None


def write_json(path: Path, obj) -> None:
    """Deterministic JSON (sorted keys), atomically."""
    atomic_write_text(Path(path), json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
