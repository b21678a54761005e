"""Read one export file as text, with lineage on every row.

site-export.md (File format): UTF-8 (a leading BOM may occur), comma, RFC 4180 quoting, one
header row, ``\\n`` or ``\\r\\n``; values are text and an empty field is missing. Column order is
not guaranteed; extra columns are carried to QA as "unexpected column", never used.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

import study

BOM = b"\xef\xbb\xbf"
LINEAGE_COLUMNS = ["SRC_EXPORT", "SRC_FILE", "SRC_LINE"]


class FormRejected(Exception):
    """A whole file cannot be used (not UTF-8 CSV, or a required column missing)."""


class NotARegularFile(Exception):
    """A path that is a symbolic link, a folder, a device or a pipe: never opened as an export file
    (site-export.md, Landing zone layout). Not an ``OSError``: it is a fault of the landing zone,
    never a transient I/O error to retry."""


_NO_FOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path`` when it is a regular file, opened without following a symbolic link
    (``O_NOFOLLOW``: a link is refused by the kernel, not checked first and opened later) and
    without blocking on a pipe (``O_NONBLOCK``). Raises :class:`NotARegularFile` otherwise and
    ``FileNotFoundError`` when it is missing (site-export.md, Landing zone layout)."""
    try:
        fd = os.open(path, _NO_FOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # the last component is a symbolic link
            raise NotARegularFile("is a symbolic link, not followed") from exc
        if exc.errno in (errno.ENXIO, errno.EISDIR):
            raise NotARegularFile("is not a regular file") from exc
        if exc.errno in (errno.ENAMETOOLONG, errno.EINVAL, errno.ENOTDIR):
            raise NotARegularFile(f"cannot be opened ({os.strerror(exc.errno)})") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile("is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


@dataclass
class FormRead:
    """What reading one file gave: the text table, or why the file was rejected."""

    form: str
    path: Path
    table: pa.Table | None  # required columns (text) and lineage
    rejection: str = ""
    unexpected_columns: list[str] = field(default_factory=list)
    line: int | None = None  # where a rejection was found, when known
    unexpected_table: pa.Table | None = None  # the unexpected columns' values and SRC_LINE, for QA

    @cached_property
    def frame(self) -> pd.DataFrame | None:
        """The table as a DataFrame. Ingest converts the tables of all sites of a form at once
        (one conversion instead of one per file), so reading does not convert."""
        return None if self.table is None else self.table.to_pandas()

    @cached_property
    def unexpected(self) -> pd.DataFrame | None:
        """The unexpected columns' values and SRC_LINE as a DataFrame, converted only when asked
        for (a file with 100,000 extra columns takes seconds to convert)."""
        return None if self.unexpected_table is None else self.unexpected_table.to_pandas()

    def values_present(self, column: str) -> int:
        """Non-missing values of an unexpected column, counted in Arrow."""
        if self.unexpected_table is None:
            return 0
        values = self.unexpected_table.column(column)
        return len(values) - values.null_count


def read_header(path: Path) -> list[str]:
    """Column names from the first line (BOM stripped), upper-cased as the contract promises."""
    return _header_of(read_regular_file(path).partition(b"\n")[0])


def _header_of(first: bytes) -> list[str]:
    """Column names from the first line of a file (see :func:`read_header`)."""
    if first.startswith(BOM):
        first = first[len(BOM) :]
    text = first.decode("utf-8").rstrip("\r\n")
    return [c.strip() for c in next(csv.reader(io.StringIO(text)))] if text else []


@cache
def _required_columns(form: str) -> tuple[str, ...]:
    """The form's header contract, looked up once per form (not once per file read)."""
    return tuple(study.required_columns(form))


def _read_options() -> pacsv.ReadOptions:
    return pacsv.ReadOptions(block_size=1 << 24)


def _parse_options() -> pacsv.ParseOptions:
    return pacsv.ParseOptions(newlines_in_values=True)


def count_csv_rows(path: Path, data: bytes | None = None) -> int | None:
    """Data rows of a CSV file (records after the header), without decoding text as UTF-8; None
    when the file is not CSV that can be counted (a row with the wrong number of fields, an
    unbalanced quote): reading rejects that form with its line (site-export.md, Bad input).

    ``data`` is the file's content when the caller has read it already (to hash it): counted in
    memory instead of reading the file a second time."""
    if data is None:
        data = read_regular_file(path)
    line, newline, _ = data.partition(b"\n")
    try:
        header = _header_of(line + newline)
    except (UnicodeDecodeError, csv.Error):
        header = []
    try:
        if not header:
            text = data.decode("utf-8", "replace")
            return max(sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1, 0)
        first = header[0]
        convert = pacsv.ConvertOptions(column_types={first: pa.binary()}, include_columns=[first])
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=_read_options(),
            parse_options=_parse_options(),
            convert_options=convert,
        )
    except (pa.ArrowInvalid, csv.Error):
        return None
    return table.num_rows


def _first_invalid_utf8_line(data: bytes) -> tuple[int, str]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1, f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
    return 0, ""


def _lines_counted(text: str, newlines: list[int]):
    """The lines of ``text`` as the csv module splits them (on CR, LF or CRLF), counting the LFs
    handed to the reader in ``newlines[0]`` so a record's line number is the file's (LF-separated)
    line."""
    for line in io.StringIO(text, newline=""):
        newlines[0] += line.count("\n")  # before it is handed on: the reader reads no further ahead
        yield line


def csv_fault(data: bytes, n_columns: int) -> tuple[int | None, str]:
    """Where a file that is not RFC 4180 CSV breaks: the line the first bad record starts on
    (header is line 1) and why (a row with the wrong number of fields, an unbalanced quote, a
    line break outside quotes that splits a row). ``(None, "")`` when no fault is found."""
    text = data.decode("utf-8")
    text = text[1:] if text.startswith("\ufeff") else text
    newlines = [0]
    reader = csv.reader(_lines_counted(text, newlines), strict=True)
    start = 1
    try:
        next(reader, None)  # the header
        while True:
            start = newlines[0] + 1
            record = next(reader, None)
            if record is None:
                return None, ""
            if record and len(record) != n_columns:
                return start, f"row has {len(record)} fields, the header has {n_columns}"
    except csv.Error as exc:
        return start, f"malformed CSV ({exc}; an unbalanced or unterminated quote?)"


def _physical_lines(table: pa.Table, quoted: bool = True) -> np.ndarray:
    """Line number of each record in the file (header is line 1), counting newlines inside
    quoted values so the number points at the line where the record starts.

    ``quoted`` says whether the file has a quote character at all: a newline can be inside a value
    only between quotes, so without one there is nothing to count (most files)."""
    n = table.num_rows
    embedded = np.zeros(n, dtype=np.int64)
    for col in table.columns if quoted else ():
        counts = pc.count_substring(col, "\n")
        embedded += pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(embedded)[:-1]]) if n else embedded
    return np.arange(n, dtype=np.int64) + 2 + before


