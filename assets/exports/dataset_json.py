"""CDISC Dataset-JSON 1.1 files, written streaming, and read back.

Layout (Dataset-JSON 1.1, ``dataset.schema.json``): one JSON object with the dataset metadata
(``datasetJSONCreationDateTime``, ``datasetJSONVersion`` ``1.1.0``, ``fileOID``,
``dbLastModifiedDateTime``, ``originator``, ``sourceSystem``, ``studyOID``, ``metaDataVersionOID``,
``metaDataRef``, ``itemGroupOID`` ``IG.<NAME>``, ``records``, ``name``, ``label``, ``columns``)
followed by ``rows``, a list of value arrays in column order.

Streaming: the metadata is written first, then the Parquet file is read record batch by record
batch and each batch's rows are appended, so the full JSON text (or the full table) is never held
in memory; the file appears under its name only when complete (temp file + rename).

Values: text as strings (missing = ``null``, an empty string stays ``""``), integers as JSON
integers, doubles as JSON numbers (NaN = ``null``), numeric SAS dates (``dataType`` ``date``,
``targetDataType`` ``integer``) as ISO 8601 ``YYYY-MM-DD`` and datetimes as ``YYYY-MM-DDTHH:MM:SS``,
as the standard asks.

Determinism: both timestamps are the data cut (the newest site export in force), not the wall
clock, so a rerun on the same data writes the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.exports.files import publish
from assets.exports.metadata import Dataset, normalize_adam_dates

DATASET_JSON_VERSION = "1.1.0"
ROWS_MARKER = ',"rows":['
BATCH_ROWS = 20_000


def item_group_oid(dataset: Dataset) -> str:
    return f"IG.{dataset.name}"


def item_oid(dataset: Dataset, variable: str) -> str:
    return f"IT.{dataset.name}.{variable}"


def dataset_json_columns(dataset: Dataset) -> list[dict]:
    """The ``columns`` array: itemOID, name, label, dataType, [targetDataType], [length],
    [displayFormat], [keySequence] per variable, in dataset order."""
    out = []
    for v in dataset.variables:
        col = {
            "itemOID": item_oid(dataset, v.name),
            "name": v.name,
            "label": v.label,
            "dataType": v.json_type,
        }
        if v.target_type:
            col["targetDataType"] = v.target_type
        if v.length:
            col["length"] = int(v.length)
        if v.display_format:
            col["displayFormat"] = v.display_format
        if v.key_sequence:
            col["keySequence"] = int(v.key_sequence)
        out.append(col)
    return out


def dataset_json_header(
    dataset: Dataset,
    as_of: str,
    study_oid: str,
    metadata_version_oid: str,
    originator: str,
    source_system: dict,
    file_oid: str | None = None,
) -> dict:
    """All top-level members but ``rows``, in the order of the standard's examples."""
    return {
        "datasetJSONCreationDateTime": as_of,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": file_oid or f"{study_oid}/{dataset.standard.upper()}/{dataset.name}",
        "dbLastModifiedDateTime": as_of,
        "originator": originator,
        "sourceSystem": source_system,
        "studyOID": study_oid,
        "metaDataVersionOID": metadata_version_oid,
        "metaDataRef": "define.xml",
        "itemGroupOID": item_group_oid(dataset),
        "records": int(dataset.records),
        "name": dataset.name,
        "label": dataset.label,
        "columns": dataset_json_columns(dataset),
    }


def _json_column(arr: pa.Array | pa.ChunkedArray) -> list:
    """One column of a batch as JSON-ready Python values (vectorized conversion, then to_pylist)."""
    t = arr.type
    if pa.types.is_date(t):
        return arr.cast(pa.string()).to_pylist()  # ISO 8601 YYYY-MM-DD
    if pa.types.is_timestamp(t):
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S").to_pylist()
    if pa.types.is_floating(t):
        return pc.if_else(pc.is_nan(arr), pa.scalar(None, t), arr).to_pylist()
    if pa.types.is_boolean(t):
        return arr.cast(pa.int64()).to_pylist()
    if pa.types.is_decimal(t):
        return arr.cast(pa.float64()).to_pylist()
    return arr.to_pylist()


def rows_json(batch: pa.RecordBatch | pa.Table, names: list[str]) -> str:
    """The rows of ``batch`` as the comma-separated JSON arrays of the ``rows`` member."""
    if batch.num_rows == 0:
        return ""
    columns = [_json_column(batch.column(n)) for n in names]
    text = json.dumps(list(zip(*columns)), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text[1:-1]


def write_dataset_json(path: Path, header: dict, batches: Iterable[pa.RecordBatch]) -> Path:
    """Write the metadata, then the rows batch by batch, to a temp file renamed to ``path``."""
    names = [c["name"] for c in header["columns"]]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
            fh.write(head[:-1] + ROWS_MARKER)
            first = True
            written = 0
            for batch in batches:
                chunk = rows_json(batch, names)
                if not chunk:
                    continue
                fh.write(chunk if first else "," + chunk)
                first = False
                written += batch.num_rows
            fh.write("]}\n")
            fh.flush()
            os.fsync(fh.fileno())
        if written != header["records"]:
            raise ValueError(f"{path.name}: header says {header['records']} records, wrote {written}")
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def parquet_batches(path: Path, standard: str, batch_rows: int = BATCH_ROWS) -> Iterable[pa.RecordBatch]:
    """Record batches of a Parquet file with the export normalization (ADaM dates) applied."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=batch_rows):
            yield from normalize_adam_dates(pa.Table.from_batches([batch]), standard).to_batches()


def read_dataset_json_header(path: Path, chunk: int = 1 << 16) -> dict:
    """The metadata of a Dataset-JSON file written here, without reading its rows."""
    buf = ""
    with open(path, encoding="utf-8") as fh:
        while ROWS_MARKER not in buf:
            piece = fh.read(chunk)
            if not piece:
                raise ValueError(f"{path}: no rows member found")
            buf += piece
    return json.loads(buf[: buf.index(ROWS_MARKER)] + "}")


def read_dataset_json(path: Path) -> tuple[dict, pd.DataFrame]:
    """(metadata, frame) of a Dataset-JSON file; column types follow ``dataType``: dates ->
    datetime64 days, datetimes -> datetime64 seconds, integers -> Int64, doubles -> float64,
    strings -> string. For tests and read-back checks (the whole file is loaded)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    cols = doc["columns"]
    rows = doc.get("rows", [])
    frame = pd.DataFrame(rows, columns=[c["name"] for c in cols])
    for c in cols:
        name, kind = c["name"], c["dataType"]
        target = c.get("targetDataType")
        if kind == "date" and target == "integer":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d").astype("datetime64[s]")
        elif kind == "datetime" and target == "integer":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%dT%H:%M:%S").astype("datetime64[s]")
        elif kind == "integer":
            frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
        elif kind in ("double", "float", "decimal"):
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        else:
            frame[name] = frame[name].astype("string")
    return {k: v for k, v in doc.items() if k != "rows"}, frame
