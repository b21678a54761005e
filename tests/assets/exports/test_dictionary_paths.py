"""The per-distinct-value fast paths (text read dictionary encoded, doubles and dates encoded on
the fly) give exactly the straightforward per-row results, on awkward literal input: nulls,
non-ASCII, JSON escapes, -0.0 / NaN, empty columns, several chunks with different dictionaries and
dictionaries holding values no row uses."""

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.common.findings import make_findings
from assets.common.parquet import read_labels, write_parquet
from assets.exports.dataset_json import parquet_batches, rows_json
from assets.exports.define_xml import collect_used_terms, collect_value_levels
from assets.exports.metadata import (
    SPEC_DATASET_COLUMNS,
    SPEC_VARIABLE_COLUMNS,
    _char_stats,
    describe_table,
    describe_written,
    load_spec,
    read_export_table,
)
from assets.exports.xpt import char_bytes, xpt_problems

NO_SPEC = pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)
UNUSED = "UNUSED VALUE, LONGER THAN ANY ROW'S, NON-ASCII É, WITH A T"

TEXT = ["plain", 'say "hi"', "back\\slash", "tab\tnew\nline", "\x01ctl", "NAUSÉE", "", None, "plain", None]
ORRES = [" 12", "1e3", "nan", "inf", "", None, "NEGATIVE", "1,5", "-0", "１２"]  # last: full-width digits
CODES = ["A", "A", "B", "B", "C", "C", None, "D", "D", "E"]


def _dictionary_chunks(values: list, chunk_rows: int = 4) -> pa.ChunkedArray:
    """``values`` dictionary encoded, in chunks of ``chunk_rows`` with a dictionary each that also
    holds a value no row uses (first in the dictionary, so indices are not 0..k-1)."""
    chunks = []
    for start in range(0, len(values), chunk_rows):
        part = values[start : start + chunk_rows]
        distinct = [UNUSED] + sorted({v for v in part if v is not None})
        indices = pa.array([None if v is None else distinct.index(v) for v in part], pa.int32())
        chunks.append(pa.DictionaryArray.from_arrays(indices, pa.array(distinct, pa.string())))
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string()))


def _both(columns: dict) -> tuple[pa.Table, pa.Table]:
    """(plain table, the same with every text column dictionary encoded)."""
    plain = pa.table(columns)
    encoded = pa.table(
        {
            name: _dictionary_chunks(plain[name].to_pylist()) if pa.types.is_string(plain[name].type) else col
            for name, col in zip(plain.column_names, plain.columns)
        }
    )
    return plain, encoded


def test_rows_json_of_dictionary_text_floats_and_dates_equals_json_dumps():
    floats = [1.0, -0.0, 0.0, float("nan"), None, 1e-7, 2.5e300, 0.1, -0.0, 1.0]
    dates = [dt.date(2026, 1, 5), None, dt.date(1960, 1, 1)] * 3 + [None]
    stamps = [dt.datetime(2026, 1, 1, 8, 30), None] * 5
    plain, encoded = _both(
        {
            "TEXT": pa.array(TEXT, pa.string()),
            "AVAL": pa.array(floats, pa.float64()),
            "F32": pa.array([v if v is None else 0.5 for v in floats], pa.float32()),
            "ADT": pa.array(dates, pa.date32()),
            "ADTM": pa.array(stamps, pa.timestamp("s")),
        }
    )
    rows = [
        [
            t,
            None if f is None or f != f else f,
            None if f is None else 0.5,
            None if d is None else d.isoformat(),
            None if s is None else s.isoformat(),
        ]
        for t, f, d, s in zip(TEXT, floats, dates, stamps, strict=True)
    ]
    expected = json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))[1:-1]
    assert rows_json(encoded, encoded.column_names) == expected
    assert rows_json(plain, plain.column_names) == expected


def test_rows_json_of_empty_and_all_null_dictionary_columns():
    empty = pa.table({"TEXT": _dictionary_chunks([])})
    assert rows_json(empty, ["TEXT"]) == ""
    nulls = pa.table({"TEXT": _dictionary_chunks([None, None]), "AVAL": pa.array([None, None], pa.float64())})
    assert rows_json(nulls, ["TEXT", "AVAL"]) == "[null,null],[null,null]"


