"""The DuckDB catalog: views (no data copied) answer known queries; labels are comments."""

import os
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from assets.exports.cli import export_command
from assets.exports.duckdb_catalog import build_catalog, connect_catalog, view_row_counts
from tests.assets.exports.builders import build_mode_root


@pytest.fixture
def catalog(tmp_path):
    root = build_mode_root(tmp_path / "wh" / "blinded")
    db_path, views = build_catalog(root)
    return root, db_path, views


def test_views_per_layer_and_no_data_copied(catalog):
    root, db_path, views = catalog
    assert db_path == root / "warehouse.duckdb"
    assert sorted((v["schema"], v["name"]) for v in views) == [
        ("adam", "adeff"),
        ("adam", "adsl"),
        ("qa", "findings"),
        ("qa", "queries"),
        ("sdtm", "dm"),
        ("sdtm", "lb"),
    ]
    with connect_catalog(db_path) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0
    assert all(a == b for a, b in view_row_counts(db_path).values())


def test_known_queries(catalog):
    _, db_path, _ = catalog
    with connect_catalog(db_path) as con:
        sri4 = con.execute(
            "SELECT count(*) FILTER (WHERE AVALC = 'Y'), count(*) FROM adam.adeff "
            "WHERE PARAMCD = 'SRI4' AND AVISIT = 'WEEK 24'"
        ).fetchone()
        per_site = con.execute(
            "SELECT SITEID, count(*) FROM sdtm.dm GROUP BY SITEID ORDER BY SITEID"
        ).fetchall()
        by_site = con.execute("SELECT SITEID, count(*) FROM qa.findings GROUP BY 1 ORDER BY 1").fetchall()
    assert sri4 == (1, 2)
    assert per_site == [("101", 2), ("102", 1)]
    assert by_site == [("101", 2), ("102", 1)]


def test_labels_are_column_and_view_comments(catalog):
    _, db_path, _ = catalog
    with connect_catalog(db_path) as con:
        view = con.execute(
            "SELECT comment FROM duckdb_views() WHERE schema_name = 'sdtm' AND view_name = 'dm'"
        ).fetchone()
        col = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'sdtm' AND table_name = 'dm' AND column_name = 'USUBJID'"
        ).fetchone()
    assert view == ("Demographics",)
    assert col == ("Unique Subject Identifier",)


def test_catalog_keeps_working_when_the_warehouse_moves(catalog, tmp_path):
    root, _, _ = catalog
    moved = tmp_path / "elsewhere" / "blinded"
    shutil.copytree(root, moved)
    shutil.rmtree(root)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # neither the old nor the new folder
    try:
        with connect_catalog(moved / "warehouse.duckdb") as con:
            assert con.execute("SELECT count(*) FROM sdtm.lb").fetchone() == (4,)
    finally:
        os.chdir(cwd)


def _every_view_answers(con, views):
    """Each view's row count equals its Parquet files' (read from wherever they are now)."""
    for view in views:
        expected = sum(pq.read_metadata(f).num_rows for f in view["files"])
        got = con.execute(f'SELECT count(*) FROM "{view["schema"]}"."{view["name"]}"').fetchone()
        assert got == (expected,), f"{view['schema']}.{view['name']}"


def test_plain_duckdb_opens_the_catalog_from_another_folder(catalog, tmp_path, monkeypatch):
    _, db_path, views = catalog
    elsewhere = tmp_path / "some" / "other" / "cwd"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    for path in (str(db_path), os.path.relpath(db_path, elsewhere)):  # absolute and relative
        with duckdb.connect(path, read_only=True) as con:
            _every_view_answers(con, views)


def test_plain_duckdb_reads_a_copied_warehouse_from_another_folder(catalog, tmp_path, monkeypatch):
    root, _, views = catalog
    copy = tmp_path / "copied" / "wh"
    shutil.copytree(root.parent, copy)
    root.parent.rename(tmp_path / "gone")  # paths into the original would fail now
    monkeypatch.chdir(tmp_path)
    moved = [{**v, "files": [copy / "blinded" / f.relative_to(root) for f in v["files"]]} for v in views]
    with duckdb.connect(str(copy / "blinded" / "warehouse.duckdb"), read_only=True) as con:
        _every_view_answers(con, moved)


