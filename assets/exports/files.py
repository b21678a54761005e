"""Atomic publication of export files with ordinary read permissions.

Temp files from ``tempfile.mkstemp`` are private (0600); submission files are for reviewers and
other tools, so they get the permissions a plain ``open()`` would give (0666 minus the umask).
"""

from __future__ import annotations

import os
from pathlib import Path


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def make_readable(path: Path) -> Path:
    os.chmod(path, _default_mode())
    return Path(path)


def publish(tmp: str | Path, path: Path) -> Path:
    """Give ``tmp`` default permissions and rename it to ``path`` (same folder: atomic)."""
    make_readable(Path(tmp))
    os.replace(tmp, path)
    return Path(path)
