"""The one atomic writer: all or nothing, fsynced, published with the usual permissions."""

import os
import stat
import time

import pytest

from assets.common.atomic import (
    TEMP_FILE,
    atomic_folder,
    atomic_open,
    atomic_path,
    atomic_write_text,
    default_file_mode,
    remove_stale_temp_files,
    repair_folder_swap,
)


def test_a_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second ✓")
    assert target.read_text(encoding="utf-8") == "second ✓"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_published_files_get_the_permissions_of_a_plain_open(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "db.bin") as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(".db.bin.")
            tmp.write_bytes(b"x")
        mode = stat.S_IMODE((tmp_path / "db.bin").stat().st_mode)
        assert mode == default_file_mode() == 0o640
    finally:
        os.umask(old)


# --- folder swaps and killed runs (issue 14) -------------------------------------------------------


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_swap_keeps_the_old_folder_until_the_new_one_is_complete(tmp_path):
    target = tmp_path / "gx"
    target.mkdir()
    (target / "index.html").write_text("old")
    with atomic_folder(target) as new:
        assert new == tmp_path / ".gx.new"
        (new / "index.html").write_text("new")
        assert _tree(target) == {"index.html": "old"}  # still the old site while building
    assert _tree(target) == {"index.html": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx"]


def test_a_failed_build_leaves_the_old_folder_and_no_sibling(tmp_path):
    target = tmp_path / "gx"
    target.mkdir()
    (target / "a.html").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_folder(target) as new:
        (new / "a.html").write_text("half")
        raise KeyboardInterrupt
    assert _tree(target) == {"a.html": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx"]


def test_a_swap_killed_between_its_renames_is_repaired_by_restoring_the_old_folder(tmp_path):
    # killed after old -> .gx.old and before .gx.new -> gx: no gx at all (the bug of issue 14)
    old, new = tmp_path / ".gx.old", tmp_path / ".gx.new"
    old.mkdir()
    (old / "index.html").write_text("old")
    new.mkdir()
    (new / "index.html").write_text("half")
    assert repair_folder_swap(tmp_path / "gx") is True
    assert _tree(tmp_path / "gx") == {"index.html": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx"]
    # the next swap repairs too, then builds
    old.mkdir()
    with atomic_folder(tmp_path / "gx") as fresh:
        (fresh / "index.html").write_text("new")
    assert _tree(tmp_path / "gx") == {"index.html": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx"]


def test_stale_temp_files_and_killed_swaps_are_removed_and_fresh_ones_kept(tmp_path):
    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "queries.parquet").write_bytes(b"kept")
    stale = qa / ".queries.parquet.abc12345.tmp"
    stale_wal = tmp_path / ".warehouse.duckdb.x_y9zz01.tmp.wal"
    fresh = qa / ".report.html.qwerty12.tmp"
    lookalike = qa / ".notes.tmp"  # not the atomic writer's pattern
    for p in (stale, stale_wal, fresh, lookalike):
        p.write_bytes(b"partial")
    (qa / ".gx.old").mkdir()
    (qa / ".gx.old" / "index.html").write_text("old")
    hour_ago = time.time() - 7200
    for p in (stale, stale_wal, qa / ".gx.old"):
        os.utime(p, (hour_ago, hour_ago))
    removed = remove_stale_temp_files(tmp_path, min_age_seconds=3600)
    assert removed == sorted([stale, stale_wal, qa / "gx"])
    assert sorted(p.name for p in qa.iterdir()) == [
        ".notes.tmp",
        ".report.html.qwerty12.tmp",
        "gx",
        "queries.parquet",
    ]
    assert (qa / "gx" / "index.html").read_text() == "old"
    # without an age limit (a run start with no concurrent run) the fresh one goes too
    assert remove_stale_temp_files(tmp_path) == [fresh]
    assert remove_stale_temp_files(tmp_path / "missing") == []


def test_the_temp_file_pattern_is_the_one_atomic_path_makes(tmp_path):
    with atomic_path(tmp_path / "out.parquet") as tmp:
        assert TEMP_FILE.match(tmp.name)
        tmp.write_bytes(b"x")
