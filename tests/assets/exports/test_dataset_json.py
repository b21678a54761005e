"""Dataset-JSON 1.1: valid against the CDISC schema, round trip, streaming, byte-identical reruns."""

import datetime as dt
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.common.parquet import read_parquet, write_parquet
from assets.exports.build import build_dataset_json
from assets.exports.dataset_json import (
    parquet_batches,
    read_dataset_json,
    read_dataset_json_header,
    rows_json,
    write_dataset_json,
)
from assets.exports.metadata import describe_written
from tests.assets.exports.builders import build_mode_root

REFERENCE = Path("/work/shared/reference/dataset-json")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((REFERENCE / "dataset.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture
def mode_root(tmp_path):
    return build_mode_root(tmp_path / "wh" / "blinded")


def test_validator_accepts_the_cdisc_example_and_rejects_a_broken_copy(validator):
    example = json.loads((REFERENCE / "example-sdtm-ae.json").read_text())
    assert list(validator.iter_errors(example)) == []
    broken = {k: v for k, v in example.items() if k != "itemGroupOID"}
    broken["datasetJSONVersion"] = "1.0.0"
    assert len(list(validator.iter_errors(broken))) == 2


def test_every_written_file_is_valid_dataset_json_1_1(mode_root, validator):
    paths = build_dataset_json(mode_root)
    assert sorted(p.relative_to(mode_root).as_posix() for p in paths) == [
        "submission/adam/adeff.json",
        "submission/adam/adsl.json",
        "submission/sdtm/dm.json",
        "submission/sdtm/lb.json",
    ]
    for path in paths:
        doc = json.loads(path.read_text())
        assert list(validator.iter_errors(doc)) == [], path.name
        assert doc["datasetJSONVersion"] == "1.1.0"
        assert doc["records"] == len(doc["rows"])


def test_metadata_columns_types_lengths_and_keys(mode_root):
    build_dataset_json(mode_root)
    dm = read_dataset_json_header(mode_root / "submission" / "sdtm" / "dm.json")
    assert (dm["itemGroupOID"], dm["name"], dm["label"], dm["records"]) == ("IG.DM", "DM", "Demographics", 3)
    cols = {c["name"]: c for c in dm["columns"]}
    assert cols["USUBJID"] == {
        "itemOID": "IT.DM.USUBJID",
        "name": "USUBJID",
        "label": "Unique Subject Identifier",
        "dataType": "string",
        "length": 17,
        "keySequence": 2,  # sdtm_datasets.csv: DM keys STUDYID USUBJID
    }
    assert cols["AGE"]["dataType"] == "integer" and "length" not in cols["AGE"]
    assert cols["RFSTDTC"]["dataType"] == "datetime"  # one value carries a time
    adsl = read_dataset_json_header(mode_root / "submission" / "adam" / "adsl.json")
    trtsdt = {c["name"]: c for c in adsl["columns"]}["TRTSDT"]
    assert (trtsdt["dataType"], trtsdt["targetDataType"], trtsdt["displayFormat"]) == (
        "date",
        "integer",
        "DATE9.",
    )


def test_round_trip_equals_the_parquet_values(mode_root):
    build_dataset_json(mode_root)
    for ds in describe_written(mode_root):
        _, back = read_dataset_json(mode_root / "submission" / ds.standard / f"{ds.file_stem}.json")
        original = read_parquet(ds.path)
        if "TRTSDT" in original:
            original["TRTSDT"] = pd.to_datetime(original["TRTSDT"]).astype("datetime64[s]")
        for col in original.columns:
            expected, got = original[col], back[col]
            if expected.dtype.kind in "iuf" or str(expected.dtype) == "Int64":
                pd.testing.assert_series_equal(
                    got.astype("Float64"), expected.astype("Float64"), check_names=False
                )
            elif expected.dtype.kind == "M":
                pd.testing.assert_series_equal(got, expected, check_names=False)
            else:
                assert (
                    got.astype(object).where(got.notna(), None).tolist()
                    == expected.astype(object).where(expected.notna(), None).tolist()
                ), f"{ds.name}.{col}"


def test_streaming_in_small_batches_writes_the_same_bytes(mode_root, tmp_path):
    (path,) = [p for p in build_dataset_json(mode_root) if p.name == "lb.json"]
    header = read_dataset_json_header(path)
    lb = mode_root / "sdtm" / "lb.parquet"
    again = write_dataset_json(tmp_path / "lb.json", header, parquet_batches(lb, "sdtm", batch_rows=1))
    assert again.read_bytes() == path.read_bytes()


def test_timestamps_are_the_data_cut_and_reruns_are_byte_identical(mode_root):
    inventory = pd.DataFrame(
        {
            "SOURCE": ["101", "101", "102"],
            "EXPORT_ID": ["20260301T020000Z", "20260401T020000Z", "20260315T000000Z"],
            "COMPLETE": [True, False, True],
            "IN_FORCE": [True, False, True],
        }
    )
    write_parquet(inventory, mode_root / "ingest" / "qa" / "inventory" / "all.parquet")
    first = {p: p.read_bytes() for p in build_dataset_json(mode_root)}
    header = read_dataset_json_header(mode_root / "submission" / "sdtm" / "dm.json")
    # the incomplete 2026-04-01 export is not in force: the cut is the newest export in force
    assert header["dbLastModifiedDateTime"] == header["datasetJSONCreationDateTime"] == "2026-03-15T00:00:00Z"
    second = {p: p.read_bytes() for p in build_dataset_json(mode_root)}
    assert first == second


def test_a_dataset_no_longer_written_loses_its_json(mode_root):
    build_dataset_json(mode_root)
    (mode_root / "adam" / "adeff.parquet").unlink()
    build_dataset_json(mode_root)
    assert not (mode_root / "submission" / "adam" / "adeff.json").exists()
    assert (mode_root / "submission" / "adam" / "adsl.json").exists()


# --- rows_json: column-wise in Arrow, byte for byte what json.dumps writes ------------------------


def _dumps_rows(table: pa.Table) -> str:
    rows = list(zip(*[table.column(n).to_pylist() for n in table.column_names]))
    return json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))[1:-1]


