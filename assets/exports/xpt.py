"""SAS XPORT version 5 files (the FDA's submission transport format) from the Parquet tables.

Rules (FDA Study Data Technical Conformance Guide, section 3.3; SAS TS-140):
- member (dataset) names and variable names: at most 8 characters, letters, digits, underscore,
  not starting with a digit; labels at most 40 characters; character values at most 200 bytes;
  only ASCII text;
- file names lower case (``dm.xpt``), member names upper case (``DM``);
- character variables sized to the longest value (lengths sized to the data);
- ADaM ``*DT`` variables are numeric SAS dates (days since 1960-01-01) with format ``DATE9.``,
  ``*DTM`` numeric SAS datetimes (seconds since 1960-01-01T00:00:00) with ``DATETIME20.``.

A value XPORT v5 cannot hold is never cut: :func:`xpt_problems` lists it (dataset, variable, row)
as a blocking finding and :func:`write_xpt` refuses to write that dataset.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyreadstat

from assets.common.findings import make_findings
from assets.exports.files import publish
from assets.exports.metadata import Dataset

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR_BYTES = 200
SAS_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SAS_EPOCH = np.datetime64("1960-01-01", "D")
FINDING_KIND = "XPT_V5"


def _finding(
    dataset: Dataset,
    column: str,
    rule: str,
    value: str,
    message: str,
    row: int | None = None,
    usubjid: str | None = None,
) -> dict:
    # RECID is the 1-based row in the Parquet file (= the XPT observation number).
    return {
        "KIND": FINDING_KIND,
        "SEVERITY": "ERROR",
        "FORM": dataset.name,
        "RECID": None if row is None else str(row),
        "COLUMN": column,
        "RULE": rule,
        "VALUE": value,
        "MESSAGE": message,
        "SUBJID": usubjid,
        "SRC_FILE": dataset.path.name if dataset.path else None,
    }


def _name_and_label_problems(dataset: Dataset) -> list[dict]:
    out = []
    checks = [("", dataset.name, dataset.label, "dataset")] + [
        (v.name, v.name, v.label, "variable") for v in dataset.variables
    ]
    for column, name, label, what in checks:
        if len(name) > MAX_NAME or not SAS_NAME.match(name):
            out.append(
                _finding(
                    dataset,
                    column,
                    "xpt_name",
                    name,
                    f"{what} name {name!r}: XPORT v5 needs <= 8 of A-Z 0-9 _",
                )
            )
        if len(label) > MAX_LABEL:
            out.append(
                _finding(
                    dataset, column, "xpt_label_40", label, f"{what} label of {len(label)} characters (> 40)"
                )
            )
        if not label.isascii():
            out.append(_finding(dataset, column, "xpt_label_ascii", label, f"{what} label is not ASCII"))
    return out


def _value_problems(dataset: Dataset, table: pa.Table) -> list[dict]:
    """Non-ASCII and over-long character values, one finding per cell (row number 1-based, in the
    Parquet file's order, which is the XPT's order)."""
    out = []
    usubjid = table.column("USUBJID") if "USUBJID" in table.column_names else None
    for fld, col in zip(table.schema, table.columns):
        if not (pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type)):
            continue
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        not_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(col), True))
        too_long = pc.greater(pc.fill_null(pc.binary_length(col), 0), MAX_CHAR_BYTES)
        for rule, mask, why in (
            ("xpt_ascii", not_ascii, "value is not ASCII"),
            ("xpt_char_200", too_long, "value longer than 200 bytes"),
        ):
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            index = pa.array(rows, type=pa.int64())
            values = col.take(index).to_pylist()
            subjects = usubjid.take(index).to_pylist() if usubjid is not None else [None] * len(rows)
            out += [
                _finding(dataset, fld.name, rule, value, why, row=int(r) + 1, usubjid=subject)
                for r, value, subject in zip(rows, values, subjects, strict=True)
            ]
    return out


def xpt_problems(dataset: Dataset, table: pa.Table) -> pd.DataFrame:
    """Everything in ``table`` that XPORT v5 cannot hold, as findings (KIND ``XPT_V5``, ERROR)."""
    missing = [v.name for v in dataset.variables if v.name not in table.column_names]
    if missing:
        raise KeyError(f"xpt_problems({dataset.name}): columns not in table: {missing}")
    rows = _name_and_label_problems(dataset) + _value_problems(dataset, table)
    return make_findings(pd.DataFrame(rows))


def _since_epoch(delta: np.ndarray, unit: str) -> np.ndarray:
    """Days / seconds since the SAS epoch as float64; NaT -> NaN (a missing SAS number)."""
    out = delta.astype(f"timedelta64[{unit}]").astype("int64").astype("float64")
    out[np.isnat(delta)] = np.nan
    return out


def xpt_frame(dataset: Dataset, table: pa.Table) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame pyreadstat writes, and the SAS formats: text as Python str ('' for missing, as SAS
    has no null character value), numbers as float64, dates as days and datetimes as seconds since
    1960-01-01."""
    missing = [v.name for v in dataset.variables if v.name not in table.column_names]
    if missing:
        raise KeyError(f"xpt_frame({dataset.name}): columns not in table: {missing}")
    columns, formats = {}, {}
    for v in dataset.variables:
        col = table.column(v.name)
        if pa.types.is_date(col.type):
            days = col.cast(pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
            columns[v.name] = _since_epoch(days - SAS_EPOCH, "D")
            formats[v.name] = v.display_format or "DATE9."
        elif pa.types.is_timestamp(col.type):
            ts = col.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False).astype("datetime64[s]")
            columns[v.name] = _since_epoch(ts - SAS_EPOCH.astype("datetime64[s]"), "s")
            formats[v.name] = v.display_format or "DATETIME20."
        elif v.type == "Char":
            columns[v.name] = pc.fill_null(col.cast(pa.string()), "").to_numpy(zero_copy_only=False)
        else:
            columns[v.name] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    for v in dataset.variables:
        if v.type == "Char":
            frame[v.name] = frame[v.name].astype(object)
    return frame, formats


def write_xpt(dataset: Dataset, table: pa.Table, path: Path) -> pd.DataFrame:
    """Write ``path`` (XPORT v5, member ``dataset.name``) atomically when ``table`` fits, and return
    the findings. When anything does not fit, nothing is written and an older file of that name is
    removed, so a submission folder never holds a stale or truncated dataset."""
    problems = xpt_problems(dataset, table)
    path = Path(path)
    if not problems.empty:
        path.unlink(missing_ok=True)
        return problems
    frame, formats = xpt_frame(dataset, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pyreadstat.write_xport(
            frame,
            tmp,
            file_format_version=5,
            table_name=dataset.name.upper(),
            file_label=dataset.label,
            column_labels={v.name: v.label for v in dataset.variables},
            variable_format=formats or None,
        )
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return problems
