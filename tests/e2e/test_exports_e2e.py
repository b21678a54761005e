"""End to end: a small generated trial -> `trialpipe run` -> `trialpipe export`; every format reads
back equal to the Parquet table it came from, and the DuckDB catalog answers a known query."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from click.testing import CliRunner

from assets.exports.cli import export_command
from assets.exports.dataset_json import read_dataset_json
from assets.exports.define_xml import d, define_problems, o
from assets.exports.duckdb_catalog import connect_catalog, view_row_counts
from assets.exports.metadata import describe_written, read_export_table
from assets.exports.xpt import SAS_EPOCH

pytestmark = pytest.mark.e2e
SCHEMA = Path("/work/shared/reference/dataset-json/dataset.schema.json")


@pytest.fixture(scope="module")
def mode_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("exports_e2e")
    trialpipe = [sys.executable, "-m", "pipelines.cli"]
    subprocess.run(
        [
            *trialpipe,
            "generate",
            "--out",
            str(base / "landing"),
            "--seed",
            "3",
            "--sites",
            "3",
            "--subjects",
            "30",
        ],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [*trialpipe, "run", "--landing", str(base / "landing"), "--warehouse", str(base / "wh")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = CliRunner().invoke(export_command, ["--warehouse", str(base / "wh")])
    assert result.exit_code == 0, result.output
    return base / "wh" / "blinded"


def _as_text(values) -> list:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def assert_exports_read_back(root: Path) -> None:
    datasets = describe_written(root)
    assert datasets, "no SDTM/ADaM tables written"
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    for ds in datasets:
        table = read_export_table(ds.path, ds.standard)
        # XPT: same rows, values, labels
        frame, meta = pyreadstat.read_xport(root / "submission" / ds.standard / f"{ds.file_stem}.xpt")
        assert meta.table_name == ds.name and len(frame) == table.num_rows, ds.name
        assert dict(zip(meta.column_names, meta.column_labels)) == {v.name: v.label for v in ds.variables}
        for v in ds.variables:
            original = table.column(v.name)
            if v.type == "Char":
                assert frame[v.name].tolist() == _as_text(original.to_pylist()), f"{ds.name}.{v.name}"
            elif v.display_format == "DATE9.":
                days = (original.to_numpy(zero_copy_only=False).astype("datetime64[D]") - SAS_EPOCH).astype(
                    float
                )
                got = pd.to_datetime(frame[v.name]).to_numpy().astype("datetime64[D]") - SAS_EPOCH
                np.testing.assert_array_equal(got.astype(float), days)
            elif v.display_format is None:
                np.testing.assert_array_equal(
                    frame[v.name].to_numpy(dtype=float),
                    pd.to_numeric(original.to_pandas()).to_numpy(dtype=float),
                )
        # Dataset-JSON: valid, same values
        path = root / "submission" / ds.standard / f"{ds.file_stem}.json"
        doc = json.loads(path.read_text())
        assert list(validator.iter_errors(doc)) == [], ds.name
        _, back = read_dataset_json(path)
        original = pq.read_table(ds.path).to_pandas()
        assert back.shape == original.shape
        for col in original.columns:
            if original[col].dtype.kind in "iuf" or str(original[col].dtype) in ("Int64", "Float64"):
                np.testing.assert_array_equal(
                    back[col].astype("Float64").to_numpy(float, na_value=np.nan),
                    original[col].astype("Float64").to_numpy(float, na_value=np.nan),
                )
            elif original[col].dtype.kind not in "M" and not ds.variable(col).display_format:
                assert (
                    back[col].astype(object).where(back[col].notna(), None).tolist()
                    == original[col].astype(object).where(original[col].notna(), None).tolist()
                ), f"{ds.name}.{col}"
    # define.xml: every written dataset described, every reference resolves, VLM for findings
    tree = ET.parse(root / "submission" / "define.xml")
    assert define_problems(tree, [ds.name for ds in datasets]) == []
    value_lists = {e.get("OID") for e in tree.getroot().iter(d("ValueListDef"))}
    for name in ("LB", "VS", "RS", "CP"):
        if any(ds.name == name for ds in datasets):
            assert f"VL.{name}.{name}ORRES" in value_lists, name
    assert any(True for _ in tree.getroot().iter(o("MethodDef")))
    assert (root / "qa" / "define.html").stat().st_size > 0
    # DuckDB: every view counts the rows of its files
    counts = view_row_counts(root / "warehouse.duckdb")
    assert {k: a for k, (a, b) in counts.items()} == {k: b for k, (a, b) in counts.items()}


def test_every_format_reads_back_equal_to_parquet(mode_root):
    assert_exports_read_back(mode_root)


def test_duckdb_answers_subjects_per_site(mode_root):
    dm = pq.read_table(mode_root / "sdtm" / "dm.parquet").to_pandas()
    expected = dm.groupby("SITEID").size().sort_index()
    with connect_catalog(mode_root / "warehouse.duckdb") as con:
        got = con.execute("SELECT SITEID, count(*) FROM sdtm.dm GROUP BY SITEID ORDER BY SITEID").fetchall()
    assert got == list(expected.items())
    assert sum(n for _, n in got) == 30