def test_rows_json_equals_json_dumps_for_awkward_values():
    floats = [1.0, -0.0, 0.0, 0.1, 1e-4, 9.99e-5, 1e16, 9999999999999998.0, 123456789.25, 1e-7, 2.5e300, None]
    text = [
        "plain",
        'say "hi"',
        "back\\slash",
        "tab\tnew\nline",
        "\x01ctl",
        "NAUSÉE",
        "",
        None,
        "a",
        "b",
        "c",
        "d",
    ]
    table = pa.table(
        {
            "AVAL": pa.array(floats, pa.float64()),
            "AVALC": pa.array(text, pa.string()),
            "AGE": pa.array([1, -2, None, 0, 10**15, 3, 4, 5, 6, 7, 8, 9], pa.int64()),
            "FLAG": pa.array([True, False, None] + [True] * 9),
            "EMPTY": pa.array([None] * 12, pa.null()),
        }
    )
    # booleans are written as the integers 0/1 (as before this writer)
    as_ints = table.set_column(3, "FLAG", table.column("FLAG").cast(pa.int64()))
    assert rows_json(table, table.column_names) == _dumps_rows(as_ints)


def test_rows_json_floats_across_magnitudes_equal_repr():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.standard_normal(500) * 10.0**k for k in range(-9, 24)])
    table = pa.table({"AVAL": values, "NAN": np.where(values > 0, values, np.nan)})
    expected = ",".join(
        f"[{a!r},{'null' if np.isnan(b) else repr(b)}]"
        for a, b in zip(values.tolist(), table["NAN"].to_numpy().tolist())
    )
    assert rows_json(table, ["AVAL", "NAN"]) == expected


def test_rows_json_dates_and_datetimes_as_iso_text():
    table = pa.table(
        {
            "TRTSDT": pa.array([dt.date(2026, 1, 5), None], pa.date32()),
            "ADTM": pa.array([dt.datetime(2026, 1, 1, 8, 30), None], pa.timestamp("s")),
        }
    )
    assert rows_json(table, ["TRTSDT", "ADTM"]) == '["2026-01-05","2026-01-01T08:30:00"],[null,null]'


def test_rows_json_refuses_infinity_as_json_does():
    with pytest.raises(ValueError, match="not JSON compliant"):
        rows_json(pa.table({"AVAL": [1.0, float("inf")]}), ["AVAL"])


def test_rows_json_of_repeating_columns_equals_json_dumps():
    # adjacent columns repeating together are joined per distinct combination: many repeats,
    # ties, missing values, unicode, -0.0 and NaN, a unique column between repeating ones
    n = 40
    table = pa.table(
        {
            "STUDYID": ["S1"] * n,
            "USUBJID": [f"S1-{i // 8}" for i in range(n)],
            "SEQ": list(range(n)),
            "TESTCD": [["HGB", "ALT", None, "ÉTAT"][i % 4] for i in range(n)],
            "TEST": [["Hæmoglobin", 'say "hi"', None, "tab\there"][i % 4] for i in range(n)],
            "AVAL": [[1.0, -0.0, float("nan"), None, 0.0][i % 5] for i in range(n)],
            "ADT": [dt.date(2026, 1, 1 + i % 3) if i % 7 else None for i in range(n)],
            "FLAG": [[True, None, False][i % 3] for i in range(n)],
        }
    )
    encoded = table.set_column(3, "TESTCD", table.column("TESTCD").dictionary_encode())
    # as written: booleans as 0/1, NaN as null, dates as ISO text
    reference = (
        table.set_column(7, "FLAG", table.column("FLAG").cast(pa.int64()))
        .set_column(5, "AVAL", pa.array(_nan_as_none(table.column("AVAL"))))
        .set_column(6, "ADT", table.column("ADT").cast(pa.string()))
    )
    expected = _dumps_rows(reference)
    for t in (table, encoded):
        assert rows_json(t, t.column_names) == expected


