"""The one atomic file writer: a temporary file in the target folder, fsync, one permission rule, rename.

A reader (or a run killed half-way) sees either the old file or the new one, never a part
(docs/architecture.md, assets/common). Temporary files from ``tempfile.mkstemp`` are private
(0600); published files get what a plain ``open()`` would give (0666 minus the umask), so
reviewers and other tools can read them.

Folders are swapped the same way (:func:`atomic_folder`): the new folder is built in a sibling
``.<name>.new``; then the old one is renamed to ``.<name>.old``, the new one onto ``<name>`` and the
old one removed, so the old folder stays until the new one is complete. A run killed in between
leaves those siblings; the next swap (or :func:`remove_stale_temp_files`) repairs: when ``<name>``
is missing and ``.<name>.old`` exists, the old folder is put back; a left-over ``.<name>.new`` is
an unfinished build and is removed. A killed writer's ``.<name>.<random>.tmp`` files are removed by
:func:`remove_stale_temp_files`, which a run calls before it writes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def default_file_mode() -> int:
    """0666 minus the process umask: the permissions of a file made by ``open(path, "w")``."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, the file written
    there is fsynced, given :func:`default_file_mode` and renamed onto ``path``. On error it is removed.

    For writers that want a file name (DuckDB, pyreadstat); :func:`atomic_open` is the usual way."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` atomically when the block ends without error."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_open(path) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


TEMP_SUFFIX = ".tmp"
TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.wal)?$")
"""A temporary file of :func:`atomic_path` (``.<name>.<8 random characters>.tmp``; DuckDB may add
``.wal`` beside its database)."""
NEW_SUFFIX, OLD_SUFFIX = ".new", ".old"


def swap_siblings(target: Path) -> tuple[Path, Path]:
    """The sibling folders of a swap of ``target``: (the new one being built, the old one set aside)."""
    target = Path(target)
    return (
        target.with_name(f".{target.name}{NEW_SUFFIX}"),
        target.with_name(f".{target.name}{OLD_SUFFIX}"),
    )


def _fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def repair_folder_swap(target: Path) -> bool:
    """Undo what a killed swap of ``target`` left: restore ``.<name>.old`` when ``<name>`` is missing,
    then remove both siblings. Returns whether the old folder was restored."""
    target = Path(target)
    new, old = swap_siblings(target)
    restored = False
    if old.is_dir() and not target.exists():
        old.rename(target)
        _fsync_dir(target.parent)
        restored = True
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(new, ignore_errors=True)
    return restored


def swap_folder(target: Path, new: Path) -> None:
    """Put the complete folder ``new`` in place of ``target``: old -> ``.<name>.old``, new -> ``target``,
    old removed. At every moment ``target`` or ``.<name>.old`` holds a complete folder."""
    target = Path(target)
    _, old = swap_siblings(target)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    Path(new).rename(target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield an empty sibling folder ``.<name>.new`` to build the new ``target`` in; when the block
    ends without error it replaces ``target`` (:func:`swap_folder`), on error it is removed and
    ``target`` is left as it was. A killed earlier swap is repaired first."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    repair_folder_swap(target)
    new, _ = swap_siblings(target)
    new.mkdir()
    try:
        yield new
        swap_folder(target, new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def remove_stale_temp_files(root: Path, min_age_seconds: float = 0.0) -> list[Path]:
    """Clean up after killed runs under ``root``: remove the temporary files of :func:`atomic_path`
    (``.<name>.<random>.tmp``) not modified for ``min_age_seconds``, and repair killed folder swaps
    (:func:`repair_folder_swap`). Returns what was removed or restored.

    Call it when a run starts, before anything is written (a writer of a concurrent run may own a
    fresh temporary file: give ``min_age_seconds`` when runs can overlap)."""
    root = Path(root)
    if not root.is_dir():
        return []
    now = time.time()
    cleaned: list[Path] = []
    swaps: set[Path] = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in dirs:
            for suffix in (NEW_SUFFIX, OLD_SUFFIX):
                if name.startswith(".") and name.endswith(suffix) and len(name) > len(suffix) + 1:
                    with contextlib.suppress(FileNotFoundError):
                        if now - (here / name).stat().st_mtime >= min_age_seconds:
                            swaps.add(here / name[1 : -len(suffix)])
        dirs[:] = [d for d in dirs if not (d.startswith(".") and d.endswith((NEW_SUFFIX, OLD_SUFFIX)))]
        for name in files:
            path = here / name
            if not TEMP_FILE.match(name):
                continue
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime >= min_age_seconds:
                    path.unlink()
                    cleaned.append(path)
    for target in sorted(swaps):
        repair_folder_swap(target)
        cleaned.append(target)
    return sorted(cleaned)
