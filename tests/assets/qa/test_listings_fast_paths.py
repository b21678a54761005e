"""The Arrow fast paths of the listings give what the straightforward per-value rules give:
sheet XML of the data rows and formula-injection escaping, on tricky literal input."""

import datetime
import io
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from assets.qa.listings import (
    FORMULA_TRIGGERS,
    LISTING_COLUMNS,
    _number_text,
    _rows_xml,
    derive_site_listing,
    derive_site_listings,
    escape_formula_injection,
    split_by_site,
    write_xlsx,
)

PYTHON_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"

TRICKY_TEXT = [
    "plain",
    "",  # empty: no cell
    None,
    "\x00\x01\x0b",  # only characters XML cannot carry: empty after dropping them, no cell
    "a\x00b\x08c\x0bd\x0ce\x0ef\x1fg",
    "tab\tnewline\ncr\rend",
    "a & <b> > c &amp;",
    "quotes \" and '",
    "=SUM(A1)",
    "#N/A",
    "é€𝄞 中文",
    "\ufffe\uffffz\ufffdy\ud7ffx\U0010ffff",
    "\x7f\x80\x9f",
    "  leading and trailing  ",
]


def reference_rows_xml(frame: pd.DataFrame) -> str:
    """The rule, value by value: text as an inline string with XML-illegal characters dropped and
    ``& < >`` CR escaped, numbers as ``str()``, booleans as 1/0, missing and empty as no cell."""
    out = []
    columns = [frame[c].astype(object) for c in frame.columns]
    kinds = [frame[c].dtype for c in frame.columns]
    for r in range(len(frame)):
        cells = []
        for i, (values, dtype) in enumerate(zip(columns, kinds), start=1):
            v, ref = values.iloc[r], f"{get_column_letter(i)}{r + 2}"
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                continue
            if pd.api.types.is_bool_dtype(dtype):
                cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif pd.api.types.is_numeric_dtype(dtype):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                text = re.sub(PYTHON_XML_ILLEGAL, "", str(v))
                if not text:
                    continue
                for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
                    text = text.replace(char, entity)
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        out.append(f'<row r="{r + 2}">' + "".join(cells) + "</row>")
    return "".join(out)


