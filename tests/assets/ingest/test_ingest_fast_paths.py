"""The ingest I/O and bookkeeping shortcuts give the straightforward results, on tricky literal input.

Counting rows from bytes already read, skipping the newline count of quote-free files, converting
all sites' tables of a form at once, looking visit numbers up once per label, filtering only the
kept columns and sharing sites out by bytes are checked against what they replace."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import study
from assets.ingest.batch import balanced_batches
from assets.ingest.harmonize import derive_var_visitnum, drop_helper_columns, harmonize_form
from assets.ingest.reading import _physical_lines, count_csv_rows, read_form
from assets.ingest.site_ingest import with_source
from assets.ingest.validate import split_valid_and_quarantine
from tests.exports import form_header

HEADER = ",".join(form_header("AE")).encode()
V2_EMPTY = b"," * (len(form_header("AE")) - 13)  # the v2 seriousness and coding columns, empty
ROW = (
    b"LDIL2SLE,101,101-0001,AE1,HEADACHE,10-MAR-2026,,N,MILD,N,NOT RELATED,DOSE NOT CHANGED,RECOVERED"
    + V2_EMPTY
)
FILES = [
    HEADER + b"\n" + ROW + b"\n",
    HEADER + b"\n" + ROW,  # no newline at the end
    b"\xef\xbb\xbf"
    + HEADER
    + b"\r\n"
    + ROW
    + b"\r\n"
    + ROW.replace(b"HEADACHE", b'"RASH ""A""\r\nB"')
    + b"\r\n",
    HEADER + b"\n" + ROW.replace(b"HEADACHE", b'"A\nB\n\nC"') + b"\n" + ROW + b"\n\n" + ROW + b"\n",
    HEADER + b"\n" + ROW.replace(b"HEADACHE", b'"\xc3\x9cn\xc3\xafc\xc3\xb6d\xc3\xa9, quoted"') + b"\n",
    HEADER + b"\n",  # header only
    b"",  # empty file
    b"\xff\xfe" + HEADER + b"\n" + ROW + b"\n",  # header not UTF-8
    HEADER + b"\n" + ROW.replace(b"HEADACHE", b"HEAD\xffACHE") + b"\n",  # a value not UTF-8
    HEADER + b"\n" + ROW + b",EXTRA\n",  # a row with one value too many
]


def _write(tmp_path, data: bytes):
    path = tmp_path / "AE.csv"
    path.write_bytes(data)
    return path


def _outcome(count, *args):
    """The count, or the error it raised (type and message)."""
    try:
        return count(*args)
    except Exception as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("data", FILES)
def test_rows_counted_from_bytes_read_equal_rows_counted_from_the_file(tmp_path, data):
    path = _write(tmp_path, data)
    assert _outcome(count_csv_rows, path, data) == _outcome(count_csv_rows, path)


@pytest.mark.parametrize("data", FILES)
def test_line_numbers_of_files_without_quotes_need_no_newline_count(tmp_path, data):
    read = read_form(_write(tmp_path, data), "AE", "X")
    if read.table is None:
        return
    table = read.table.drop_columns(["SRC_EXPORT", "SRC_FILE", "SRC_LINE"])
    counted = _physical_lines(table)  # every value's newlines counted
    assert read.table["SRC_LINE"].to_numpy().tolist() == counted.tolist()
    if b'"' not in data:
        assert _physical_lines(table, quoted=False).tolist() == counted.tolist()


def _reads(tmp_path):
    """Two sites' AE tables (one empty) and an IWRS-like table whose rows name their sites."""
    tables = {}
    for source, data in (("101", FILES[3]), ("102", FILES[5]), ("103", FILES[4])):
        folder = tmp_path / source
        folder.mkdir()
        tables[source] = read_form(_write(folder, data), "AE", "X").table
    return tables


