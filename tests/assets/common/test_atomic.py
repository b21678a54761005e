"""The one atomic writer: all or nothing, fsynced, published with the usual permissions."""

import os
import stat

import pytest

from assets.common.atomic import atomic_open, atomic_path, atomic_write_text, default_file_mode


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
