"""The one Parquet writer: rows sorted as pandas' stable sort with missing values last, same bytes
on a rewrite, atomic."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from assets.common.parquet import write_parquet

ROWS = pd.DataFrame(
    {
        "TEXT": pd.array(["b", None, "a", "é", "a", "Z", "", "ab"], dtype="string"),
        "NUM": [2.0, np.nan, 1.0, -0.0, np.nan, 0.0, np.inf, 1.0],
        "INT": pd.array([1, 2, None, 4, 1, None, 2, 1], dtype="Int64"),
        "FLAG": [True, False, True, False, True, False, True, False],
        "ROW": range(8),
    }
)


@pytest.mark.parametrize(
    "keys", [["TEXT"], ["NUM"], ["TEXT", "NUM"], ["INT", "TEXT"], ["FLAG", "INT", "NUM"]]
)
def test_rows_are_in_pandas_stable_sort_order_with_missing_last(tmp_path, keys):
    path = write_parquet(ROWS, tmp_path / "t.parquet", sort_by=keys)
    expected = ROWS.sort_values(keys, kind="stable", na_position="last")["ROW"].tolist()
    assert pq.read_table(path)["ROW"].to_pylist() == expected


def test_text_sorts_by_code_point_and_a_rewrite_gives_the_same_bytes(tmp_path):
    path = write_parquet(ROWS, tmp_path / "t.parquet", sort_by=["TEXT"])
    assert pq.read_table(path)["TEXT"].to_pylist() == ["", "Z", "a", "a", "ab", "b", "é", None]
    first = path.read_bytes()
    write_parquet(ROWS.sample(frac=1, random_state=3), path, sort_by=["TEXT", "ROW"])
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary file left behind


def test_unknown_sort_key_names_the_file_and_the_key(tmp_path):
    with pytest.raises(KeyError, match=r"t\.parquet.*NOPE"):
        write_parquet(ROWS, tmp_path / "t.parquet", sort_by=["NOPE"])


def test_read_parquet_sees_every_rewrite_and_callers_get_their_own_frame(tmp_path):
    from assets.common.parquet import read_parquet

    path = write_parquet(ROWS, tmp_path / "t.parquet", sort_by=["ROW"])
    first = read_parquet(path)
    first.loc[0, "TEXT"] = "changed by a caller"
    assert read_parquet(path)["TEXT"].iloc[0] == "b"
    assert list(read_parquet(path, columns=["ROW"]).columns) == ["ROW"]
    write_parquet(ROWS.head(2), path, sort_by=["ROW"])  # rewritten in place (atomic rename)
    assert read_parquet(path)["ROW"].tolist() == [0, 1]


def test_the_written_table_served_from_the_cache_is_what_reading_the_file_gives(tmp_path):
    """write_parquet keeps the table it wrote as the file's read: it must equal a fresh read of the
    file, schema, labels and dataset metadata included, for every column type the pipeline writes."""
    import datetime

    import pyarrow as pa

    from assets.common.parquet import read_arrow

    frame = ROWS.assign(
        DATE=pd.array(
            [datetime.date(2026, 1, d) for d in range(1, 8)] + [None], dtype=pd.ArrowDtype(pa.date32())
        ),
        STAMP=pd.to_datetime(["2026-01-01T10:00"] * 7 + [None]),
        CODES=pd.Categorical(["x", "y", None, "x", "y", "x", "x", "y"]),
        EMPTY=[None] * 8,
        FLOAT=pd.array([1.5, None, 2.0, 0.0, None, -0.0, 3.0, 1.0], dtype="Float64"),
        STR=pd.Series(["a", None, "b", "ü", "", "c", "d", "e"], dtype="str"),
    )
    path = write_parquet(
        frame, tmp_path / "t.parquet", sort_by=["TEXT", "ROW"], labels={"TEXT": "Text"}, dataset_label="T"
    )
    cached = read_arrow(path)
    fresh = pq.read_table(path)
    assert cached.schema.equals(fresh.schema, check_metadata=True)
    assert cached.equals(fresh, check_metadata=True)
    assert pa.types.is_dictionary(fresh.schema.field("CODES").type)  # a categorical is read from the file


def test_every_file_records_the_code_version_beside_the_contract_version(tmp_path):
    from assets.common.version import code_version

    path = tmp_path / "t.parquet"
    write_parquet(ROWS, path)
    meta = pq.read_schema(path).metadata
    assert meta[b"contract_version"] == b"2"
    assert meta[b"code_version"] == code_version().encode()
    assert code_version() not in ("", "0+unknown")  # the package is installed (make venv)
