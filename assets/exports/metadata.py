"""What every export format needs to know about a dataset: the spec merged with the Parquet file.

The metadata spec (``study/<std>_datasets.csv``, ``study/<std>_variables.csv``, read through
``study.spec``) is the source of names, labels, order, codelists, origins and methods. The Parquet
file is the source of what was actually written: which columns exist, their physical types, the
character lengths (sized to the data, as the FDA asks for submission datasets) and the row count.
A dataset or column that is written but not (yet) in the spec is still exported, with the label
from the Parquet field metadata, so no written data is ever left out of a submission package.

Physical type -> format types (one table, so XPT, Dataset-JSON and define.xml always agree):

=========================  ==========  =====================  ==================  =============
Parquet / Arrow type       spec TYPE   Dataset-JSON dataType  define.xml DataType XPT
=========================  ==========  =====================  ==================  =============
string, name ``*DTC``      Char        date / datetime        date / datetime     char
string                     Char        string                 text                char
integer                    Num         integer                integer             numeric
floating point             Num         double                 float               numeric
date32 (ADaM ``*DT``)      Num         date (target integer)  integer + DATE9.    SAS date
timestamp (``*DTM``)       Num         datetime (t. integer)  integer + DATETIME20. SAS datetime
=========================  ==========  =====================  ==================  =============

``--DTC`` is ``datetime`` when any value carries a time, else ``date`` (Dataset-JSON 1.1 example
``AESTDTC``). ADaM ``*DT``/``*DTM`` variables that arrive as ISO text are turned into dates /
datetimes by :func:`read_export_table`, so every format gets the same numeric dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.common.cache import LruCache, arrow_nbytes, cache_budget_bytes
from assets.common.parquet import file_identity, read_labels
from assets.exports.xpt_layout import pandas_safe_lengths
from assets.ingest.store import read_qa_table
from study import spec

STANDARDS = ("sdtm", "adam")
SPEC_DATASET_COLUMNS = ["DATASET", "LABEL", "CLASS", "STRUCTURE", "KEYS"]
SPEC_VARIABLE_COLUMNS = [
    "DATASET",
    "ORDER",
    "VARIABLE",
    "LABEL",
    "TYPE",
    "LENGTH",
    "CODELIST",
    "CORE",
    "ORIGIN",
    "SOURCE",
    "ALGORITHM",
    "METHOD",
]
DATE_FORMAT = "DATE9."
DATETIME_FORMAT = "DATETIME20."

# Export tables and their descriptions, per file content: in a run the XPT, Dataset-JSON and
# define.xml assets (and a check) each describe and read every SDTM and ADaM table.
_EXPORT_CACHE: LruCache = LruCache(
    128, cache_budget_bytes(), arrow_nbytes
)  # a table and a description per dataset


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str  # Char | Num (SAS type)
    json_type: str  # Dataset-JSON dataType
    define_type: str  # define.xml DataType
    length: int | None  # bytes, character variables only (>= 1)
    order: int
    key_sequence: int | None = None
    target_type: str | None = None  # Dataset-JSON targetDataType ("integer" for numeric SAS dates)
    display_format: str | None = None  # DATE9. / DATETIME20.
    codelist: str = ""  # NCI codelist code
    core: str = ""
    origin: str = ""
    source: str = ""
    method: str = ""


@dataclass(frozen=True)
class Dataset:
    standard: str  # sdtm | adam
    name: str  # upper case, e.g. DM
    label: str
    class_: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    records: int
    path: Path | None = None
    in_spec: bool = True
    extra: dict = field(default_factory=dict)

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"{self.name}.{name}")

    @property
    def file_stem(self) -> str:
        return self.name.lower()


def load_spec(standard: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(datasets, variables) of a standard from ``study.spec``; empty frames when the spec files do
    not exist yet (the datasets are then described from their Parquet files alone)."""
    try:
        ds, vs = spec.datasets(standard), spec.variables(standard)
    except FileNotFoundError:
        return pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)
    return ds, vs


def is_adam_date(standard: str, name: str) -> bool:
    return standard == "adam" and name.endswith("DT")


def is_adam_datetime(standard: str, name: str) -> bool:
    return standard == "adam" and name.endswith("DTM")


