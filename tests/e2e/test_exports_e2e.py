"""End to end: a small generated trial -> `trialpipe run` -> `trialpipe export`; every format reads
back equal to the Parquet table it came from, and the DuckDB catalog answers a known query."""

import csv
import hashlib
import io
import json
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from click.testing import CliRunner
from pandas.io.sas.sas_xport import XportReader

from assets.exports.build import not_written
from assets.exports.cli import export_command
from assets.exports.dataset_json import read_dataset_json
from assets.exports.define_xml import d, define_problems, o
from assets.exports.duckdb_catalog import connect_catalog, view_row_counts
from assets.exports.metadata import describe_written, read_export_table
from assets.exports.xpt import SAS_EPOCH
from tests.define_xsd import assert_define_valid

pytestmark = pytest.mark.e2e
SCHEMA = Path("/work/shared/reference/dataset-json/dataset.schema.json")


CHINESE_TERM = "头痛"  # headache: free text as a site in China may send it (derivations.md v2)


def _is_ascii(text: str) -> bool:
    return text.isascii()


def ensure_non_ascii_ae_term(landing: Path) -> str:
    """A non-ASCII ``AETERM`` in the landing zone: the generator's own when it writes some (sites in
    China), else one injected into the first AE row of a site's newest export, with the manifest's
    hash updated (row count unchanged), so the export stays contract valid. Returns the term."""
    exports = sorted(p.parent for p in (landing / "sites").glob("*/*/AE.csv"))
    newest = {}
    for folder in exports:  # export ids sort by time: the last folder per site is in force
        newest[folder.parent.name] = folder
    for folder in newest.values():
        with open(folder / "AE.csv", encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        found = [r["AETERM"] for r in rows if r.get("AETERM") and not _is_ascii(r["AETERM"])]
        if found:
            return found[0]
    for folder in newest.values():
        raw = (folder / "AE.csv").read_bytes()
        text = raw.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        if not rows:
            continue
        rows[0]["AETERM"] = CHINESE_TERM
        out = io.StringIO()
        ending = "\r\n" if "\r\n" in text else "\n"
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator=ending)
        writer.writeheader()
        writer.writerows(rows)
        data = (b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b"") + out.getvalue().encode("utf-8")
        (folder / "AE.csv").write_bytes(data)
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
        manifest["files"]["AE.csv"]["sha256"] = hashlib.sha256(data).hexdigest()
        (folder / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
        return CHINESE_TERM
    raise AssertionError("no AE row in any site's newest export to put a non-ASCII term in")


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A generated trial with a Chinese AE term, run in both modes, then exported again."""
    base = tmp_path_factory.mktemp("exports_e2e")
    trialpipe = [sys.executable, "-m", "pipelines.cli"]
    subprocess.run(
        [
            *trialpipe,
            "generate",
            "--out",
            str(base / "landing"),
            "--restricted-out",
            str(base / "restricted"),
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
    term = ensure_non_ascii_ae_term(base / "landing")
    outputs = {}
    for mode, extra in (
        ("blinded", []),
        ("unblinded", ["--unblinded", "--restricted", str(base / "restricted")]),
    ):
        run = subprocess.run(
            [*trialpipe, "run", "--landing", str(base / "landing"), "--warehouse", str(base / "wh"), *extra],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-3000:]  # text XPT cannot hold never fails the run
        outputs[mode] = run.stdout
    result = CliRunner().invoke(export_command, ["--warehouse", str(base / "wh")])
    assert result.exit_code == 0, result.output
    return {"wh": base / "wh", "term": term, "stdout": outputs, "export_output": result.output}


@pytest.fixture(scope="module")
def mode_root(trial):
    return trial["wh"] / "blinded"


def _as_text(values) -> list:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def xpt_row_counts(path: Path) -> tuple[int, int]:
    """Observations of an XPT file as pandas and pyreadstat count them (pandas cannot read a
    member without observations: its reader's count is asked then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = XportReader(path, encoding="ascii")
        pandas_rows = reader.nobs if reader.nobs == 0 else len(reader.read())
        reader.close()
    return pandas_rows, len(pyreadstat.read_xport(path)[0])


def assert_exports_read_back(root: Path) -> None:
    datasets = describe_written(root)
    assert datasets, "no SDTM/ADaM tables written"
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    refused = {m.file for m in not_written(root) if m.format == "xpt"}
    for ds in datasets:
        table = read_export_table(ds.path, ds.standard)
        xpt_path = root / "submission" / ds.standard / f"{ds.file_stem}.xpt"
        if f"{ds.standard}/{ds.file_stem}.xpt" in refused:
            assert not xpt_path.exists(), ds.name
        else:
            # XPT: every row read by pandas and pyreadstat, same values, labels
            assert xpt_row_counts(xpt_path) == (table.num_rows, table.num_rows), ds.name
            _assert_xpt_equal(xpt_path, ds, table)
        _assert_json_equal(root, ds, validator)
    _assert_define_and_catalog(root, datasets)


def _assert_xpt_equal(xpt_path: Path, ds, table) -> None:
    frame, meta = pyreadstat.read_xport(xpt_path)
    assert meta.table_name == ds.name and len(frame) == table.num_rows, ds.name
    assert dict(zip(meta.column_names, meta.column_labels)) == {v.name: v.label for v in ds.variables}
    for v in ds.variables:
        original = table.column(v.name)
        if v.type == "Char":
            assert frame[v.name].tolist() == _as_text(original.to_pylist()), f"{ds.name}.{v.name}"
        elif v.display_format == "DATE9.":
            days = (original.to_numpy(zero_copy_only=False).astype("datetime64[D]") - SAS_EPOCH).astype(float)
            got = pd.to_datetime(frame[v.name]).to_numpy().astype("datetime64[D]") - SAS_EPOCH
            np.testing.assert_array_equal(got.astype(float), days)
        elif v.display_format is None:
            np.testing.assert_array_equal(
                frame[v.name].to_numpy(dtype=float),
                pd.to_numeric(original.to_pandas()).to_numpy(dtype=float),
            )


def _assert_json_equal(root: Path, ds, validator) -> None:
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


def _assert_define_and_catalog(root: Path, datasets) -> None:
    # define.xml: valid against the Define-XML 2.1 schema, every written dataset described, every
    # reference resolves, VLM for findings
    assert_define_valid(root / "submission" / "define.xml")
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


@pytest.mark.parametrize("mode", ["blinded", "unblinded"])
def test_every_format_reads_back_equal_to_parquet(trial, mode):
    assert_exports_read_back(trial["wh"] / mode)


@pytest.mark.parametrize("mode", ["blinded", "unblinded"])
def test_chinese_ae_term_kept_everywhere_but_xpt_which_lists_it(trial, mode):
    root, term = trial["wh"] / mode, trial["term"]
    ae = pq.read_table(root / "sdtm" / "ae.parquet").to_pandas()
    assert term in set(ae["AETERM"])  # Parquet keeps the text exactly
    # every Parquet table has its Dataset-JSON file; the AE terms there exactly
    for std in ("sdtm", "adam"):
        for table in (root / std).glob("*.parquet"):
            assert (root / "submission" / std / f"{table.stem}.json").is_file(), table
    _, back = read_dataset_json(root / "submission" / "sdtm" / "ae.json")
    assert back["AETERM"].tolist() == ae["AETERM"].tolist()
    # XPT: ae.xpt is not written; the value is a finding and a query asking for a translation
    assert not (root / "submission" / "sdtm" / "ae.xpt").exists()
    findings = pd.read_parquet(root / "qa" / "findings" / "exports.parquet")
    mine = findings[(findings["FORM"] == "AE") & (findings["COLUMN"] == "AETERM")]
    assert term in set(mine["VALUE"]) and set(mine["RULE"]) == {"xpt_ascii"}
    assert mine["SITEID"].notna().all() and mine["SUBJID"].notna().all()
    queries = pd.read_parquet(root / "qa" / "queries.parquet")
    asked = queries[(queries["PRODUCER"] == "exports") & (queries["VALUE"] == term)]
    assert not asked.empty and asked["MESSAGE"].str.startswith("English translation needed").all()
    # the run summary says which file is missing and why
    assert "submission files not written" in trial["stdout"][mode]
    assert "sdtm/ae.xpt" in trial["stdout"][mode] and "English translation needed" in trial["stdout"][mode]
    # DuckDB holds the text exactly
    with connect_catalog(root / "warehouse.duckdb") as con:
        assert con.execute("SELECT count(*) FROM sdtm.ae WHERE AETERM = ?", [term]).fetchone()[0] >= 1


def test_duckdb_answers_subjects_per_site(mode_root):
    dm = pq.read_table(mode_root / "sdtm" / "dm.parquet").to_pandas()
    expected = dm.groupby("SITEID").size().sort_index()
    with connect_catalog(mode_root / "warehouse.duckdb") as con:
        got = con.execute("SELECT SITEID, count(*) FROM sdtm.dm GROUP BY SITEID ORDER BY SITEID").fetchall()
    assert got == list(expected.items())
    assert sum(n for _, n in got) == 30
