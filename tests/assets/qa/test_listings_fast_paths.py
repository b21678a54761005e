"""The Arrow fast paths of the listings give what the straightforward per-value rules give:
sheet XML of the data rows and formula-injection escaping, on tricky literal input."""

import datetime
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from assets.qa.listings import FORMULA_TRIGGERS, _number_text, _rows_xml, escape_formula_injection

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


def reference_escape(df: pd.DataFrame) -> pd.DataFrame:
    """The rule in pandas string operations: text starting with a trigger gets a leading quote."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        text = series.astype("string")
        risky = text.str.startswith(FORMULA_TRIGGERS).fillna(False)
        if risky.any():
            out[col] = text.mask(risky, "'" + text)
    return out


@pytest.mark.parametrize("dtype", ["str", "string", pd.StringDtype("python"), object])
def test_formula_escaping_matches_the_string_rule_on_tricky_input(dtype):
    starts = [t + "x" for t in FORMULA_TRIGGERS] + ["", None, " =x", "＝x", "\n=x", "x=", "é", "'=x", "="]
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