def test_parquet_batches_read_text_as_dictionaries_and_keep_adam_date_text_converted(tmp_path):
    frame = pd.DataFrame(
        {"USUBJID": ["S-1", None, "S-2"], "ADT": ["2026-01-05", "", None], "AVAL": [1.0, 2.0, None]}
    )
    path = write_parquet(frame, tmp_path / "adxx.parquet")
    batch = next(iter(parquet_batches(path, "adam")))
    assert pa.types.is_dictionary(batch.schema.field("USUBJID").type)
    assert batch.schema.field("ADT").type == pa.date32()
    assert (
        rows_json(batch, batch.schema.names) == '["S-1","2026-01-05",1.0],[null,null,2.0],["S-2",null,null]'
    )


def test_char_stats_count_only_the_values_rows_use():
    plain, encoded = _both({"TEXT": pa.array(TEXT, pa.string()), "DTC": ["2026-01-01"] * 9 + [None]})
    used = [v.encode() for v in TEXT if v is not None]
    # (longest, any time, shortest non-empty): the shortest decides date or partialDate
    shortest = min(len(v) for v in used if v)
    expected = {"TEXT": (max(len(v) for v in used), False, shortest), "DTC": (10, False, 10)}
    assert _char_stats(encoded) == _char_stats(plain) == expected
    assert _char_stats(pa.table({"TEXT": _dictionary_chunks([])})) == {"TEXT": (1, False, None)}


def test_describe_table_of_dictionary_text_equals_plain(tmp_path):
    plain, encoded = _both({"USUBJID": ["S-1", None, "S-2", "S-1"], "AETERM": ["NAUSÉE", "", None, "RASH"]})
    a = describe_table(plain, "sdtm", "ae", *NO_SPEC)
    b = describe_table(encoded, "sdtm", "ae", *NO_SPEC)
    assert a == b
    path = write_parquet(plain.to_pandas(), tmp_path / "ae.parquet")
    table = read_export_table(path, "sdtm", dictionary_text=True)
    assert pa.types.is_dictionary(table.schema.field("AETERM").type)
    assert describe_table(table, "sdtm", "ae", *NO_SPEC) == a


@pytest.mark.parametrize("width", [1, 8, 12])
def test_char_bytes_of_dictionary_text_equals_padded_values(width):
    values = ["A", None, "", "ABCDEFGH", None, "B", "ABCDEFGH", "A", "C"]
    values = [v if v is None else v[:width] for v in values]
    expected = np.array(
        [list(("" if v is None else v).encode().ljust(width)) for v in values], dtype=np.uint8
    ).reshape(-1, width)
    encoded = _dictionary_chunks(values)
    np.testing.assert_array_equal(char_bytes(encoded, width), expected)
    np.testing.assert_array_equal(
        char_bytes(pa.chunked_array([pa.array(values, pa.string())]), width), expected
    )
    assert char_bytes(_dictionary_chunks([]), width).shape == (0, width)


def test_xpt_problems_of_dictionary_text_equal_plain():
    long = "X" * 201
    plain, encoded = _both(
        {"USUBJID": ["S-1", "S-2", None, "S-1", "S-3"], "AETERM": ["É", long, None, "", "É"]}
    )
    ds = describe_table(plain, "sdtm", "ae", *NO_SPEC)
    a, b = xpt_problems(ds, plain), xpt_problems(ds, encoded)
    pd.testing.assert_frame_equal(a, b)
    assert sorted(zip(a["RULE"], a["RECID"])) == [
        ("xpt_ascii", "1"),
        ("xpt_ascii", "5"),
        ("xpt_char_200", "2"),
    ]


def _reference_value_levels(codes: list, results: list) -> list[tuple]:
    """The straightforward rule, row by row in pandas: (code, type, length) per test code."""
    frame = pd.DataFrame({"TESTCD": pd.Series(codes, dtype="string")})
    values = pd.Series(results, dtype="string")
    frame["LEN"] = values.str.encode("utf-8").str.len()
    frame["NOT_NUMBER"] = values.notna() & (values != "") & pd.to_numeric(values, errors="coerce").isna()
    stats = (
        frame.dropna(subset=["TESTCD"])
        .groupby("TESTCD", sort=True)
        .agg(LEN=("LEN", "max"), NN=("NOT_NUMBER", "any"))
    )
    return [
        (code, "text" if row["NN"] else "float", max(int(row["LEN"]) if pd.notna(row["LEN"]) else 1, 1))
        for code, row in stats.iterrows()
    ]


