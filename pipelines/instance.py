"""The ``DAGSTER_HOME`` instance of ``trialpipe run`` and ``trialpipe register-sites``.

A ``DAGSTER_HOME`` folder without a ``dagster.yaml`` makes Dagster log a warning ("No dagster
instance configuration file (dagster.yaml) found ...") and print its telemetry notice every time an
instance is opened there. Before opening such a folder, :func:`ensure_instance_config` writes the
minimal ``dagster.yaml`` of :data:`DEFAULT_INSTANCE_YAML`: Dagster's default instance (SQLite, every
run and event log stored in the folder), with telemetry off. It never replaces a file that exists
(a PostgreSQL ``deploy/postgres/dagster.yaml``, say); when the folder cannot be written, nothing is
written and the instance opens as before, with Dagster's warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import dagster as dg

from pipelines.settings import dagster_home

log = logging.getLogger(__name__)

INSTANCE_YAML = "dagster.yaml"
DEFAULT_INSTANCE_YAML = """\
# Written by trialpipe because this DAGSTER_HOME had no dagster.yaml (Dagster warns without one):
# Dagster's default instance, SQLite, runs and event logs stored in this folder; telemetry off.
# Replace it with your own configuration (e.g. deploy/postgres/dagster.yaml); trialpipe never
# overwrites an existing dagster.yaml.
telemetry:
  enabled: false
"""


def ensure_instance_config(home: Path) -> Path | None:
    """Write :data:`DEFAULT_INSTANCE_YAML` as ``<home>/dagster.yaml`` when there is none.

    Atomic and without replacing: the text goes to a temporary file in ``home``, which is then
    hard-linked to ``dagster.yaml`` (a link fails when the name exists, so a file another process
    wrote meanwhile is kept). Returns the path written, or None when a file was there already or
    the folder cannot be written (read-only mount, a filesystem without hard links)."""
    target = Path(home) / INSTANCE_YAML
    if os.path.lexists(target):
        return None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{INSTANCE_YAML}.", suffix=".tmp", dir=home)
    except OSError as exc:
        log.debug("cannot write %s: %s", target, exc)
        return None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(DEFAULT_INSTANCE_YAML)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        os.link(tmp, target)
    except FileExistsError:
        return None
    except OSError as exc:
        log.debug("cannot write %s: %s", target, exc)
        return None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target


def home_instance() -> dg.DagsterInstance:
    """The ``DAGSTER_HOME`` instance (``dg.DagsterInstance.get()``), its folder given a
    ``dagster.yaml`` first when it has none. ``DAGSTER_HOME`` must be set (Dagster raises if not)."""
    home = dagster_home()
    if home and Path(home).is_dir():
        ensure_instance_config(Path(home))
    return dg.DagsterInstance.get()