def test_views_refuse_to_read_another_folder_when_attached(catalog, tmp_path):
    """ATTACHed from another catalog's session, a view would resolve against that catalog's folder
    (whose files exist): it fails instead of answering with the other folder's rows."""
    _, db_path, _ = catalog
    other_db, _ = build_catalog(build_mode_root(tmp_path / "other" / "blinded"))
    with duckdb.connect(str(other_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sdtm.dm").fetchone() == (3,)
        con.execute(f"ATTACH '{db_path}' AS wh (READ_ONLY)")
        with pytest.raises(duckdb.Error, match="open this file on its own"):
            con.execute("SELECT count(*) FROM wh.sdtm.dm").fetchone()


def test_views_see_new_qa_files_without_rebuilding(catalog):
    root, db_path, _ = catalog
    shutil.copy(root / "qa" / "findings" / "ingest.parquet", root / "qa" / "findings" / "sdtm.parquet")
    with connect_catalog(db_path) as con:
        assert con.execute("SELECT count(*) FROM qa.findings").fetchone() == (6,)


def test_export_command_builds_every_format(tmp_path):
    root = build_mode_root(tmp_path / "wh" / "blinded")
    result = CliRunner().invoke(export_command, ["--warehouse", str(tmp_path / "wh")])
    assert result.exit_code == 0, result.output
    for rel in (
        "submission/sdtm/dm.xpt",
        "submission/adam/adsl.json",
        "submission/define.xml",
        "qa/define.html",
        "warehouse.duckdb",
    ):
        assert (root / rel).is_file(), rel


def test_export_command_lists_a_value_xpt_cannot_hold_and_exits_0(tmp_path):
    import pandas as pd

    from assets.common.parquet import write_parquet
    from tests.assets.exports.builders import DM, DM_LABELS

    root = build_mode_root(tmp_path / "wh" / "blinded")
    dm = DM.copy()
    dm.loc[1, "SUBJID"] = "000²"
    write_parquet(dm, root / "sdtm" / "dm.parquet", labels=DM_LABELS, dataset_label="Demographics")
    result = CliRunner().invoke(export_command, ["--warehouse", str(tmp_path / "wh")])
    assert result.exit_code == 0, result.output  # derivations.md v2: never fails the run
    assert "DM.SUBJID row 2" in result.output
    assert (
        "not written: sdtm/dm.xpt (1 value not ASCII (English translation needed): SUBJID 1)" in result.output
    )
    assert (root / "submission" / "sdtm" / "dm.json").is_file()
    assert not (root / "submission" / "sdtm" / "dm.xpt").exists()
    findings = pd.read_parquet(root / "qa" / "findings" / "exports.parquet")
    assert findings[["FORM", "COLUMN", "RECID"]].values.tolist() == [["DM", "SUBJID", "2"]]


def test_export_command_without_a_warehouse_run_is_a_usage_error(tmp_path):
    (tmp_path / "wh").mkdir()
    result = CliRunner().invoke(export_command, ["--warehouse", str(tmp_path / "wh"), "--unblinded"])
    assert result.exit_code == 2 and "trialpipe run" in result.output


def test_readme_example_queries_answer_known_values(catalog):
    import re
    from pathlib import Path

    import assets.exports

    readme = (Path(assets.exports.__file__).parent / "README.md").read_text()
    sri4, populations, open_queries = re.findall(r"```sql\n(.*?)```", readme, re.S)
    _, db_path, _ = catalog
    with connect_catalog(db_path) as con:
        assert con.execute(sri4).fetchall() == [("Placebo", 1, 1, 100.0), ("IL-2 1 MIU", 1, 0, 0.0)]
        assert con.execute(populations).fetchall() == [("101", 2, 2, 2, 2, 1), ("102", 1, 0, 0, 0, 0)]
        assert con.execute(open_queries).fetchall() == [("101", "SCHEMA", 2)]
