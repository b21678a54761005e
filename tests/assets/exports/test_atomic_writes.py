"""Every export file is written atomically (assets.common.atomic): a failed write leaves the older
file as it was and no temporary file behind; a written file has ordinary read permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assets.exports import dataset_json, duckdb_catalog, xpt
from assets.exports.build import build_all
from assets.exports.metadata import describe_written, read_written_table
from tests.assets.exports.builders import build_mode_root


@pytest.fixture
def mode_root(tmp_path):
    root = build_mode_root(tmp_path / "blinded")
    build_all(root)
    return root


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix in (".tmp", ".wal"))


def test_written_files_have_default_permissions_and_no_temporary_files(mode_root):
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    written = [
        *(mode_root / "submission").rglob("*.xpt"),
        *(mode_root / "submission").rglob("*.json"),
        mode_root / "submission" / "define.xml",
        mode_root / "qa" / "define.html",
        mode_root / duckdb_catalog.CATALOG_NAME,
    ]
    assert len(written) == 4 + 4 + 3
    assert {p.name: p.stat().st_mode & 0o777 for p in written} == {p.name: expected for p in written}
    for folder in (mode_root, mode_root / "qa", mode_root / "submission", mode_root / "submission" / "sdtm"):
        assert _leftovers(folder) == []


def test_dataset_json_with_a_wrong_record_count_is_not_published(mode_root):
    ds = next(d for d in describe_written(mode_root) if d.name == "DM")
    path = mode_root / "submission" / "sdtm" / "dm.json"
    before = path.read_bytes()
    header = dataset_json.dataset_json_header(ds, "2026-01-01T00:00:00", "ST.X", "MDV.X", "me", {})
    header["records"] += 1
    with pytest.raises(ValueError, match="header says 4 records, wrote 3"):
        dataset_json.write_dataset_json(path, header, read_written_table(ds).to_batches())
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []


def test_xpt_failing_half_way_keeps_the_older_file(mode_root, monkeypatch):
    ds = next(d for d in describe_written(mode_root) if d.name == "DM")
    path = mode_root / "submission" / "sdtm" / "dm.xpt"
    before = path.read_bytes()

    def failing(blocks, rows_per_chunk=xpt.CHUNK_ROWS):
        yield b"partial"
        raise OSError("disk full")

    monkeypatch.setattr(xpt, "observation_chunks", failing)
    with pytest.raises(OSError, match="disk full"):
        xpt.write_xpt(ds, read_written_table(ds), path)
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []


def test_duckdb_catalog_failing_keeps_the_older_catalog(mode_root, monkeypatch):
    db = mode_root / duckdb_catalog.CATALOG_NAME
    before = db.read_bytes()
    monkeypatch.setattr(
        duckdb_catalog, "view_sql", lambda view: ["CREATE VIEW broken AS SELECT * FROM nowhere"]
    )
    with pytest.raises(Exception, match="nowhere"):
        duckdb_catalog.build_catalog(mode_root)
    assert db.read_bytes() == before
    assert _leftovers(mode_root) == []
