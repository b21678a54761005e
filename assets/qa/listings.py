"""Per-site listings to send to sites: open queries and quarantined values, as CSV and XLSX.

Issue 5: listings are safe against spreadsheet formula injection — a text value a site sent
that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return would run as a formula when the
site opens the file, so it gets a leading ``'`` (OWASP CSV injection guidance). A spreadsheet
skips leading blanks before it looks for a formula, so ``" =2+2"`` is escaped too: the trigger
is the first character that is not white space.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import study
from assets.common.atomic import atomic_write_bytes
from assets.common.columns import require_columns

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^(?:[\t\r]|[\s\x0b\x1c-\x1f\x85\p{Z}]*[=+\-@])"
"""A text starting with tab or CR, or whose first character that is not white space (what
Python's ``str.isspace`` calls white space: blanks, line ends, no-break and other Unicode spaces) is
one of ``= + - @`` (RE2 syntax, for Arrow)."""

LISTING_COLUMNS = [
    "QUERY_ID",
    "STATUS",
    "KIND",
    "SEVERITY",
    "SUBJID",
    "VISIT",
    "DATE",
    "FORM",
    "RECID",
    "COLUMN",
    "TESTCD",
    "VALUE",
    "UNIT",
    "RULE",
    "MESSAGE",
    "SRC_EXPORT",
    "SRC_FILE",
    "SRC_LINE",
    "FIX_AT",
    "FIRST_SEEN",
    "LAST_SEEN",
]
"""A site's listing (issue 17): where the record is (subject, visit, date, form, RECID, export file
and line), what was delivered (column, test code, value, unit) and why it is queried."""
LISTING_SORT = ["SUBJID", "VISITNUM", "VISIT", "FORM", "RECID", "KIND", "COLUMN", "QUERY_ID"]
"""Subject, then visit in schedule order (``study/visits.csv`` VISITNUM; no visit last), then form."""
QUERY_LISTING_INPUT = [c for c in LISTING_COLUMNS if c != "FIX_AT"]
"""The columns of queries.parquet a listing is made of (``FIX_AT`` is derived)."""


def derive_var_visitnum(queries: pd.DataFrame) -> pd.Series:
    """The schedule number of each row's ``VISIT`` (``study/visits.csv``), missing for a log form's
    row or an unknown visit label: the listing sorts visits in schedule order, not alphabetically
    (``WEEK 10`` after ``WEEK 8``)."""
    require_columns(queries, ["VISIT"], "derive_var_visitnum")
    return queries["VISIT"].astype("string").map(study.visitnum_map()).astype("Float64")


def derive_var_fix_at(queries: pd.DataFrame) -> pd.Series:
    """Where a site fixes the query, in one text (issue 17): ``site S, subject X, form F, RECID R,
    <export file> line N``, parts left out where the query has none (a derived-table finding has no
    file)."""
    require_columns(
        queries, ["SITEID", "SUBJID", "FORM", "RECID", "SRC_FILE", "SRC_LINE"], "derive_var_fix_at"
    )
    parts = [
        ("site ", queries["SITEID"]),
        ("subject ", queries["SUBJID"]),
        ("form ", queries["FORM"]),
        ("RECID ", queries["RECID"]),
        ("", queries["SRC_FILE"]),
    ]
    text = pd.Series("", index=queries.index, dtype="string")
    for label, values in parts:
        v = values.astype("string")
        has = v.notna() & v.ne("")
        sep = text.ne("").map({True: ", ", False: ""}).astype("string")
        text = text.mask(has, text + sep + label + v)
    line = pd.to_numeric(queries["SRC_LINE"], errors="coerce").astype("Int64").astype("string")
    has_line = line.notna() & queries["SRC_FILE"].astype("string").fillna("").ne("")
    return text.mask(has_line, text + " line " + line).fillna("")


def listing_frame(queries: pd.DataFrame) -> pd.DataFrame:
    """The queries with the listing's derived columns (``VISITNUM`` for sorting, ``FIX_AT``) and the
    file line as a whole number (pandas reads an integer column with gaps as floats: ``22.0``)."""
    return queries.assign(
        VISITNUM=derive_var_visitnum(queries),
        FIX_AT=derive_var_fix_at(queries),
        SRC_LINE=pd.to_numeric(queries["SRC_LINE"], errors="coerce").astype("Int64"),
    )


def _utf8(value: str) -> pa.Scalar:
    """A literal for Arrow string kernels, which want every argument of the same type."""
    return pa.scalar(value, pa.large_string())


def _strings(values) -> pa.Array:
    """Arrow large strings of a pandas Series or a list (pandas missing values become nulls)."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _text(series: pd.Series) -> pa.Array:
    """The column as ``astype("string")`` reads it, in Arrow; a column that already is text is
    taken as it is (the conversion costs more than the rest for a site's few hundred rows)."""
    return _strings(series if isinstance(series.dtype, pd.StringDtype) else series.astype("string"))