def read_export_table(path: Path, standard: str, dictionary_text: bool = False) -> pa.Table:
    """The Parquet table as every format exports it: ADaM ``*DT`` text -> date32 and ``*DTM`` text ->
    timestamp (seconds), so a numeric SAS date is written whatever the producer chose.

    ``dictionary_text``: read the text columns dictionary encoded, as Parquet stores them (the
    ADaM date texts excepted, they are converted). Reading is then several times cheaper, and a
    format computes each distinct value's bytes once (:func:`per_value`) instead of once per row.

    Read once per process while the file is unchanged (Arrow tables are immutable, so sharing one
    is safe)."""
    return _EXPORT_CACHE.get_or_make(
        ("table", file_identity(path), standard, dictionary_text),
        lambda: _read(path, standard, dictionary_text),
    )


def read_written_table(dataset: Dataset) -> pa.Table:
    """The export table of a dataset described from its file (:func:`describe_written`), text
    dictionary encoded: what XPT, Dataset-JSON and define.xml are written from."""
    if dataset.path is None:
        raise ValueError(f"{dataset.standard}/{dataset.name}: described from no file")
    return read_export_table(dataset.path, dataset.standard, dictionary_text=True)


def _read(path: Path, standard: str, dictionary_text: bool) -> pa.Table:
    read_dictionary = dictionary_text_columns(pq.read_schema(path), standard) if dictionary_text else None
    table = pq.read_table(path, read_dictionary=read_dictionary)
    return normalize_adam_dates(table, standard)


def dictionary_text_columns(schema: pa.Schema, standard: str) -> list[str]:
    """The text columns of ``schema`` that can be read dictionary encoded: all but the ADaM
    ``*DT`` / ``*DTM`` texts that :func:`normalize_adam_dates` converts to dates."""
    return [
        f.name
        for f in schema
        if is_text(f.type) and not is_adam_date(standard, f.name) and not is_adam_datetime(standard, f.name)
    ]


def is_text(arrow_type: pa.DataType) -> bool:
    """A string column, plain or dictionary encoded."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def value_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type of the values: a dictionary column's value type, else the type itself."""
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


