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

Numbers JSON cannot hold: JSON has no infinity. :func:`dataset_json_problems` lists every infinite
value (dataset, variable, 1-based row, subject) as a finding, and :func:`write_checked` writes a
dataset only when it has none (an older file of that name is removed); :func:`write_dataset_json`
itself refuses such a value with an error naming the file, the variable and the row.

Determinism: both timestamps are the data cut (the newest site export in force), not the wall
clock, so a rerun on the same data writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.atomic import atomic_open
from assets.common.findings import FINDING_COLUMNS, make_findings, table_row_context
from assets.exports.metadata import Dataset, dictionary_text_columns, normalize_adam_dates

DATASET_JSON_VERSION = "1.1.0"
ROWS_MARKER = ',"rows":['
BATCH_ROWS = 100_000  # rows per batch: fewer, larger Arrow calls; ~16 MB of text at most
FINDING_KIND = "DATASET_JSON"


def _infinite_rows(batch: pa.RecordBatch | pa.Table) -> dict[str, np.ndarray]:
    """Per floating column holding an infinite value, the 0-based rows holding one."""
    out = {}
    for fld, col in zip(batch.schema, batch.columns):
        if pa.types.is_floating(fld.type) or pa.types.is_decimal(fld.type):
            values = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
            rows = np.flatnonzero(np.isinf(values))
            if len(rows):
                out[fld.name] = rows
    return out


def dataset_json_problems(dataset: Dataset, table: pa.Table) -> pd.DataFrame:
    """Every value of ``table`` Dataset-JSON cannot hold (an infinite number: JSON has none; NaN is
    a missing value, ``null``), one finding per cell: KIND ``DATASET_JSON``, SEVERITY ERROR, FORM
    the dataset, COLUMN the variable, RECID the 1-based row, SUBJID the row's USUBJID."""
    usubjid = table.column("USUBJID") if "USUBJID" in table.column_names else None
    found = []
    for name, rows in _infinite_rows(table).items():
        values = table.column(name).take(pa.array(rows, type=pa.int64())).to_pylist()
        subjects = (
            usubjid.take(pa.array(rows, type=pa.int64())).to_pylist()
            if usubjid is not None
            else [None] * len(rows)
        )
        found += [
            {
                "KIND": FINDING_KIND,
                "SEVERITY": "ERROR",
                "FORM": dataset.name,
                "RECID": str(int(r) + 1),
                "COLUMN": name,
                "RULE": "json_number_finite",
                "VALUE": repr(float(v)),
                "MESSAGE": "number is infinite: JSON holds finite numbers only",
                "SUBJID": subject,
                "SRC_FILE": dataset.path.name if dataset.path else None,
            }
            for r, v, subject in zip(rows, values, subjects, strict=True)
        ]
        # each row's visit, date, test code and unit (issue 17)
        index = pa.array(rows, type=pa.int64())
        context = table_row_context(
            table.column_names, dataset.name, lambda c, index=index: table.column(c).take(index).to_pylist()
        )
        for finding, row_context in zip(found[len(found) - len(context) :], context, strict=True):
            finding.update(row_context)
    return make_findings(pd.DataFrame(found if found else [], columns=FINDING_COLUMNS))


def write_checked(path: Path, header: dict, dataset: Dataset, table: pa.Table) -> pd.DataFrame:
    """:func:`write_dataset_json` of ``table`` when :func:`dataset_json_problems` finds nothing;
    otherwise nothing is written and an older file at ``path`` is removed. Returns the findings."""
    problems = dataset_json_problems(dataset, table)
    if not problems.empty:
        Path(path).unlink(missing_ok=True)
        return problems
    write_dataset_json(path, header, table.to_batches(max_chunksize=BATCH_ROWS))
    return problems


def item_group_oid(dataset: Dataset) -> str:
    return f"IG.{dataset.name}"


def item_oid(dataset: Dataset, variable: str) -> str:
    return f"IT.{dataset.name}.{variable}"


def dataset_json_columns(dataset: Dataset) -> list[dict]:
    """The ``columns`` array: itemOID, name, label, dataType, [targetDataType], [length],
    [displayFormat], [keySequence] per variable, in dataset order."""
    out = []
    for v in dataset.variables:
        col: dict[str, str | int] = {
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


# json.dumps escapes these in a string (ensure_ascii=False): quote, backslash, control characters
NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _quoted(text: pa.Array) -> pa.Array:
    """Text values as JSON strings, exactly as ``json.dumps(ensure_ascii=False)`` writes them:
    quoted as is, except the few values holding a character JSON escapes (done by ``json``)."""
    quoted = pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))
    data = text.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    if not ((raw < 0x20) | (raw == ord('"')) | (raw == ord("\\"))).any():  # the usual case
        return quoted
    escape = pc.fill_null(pc.match_substring_regex(text, NEEDS_ESCAPE), False)
    if pc.any(escape).as_py():
        escaped = pa.array([_dumps(v) for v in text.filter(escape).to_pylist()], quoted.type)
        quoted = pc.replace_with_mask(quoted, escape, escaped)
    return quoted


