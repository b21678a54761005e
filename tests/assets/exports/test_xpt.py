"""XPORT v5: round trip through pyreadstat and pandas; what v5 cannot hold is a finding, file not written."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest

from assets.exports.metadata import (
    SPEC_DATASET_COLUMNS,
    SPEC_VARIABLE_COLUMNS,
    describe_table,
    normalize_adam_dates,
)
from assets.exports.xpt import Gathered, ibm_double_bytes, number_bytes, observation_chunks, write_xpt

NO_SPEC = pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)


def _dataset(
    table, standard="adam", name="adsl", labels=None, dataset_label="Subject-Level Analysis Dataset"
):
    table = normalize_adam_dates(table, standard)
    return describe_table(table, standard, name, *NO_SPEC, labels or {}, dataset_label), table


def _adsl():
    return pa.table(
        {
            "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002", None],
            "TRT01P": ["Placebo", "", "IL-2 1 MIU"],
            "EMPTY": pa.array([None, None, None], pa.string()),
            "TRTSDT": ["2026-01-05", "1960-01-01", None],  # ISO text -> SAS date
            "AGE": pa.array([34, None, 0], pa.int64()),
            "CHG": [-4.5, 0.0, None],
        }
    )


LABELS = {
    "USUBJID": "Unique Subject Identifier",
    "TRTSDT": "Date of First Exposure to Treatment",
    "CHG": "Change from Baseline",
}


def test_round_trip_pyreadstat_values_labels_lengths_and_dates(tmp_path):
    ds, table = _dataset(_adsl(), labels=LABELS)
    findings = write_xpt(ds, table, tmp_path / "adsl.xpt")
    assert findings.empty
    frame, meta = pyreadstat.read_xport(tmp_path / "adsl.xpt")
    assert meta.table_name == "ADSL"
    assert meta.file_label == "Subject-Level Analysis Dataset"
    assert dict(zip(meta.column_names, meta.column_labels))["TRTSDT"] == "Date of First Exposure to Treatment"
    # character lengths sized to the data; an all-missing column gets the minimum of 1 byte. But
    # USUBJID (17 bytes in the data): records of 52 bytes, the last 80-byte card holds the blank
    # USUBJID of row 3, which pandas would take for padding, so the longest text grows 2 bytes
    # (xpt_layout.pandas_safe_lengths; see test_xpt_layout.py)
    assert meta.variable_storage_width["USUBJID"] == 19
    assert meta.variable_storage_width["TRT01P"] == 10
    assert meta.variable_storage_width["EMPTY"] == 1
    assert meta.original_variable_types["TRTSDT"] == "DATE9"
    assert frame["USUBJID"].tolist() == ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002", ""]
    assert frame["TRT01P"].tolist() == ["Placebo", "", "IL-2 1 MIU"]
    # pyreadstat applies DATE9.: day 0 of SAS is 1960-01-01
    assert frame["TRTSDT"].tolist()[:2] == [dt.date(2026, 1, 5), dt.date(1960, 1, 1)]
    assert pd.isna(frame["TRTSDT"].iloc[2])
    np.testing.assert_array_equal(frame["AGE"].to_numpy(), [34.0, np.nan, 0.0])
    np.testing.assert_array_equal(frame["CHG"].to_numpy(), [-4.5, 0.0, np.nan])


def test_round_trip_pandas_reads_same_values(tmp_path):
    # pandas 3.1 counts the observations of files with records <= 80 bytes by discounting every
    # 8-byte blank word of the last 80-byte card, so blank values near the end lose rows there
    # (pyreadstat reads them all); a record longer than 80 bytes avoids that heuristic.
    table = _adsl().append_column("COMMENT", pa.array(["c" * 60] * 3))
    ds, table = _dataset(table, labels=LABELS)
    write_xpt(ds, table, tmp_path / "adsl.xpt")
    frame = pd.read_sas(tmp_path / "adsl.xpt", format="xport", encoding="ascii")
    assert list(frame.columns) == ["USUBJID", "TRT01P", "EMPTY", "TRTSDT", "AGE", "CHG", "COMMENT"]
    assert frame["TRT01P"].tolist() == ["Placebo", "", "IL-2 1 MIU"]
    assert frame["USUBJID"].tolist() == ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002", ""]
    # pandas does not apply SAS formats: the date is the number of days since 1960-01-01.
    # pandas 3.1 reads an IBM zero (all bytes 0) as 5.4e-79, hence the absolute tolerance.
    np.testing.assert_allclose(
        frame["TRTSDT"].to_numpy(), [(dt.date(2026, 1, 5) - dt.date(1960, 1, 1)).days, 0, np.nan], atol=1e-70
    )
    np.testing.assert_allclose(frame["CHG"].to_numpy(), [-4.5, 0.0, np.nan], atol=1e-70)


def test_sdtm_dtc_text_stays_character_and_datetime_to_sas_seconds(tmp_path):
    table = pa.table(
        {
            "USUBJID": ["A", "B"],
            "AESTDTC": ["2026-03", ""],
            "ADTM": ["2026-01-01T00:00:10", "2026-01-01T00:01"],
        }
    )
    sdtm, sdtm_table = _dataset(
        table.select(["USUBJID", "AESTDTC"]), standard="sdtm", name="ae", dataset_label="Adverse Events"
    )
    write_xpt(sdtm, sdtm_table, tmp_path / "ae.xpt")
    frame, _ = pyreadstat.read_xport(tmp_path / "ae.xpt")
    assert frame["AESTDTC"].tolist() == ["2026-03", ""]
    adam, adam_table = _dataset(table.select(["USUBJID", "ADTM"]), name="adae", dataset_label="AE Analysis")
    write_xpt(adam, adam_table, tmp_path / "adae.xpt")
    raw = pd.read_sas(tmp_path / "adae.xpt", format="xport")
    seconds = (dt.datetime(2026, 1, 1, 0, 0, 10) - dt.datetime(1960, 1, 1)).total_seconds()
    assert raw["ADTM"].tolist() == [seconds, seconds + 50]  # to the minute: seconds 00


def test_non_ascii_value_is_a_finding_with_dataset_variable_row_and_nothing_written(tmp_path):
    table = pa.table({"USUBJID": ["S1", "S2", "S3"], "AETERM": ["HEADACHE", "NAUSÉE", "RASH"]})
    ds, table = _dataset(table, standard="sdtm", name="ae", dataset_label="Adverse Events")
    stale = tmp_path / "ae.xpt"
    stale.write_bytes(b"old file")
    findings = write_xpt(ds, table, stale)
    assert not stale.exists()  # never a stale or cut file beside the finding
    assert len(findings) == 1
    row = findings.iloc[0]
    assert (row["KIND"], row["SEVERITY"], row["FORM"], row["COLUMN"], row["RECID"], row["RULE"]) == (
        "XPT_V5",
        "ERROR",
        "AE",
        "AETERM",
        "2",
        "xpt_ascii",
    )
    assert row["VALUE"] == "NAUSÉE" and row["SUBJID"] == "S2"


def test_chinese_term_is_a_query_for_its_site_and_subject_asking_for_a_translation(tmp_path):
    table = pa.table(
        {
            "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-102-0007", "LDIL2SLE-102-0007"],
            "AETERM": ["HEADACHE", "头痛", "皮疹 rash"],
        }
    )
    ds, table = _dataset(table, standard="sdtm", name="ae", dataset_label="Adverse Events")
    findings = write_xpt(ds, table, tmp_path / "ae.xpt")
    assert not (tmp_path / "ae.xpt").exists()
    got = findings[["SITEID", "SUBJID", "FORM", "COLUMN", "RECID", "RULE", "VALUE"]].values.tolist()
    assert got == [
        ["102", "102-0007", "AE", "AETERM", "2", "xpt_ascii", "头痛"],
        ["102", "102-0007", "AE", "AETERM", "3", "xpt_ascii", "皮疹 rash"],
    ]
    assert findings["MESSAGE"].str.startswith("English translation needed").all()


def test_character_value_of_200_bytes_fits_201_does_not(tmp_path):
    table = pa.table({"USUBJID": ["S1", "S2"], "AETERM": ["x" * 200, "y" * 201]})
    ds, table = _dataset(table, standard="sdtm", name="ae", dataset_label="Adverse Events")
    findings = write_xpt(ds, table, tmp_path / "ae.xpt")
    assert findings[["RULE", "RECID"]].values.tolist() == [["xpt_char_200", "2"]]


@pytest.mark.parametrize(
    "labels, name, dataset_label, rule, column",
    [
        ({"AETERM": "L" * 41}, "ae", "Adverse Events", "xpt_label_40", "AETERM"),
        ({"AETERM": "L" * 40}, "ae", "D" * 41, "xpt_label_40", ""),
        ({"AETERM": "Événement"}, "ae", "Adverse Events", "xpt_label_ascii", "AETERM"),
        ({}, "suppae01x", "Supplemental Qualifiers", "xpt_name", ""),
    ],
)
def test_names_and_labels_v5_cannot_hold_are_findings(tmp_path, labels, name, dataset_label, rule, column):
    table = pa.table({"AETERM": ["HEADACHE"]})
    ds, table = _dataset(table, standard="sdtm", name=name, labels=labels, dataset_label=dataset_label)
    findings = write_xpt(ds, table, tmp_path / f"{name}.xpt")
    assert findings[["RULE", "COLUMN"]].fillna("").values.tolist() == [[rule, column]]
    assert not (tmp_path / f"{name}.xpt").exists()


def test_label_of_exactly_40_and_name_of_8_fit(tmp_path):
    table = pa.table({"LONGNAME": ["A"]})
    ds, table = _dataset(
        table, standard="sdtm", name="ae", labels={"LONGNAME": "L" * 40}, dataset_label="D" * 40
    )
    assert write_xpt(ds, table, tmp_path / "ae.xpt").empty
    assert (tmp_path / "ae.xpt").exists()


# --- our vectorized writer against pyreadstat (ReadStat), the writer it replaces -----------------

STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


def _without_timestamps(data: bytes) -> bytes:
    # the creation/modification times (ddMMMyy:hh:mm:ss) sit in the first 8 header records
    return STAMP.sub(b"S" * 16, data[:640]) + data[640:]


@pytest.mark.parametrize(
    "value, ibm",
    [
        (1.0, "4110000000000000"),
        (-0.5, "C080000000000000"),
        (100.0, "4264000000000000"),
        (0.1, "401999999999999A"),  # binary exponent -4: the IEEE fraction unshifted, exact
        (0.0, "0000000000000000"),
        (-0.0, "0000000000000000"),
        (np.nan, "2E00000000000000"),  # SAS missing "."
        (1e-80, "0000000000000000"),  # below the IBM range: zero
        (-1e80, "FFFFFFFFFFFFFFFF"),  # above it: the largest magnitude, sign kept
    ],
)
def test_ibm_double_known_answers(value, ibm):
    assert ibm_double_bytes(np.array([value])).tobytes().hex().upper() == ibm


def test_ibm_doubles_read_back_exactly_by_pyreadstat(tmp_path):
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000), [0.0, 1.0, -1.0, 22280.0, np.nan]]
    )
    ds, table = _dataset(pa.table({"AVAL": values}), dataset_label="Values")
    write_xpt(ds, table, tmp_path / "adsl.xpt")
    frame, _ = pyreadstat.read_xport(tmp_path / "adsl.xpt")
    np.testing.assert_array_equal(frame["AVAL"].to_numpy(), values)  # 53 bits fit the 56-bit fraction


def test_bytes_equal_pyreadstat_write_xport_but_for_the_timestamps(tmp_path):
    table = _adsl().append_column("COMMENT", pa.array(["c" * 60, None, "x"]))
    table = table.append_column("ADTM", pa.array(["2026-01-01T00:00:10", None, "2026-01-01T08:30"]))
    ds, table = _dataset(table, labels=LABELS)
    write_xpt(ds, table, tmp_path / "ours.xpt")
    frame = pd.DataFrame(
        {
            "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002", ""],
            "TRT01P": ["Placebo", "", "IL-2 1 MIU"],
            "EMPTY": ["", "", ""],
            "TRTSDT": [(dt.date(2026, 1, 5) - dt.date(1960, 1, 1)).days, 0.0, np.nan],
            "AGE": [34.0, np.nan, 0.0],
            "CHG": [-4.5, 0.0, np.nan],
            "COMMENT": ["c" * 60, "", "x"],
            "ADTM": [
                (dt.datetime(2026, 1, 1, 0, 0, 10) - dt.datetime(1960, 1, 1)).total_seconds(),
                np.nan,
                (dt.datetime(2026, 1, 1, 8, 30) - dt.datetime(1960, 1, 1)).total_seconds(),
            ],
        }
    ).astype({c: object for c in ["USUBJID", "TRT01P", "EMPTY", "COMMENT"]})
    pyreadstat.write_xport(
        frame,
        tmp_path / "theirs.xpt",
        file_format_version=5,
        table_name="ADSL",
        file_label=ds.label,
        column_labels={v.name: v.label for v in ds.variables},
        variable_format={"TRTSDT": "DATE9.", "ADTM": "DATETIME20."},
    )
    ours, theirs = (tmp_path / "ours.xpt").read_bytes(), (tmp_path / "theirs.xpt").read_bytes()
    assert len(ours) % 80 == 0
    assert _without_timestamps(ours) == _without_timestamps(theirs)


def test_observations_in_chunks_equal_one_block():
    blocks = [
        np.arange(10, dtype=np.uint8).reshape(5, 2),
        ibm_double_bytes(np.array([1.0, 2.0, np.nan, -3.0, 0.5])),
        np.full((5, 3), ord("x"), dtype=np.uint8),
    ]
    whole = np.concatenate(blocks, axis=1).tobytes()
    assert b"".join(observation_chunks(blocks, rows_per_chunk=2)) == whole
    assert b"".join(observation_chunks(blocks, rows_per_chunk=100)) == whole
    assert list(observation_chunks([np.empty((0, 3), np.uint8)])) == []


def test_empty_dataset_is_headers_only(tmp_path):
    ds, table = _dataset(pa.table({"USUBJID": pa.array([], pa.string())}), dataset_label="Empty")
    assert write_xpt(ds, table, tmp_path / "adsl.xpt").empty
    frame, meta = pyreadstat.read_xport(tmp_path / "adsl.xpt")
    assert len(frame) == 0 and meta.column_names == ["USUBJID"]
    assert (tmp_path / "adsl.xpt").stat().st_size % 80 == 0


def test_number_bytes_per_distinct_value_equal_ibm_double_bytes():
    values = np.array(
        [1.0, -0.0, 0.0, np.nan, -np.nan, 1.0, 1e-300, 1e300, -np.inf, np.inf, 5e-324, 1.0, 2.5, np.nan, -2.5]
    )
    gathered = number_bytes(values)
    assert len(gathered) == len(values) and gathered.shape == (len(values), 8)
    np.testing.assert_array_equal(gathered[:], ibm_double_bytes(values))
    np.testing.assert_array_equal(gathered[3:7], ibm_double_bytes(values[3:7]))
    assert number_bytes(np.empty(0))[:].shape == (0, 8)


def test_observations_of_gathered_blocks_equal_the_whole_matrices():
    distinct = np.array([list(b"AB"), list(b"C "), list(b"  ")], dtype=np.uint8)
    position = np.array([2, 0, 0, 1, 2])
    numbers = np.array([1.0, np.nan, 1.0, -3.0, 1.0])
    blocks = [Gathered(distinct, position), number_bytes(numbers)]
    whole = np.concatenate([distinct[position], ibm_double_bytes(numbers)], axis=1).tobytes()
    assert b"".join(observation_chunks(blocks, rows_per_chunk=2)) == whole
    assert b"".join(observation_chunks(blocks, rows_per_chunk=100)) == whole


@pytest.mark.parametrize(
    "value, rule",
    [
        (1e100, "xpt_number_range"),  # XPORT would write 7.237e75
        (-1e80, "xpt_number_range"),
        (2.0**249, "xpt_number_range"),
        (1e-80, "xpt_number_range"),  # XPORT would write 0
        (float("inf"), "xpt_number_finite"),
        (float("-inf"), "xpt_number_finite"),
    ],
)
def test_a_number_xport_cannot_hold_is_a_finding_with_dataset_variable_row(tmp_path, value, rule):
    table = pa.table({"USUBJID": ["S1", "S2", "S3"], "LBSTRESN": [1.5, value, None]})
    ds, table = _dataset(table, standard="sdtm", name="lb", dataset_label="Laboratory Test Results")
    path = tmp_path / "lb.xpt"
    findings = write_xpt(ds, table, path)
    assert not path.exists()
    assert findings[["FORM", "COLUMN", "RECID", "RULE", "SUBJID"]].values.tolist() == [
        ["LB", "LBSTRESN", "2", rule, "S2"]
    ]


@pytest.mark.parametrize("value", [9.0e74, 2.0**249 * (1 - 2.0**-53), 6e-79, 0.0, -0.0, -123.25])
def test_numbers_inside_the_ibm_range_are_written_and_read_back(tmp_path, value):
    table = pa.table({"USUBJID": ["S1", "S2"], "LBSTRESN": [value, None]})
    ds, table = _dataset(table, standard="sdtm", name="lb", dataset_label="Laboratory Test Results")
    path = tmp_path / "lb.xpt"
    assert write_xpt(ds, table, path).empty
    df, _ = pyreadstat.read_xport(str(path))
    assert df["LBSTRESN"].iloc[0] == pytest.approx(value, rel=1e-15)