def read_form(
    path: Path, form: str, export_id: str, relative_to: Path | None = None, data: bytes | None = None
) -> FormRead:
    """Read ``path`` as text (every column a string, empty -> missing) with lineage columns.

    The file is opened only when it is a regular file (:func:`read_regular_file`); ``data`` is its
    content when the caller has read it already (the restricted list, outside the landing zone).

    Rejects the whole file when it is not valid UTF-8 CSV or lacks a required column; extra
    columns are dropped from the frame and listed in ``unexpected_columns``.
    """
    path = Path(path)
    rel = str(path.relative_to(relative_to)) if relative_to else path.name
    try:
        if data is None:
            data = read_regular_file(path)  # read once: header, parsed, searched for a quote
    except NotARegularFile as exc:
        return FormRead(form, path, None, f"{path.name} {exc}")
    except FileNotFoundError:
        return FormRead(form, path, None, f"{path.name} missing")
    try:
        header = _header_of(data.partition(b"\n")[0])
    except UnicodeDecodeError:
        line, where = _first_invalid_utf8_line(data)
        return FormRead(form, path, None, f"not valid UTF-8 ({where})", line=line)
    except csv.Error as exc:
        return FormRead(form, path, None, f"malformed header row ({exc})", line=1)
    if not header:
        return FormRead(form, path, None, "empty file: no header row", line=1)
    if len(set(header)) != len(header):
        dupes = sorted({c for c in header if header.count(c) > 1})
        return FormRead(form, path, None, f"duplicate column names in header: {dupes}", line=1)
    required = _required_columns(form)
    missing = [c for c in required if c not in header]
    if missing:
        return FormRead(form, path, None, f"required column(s) missing: {', '.join(missing)}", line=1)
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=_read_options(),
            parse_options=_parse_options(),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        line, where = _first_invalid_utf8_line(data)
        if line:
            return FormRead(form, path, None, f"not valid UTF-8 ({where})", line=line)
        fault_line, fault = csv_fault(data, len(header))
        return FormRead(form, path, None, f"not a valid CSV file: {fault or exc}", line=fault_line)
    lines = _physical_lines(table, quoted=b'"' in data)
    unexpected = [c for c in header if c not in required]
    # Lineage joins the table as Arrow columns: no per-file inserts.
    form_table = (
        table.select(list(required))
        .append_column("SRC_EXPORT", pa.repeat(pa.scalar(export_id, pa.string()), table.num_rows))
        .append_column("SRC_FILE", pa.repeat(pa.scalar(rel, pa.string()), table.num_rows))
        .append_column("SRC_LINE", pa.array(lines))
    )
    # Kept for QA as (line, column, value) without being used downstream.
    extra = table.select(unexpected).append_column("SRC_LINE", pa.array(lines)) if unexpected else None
    return FormRead(form, path, form_table, "", unexpected, unexpected_table=extra)


def read_randlist(path: Path) -> pd.DataFrame:
    """The restricted RANDLIST.csv of an unblinded run, read like any form (derivations.md, Populations).

    Callers get ``path`` only from ``RestrictedRandomization.randlist_path``, which refuses in a
    blinded run, so a blinded run never opens the restricted location."""
    # The restricted location is the operator's, not a site's: it may be mounted through links.
    read = read_form(path, "RANDLIST", "RESTRICTED", data=Path(path).read_bytes())
    if read.frame is None:
        raise ValueError(f"RANDLIST.csv rejected: {read.rejection}")
    return read.frame