def _float_text(arr: pa.Array) -> pa.Array:
    """Doubles as Python's ``repr`` writes them (what ``json.dumps`` writes); NaN and null -> null.

    Arrow's shortest round-trip text has the same digits as ``repr``; where both write them
    positionally (``repr`` does for 1e-4 <= |x| < 1e16) they agree but for the ``.0`` that ``repr``
    adds to whole numbers. Everything else (zero, scientific notation) goes through ``repr``."""
    values = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    if np.isinf(values).any():
        raise ValueError("Out of range float values are not JSON compliant")
    missing = np.isnan(values)
    text = pa.array(values).cast(pa.large_string())
    magnitude = np.abs(np.where(missing, 0.0, values))
    positional = (
        (magnitude >= 1e-4)
        & (magnitude < 1e16)
        & ~pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    )
    text = pc.if_else(
        pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, _text(".0"), _text(""))
    )
    by_repr = ~positional & ~missing
    if by_repr.any():
        mask = pa.array(by_repr)
        text = pc.replace_with_mask(
            text, mask, pa.array(list(map(float.__repr__, values[by_repr].tolist())), pa.large_string())
        )
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.large_string()), text)


# Types whose text is costly to compute and that repeat a lot (results, dates): viewed as the
# integers of the same width, distinct values are found by their bits (-0.0 stays apart from 0.0).
_BITS = {pa.float64(): pa.int64(), pa.float32(): pa.int32(), pa.date32(): pa.int32()}

# Adjacent columns are joined as one cell while their distinct value combinations in a batch stay
# under rows / COMBINE_RATIO (studies repeat subject, test, visit and date together), and only
# while the combinations' code space stays under rows * DENSE_SPACE (numbered with a bitmap).
COMBINE_RATIO = 4
DENSE_SPACE = 8