def test_streamed_batches_sharing_a_dictionary_write_the_same_rows(tmp_path):
    # the text of a dictionary is kept for the next batches: chunks with their own dictionaries
    # (same values in another order) and batches slicing one dictionary both read right
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 1, 0]), pa.array(["a", "b"]))
    second = pa.DictionaryArray.from_arrays(pa.array([1, 0, 0, None, 1]), pa.array(["b", "a"]))
    table = pa.table({"T": pa.chunked_array([first, second]), "N": list(range(10))})
    header = {"records": 10, "columns": [{"name": "T"}, {"name": "N"}]}
    path = write_dataset_json(tmp_path / "t.json", header, table.to_batches(max_chunksize=2))
    rows = json.loads(path.read_text())["rows"]
    assert rows == [[t, n] for t, n in zip(table.column("T").to_pylist(), range(10), strict=True)]


def _nan_as_none(column) -> list:
    return [None if v is not None and v != v else v for v in column.to_pylist()]


def _lb_dataset(values):
    from assets.exports.metadata import SPEC_DATASET_COLUMNS, SPEC_VARIABLE_COLUMNS, describe_table

    table = pa.table({"USUBJID": [f"S{i + 1}" for i in range(len(values))], "LBSTRESN": values})
    spec = pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)
    return describe_table(table, "sdtm", "lb", *spec, {}, "Laboratory Test Results"), table


def _header(ds):
    return {"records": int(ds.records), "columns": [{"name": v.name} for v in ds.variables]}


def test_an_infinite_number_is_a_finding_naming_dataset_variable_row_and_nothing_is_written(tmp_path):
    from assets.exports.dataset_json import dataset_json_problems, write_checked

    ds, table = _lb_dataset([1.5, float("nan"), float("inf"), -float("inf")])
    found = dataset_json_problems(ds, table)
    assert found[["KIND", "FORM", "COLUMN", "RECID", "RULE", "SUBJID", "VALUE"]].values.tolist() == [
        ["DATASET_JSON", "LB", "LBSTRESN", "3", "json_number_finite", "S3", "inf"],
        ["DATASET_JSON", "LB", "LBSTRESN", "4", "json_number_finite", "S4", "-inf"],
    ]
    stale = tmp_path / "lb.json"
    stale.write_text("old")
    assert write_checked(stale, _header(ds), ds, table).equals(found)
    assert not stale.exists()


def test_finite_numbers_are_written_by_write_checked(tmp_path):
    from assets.exports.dataset_json import write_checked

    ds, table = _lb_dataset([1.5, float("nan"), 1e300])
    assert write_checked(tmp_path / "lb.json", _header(ds), ds, table).empty
    assert json.loads((tmp_path / "lb.json").read_text())["rows"] == [
        ["S1", 1.5],
        ["S2", None],
        ["S3", 1e300],
    ]


def test_write_dataset_json_refuses_infinity_naming_the_variable_and_row(tmp_path):
    ds, table = _lb_dataset([1.0, 2.0, float("inf")])
    with pytest.raises(ValueError, match=r"lb\.json: LBSTRESN row 3 is infinite"):
        write_dataset_json(tmp_path / "lb.json", _header(ds), table.to_batches(max_chunksize=1))
    assert not (tmp_path / "lb.json").exists()


def test_a_dataset_with_an_infinite_number_is_not_written_and_each_value_is_a_query(tmp_path):
    import numpy as np

    from assets.common.parquet import write_parquet
    from assets.exports.build import DATASET_JSON_FINDINGS_FILE, build_dataset_json
    from tests.assets.exports.builders import ADEFF, build_mode_root

    root = build_mode_root(tmp_path / "blinded")
    bad = ADEFF.assign(AVAL=[1.0, np.inf, 0.0, 0.0])
    write_parquet(bad, root / "adam" / "adeff.parquet", dataset_label="Efficacy Analysis Dataset")
    written = {p.name for p in build_dataset_json(root)}
    assert "adeff.json" not in written and "dm.json" in written
    findings = pd.read_parquet(root / DATASET_JSON_FINDINGS_FILE)
    assert findings[["FORM", "COLUMN", "RULE"]].values.tolist() == [["ADEFF", "AVAL", "json_number_finite"]]


def test_adam_datetime_stored_in_milliseconds_is_written_to_the_second():
    # pandas writes datetimes as timestamp[ms]: ADSL.TRTSDTM reads back "...T14:10:00", not ".000"
    from assets.exports.dataset_json import rows_json
    from assets.exports.metadata import normalize_adam_dates

    table = pa.table(
        {
            "TRTSDTM": pa.array([dt.datetime(2025, 3, 28, 14, 10), None], pa.timestamp("ms")),
            "FRACTION": pa.array([dt.datetime(2025, 3, 28, 14, 10, 0, 500000)], pa.timestamp("ms")).take(
                [0, 0]
            ),
        }
    )
    out = normalize_adam_dates(table.rename_columns(["TRTSDTM", "ODDDTM"]), "adam")
    assert out.schema.field("TRTSDTM").type == pa.timestamp("s")
    assert out.schema.field("ODDDTM").type == pa.timestamp("ms")  # fractions kept, never cut
    assert rows_json(out.select(["TRTSDTM"]), ["TRTSDTM"]) == '["2025-03-28T14:10:00"],[null]'
