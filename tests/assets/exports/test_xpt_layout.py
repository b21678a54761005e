"""XPT record layout: pandas and pyreadstat read every row (CORE-000140: pandas lost tv.xpt's last
record, whose trailing blank values it took for the padding of the last 80-byte card)."""

import dataclasses
import warnings

import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest
from pandas.io.sas.sas_xport import XportReader

from assets.exports.metadata import SPEC_DATASET_COLUMNS, SPEC_VARIABLE_COLUMNS, describe_table
from assets.exports.xpt import write_xpt
from assets.exports.xpt_layout import pandas_reads_all, pandas_record_count, pandas_safe_lengths

NO_SPEC = pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)


def _tv() -> pa.Table:
    """The trial's TV as written (11 visits, ARMCD and TVENRL blank): records of 68 bytes."""
    visits = ["SCREENING", "DAY 1"] + [f"WEEK {w}" for w in (2, 4, 6, 8, 10, 12, 16, 20, 24)]
    days = [None, 1, 15, 29, 43, 57, 71, 85, 113, 141, 169]
    windows = [0, 0, 3, 3, 3, 3, 3, 3, 7, 7, 7]
    strl = ["Day -28 to -1 before first dose"] + [
        f"Study day {day} +/- {w} days" for day, w in zip(days[1:], windows[1:], strict=True)
    ]
    return pa.table(
        {
            "STUDYID": ["LDIL2SLE"] * 11,
            "DOMAIN": ["TV"] * 11,
            "VISITNUM": [float(i) for i in range(1, 12)],
            "VISIT": visits,
            "VISITDY": pa.array(days, pa.float64()),
            "ARMCD": pa.array([None] * 11, pa.string()),
            "TVSTRL": strl,
            "TVENRL": pa.array([None] * 11, pa.string()),
        }
    )


def _read_counts(path) -> tuple[int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pd.read_sas(path, format="xport", encoding="ascii")
    return len(frame), len(pyreadstat.read_xport(path)[0])


def test_tv_sized_to_the_data_loses_its_last_record_in_pandas(tmp_path):
    # the bug as it was: character lengths sized to the data, records of 68 bytes; the last card
    # holds the blank ARMCD/TVSTRL tail/TVENRL of record 11, which pandas counts as padding
    table = _tv()
    ds = describe_table(table, "sdtm", "tv", *NO_SPEC)
    data_lengths = {"STUDYID": 8, "DOMAIN": 2, "VISIT": 9, "ARMCD": 1, "TVSTRL": 31, "TVENRL": 1}
    as_data = dataclasses.replace(
        ds,
        variables=tuple(
            dataclasses.replace(v, length=data_lengths[v.name]) if v.type == "Char" else v
            for v in ds.variables
        ),
    )
    assert write_xpt(as_data, table, tmp_path / "tv.xpt").empty
    assert _read_counts(tmp_path / "tv.xpt") == (10, 11)


def test_tv_as_described_reads_whole_in_pandas_and_pyreadstat(tmp_path):
    table = _tv()
    ds = describe_table(table, "sdtm", "tv", *NO_SPEC)
    lengths = {v.name: v.length for v in ds.variables if v.type == "Char"}
    # the longest text, TVSTRL (31 bytes of data), grows to 44: records of 81 bytes, past the
    # 80 bytes up to which pandas guesses the count from blank words (no shorter widening works)
    assert lengths == {"STUDYID": 8, "DOMAIN": 2, "VISIT": 9, "ARMCD": 1, "TVSTRL": 44, "TVENRL": 1}
    assert write_xpt(ds, table, tmp_path / "tv.xpt").empty
    assert _read_counts(tmp_path / "tv.xpt") == (11, 11)
    frame, meta = pyreadstat.read_xport(tmp_path / "tv.xpt")
    assert frame["TVSTRL"].tolist() == table.column("TVSTRL").to_pylist()  # values unchanged
    assert meta.variable_storage_width["TVSTRL"] == 44


def test_lengths_untouched_when_pandas_already_counts_right():
    # 3 records of 10 bytes + 50 blanks of padding: 6 blank words, 8 * 6 = 48 <= 50 -> 3 rows
    table = pa.table({"A": ["ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ0123"]})
    assert pandas_safe_lengths(table, [("A", 10)]) == {"A": 10}


@pytest.mark.parametrize(
    ("data_bytes", "record_length", "last_card", "expected"),
    [
        (160, 100, b"x" * 80, 1),  # records over 80 bytes: plain division
        (80, 10, b"x" * 10 + b" " * 70, 1),  # 8 blank words (64 bytes) of padding, 16 // 10
        (80, 10, b"x" * 8 + b" " * 72, 0),  # the record's 2 trailing blanks complete a blank word
        (80, 40, b"x" * 32 + b" " * 48, 0),  # a blank data word: (80 - 48) // 40
        (80, 2, b"xx" + b" " * 78, 4),  # records of 2 bytes: the padding's remainder is 3 records
    ],
)
def test_pandas_record_count_known_answers(data_bytes, record_length, last_card, expected):
    assert pandas_record_count(data_bytes, record_length, last_card) == expected


def test_pandas_reads_all_matches_pandas_itself(tmp_path):
    # a record of 16 bytes: "A" blank in the last row -> its 8-byte blank word is aligned at file
    # offset 16 of the last card: pandas would read 1 row of 2; the rule says so too
    records = [b"ROW1    " + b"X" * 8, b"        " + b"Y" * 8]
    assert not pandas_reads_all(records, 2)
    table = pa.table({"A": ["ROW1", None], "B": ["XXXXXXXX", "YYYYYYYY"]})
    ds = describe_table(table, "sdtm", "xx", *NO_SPEC)
    as_data = dataclasses.replace(ds, variables=tuple(dataclasses.replace(v, length=8) for v in ds.variables))
    write_xpt(as_data, table, tmp_path / "xx.xpt")
    reader = XportReader(tmp_path / "xx.xpt", encoding="ascii")
    assert reader.nobs == 1  # what the rule predicted
    reader.close()
    # described, the layout is widened and both readers see 2 rows
    write_xpt(ds, table, tmp_path / "xx.xpt")
    assert _read_counts(tmp_path / "xx.xpt") == (2, 2)
    assert pandas_reads_all([b"ROW1    " + b"X" * 8, b"ROW2    " + b"Y" * 8], 2)
