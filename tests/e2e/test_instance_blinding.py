"""The Dagster instance is inside the blinding boundary (derivations.md, (v2) Blinding covers the
Dagster instance).

A small trial is generated with ``trialpipe generate``; a blinded and then an unblinded
``trialpipe run`` (with the restricted list) go into one ``DAGSTER_HOME``, as a blinded team and an
unblinded statistician sharing a deployment would. Then every file under ``DAGSTER_HOME`` is
scanned for arm codes, arm labels and dose levels (study/arms.csv): each SQLite database table by
table, cell by cell (zlib-compressed blobs such as Dagster's snapshots decompressed), every other
file as text. None may appear. Both runs carry their mode in the ``trialpipe/mode`` tag, and the
unblinded run still records ``adam_adsl`` and ``adam_stats`` (row count and schema, no rows).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.test_blinding import LONG_PATTERN, TEXT_PATTERN

pytestmark = pytest.mark.e2e

MODE_TAG = "trialpipe/mode"
# Steps of the run that must succeed for the scan to mean something (the rest of the graph may be
# under work by others; a failure there is reported but does not hide a leak).
REQUIRED = ("sdtm_dm", "sdtm_ex", "adam_adsl", "adam_adeff", "adam_stats")


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false", "DAGSTER_HOME": str(home)},
        timeout=900,
    )


def _cell_text(value: object) -> str | None:
    if isinstance(value, bytes):
        try:
            value = zlib.decompress(value)
        except zlib.error:
            pass
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def instance_texts(home: Path) -> Iterator[tuple[str, str, re.Pattern]]:
    """(where, text, pattern) for every SQLite cell and every other file under ``home``."""
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        rel = str(path.relative_to(home))
        if path.read_bytes()[:16] == b"SQLite format 3\x00":
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                for table in tables:
                    for row in con.execute(f'SELECT * FROM "{table}"'):
                        for cell in row:
                            text = _cell_text(cell)
                            if text:
                                yield f"{rel}:{table}", text, TEXT_PATTERN
            finally:
                con.close()
        elif path.suffix in {"-wal", "-journal"} or path.name.endswith(("-wal", "-journal", "-shm")):
            yield rel, path.read_bytes().decode("latin-1"), LONG_PATTERN
        else:
            data = path.read_bytes()
            try:
                yield rel, data.decode("utf-8"), TEXT_PATTERN
            except UnicodeDecodeError:
                yield rel, data.decode("latin-1"), LONG_PATTERN


def instance_leaks(home: Path) -> list[tuple[str, str]]:
    found = []
    for where, text, pattern in instance_texts(home):
        m = pattern.search(text)
        if m:
            found.append((where, text[max(0, m.start() - 60) : m.end() + 20]))
    return found


def test_the_scanner_finds_an_arm_in_a_compressed_sqlite_cell(tmp_path):
    con = sqlite3.connect(tmp_path / "x.db")
    con.execute("CREATE TABLE snapshots (body BLOB)")
    con.execute("INSERT INTO snapshots VALUES (?)", (zlib.compress(b'{"preview": "| IL-2 0.5 MIU |"}'),))
    con.commit()
    con.close()
    assert [w for w, _ in instance_leaks(tmp_path)] == ["x.db:snapshots"]


@pytest.fixture(scope="module")
def shared_instance(tmp_path_factory):
    base = tmp_path_factory.mktemp("instance_blinding")
    home = base / "dagster_home"
    home.mkdir()
    gen = _cli(
        "generate",
        *("--out", str(base / "L"), "--restricted-out", str(base / "R")),
        *("--sites", "2", "--subjects", "12", "--seed", "5"),
        home=home,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    run = ("run", "--landing", str(base / "L"), "--warehouse", str(base / "wh"))
    blinded = _cli(*run, home=home)
    unblinded = _cli(*run, "--unblinded", "--restricted", str(base / "R"), home=home)
    return home, base, blinded, unblinded


def _failed(proc: subprocess.CompletedProcess) -> list[str]:
    return re.findall(r"step '([^']+)' failed", proc.stdout + proc.stderr)


def test_both_runs_wrote_what_the_scan_is_about(shared_instance):
    _, base, blinded, unblinded = shared_instance
    for proc in (blinded, unblinded):
        assert not set(_failed(proc)) & set(REQUIRED), (proc.stdout + proc.stderr)[-2000:]
    assert (base / "wh" / "unblinded" / "adam" / "adsl.parquet").is_file(), unblinded.stderr[-2000:]
    assert (base / "wh" / "unblinded" / "stats" / "sri4_week24.parquet").is_file()


def test_every_run_is_tagged_with_its_mode(shared_instance):
    home, *_ = shared_instance
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.tags.get(MODE_TAG) for r in runs) == ["blinded", "unblinded"]
        unblinded = next(r for r in runs if r.tags[MODE_TAG] == "unblinded")
        # the unblinded run still reports its tables under the same asset names: counts and schema
        for key in ("adam_adsl", "adam_adeff", "sdtm_dm"):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None and event.run_id == unblinded.run_id, key
            meta = event.asset_materialization.metadata
            assert meta["dagster/row_count"].value > 0 and meta["dagster/column_schema"].value.columns
        adsl = instance.get_latest_materialization_event(dg.AssetKey("adam_adsl"))
        assert adsl.asset_materialization.metadata["dagster/row_count"].value == 12


def test_no_file_of_the_shared_instance_holds_an_arm_code_label_or_dose_level(shared_instance):
    home, *_ = shared_instance
    assert instance_leaks(home) == []