def test_collect_value_levels_of_dictionary_text_equal_the_row_by_row_rule():
    results = ["70", " 12", "1e3", "nan", None, None, "x", "inf", "１２", ""]
    plain, encoded = _both({"VSTESTCD": CODES, "VSTEST": [None, "Weight"] + ["T"] * 8, "VSORRES": results})
    ds = describe_table(plain, "sdtm", "vs", *NO_SPEC)
    expected = _reference_value_levels(CODES, results)
    for table in (plain, encoded):
        levels = collect_value_levels(ds, table)
        assert [(v.testcd, v.define_type, v.length) for v in levels] == expected
        assert {v.testcd: v.test for v in levels} == {"A": "", "B": "T", "C": "T", "D": "T", "E": "T"}
    assert _reference_value_levels(CODES, ORRES) == [
        (v.testcd, v.define_type, v.length)
        for v in collect_value_levels(ds, pa.table({"VSTESTCD": _dictionary_chunks(CODES), "VSORRES": ORRES}))
    ]


def test_int8_indices_with_a_full_dictionary_and_a_null_row():
    words = [f"W{i:03d}" for i in range(128)]
    column = pa.DictionaryArray.from_arrays(pa.array([127, None, 0], pa.int8()), pa.array(words))
    assert rows_json(pa.table({"T": column}), ["T"]) == '["W127"],[null],["W000"]'
    np.testing.assert_array_equal(
        char_bytes(column, 5), np.array([list(b"W127 "), list(b"     "), list(b"W000 ")], dtype=np.uint8)
    )


def test_xpt_problems_only_for_values_rows_use_and_none_is_the_empty_findings_shape():
    # the bad value is in a dictionary, not in any row: no finding, the cheap check sends the
    # column to the per-row search, which finds nothing
    encoded = pa.table({"USUBJID": ["S-1", "S-2"], "AETERM": _dictionary_chunks(["A", None])})
    ds = describe_table(encoded, "sdtm", "ae", *NO_SPEC)
    none = xpt_problems(ds, encoded)
    pd.testing.assert_frame_equal(none, make_findings(pd.DataFrame([])))
    fits = pa.table({"USUBJID": ["S-1", None], "AETERM": ["A", "X" * 200]})
    pd.testing.assert_frame_equal(xpt_problems(describe_table(fits, "sdtm", "ae", *NO_SPEC), fits), none)


def test_export_table_and_description_are_read_again_when_the_file_changes(tmp_path):
    root = tmp_path / "blinded"
    path = write_parquet(pd.DataFrame({"USUBJID": ["S-1"], "AETERM": ["RASH"]}), root / "sdtm" / "ae.parquet")
    first = read_export_table(path, "sdtm", dictionary_text=True)
    assert read_export_table(path, "sdtm", dictionary_text=True) is first  # cached while unchanged
    assert describe_written(root)[0].variable("AETERM").length == 4
    write_parquet(pd.DataFrame({"USUBJID": ["S-1"], "AETERM": ["HEADACHE"]}), path)
    assert read_export_table(path, "sdtm", dictionary_text=True)["AETERM"].to_pylist() == ["HEADACHE"]
    (described,) = describe_written(root)
    assert described.variable("AETERM").length == 8
    assert described == describe_table(
        read_export_table(path, "sdtm"), "sdtm", "ae", *load_spec("sdtm"), *read_labels(path), path
    )


def test_used_terms_of_dictionary_text_are_the_values_rows_use():
    plain, encoded = _both(
        {"AESEV": ["MILD", None, "", "SÉVÈRE", "MILD"], "AEREL": [None] * 5, "N": [1, 2, 3, 2, None]}
    )
    ds = describe_table(plain, "sdtm", "ae", *NO_SPEC)
    ds = dataclasses.replace(ds, variables=tuple(dataclasses.replace(v, codelist="C1") for v in ds.variables))
    expected = {"AESEV": ["MILD", "SÉVÈRE"], "AEREL": [], "N": ["1", "2", "3"]}
    assert collect_used_terms(ds, plain) == collect_used_terms(ds, encoded) == expected
    assert collect_used_terms(ds, plain.slice(0, 0)) == {"AESEV": [], "AEREL": [], "N": []}