def escape_formula_injection(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to every text value starting with ``=``, ``+``, ``-``, ``@``, tab or CR (after
    any leading white space: ``" =2+2"``), so a spreadsheet shows it as text instead of evaluating it. Numbers stay numbers (a numeric
    ``-5`` is not text and is not touched)."""
    return _with_quotes(df.copy(), _formula_rows(df))


def _formula_rows(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per text column holding a value to escape, which rows hold one (tested in Arrow; most
    columns have nothing to escape and are not listed)."""
    out = {}
    for col in df.columns:
        series = df[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        risky = pc.fill_null(pc.match_substring_regex(_text(series), _FORMULA_START), False)
        if pc.any(risky).as_py():
            out[col] = risky.to_numpy(zero_copy_only=False)
    return out


def _with_quotes(df: pd.DataFrame, risky: dict[str, np.ndarray]) -> pd.DataFrame:
    """``df`` (changed in place) with a ``'`` before the ``risky`` rows' values; a column gets the
    ``string`` dtype only when it has such a row."""
    for col, rows in risky.items():
        if rows.any():
            text = df[col].astype("string")
            df[col] = text.mask(rows, "'" + text)
    return df


def derive_site_listing(queries: pd.DataFrame, siteid: str) -> pd.DataFrame:
    """The open queries of one site in the columns a site answers, escaped for spreadsheets."""
    require_columns(queries, QUERY_LISTING_INPUT + ["SITEID"], "derive_site_listing")
    rows = queries[queries["SITEID"].eq(siteid).fillna(False) & queries["STATUS"].eq("OPEN").fillna(False)]
    listing = listing_frame(rows).sort_values(LISTING_SORT, kind="stable", na_position="last")
    return escape_formula_injection(listing[LISTING_COLUMNS].reset_index(drop=True))


def listed_sites(export_status: pd.DataFrame, queries: pd.DataFrame, quarantine: pd.DataFrame) -> list[str]:
    """The sites that get a listing folder: every site with an export status, a query or a
    quarantined value, sorted."""
    return sorted(
        set(export_status.get("SITEID", pd.Series(dtype=str)).dropna().astype(str))
        | set(queries["SITEID"].dropna().astype(str))
        | set(quarantine["SITEID"].dropna().astype(str))
    )


def split_by_site(frame: pd.DataFrame, sites: list[str]) -> dict[str, pd.DataFrame]:
    """Per site of ``sites``, :func:`escape_formula_injection` of the rows of ``frame`` whose
    ``SITEID`` equals it, in their order and re-indexed (as
    ``frame[frame["SITEID"].eq(site).fillna(False)].reset_index(drop=True)`` gives them).

    One stable sort by site, then a slice per site: filtering the whole frame once per site
    re-took every (Arrow-backed) text column once per site."""
    keep = frame["SITEID"].isin(sites).to_numpy(dtype=bool, na_value=False)
    rows = frame[keep].sort_values("SITEID", kind="stable").reset_index(drop=True)
    return _escaped_slices(rows, sites, list(frame.columns))


def derive_site_listings(queries: pd.DataFrame, sites: list[str]) -> dict[str, pd.DataFrame]:
    """:func:`derive_site_listing` of every site of ``sites``, with one filter and one sort for
    all of them: sorted by site, then the listing order (stable, so each site's rows keep the
    order its own sort gives), then sliced per site."""
    require_columns(queries, QUERY_LISTING_INPUT + ["SITEID"], "derive_site_listings")
    keep = queries["SITEID"].isin(sites).to_numpy(dtype=bool, na_value=False) & queries["STATUS"].eq(
        "OPEN"
    ).to_numpy(dtype=bool, na_value=False)
    rows = (
        listing_frame(queries.loc[keep])
        .loc[:, ["SITEID", "VISITNUM", *LISTING_COLUMNS]]
        .sort_values(["SITEID", *LISTING_SORT], kind="stable", na_position="last")
        .reset_index(drop=True)
    )
    return _escaped_slices(rows, sites, LISTING_COLUMNS)


def _escaped_slices(rows: pd.DataFrame, sites: list[str], columns: list[str]) -> dict[str, pd.DataFrame]:
    """Per site, ``columns`` of its slice of ``rows`` (sorted by ``SITEID``) escaped as
    :func:`escape_formula_injection` escapes them; the values to escape are found in one pass
    over all rows, and a site's columns change (and change dtype) only where it has such a value."""
    risky = _formula_rows(rows[columns])
    site = rows["SITEID"].to_numpy(dtype=object)
    bounds = np.r_[0, np.flatnonzero(site[1:] != site[:-1]) + 1, len(site)].tolist() if len(site) else [0]
    runs = {site[a]: (a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)}
    out = {}
    for name in sites:
        start, stop = runs.get(name, (0, 0))
        part = rows.iloc[start:stop][columns].reset_index(drop=True)
        out[name] = _with_quotes(part, {c: r[start:stop] for c, r in risky.items()})
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """UTF-8 with BOM (spreadsheets then read accents correctly), ``\\n`` line ends, atomic."""
    text = df.to_csv(index=False, lineterminator="\n")
    atomic_write_bytes(Path(path), b"\xef\xbb\xbf" + text.encode("utf-8"))
    return Path(path)


XLSX_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""Zip entry time of every XLSX part when no document time is given (the zip format's earliest)."""


_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
"""Characters XML 1.0 cannot carry (openpyxl refuses them): dropped from listing text (RE2 syntax)."""

_XML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
"""Text escapes in this order (``&`` first); a literal CR would read back as LF, hence ``&#13;``."""


def _text_safe_cell(ws, value: str):
    """A cell that holds ``value`` as text: openpyxl types a string starting with ``=`` as a formula
    and one equal to an error code (``#N/A``) as an error, so ``data_type`` is forced to string."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _number_text(series: pd.Series) -> pa.Array:
    """Numbers as Python's ``str()`` writes them (``12``, ``1.0``, ``1e-07``), missing as null.
    Integers: Arrow's cast gives the same digits. Floats: ``str()`` of each distinct value (Arrow
    would write ``1.0`` as ``1``), distinct by bit pattern so ``-0.0`` keeps its sign."""
    if pd.api.types.is_integer_dtype(series):
        return pc.cast(pa.array(series, from_pandas=True), pa.large_string())
    if not pd.api.types.is_float_dtype(series):  # complex and the like: value by value
        return _strings(series.astype(object).where(series.notna(), None).map(str, na_action="ignore"))
    floats = series.to_numpy(dtype="float64", na_value=np.nan)
    distinct, position = np.unique(floats.view(np.int64), return_inverse=True)
    text = _strings([str(v) for v in distinct.view(np.float64).tolist()]).take(position)
    return pc.if_else(series.isna().to_numpy(), pa.scalar(None, pa.large_string()), text)


_XML_ILLEGAL_BYTES = [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xEF]
"""UTF-8 bytes of the characters :func:`_escaped_text` drops (``0xEF`` leads U+FFFE and U+FFFF,
and other characters too: a false alarm only costs the regex)."""


def _escaped_text(text: pa.Array) -> pa.Array:
    """Text as XML character data: characters XML cannot carry dropped, then empty as null (no
    cell), then ``& < >`` and CR escaped. A kernel runs only when the text's bytes hold a
    character it changes (most sheets hold none, or only ``<`` and ``>``)."""
    data = text.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    present = np.bincount(raw, minlength=256).astype(bool)
    if present[_XML_ILLEGAL_BYTES].any():
        text = pc.replace_substring_regex(text, _XML_ILLEGAL, "")
    text = _empty_as_null(text)
    for char, entity in _XML_ESCAPES:
        if present[ord(char)]:
            text = pc.replace_substring(text, char, entity)
    return text


def _empty_as_null(text: pa.Array) -> pa.Array:
    """Empty text as null (written as no cell)."""
    return pc.if_else(pc.equal(text, _utf8("")), pa.scalar(None, pa.large_string()), text)


_TEXT_CELL = (' t="inlineStr"', '<is><t xml:space="preserve">', "</t></is>")
_BOOL_CELL = (' t="b"', "<v>", "</v>")
_NUMBER_CELL = ("", "<v>", "</v>")
"""A cell's markup by kind: type attribute, then what opens and closes its value."""


def _rows_xml(frame: pd.DataFrame) -> str:
    """The ``<row>`` elements of the frame's values (sheet rows 2..n+1, row 1 is the header): text as
    an inline string (never a formula, whatever it starts with), numbers and booleans as values,
    missing and empty as no cell.

    Vectorized in Arrow with a fixed number of kernel calls per sheet (the per-call overhead, not the
    data, dominated per-column processing of a site's few hundred rows): the sheet is a grid of
    n rows x (columns + 2) pieces - row start, one ``<c>`` per column (empty when no cell), row end -
    built column by column, then read row by row and joined once."""
    from openpyxl.utils import get_column_letter

    if frame.empty:
        return ""
    n, k = len(frame), len(frame.columns)
    values, markup = [], []
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            flags = pa.array(series.astype("boolean"), type=pa.bool_(), from_pandas=True)
            values.append(pc.if_else(flags, _utf8("1"), _utf8("0")))
            markup.append(_BOOL_CELL)
        elif pd.api.types.is_numeric_dtype(series):
            values.append(_number_text(series))
            markup.append(_NUMBER_CELL)
        else:
            values.append(_text(series))
            markup.append(_TEXT_CELL)
    # All text columns escaped in one pass, then sliced back (zero-copy) to their columns.
    text_columns = [i for i, m in enumerate(markup) if m is _TEXT_CELL]
    if text_columns:
        escaped = _escaped_text(pa.concat_arrays([values[i] for i in text_columns]))
        for j, i in enumerate(text_columns):
            values[i] = escaped.slice(j * n, n)

    row_numbers = pc.cast(pa.array(np.arange(2, n + 2)), pa.large_string())
    column_of_piece = np.repeat(np.arange(k), n)  # column-major: column 0's n cells, then column 1's ...
    opening = _strings([f'<c r="{get_column_letter(i)}' for i in range(1, k + 1)]).take(column_of_piece)
    middle = _strings([f'"{attrs}>{head}' for attrs, head, _ in markup]).take(column_of_piece)
    closing = _strings([f"{tail}</c>" for _, _, tail in markup]).take(column_of_piece)
    cell_rows = row_numbers.take(np.tile(np.arange(n), k))
    # A null value makes its <c> null (emit_null), written as nothing.
    cells = pc.binary_join_element_wise(
        opening, cell_rows, middle, pa.concat_arrays(values), closing, _utf8("")
    ).fill_null("")
    row_start = pc.binary_join_element_wise(_utf8('<row r="'), row_numbers, _utf8('">'), _utf8(""))
    row_end = pa.repeat(_utf8("</row>"), n)
    grid = pa.concat_arrays([row_start, cells, row_end])  # column-major, n x (k + 2)
    row_major = grid.take(np.arange((k + 2) * n).reshape(k + 2, n).T.ravel())
    # One string: binary_join over a single list that holds every piece.
    everything = pa.LargeListArray.from_arrays(pa.array([0, len(row_major)], pa.int64()), row_major)
    return pc.binary_join(everything, _utf8(""))[0].as_py()


_WIDTH_MARK = 100
"""Column ``i``'s width in a package template is ``_WIDTH_MARK + i``, replaced by the real width."""


def _openpyxl_package(layout: tuple, stamp: pd.Timestamp | None) -> bytes:
    """The package (a stored zip) openpyxl writes for sheets of ``layout`` (title, header names):
    header rows frozen, column widths marked (``_WIDTH_MARK`` + column number) for
    :func:`_finish_package` to fill in; document created and modified at ``stamp`` (when given)."""
    import zipfile

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    for title, header in layout:
        ws = wb.create_sheet(title=title)
        # Column widths and the frozen header: a write-only sheet needs them before the first row.
        for i in range(1, len(header) + 1):
            ws.column_dimensions[get_column_letter(i)].width = _WIDTH_MARK + i
        ws.freeze_panes = "A2"
        ws.append([_text_safe_cell(ws, name) for name in header])
    if stamp is not None:
        wb.properties.created = wb.properties.modified = stamp.to_pydatetime()
    buf = io.BytesIO()
    # Stored, not compressed: _finish_package reads every part back and compresses it once.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()  # save_workbook() would overwrite the modified time with now
    return buf.getvalue()


_package_template = functools.lru_cache(maxsize=8)(_openpyxl_package)
"""One template per layout and time: a run writes every site's workbook with the same ones."""


def _column_widths(frame: pd.DataFrame) -> list[int]:
    """Per column, the longest of its name and its first 200 values as ``str()`` writes them, plus
    2, between 8 and 60."""
    head = frame.head(200)
    return [
        min(max(max([len(str(col))] + [len(str(v)) for v in head[col].tolist()]) + 2, 8), 60)
        for col in frame.columns
    ]


def _finish_package(data: bytes, sheets: dict[str, tuple[list[int], str]], date_time: tuple) -> bytes:
    """The zip openpyxl wrote with each sheet's (column widths, data rows): the widths in place of
    the marks, the rows inserted after the header row; every entry stamped ``date_time`` (zipfile
    stamps the current local time): same workbook, same bytes."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in sheets:
                widths, rows = sheets[info.filename]
                head, sep, tail = content.decode("utf-8").rpartition("</sheetData>")
                if not sep:
                    raise ValueError(f"write_xlsx: no sheetData in {info.filename}")
                for i, width in enumerate(widths, start=1):  # as openpyxl writes a float attribute
                    head = head.replace(f' width="{_WIDTH_MARK + i}"', f' width="{width:.16g}"', 1)
                content = (head + rows + sep + tail).encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=date_time)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, content)
    return buf.getvalue()


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, created: pd.Timestamp | None = None) -> Path:
    """One workbook, one sheet per frame, header row frozen; every cell written as a value: a text
    is stored as an inline string, never as a formula, whatever it starts with (the formula-injection
    escaping upstream protects the CSV and anyone who re-types the value).

    openpyxl (write-only mode) writes the package and the header rows, once per layout and
    ``created`` (:func:`_package_template`); the column widths are filled in and the data rows
    generated as SpreadsheetML in vectorized Arrow (:func:`_rows_xml`), because openpyxl's per-cell
    XML serialization dominated the cost (~0.15 s per 1,000 rows). Deterministic: with ``created``
    the document's created and modified times are ``created`` (openpyxl's ``save`` would stamp "now"
    as modified) and every zip entry carries that time; without it the zip entries carry
    1980-01-01. The same listing gives the same bytes."""
    layout = tuple((name[:31], tuple(str(c) for c in frame.columns)) for name, frame in sheets.items())
    date_time, stamp = XLSX_FIXED_TIME, None
    if created is not None:
        stamp = created.tz_convert("UTC").tz_localize(None) if created.tzinfo else created
        date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    # without ``created`` openpyxl stamps the document "now": no template shared between calls
    package = _package_template(layout, stamp) if stamp is not None else _openpyxl_package(layout, None)
    parts = {
        f"xl/worksheets/sheet{number}.xml": (_column_widths(frame), _rows_xml(frame))
        for number, frame in enumerate(sheets.values(), start=1)
    }
    atomic_write_bytes(Path(path), _finish_package(package, parts, date_time))
    return Path(path)