def tricky_frame() -> pd.DataFrame:
    n = len(TRICKY_TEXT)
    floats = [1.0, -0.0, 0.0, 1e16, 1e-7, float("inf"), -float("inf"), 123456789.125, float("nan"), 0.1]
    return pd.DataFrame(
        {
            "STR": pd.Series(TRICKY_TEXT, dtype="str"),
            "STRING": pd.Series(TRICKY_TEXT, dtype="string"),
            "PYTHON_STRING": pd.Series(TRICKY_TEXT, dtype=pd.StringDtype("python")),
            "OBJECT": pd.Series(
                [1, "x", None, 2.5, "=1", datetime.date(2026, 5, 1)] + ["y"] * (n - 6), dtype=object
            ),
            "INT": np.arange(-3, n - 3, dtype=np.int64),
            "INT_NA": pd.Series([1, None, -(2**63), 2**63 - 1] + [7] * (n - 4), dtype="Int64"),
            "FLOAT": (floats * 2)[:n],
            "FLOAT32": pd.Series([0.1] * n, dtype="float32"),
            "BOOL": [True, False] * (n // 2),
            "BOOLEAN": pd.Series([True, None, False] + [True] * (n - 3), dtype="boolean"),
            "WHEN": pd.to_datetime(["2026-05-01T02:00:00"] * n),
            "ALL_MISSING": pd.Series([None] * n, dtype="str"),
        }
    )


def test_rows_xml_matches_the_per_value_rule_on_tricky_input():
    frame = tricky_frame()
    assert _rows_xml(frame) == reference_rows_xml(frame)


def test_rows_xml_positions_not_index_and_many_columns():
    frame = tricky_frame()
    filtered = frame[frame["INT"] % 2 == 0]  # gaps in the index: rows still numbered 2, 3, ...
    assert _rows_xml(filtered) == reference_rows_xml(filtered.reset_index(drop=True))
    wide = pd.DataFrame({f"C{i}": pd.Series(["v", None], dtype="str") for i in range(30)})  # past column Z
    assert _rows_xml(wide) == reference_rows_xml(wide)
    one = frame.iloc[[0]]
    assert _rows_xml(one) == reference_rows_xml(one.reset_index(drop=True))


def test_rows_xml_of_empty_frames_is_empty():
    assert _rows_xml(tricky_frame().iloc[:0]) == ""
    assert _rows_xml(pd.DataFrame()) == ""


def test_number_text_is_python_str_for_every_float_even_negative_zero():
    values = pd.Series(
        [1.0, -0.0, 0.0, 1e16, 1e15, 1e-5, 1e-4, 2.5e-310, 1.7976931348623157e308, float("nan")]
    )
    assert _number_text(values).to_pylist() == [str(v) for v in values.tolist()[:-1]] + [None]


def test_xml_illegal_characters_dropped_exactly_as_python_re_drops_them():
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    frame = pd.DataFrame({"T": pd.Series([every], dtype="str")})
    text = re.sub(PYTHON_XML_ILLEGAL, "", every)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        text = text.replace(char, entity)
    assert (
        _rows_xml(frame)
        == f'<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c></row>'
    )


@pytest.mark.parametrize(
    "text", ["plain", "a < b", "a > b", "a & b", "cr\rhere", "nul\x00x", "\ufffe x", "é €", "\x01", ""]
)
def test_rows_xml_escapes_text_holding_one_kind_of_special_character(text):
    # the escaping kernels run only for the characters present: each one alone, and none
    frame = pd.DataFrame({"T": pd.Series([text, "plain", None], dtype="str"), "N": [1, 2, 3]})
    assert _rows_xml(frame) == reference_rows_xml(frame)


def reference_escape(df: pd.DataFrame) -> pd.DataFrame:
    """The rule in pandas string operations: text starting with a trigger, or whose first character
    that is not white space is one, gets a leading quote."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        text = series.astype("string")
        risky = (
            text.str.startswith(FORMULA_TRIGGERS) | text.str.lstrip().str.startswith(("=", "+", "-", "@"))
        ).fillna(False)
        if risky.any():
            out[col] = text.mask(risky, "'" + text)
    return out


@pytest.mark.parametrize("dtype", ["str", "string", pd.StringDtype("python"), object])
def test_formula_escaping_matches_the_string_rule_on_tricky_input(dtype):
    starts = [t + "x" for t in FORMULA_TRIGGERS] + [
        "",
        None,
        " =x",
        "＝x",
        "\n=x",
        "x=",
        "é",
        "'=x",
        "=",
        "\xa0\u3000-x",
        "\x0b+x",
        "\x1f@x",
        "\u2028=x",
        " \t x=",
        "  ",
        "\u200b=x",
    ]
    df = pd.DataFrame(
        {
            "RISKY": pd.Series(starts, dtype=dtype),
            "SAFE": pd.Series(["a", "b", None, "é"] * 4, dtype=dtype)[: len(starts)].reset_index(drop=True),
            "MIXED": pd.Series([-5, "-5", 3.5, None] * 4, dtype=object)[: len(starts)].reset_index(drop=True),
            "NUMBER": range(-8, len(starts) - 8),
        },
        index=range(100, 100 + len(starts)),
    )
    pd.testing.assert_frame_equal(escape_formula_injection(df), reference_escape(df))
    empty = df.iloc[:0]
    pd.testing.assert_frame_equal(escape_formula_injection(empty), reference_escape(empty))


def sites_frame(dtype) -> pd.DataFrame:
    """Queries of several sites: missing and look-alike site ids, closed and missing statuses, ties
    and missing values in the sort keys, unicode, and text to escape in one site only (so only that
    site's column changes dtype)."""
    site = ["101", "102", None, "101", "é03", "102", "101", "1010", "101", "102", "101", "é03"]
    n = len(site)
    frame = pd.DataFrame(
        {c: pd.Series([f"{c.lower()}{i % 3}" for i in range(n)], dtype=dtype) for c in LISTING_COLUMNS}
    )
    frame["SITEID"] = pd.Series(site, dtype=dtype)
    frame["STATUS"] = pd.Series(
        ["OPEN", "OPEN", "OPEN", "CLOSED", "OPEN", None] + ["OPEN"] * (n - 6), dtype=dtype
    )
    frame["SUBJID"] = pd.Series(
        ["S2", "S1", "S1", None, "Sé", "S1", "S2", "S1", None, "S1", "S2", "S0"], dtype=dtype
    )
    frame["FORM"] = pd.Series(["LB"] * n, dtype=dtype)  # ties: QUERY_ID decides, then the input order
    frame["QUERY_ID"] = pd.Series(
        ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q1", "Q8", "Q9", "Q10", "Q1", None], dtype=dtype
    )
    frame["VALUE"] = pd.Series(
        ["=1+1", "x", "-3", "y", "中文", None, "", "@a", "z", "ok", "+", "é"], dtype=dtype
    )
    frame["SRC_LINE"] = [1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, None, 9.0, 10.0, 11.0, 12.0]
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


SITES = ["101", "102", "1010", "999", "é03"]  # 999: no rows; "1010" must not take 101's rows


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_site_listings_of_all_sites_at_once_equal_one_site_at_a_time(dtype):
    queries = sites_frame(dtype)
    fast = derive_site_listings(queries, SITES)
    assert list(fast) == SITES
    for site in SITES:
        pd.testing.assert_frame_equal(fast[site], derive_site_listing(queries, site))
    for site, listing in derive_site_listings(queries.iloc[:0], SITES).items():
        pd.testing.assert_frame_equal(listing, derive_site_listing(queries.iloc[:0], site))


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_split_by_site_equals_a_filter_per_site_then_escaping(dtype):
    frame = sites_frame(dtype)
    fast = split_by_site(frame, SITES)
    for site in SITES:
        expected = escape_formula_injection(
            frame[frame["SITEID"].eq(site).fillna(False)].reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(fast[site], expected)


def reference_xlsx(sheets: dict[str, pd.DataFrame], created: pd.Timestamp) -> bytes:
    """The workbook written the straightforward way: openpyxl sets every column width itself, the
    data rows (:func:`_rows_xml`) go after each header row, every zip entry is stamped ``created``."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    rows = {}
    for number, (name, frame) in enumerate(sheets.items(), start=1):
        ws = wb.create_sheet(title=name[:31])
        for i, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200).tolist()])
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"
        header = []
        for c in frame.columns:
            cell = WriteOnlyCell(ws, value=str(c))
            cell.data_type = "s"
            header.append(cell)
        ws.append(header)
        rows[f"xl/worksheets/sheet{number}.xml"] = _rows_xml(frame)
    stamp = created.tz_convert("UTC").tz_localize(None)
    wb.properties.created = wb.properties.modified = stamp.to_pydatetime()
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in rows:
                head, sep, tail = content.decode().rpartition("</sheetData>")
                content = (head + rows[info.filename] + sep + tail).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, content)
    return out.getvalue()


def test_xlsx_from_a_shared_template_equals_openpyxl_writing_each_workbook(tmp_path):
    frame = tricky_frame()
    wide = pd.DataFrame({f"C & <{i}> é": pd.Series(["v" * i, None], dtype="str") for i in range(1, 70)})
    created = pd.Timestamp("2026-05-01T02:00:00Z")
    books = [
        {"Open queries": frame, "Quarantine": frame.iloc[:0]},
        {"Open queries": frame.iloc[3:5], "Quarantine": wide},  # same layout, other widths
        {"A sheet title longer than thirty-one characters": wide, "Other": frame[["STR", "INT"]]},
    ]
    for number, sheets in enumerate(books * 2):
        path = write_xlsx(sheets, tmp_path / f"{number}.xlsx", created=created)
        assert path.read_bytes() == reference_xlsx(sheets, created)
