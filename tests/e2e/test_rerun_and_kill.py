"""End to end (issue 14, items 6 and 7): a rerun of the same input writes the same bytes in every
file but the run log ``qa/run.json``, and a run repairs what a killed run left behind.

Between the two runs the warehouse is left as a run killed in the middle of the Data Docs swap and of
a file write leaves it: ``qa/gx`` renamed to ``qa/.gx.old`` and not yet replaced, a half-built
``qa/.gx.new``, and a temporary file of the atomic writer. The second run must restore and rebuild
the Data Docs, remove the debris, and still give byte-identical outputs.

``warehouse.duckdb`` is the one exception compared by content: DuckDB 2.0 writes 16 random bytes (a
database identifier, and the header checksums over it) into every new database file, so two builds
of the same catalog never have the same bytes; its schemas, views, view definitions, comments and
row counts must be equal.
"""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assets.exports.duckdb_catalog import CATALOG_NAME, connect_catalog, view_row_counts

pytestmark = pytest.mark.e2e

RUN_LOG = "qa/run.json"
CONTENT_COMPARED = {CATALOG_NAME}


def _trialpipe(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DAGSTER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, env=env
    )


def _sums(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _catalog_content(db: Path) -> dict:
    con = connect_catalog(db)
    try:
        views = con.execute(
            "SELECT schema_name, view_name, sql, comment FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
        ).fetchall()
        columns = con.execute(
            "SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name IN ('sdtm', 'adam', 'qa') ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {"views": views, "columns": columns, "rows": view_row_counts(db)}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("rerun")
    gen = _trialpipe(
        "generate",
        "--out",
        str(base / "landing"),
        "--seed",
        "3",
        "--sites",
        "3",
        "--subjects",
        "30",
        home=base,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    wh = base / "wh"
    first = _trialpipe("run", "--landing", str(base / "landing"), "--warehouse", str(wh), home=base / "h1")
    assert first.returncode == 0, first.stderr[-3000:]
    root = wh / "blinded"
    sums1 = _sums(root)
    catalog1 = _catalog_content(root / CATALOG_NAME)
    run_log1 = (root / RUN_LOG).read_text()

    # What a run killed during the Data Docs swap and during a file write leaves behind.
    qa = root / "qa"
    (qa / "gx").rename(qa / ".gx.old")
    (qa / ".gx.new").mkdir()
    (qa / ".gx.new" / "index.html").write_text("half built")
    stale = qa / ".queries.parquet.k1ll3dxx.tmp"
    stale.write_bytes(b"partial")
    hour_ago = time.time() - 7200
    for p in (stale, qa / ".gx.new", qa / ".gx.old"):
        os.utime(p, (hour_ago, hour_ago))

    time.sleep(1.1)  # a different wall-clock second for the second run
    second = _trialpipe("run", "--landing", str(base / "landing"), "--warehouse", str(wh), home=base / "h2")
    assert second.returncode == 0, second.stderr[-3000:]
    return {
        "root": root,
        "sums": (sums1, _sums(root)),
        "catalog": (catalog1, _catalog_content(root / CATALOG_NAME)),
        "run_log": (run_log1, (root / RUN_LOG).read_text()),
    }


def test_a_rerun_of_the_same_input_gives_the_same_bytes_in_every_file_but_the_run_log(two_runs):
    first, second = two_runs["sums"]
    assert first.keys() == second.keys(), sorted(first.keys() ^ second.keys())[:20]
    differ = sorted(
        name for name in first if first[name] != second[name] and name not in CONTENT_COMPARED | {RUN_LOG}
    )
    assert differ == []
    # the QA layer's deterministic files are among those compared
    for name in ("qa/queries.parquet", "qa/report.html", "qa/gx/index.html", "qa/export_status.parquet"):
        assert name in first
    assert any(n.startswith("qa/sites/") and n.endswith("queries.xlsx") for n in first)
    assert any(n.startswith("qa/gx/validations/") for n in first)


def test_the_run_log_is_the_one_file_that_records_the_run(two_runs):
    first, second = two_runs["run_log"]
    assert first != second and '"run_id"' in first and '"as_of"' in first
    report = (two_runs["root"] / "qa" / "report.html").read_text()
    run_id = __import__("json").loads(second)["run_id"]
    assert run_id not in report


def test_the_duckdb_catalog_has_the_same_content(two_runs):
    first, second = two_runs["catalog"]
    assert first == second and first["views"]


def test_a_killed_runs_data_docs_swap_and_temp_files_are_repaired(two_runs):
    qa = two_runs["root"] / "qa"
    assert (qa / "gx" / "index.html").is_file()
    assert not (qa / ".gx.old").exists() and not (qa / ".gx.new").exists()
    assert not list(two_runs["root"].rglob("*.tmp"))