def test_tables_converted_at_once_equal_frames_converted_per_file_and_concatenated(tmp_path):
    tables = _reads(tmp_path)
    sources = [*tables, "IWRS"]
    tables["IWRS"] = tables["103"]
    frames = []
    for source in sources:
        frame = tables[source].to_pandas()
        frame.insert(0, "SRC_SITE", source if source != "IWRS" else frame["SITEID"])
        frame.insert(0, "SRC_SOURCE", source)
        frames.append(frame)
    expected = pd.concat(frames, ignore_index=True)
    got = pa.concat_tables([with_source(tables[s], s) for s in sources]).to_pandas()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert (got.dtypes == expected.dtypes).all()


@pytest.mark.parametrize(
    "labels", [["SCREENING", None, "WEEK 4", "nope", "UNSCHEDULED", "SCREENING", "\u00e9", ""], [], [None]]
)
def test_visit_numbers_looked_up_once_per_label_equal_a_lookup_per_row(labels):
    visits = pd.Series(labels, dtype="str", index=np.arange(len(labels)) * 3)
    got = derive_var_visitnum(pd.DataFrame({"VISIT": visits}))["VISITNUM"]
    pd.testing.assert_series_equal(got, visits.map(study.visitnum_map()).astype("Int64"), check_names=False)


def test_valid_rows_filtered_on_the_kept_columns_equal_rows_filtered_then_columns_dropped():
    rows = pd.DataFrame(
        {
            "STUDYID": [study.studyid()] * 4,
            "SITEID": ["101", "101", "102", None],
            "SUBJID": ["101-0001", "101-0002", "101-0003", "101-0004"],
            "RECID": ["R1", "R1", "R2", "R3"],
            "VISIT": ["SCREENING", "WEEK 4", None, "x"],
            "VSDAT": ["07-MAR-2026", "31-FEB-2026", "", None],
            "VSTESTCD": ["WEIGHT", "HEIGHT", "TEMP", None],
            "VSORRES": ["70", "x", "37", None],
            "VSORRESU": ["kg", "cm", "C", None],
            "SRC_EXPORT": "X",
            "SRC_FILE": "VS.csv",
            "SRC_LINE": [2, 3, 4, 5],
        },
        dtype="str",
    ).astype({"SRC_LINE": "int64"})
    rows.insert(0, "SRC_SITE", "101")
    for harmonized in (
        harmonize_form(rows, "VS"),
        harmonize_form(rows.iloc[:1], "VS"),
        harmonize_form(rows.iloc[:0], "VS"),
    ):
        helpers = [c for c in harmonized.columns if c not in drop_helper_columns(harmonized).columns]
        valid, quarantine = split_valid_and_quarantine(harmonized, "VS", "101", drop=helpers + ["SRC_SITE"])
        all_valid, all_quarantine = split_valid_and_quarantine(harmonized, "VS", "101")
        pd.testing.assert_frame_equal(valid, drop_helper_columns(all_valid).drop(columns="SRC_SITE"))
        pd.testing.assert_frame_equal(quarantine, all_quarantine)


def test_sites_shared_out_by_bytes_each_once_in_partition_order(tmp_path):
    sizes = {"101": 10, "102": 70, "103": 30, "104": 30, "105": 0}
    for site, size in sizes.items():
        folder = tmp_path / "sites" / site / "20260301T020000Z"
        folder.mkdir(parents=True)
        (folder / "AE.csv").write_bytes(b"x" * size)
    batches = balanced_batches(list(sizes), tmp_path, 2)
    assert sorted(s for b in batches for s in b) == list(sizes)
    assert all(b == sorted(b) for b in batches)
    assert sorted(sum(sizes[s] for s in b) for b in batches) == [70, 70]
    assert balanced_batches(["101"], tmp_path, 2) == [["101"]]
    assert balanced_batches(["105", "106", "107"], tmp_path, 2) == [["105", "107"], ["106"]]  # no bytes
    assert balanced_batches([], tmp_path, 2) == []
