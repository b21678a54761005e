"""The ``DAGSTER_HOME`` instance of ``trialpipe run`` and ``trialpipe register-sites``.

A ``DAGSTER_HOME`` folder without a ``dagster.yaml`` makes Dagster log a warning ("No dagster
instance configuration file (dagster.yaml) found ...") and print its telemetry notice every time an
instance is opened there. Before opening such a folder, :func:`ensure_instance_config` writes the
minimal ``dagster.yaml`` of :func:`default_instance_yaml`: Dagster's default instance (SQLite, every
run and event log stored in the folder), with telemetry off and the event logs written through
:class:`pipelines.event_storage.PooledSqliteEventLogStorage` (the same SQLite files, its engines kept
open). It never replaces a file that exists (a PostgreSQL ``deploy/postgres/dagster.yaml``, say),
except one that trialpipe itself wrote and nobody edited since (in an earlier version,
:data:`EARLIER_DEFAULT_INSTANCE_YAMLS`, or for the folder before it was moved); when the folder
cannot be written, nothing is written and the instance opens as before, with Dagster's warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from pipelines.settings import dagster_home

log = logging.getLogger(__name__)

INSTANCE_YAML = "dagster.yaml"
DEFAULT_INSTANCE_YAML = """\
# Written by trialpipe because this DAGSTER_HOME had no dagster.yaml (Dagster warns without one):
# Dagster's default instance, SQLite, runs and event logs stored in this folder; telemetry off.
# The event logs are Dagster's SQLite files, written through trialpipe's storage class, which keeps
# its database connections open instead of opening several per event. trialpipe updates the path
# when this folder is moved, as long as the file is as it wrote it.
# Replace it with your own configuration (e.g. deploy/postgres/dagster.yaml); trialpipe never
# overwrites a dagster.yaml you wrote or edited.
telemetry:
  enabled: false
event_log_storage:
  module: pipelines.event_storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
"""
"""The ``dagster.yaml`` trialpipe writes, for :func:`default_instance_yaml`."""


def default_instance_yaml(home: Path) -> str:
    """:data:`DEFAULT_INSTANCE_YAML` for the home folder ``home`` (event logs in its
    ``history/runs``, where Dagster's default instance keeps them), as JSON-quoted YAML text."""
    event_log_dir = Path(home).resolve() / "history" / "runs"
    return DEFAULT_INSTANCE_YAML.format(event_log_dir=json.dumps(str(event_log_dir)))


EARLIER_DEFAULT_INSTANCE_YAMLS = (
    """\
# Written by trialpipe because this DAGSTER_HOME had no dagster.yaml (Dagster warns without one):
# Dagster's default instance, SQLite, runs and event logs stored in this folder; telemetry off.
# Replace it with your own configuration (e.g. deploy/postgres/dagster.yaml); trialpipe never
# overwrites an existing dagster.yaml.
telemetry:
  enabled: false
""",
)
"""What earlier trialpipe versions wrote (0.6.0): a file whose text is exactly one of these is
trialpipe's own and is brought up to date."""


def _is_trialpipe_default(target: Path) -> bool:
    """Whether ``target`` holds exactly what trialpipe writes (:func:`default_instance_yaml`, for
    whatever folder) or wrote in an earlier version, so that nobody has edited it since. A link is
    never trialpipe's: whoever made it chose where the configuration lives."""
    try:
        text = target.read_text(encoding="utf-8") if target.is_file() and not target.is_symlink() else ""
        config: Any = yaml.safe_load(text) if text else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    if text in EARLIER_DEFAULT_INSTANCE_YAMLS:
        return True
    try:
        event_log_dir = Path(config["event_log_storage"]["config"]["base_dir"])
    except (TypeError, KeyError):  # not trialpipe's layout
        return False
    return text == default_instance_yaml(event_log_dir.parent.parent)


def ensure_instance_config(home: Path) -> Path | None:
    """Write :func:`default_instance_yaml` as ``<home>/dagster.yaml`` when there is none, or when the
    one there is trialpipe's own and differs (written by an earlier version, or for the folder
    before it was moved).

    Atomic: the text goes to a temporary file in ``home``, which is then hard-linked to
    ``dagster.yaml`` (a link fails when the name exists, so a file another process wrote meanwhile
    is kept), or renamed over trialpipe's own earlier file. Returns the path written, or None when
    the file there is up to date or someone else's, or the folder cannot be written (read-only
    mount, a filesystem without hard links)."""
    target = Path(home) / INSTANCE_YAML
    wanted = default_instance_yaml(Path(home))
    replace = os.path.lexists(target)
    if replace and (not _is_trialpipe_default(target) or target.read_text(encoding="utf-8") == wanted):
        return None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{INSTANCE_YAML}.", suffix=".tmp", dir=home)
    except OSError as exc:
        log.debug("cannot write %s: %s", target, exc)
        return None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(wanted)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        if replace:
            os.replace(tmp, target)
        else:
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