def _codes_and_text(arr: pa.Array, known: dict | None = None) -> tuple[np.ndarray, pa.Array]:
    """(code of each row, JSON text of each code) for one column of a batch: ``text[codes]`` is the
    JSON text of each value (``null`` for a missing value).

    Dictionary-encoded text (as read from Parquet), numbers, dates and datetimes repeat a lot: the
    text of each distinct value is computed once (:func:`_value_text`); ``known`` keeps a
    dictionary's text for the next batches, which share it (the batches of one table)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        indices = arr.indices
        text = _dictionary_text(arr.dictionary, {} if known is None else known)
    else:
        if (bits := pa.int64() if pa.types.is_timestamp(t) else _BITS.get(t)) is not None:
            encoded = pc.dictionary_encode(arr.view(bits))
            values = encoded.dictionary.view(t)
        elif pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_string(t):
            encoded = pc.dictionary_encode(arr)
            values = encoded.dictionary
        else:  # anything else: one code per row
            return np.arange(len(arr)), _value_text(arr)
        indices, text = encoded.indices, _with_null(_value_text(values))
    indices = indices.cast(pa.int64())  # the "null" text's index may not fit int8 indices
    if indices.null_count:  # a missing value points at the "null" text appended last
        indices = pc.fill_null(indices, len(text) - 1)
    return indices.to_numpy(), text


def _with_null(text: pa.Array) -> pa.Array:
    """``text`` with a ``null`` text appended, the code of a missing value."""
    return pa.concat_arrays([text, pa.array(["null"], text.type)])


def _dictionary_text(dictionary: pa.Array, known: dict) -> pa.Array:
    """The text of a dictionary's values then ``null``, made once per dictionary in ``known``
    (keyed by the dictionary's buffers: slices of one column share them)."""
    key = tuple(b.address if b is not None else None for b in dictionary.buffers())
    key += (dictionary.offset, len(dictionary), str(dictionary.type))
    if key not in known:
        # the dictionary is kept with its text so its buffers (the key) are not freed and reused
        known[key] = (dictionary, _with_null(_value_text(dictionary)))
    return known[key][1]


class _Cell:
    """Adjacent columns written as one cell: each row's code into the distinct combinations of
    their values, and per column the code of its value in each combination."""

    def __init__(self, codes: np.ndarray, text: pa.Array) -> None:
        self.codes = codes
        self.texts = [text]
        self.combos = [np.arange(len(text))]

    def absorb(self, codes: np.ndarray, text: pa.Array, limit: int) -> bool:
        """Add the next column if the combinations stay under ``limit``; False (unchanged) if not."""
        width = len(text)
        space = len(self.combos[0]) * width
        if space > DENSE_SPACE * len(codes):
            return False
        key = self.codes * width + codes
        present = np.zeros(space, dtype=bool)
        present[key] = True
        combos = np.flatnonzero(present)
        if len(combos) > limit:
            return False
        number = np.empty(space, dtype=np.int64)
        number[combos] = np.arange(len(combos))
        self.codes = number[key]
        kept = combos // width
        self.combos = [c[kept] for c in self.combos] + [combos % width]
        self.texts.append(text)
        return True

    def text(self, prefix: str, suffix: str) -> pa.Array:
        """Each row's text: the columns' texts joined by commas, between ``prefix`` and ``suffix``."""
        parts = [t.take(c) for t, c in zip(self.texts, self.combos, strict=True)]
        joined = pc.binary_join_element_wise(*parts, _text(","))
        joined = pc.binary_join_element_wise(_text(prefix), joined, _text(suffix), _text(""))
        return joined.take(self.codes)


def _value_text(arr: pa.Array) -> pa.Array:
    """The JSON text of each value, vectorized: text quoted, integers as digits, doubles as
    ``repr``, dates ``YYYY-MM-DD`` and datetimes ``YYYY-MM-DDTHH:MM:SS`` quoted (ISO 8601),
    booleans as 0/1, missing as ``null``."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = _quoted(arr.cast(pa.large_string()))
    elif pa.types.is_date(t):
        out = _quoted(arr.cast(pa.large_string()))
    elif pa.types.is_timestamp(t):
        out = _quoted(pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S").cast(pa.large_string()))
    elif pa.types.is_integer(t):
        out = arr.cast(pa.large_string())
    elif pa.types.is_boolean(t):
        out = arr.cast(pa.int64()).cast(pa.large_string())
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        out = _float_text(arr)
    else:  # anything else: the generic per-value path
        out = pa.array([None if v is None else _dumps(v) for v in arr.to_pylist()], pa.large_string())
    return pc.fill_null(out.cast(pa.large_string()), "null")


def rows_json(batch: pa.RecordBatch | pa.Table, names: list[str]) -> str:
    """The rows of ``batch`` as the comma-separated JSON arrays of the ``rows`` member, byte for
    byte what ``json.dumps(rows, ensure_ascii=False, separators=(",", ":"))`` writes, built column
    by column in Arrow: each value's JSON text, joined per row into ``[...]``, rows joined by ``,``."""
    return str(_rows_bytes(batch, names), "utf-8")


def _cells(batch: pa.RecordBatch, names: list[str], known: dict | None) -> list[_Cell]:
    """The columns ``names`` grouped into cells of adjacent columns whose values repeat together."""
    limit = batch.num_rows // COMBINE_RATIO
    cells: list[_Cell] = []
    for name in names:
        codes, text = _codes_and_text(batch.column(name), known)
        if not (cells and cells[-1].absorb(codes, text, limit)):
            cells.append(_Cell(codes, text))
    return cells


def _rows_bytes(batch: pa.RecordBatch | pa.Table, names: list[str], known: dict | None = None) -> memoryview:
    """:func:`rows_json` as UTF-8 bytes, a view of the Arrow buffer (written without a copy);
    ``known``: the dictionaries' texts from earlier batches (see :func:`_codes_and_text`).

    Each cell's distinct combinations are joined once and taken to the rows; the row brackets
    ride on the first and last cell, so the rows' text is joined from the cells in one pass."""
    if batch.num_rows == 0:
        return memoryview(b"")
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else batch
    cells = _cells(batch, names, known)
    if not cells:
        rows = pa.array(["[],"] * batch.num_rows, pa.large_string())
    elif len(cells) == 1:
        rows = cells[0].text("[", "],")
    else:
        texts = [c.text("[" if i == 0 else "", "") for i, c in enumerate(cells[:-1])]
        rows = pc.binary_join_element_wise(*texts, cells[-1].text("", "],"), _text(","))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1] - 1]  # without the last comma


def write_dataset_json(path: Path, header: dict, batches: Iterable[pa.RecordBatch]) -> Path:
    """Write the metadata, then the rows batch by batch, to a temp file renamed to ``path``."""
    names = [c["name"] for c in header["columns"]]
    path = Path(path)
    with atomic_open(path) as fh:  # UTF-8 bytes straight from the Arrow buffers
        head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
        fh.write((head[:-1] + ROWS_MARKER).encode("utf-8"))
        first = True
        written = 0
        known: dict = {}
        for batch in batches:
            infinite = _infinite_rows(batch.select(names))
            if infinite:  # raised inside the block: the temp file is removed
                name, rows = next(iter(infinite.items()))
                raise ValueError(
                    f"{path.name}: {name} row {written + int(rows[0]) + 1} is infinite, which JSON cannot "
                    "hold (see dataset_json_problems)"
                )
            chunk = _rows_bytes(batch, names, known)
            if not chunk:
                continue
            if not first:
                fh.write(b",")
            fh.write(chunk)
            first = False
            written += batch.num_rows
        fh.write(b"]}\n")
        if written != header["records"]:  # raised inside the block: the temp file is removed
            raise ValueError(f"{path.name}: header says {header['records']} records, wrote {written}")
    return path


def parquet_batches(path: Path, standard: str, batch_rows: int = BATCH_ROWS) -> Iterable[pa.RecordBatch]:
    """Record batches of a Parquet file with the export normalization (ADaM dates) applied; text
    columns come dictionary encoded (as stored: cheaper to read, and quoted once per value)."""
    import pyarrow.parquet as pq

    read_dictionary = dictionary_text_columns(pq.read_schema(path), standard)
    with pq.ParquetFile(path, read_dictionary=read_dictionary) as pf:
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