def per_value(col: pa.Array | pa.ChunkedArray, fn) -> pa.ChunkedArray:
    """``fn`` (an element-wise Arrow function) applied to every value of ``col``. On a dictionary
    column ``fn`` runs on the distinct values only and the results are taken back to the rows
    (a null row gives null), which is the same result at a fraction of the cost."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    out = [fn(c.dictionary).take(c.indices) if pa.types.is_dictionary(c.type) else fn(c) for c in chunks]
    if not out:  # no chunks: fn's result type from an empty column of the value type
        out = [fn(pa.array([], value_type(col.type)))]
    return pa.chunked_array(out)


def normalize_adam_dates(table: pa.Table, standard: str) -> pa.Table:
    """ADaM ``*DT`` / ``*DTM`` given as ISO 8601 text or timestamps -> date32 / timestamp[s]
    (ADaMIG 1.3 section 3.3.3: numeric dates with a date format). Field metadata (labels) is kept."""
    for i, fld in enumerate(table.schema):
        col = table.column(i)
        target = None
        if is_adam_datetime(standard, fld.name) and (
            pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type)
        ):
            text = _blank_to_null(col)
            # ISO 8601 to the minute (YYYY-MM-DDTHH:MM) gets ":00", so one format reads both precisions
            text = pc.if_else(
                pc.equal(pc.utf8_length(text), 16), pc.binary_join_element_wise(text, ":00", ""), text
            )
            target = pc.strptime(text, format="%Y-%m-%dT%H:%M:%S", unit="s")
        elif (
            is_adam_datetime(standard, fld.name) and pa.types.is_timestamp(fld.type) and fld.type.unit != "s"
        ):
            # a datetime stored in ms/us/ns (pandas writes ms) -> seconds, the unit of SAS
            # datetimes and of ISO 8601 text to the second; kept as is if it holds fractions
            try:
                target = col.cast(pa.timestamp("s", tz=fld.type.tz))
            except pa.ArrowInvalid:
                target = None
        elif is_adam_date(standard, fld.name):
            if pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type):
                target = pc.strptime(_blank_to_null(col), format="%Y-%m-%d", unit="s").cast(pa.date32())
            elif pa.types.is_timestamp(fld.type):
                target = col.cast(pa.date32())
        if target is not None:
            table = table.set_column(i, pa.field(fld.name, target.type, metadata=fld.metadata), target)
    return table


def _blank_to_null(col):
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, col.type), col)


def _char_stats(table: pa.Table) -> dict[str, tuple[int, bool, int | None]]:
    """Per text column (plain or dictionary encoded): (maximum UTF-8 byte length, at least 1; any
    value holding a time ``T``; the shortest non-empty value's length, None without one). Only
    the values rows use count: a dictionary may hold more."""
    out = {}
    for fld, col in zip(table.schema, table.columns):
        if is_text(fld.type):
            lengths = per_value(col, pc.binary_length) if len(col) else None
            longest = pc.max(lengths).as_py() if lengths is not None else None
            has_time = (
                bool(pc.any(per_value(col, lambda v: pc.match_substring(v, "T"))).as_py())
                if len(col)
                else False
            )
            shortest = (
                pc.min(pc.if_else(pc.equal(lengths, 0), None, lengths)).as_py()
                if lengths is not None
                else None
            )
            out[fld.name] = (max(int(longest or 0), 1), has_time, shortest)
    return out


ISO_DATE_LENGTH = 10  # YYYY-MM-DD
ISO_DATETIME_LENGTH = 19  # YYYY-MM-DDThh:mm:ss


def dtc_define_type(has_time: bool, shortest: int | None, longest: int) -> str:
    """The define.xml DataType of an ISO 8601 ``--DTC`` (Define-XML 2.1, section 4.3.2.1): ``date`` /
    ``datetime`` when every value is complete (``YYYY-MM-DD`` / ``YYYY-MM-DDThh:mm:ss``),
    ``partialDate`` / ``partialDatetime`` when some hold less (``2025-03``, ``2025``, a time to
    the minute, or dates beside datetimes): CMSTDTC and MHSTDTC keep what the site knew."""
    if has_time:
        full = shortest in (None, ISO_DATETIME_LENGTH) and longest <= ISO_DATETIME_LENGTH
        return "datetime" if full else "partialDatetime"
    full = shortest in (None, ISO_DATE_LENGTH) and longest <= ISO_DATE_LENGTH
    return "date" if full else "partialDate"


def _types(
    standard: str,
    name: str,
    arrow_type: pa.DataType,
    has_time: bool,
    shortest: int | None = None,
    longest: int = 1,
) -> dict:
    arrow_type = value_type(arrow_type)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if name.endswith("DTC"):
            kind = "datetime" if has_time else "date"
            return {
                "type": "Char",
                "json_type": kind,
                "define_type": dtc_define_type(has_time, shortest, longest),
            }
        return {"type": "Char", "json_type": "string", "define_type": "text"}
    if pa.types.is_date(arrow_type):
        return {
            "type": "Num",
            "json_type": "date",
            "define_type": "integer",
            "target_type": "integer",
            "display_format": DATE_FORMAT,
        }
    if pa.types.is_timestamp(arrow_type):
        return {
            "type": "Num",
            "json_type": "datetime",
            "define_type": "integer",
            "target_type": "integer",
            "display_format": DATETIME_FORMAT,
        }
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return {"type": "Num", "json_type": "integer", "define_type": "integer"}
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return {"type": "Num", "json_type": "double", "define_type": "float"}
    if pa.types.is_null(arrow_type):
        return {"type": "Char", "json_type": "string", "define_type": "text"}
    raise TypeError(f"{name}: no export mapping for Arrow type {arrow_type}")


def describe_table(
    table: pa.Table,
    standard: str,
    name: str,
    spec_datasets: pd.DataFrame,
    spec_variables: pd.DataFrame,
    labels: dict[str, str] | None = None,
    dataset_label: str | None = None,
    path: Path | None = None,
) -> Dataset:
    """Dataset metadata for ``table`` (already normalized by :func:`normalize_adam_dates`): spec
    rows for names the spec knows, Parquet labels otherwise; variables in spec order, then the
    columns the spec lacks in file order; character lengths sized to the data."""
    name = name.upper()
    labels = labels or {}
    ds_rows = spec_datasets[spec_datasets["DATASET"] == name]
    ds_row = ds_rows.iloc[0].to_dict() if not ds_rows.empty else {}
    keys = tuple(str(ds_row.get("KEYS", "")).split())
    spec_vars = spec_variables[spec_variables["DATASET"] == name]
    spec_by_name = {r["VARIABLE"]: r for r in spec_vars.to_dict("records")}
    spec_order = [
        v for v in spec_vars.sort_values("ORDER", kind="stable")["VARIABLE"] if v in table.column_names
    ]
    order = spec_order + [c for c in table.column_names if c not in spec_by_name]
    stats = _char_stats(table)
    variables = []
    for i, var in enumerate(order, start=1):
        row = spec_by_name.get(var, {})
        arrow_type = table.schema.field(var).type
        length, has_time, shortest = stats.get(var, (None, False, None))
        variables.append(
            Variable(
                name=var,
                label=str(row.get("LABEL") or labels.get(var) or var),
                length=length,
                order=i,
                key_sequence=keys.index(var) + 1 if var in keys else None,
                codelist=str(row.get("CODELIST") or ""),
                core=str(row.get("CORE") or ""),
                origin=str(row.get("ORIGIN") or ""),
                source=str(row.get("SOURCE") or ""),
                method=str(row.get("METHOD") or ""),
                **_types(standard, var, arrow_type, has_time, shortest, length or 1),
            )
        )
    variables = _xpt_record_lengths(table, variables)
    return Dataset(
        standard=standard,
        name=name,
        label=str(ds_row.get("LABEL") or dataset_label or name),
        class_=str(ds_row.get("CLASS") or ""),
        structure=str(ds_row.get("STRUCTURE") or ""),
        keys=keys,
        variables=tuple(variables),
        records=table.num_rows,
        path=path,
        in_spec=bool(ds_row),
    )


def _xpt_record_lengths(table: pa.Table, variables: list[Variable]) -> list[Variable]:
    """The variables with the character lengths of a record layout every XPT reader counts
    right (:func:`assets.exports.xpt_layout.pandas_safe_lengths`: almost always the lengths
    sized to the data; rarely one variable a few bytes longer)."""
    columns = [(v.name, (v.length or 1) if v.type == "Char" else None) for v in variables]
    lengths = pandas_safe_lengths(table, columns)
    return [
        replace(v, length=lengths[v.name]) if v.name in lengths and lengths[v.name] != v.length else v
        for v in variables
    ]


def written_tables(mode_root: Path) -> list[tuple[str, Path]]:
    """(standard, path) of every Parquet table in ``<mode root>/sdtm`` and ``/adam``, sorted."""
    out = []
    for standard in STANDARDS:
        folder = Path(mode_root) / standard
        if folder.is_dir():
            out += [(standard, p) for p in sorted(folder.glob("*.parquet"))]
    return out


def _frame_digest(df: pd.DataFrame) -> str:
    """A digest of a (small) frame's column names and values, for a cache key."""
    digest = hashlib.sha256(repr(list(df.columns)).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _describe_file(
    path: Path, standard: str, spec: tuple[pd.DataFrame, pd.DataFrame], spec_key: tuple
) -> Dataset:
    """:func:`describe_table` of a written table, once per file content and spec (``spec_key``:
    the spec frames' digests)."""

    def describe() -> Dataset:
        table = read_export_table(path, standard, dictionary_text=True)
        labels, ds_label = read_labels(path)
        return describe_table(table, standard, path.stem, *spec, labels, ds_label, path)

    return _EXPORT_CACHE.get_or_make(
        ("dataset", file_identity(path), str(path), standard, spec_key), describe
    )


def describe_written(mode_root: Path) -> list[Dataset]:
    """Metadata of every written SDTM and ADaM table, in spec order (then by name)."""
    specs = {std: load_spec(std) for std in STANDARDS}
    keys = {std: tuple(_frame_digest(df) for df in spec) for std, spec in specs.items()}
    out = [_describe_file(path, std, specs[std], keys[std]) for std, path in written_tables(mode_root)]
    rank = {(std, n): i for std in STANDARDS for i, n in enumerate(specs[std][0]["DATASET"].tolist())}
    return sorted(
        out, key=lambda d: (STANDARDS.index(d.standard), rank.get((d.standard, d.name), 10**6), d.name)
    )


def data_cut_timestamp(mode_root: Path) -> str | None:
    """The newest export in force (its ``EXPORT_ID`` is the UTC time of the export, site-export.md)
    as ISO 8601 ``YYYY-MM-DDTHH:MM:SSZ``: the database's last modification, read from the ingest
    inventory so that a rerun on the same data writes byte-identical files."""
    inv = read_qa_table(Path(mode_root) / "ingest", "inventory")
    if inv.empty or "EXPORT_ID" not in inv.columns:
        return None
    in_force = inv[inv["IN_FORCE"].astype(bool)] if "IN_FORCE" in inv.columns else inv
    ids = pd.to_datetime(in_force["EXPORT_ID"].astype(str), format="%Y%m%dT%H%M%SZ", errors="coerce").dropna()
    return ids.max().strftime("%Y-%m-%dT%H:%M:%SZ") if not ids.empty else None


def inputs_timestamp(paths: list[Path]) -> str:
    """Fallback when no ingest inventory exists: the newest modification time of the input files
    (still stable across reruns of the export on the same warehouse)."""
    newest = max((Path(p).stat().st_mtime for p in paths), default=0.0)
    return dt.datetime.fromtimestamp(int(newest), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
