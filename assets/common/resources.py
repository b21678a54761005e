"""Dagster resources: where the data is, the blinding boundary, and the run settings.

The classes live here, below the layers, so an asset names the resource it needs without
importing the wiring; ``pipelines/resources.py`` makes the instances (from the environment, with
``EnvVar``, for the UI's code location; from the command line for ``trialpipe run``).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from assets.common.layer_state import layers_of, mark_layers_finished, mark_layers_running

BLINDED = "blinded"
UNBLINDED = "unblinded"
MODES = (BLINDED, UNBLINDED)
# Every run is tagged with its blinding mode (derivations.md, (v2) Blinding covers the Dagster instance).
MODE_TAG = "trialpipe/mode"
RANDLIST_FILE = "RANDLIST.csv"
# Locks this process holds, with how many holders: a run launched by ``trialpipe run`` already holds
# the lock when Dagster initializes the run's resources, so taking it again must not block.
_HELD_LOCKS: dict[Path, int] = {}


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse's lock for this mode."""


def _run_outcome(instance: dg.DagsterInstance, run_id: str) -> tuple[list[str], list[str] | None]:
    """(layers the run materialized an asset of, layers whose step failed; None when a failed step
    names no known asset, so every layer the run was writing counts as failed)."""
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_FAILURE}
    )
    materialized, failed_keys = [], []
    for entry in events:
        event = entry.dagster_event
        if event is None:
            continue
        if event.is_step_materialization and event.asset_key is not None:
            materialized.append(event.asset_key)
        elif event.is_step_failure:
            failed_keys.append(dg.AssetKey(event.step_key or ""))
    failed = layers_of(failed_keys)
    if failed_keys and len(failed) == 0:
        return layers_of(materialized), None
    return layers_of(materialized), failed


class LandingZone(dg.ConfigurableResource):
    """The landing zone: ``sites/<SITEID>/<EXPORT_ID>/`` and ``iwrs/<EXPORT_ID>/`` (site-export.md)."""

    path: str = Field(description="Root folder of the landing zone")

    @property
    def root(self) -> Path:
        return Path(self.path).resolve()


class Warehouse(dg.ConfigurableResource):
    """The warehouse root; outputs go under ``<path>/<mode>/`` where mode is blinded or unblinded."""

    path: str = Field(description="Root folder of the warehouse")
    mode: str = Field(default=BLINDED, description="blinded (the default) or unblinded")
    lock_wait_seconds: int = Field(
        default=0,
        description=(
            "How long a run waits for another run of this warehouse and mode to finish before it "
            "fails; 0 = fail at once (TRIALPIPE_LOCK_WAIT_SECONDS)"
        ),
    )

    @property
    def resolved_mode(self) -> str:
        """The mode of this run; anything but ``blinded`` or ``unblinded`` is refused."""
        if self.mode not in MODES:
            raise ValueError(f"warehouse mode must be {BLINDED!r} or {UNBLINDED!r}, not {self.mode!r}")
        return self.mode

    @property
    def unblinded(self) -> bool:
        return self.resolved_mode == UNBLINDED

    @property
    def root(self) -> Path:
        return Path(self.path).resolve() / self.resolved_mode

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Tag the run with its mode (``trialpipe/mode``), however it was launched (``trialpipe run``,
        the UI, the sensor, the schedule); a run already tagged with the other mode is refused."""
        mode = self.resolved_mode
        run = context.dagster_run
        if context.instance is None or run is None:
            return
        tagged = run.tags.get(MODE_TAG)
        if tagged is None:
            context.instance.add_run_tags(run.run_id, {MODE_TAG: mode})
        elif tagged != mode:
            raise ValueError(
                f"run {run.run_id} is tagged {MODE_TAG}={tagged} but its warehouse is {mode}: refused"
            )

    @property
    def lock_path(self) -> Path:
        """``<path>/<mode>.lock``: one lock per warehouse and mode."""
        return Path(self.path).resolve() / f"{self.resolved_mode}.lock"

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        """Every run, however launched (``trialpipe run``, the UI, the sensor, the schedule), is
        tagged with its mode and holds the lock of its warehouse and mode while it runs. Resources are
        initialized once per run by the code location's in-process executor; outside a run (a
        sensor tick, a test building the resource) nothing is locked."""
        self.setup_for_execution(context)
        run = context.dagster_run
        if run is None or context.instance is None:
            yield self
            return
        with self.run_lock(wait_seconds=self.lock_wait_seconds):
            selection = run.asset_selection or None  # empty: the whole job
            previous = mark_layers_running(self.layer_state_path, run.run_id, layers_of(selection))
            try:
                yield self
            finally:
                written, failed = _run_outcome(context.instance, run.run_id)
                mark_layers_finished(self.layer_state_path, run.run_id, written, failed, previous)

    @property
    def layer_state_path(self) -> Path:
        """``<path>/<mode>.layers.json``: which run wrote each layer (:mod:`assets.common.layer_state`)."""
        return self.lock_path.with_suffix(".layers.json")

    @contextmanager
    def run_lock(self, wait_seconds: float = 0) -> Iterator[Path]:
        """Hold the lock of this warehouse and mode (``fcntl.flock``, exclusive) for a whole run.

        When another process holds it, waits up to ``wait_seconds`` (0: not at all), then raises
        :class:`WarehouseBusy` naming the lock file and the holder's pid (written into the file by the
        holder); nothing else is touched. Re-entrant within one process. The kernel releases the lock
        when the holder exits, so a crashed run leaves no stale lock.
        """
        lock = self.lock_path
        if _HELD_LOCKS.get(lock):
            _HELD_LOCKS[lock] += 1
            try:
                yield lock
            finally:
                _HELD_LOCKS[lock] -= 1
            return
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + max(0.0, wait_seconds)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                        waited = f" after waiting {wait_seconds:g} s" if wait_seconds > 0 else ""
                        raise WarehouseBusy(
                            f"another {self.resolved_mode} run holds the lock {lock} (pid {holder}){waited}: "
                            f"one run at a time per warehouse and mode; nothing was run or written. "
                            f"Wait for it to finish."
                        ) from None
                    time.sleep(0.5)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            _HELD_LOCKS[lock] = 1
            try:
                yield lock
            finally:
                del _HELD_LOCKS[lock]
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def layer(self, name: str) -> Path:
        """``<root>/<layer>`` (``ingest``, ``sdtm``, ``adam``, ``qa``, ``submission``), created on demand."""
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        return p


class RestrictedRandomization(dg.ConfigurableResource):
    """The restricted, unblinded randomization list. Opened only in an unblinded run.

    Blinding is a security boundary (derivations.md, Populations): a blinded run must not touch
    this location at all, so the only way to its path is :meth:`randlist_path`, which refuses
    when the warehouse is blinded (the reading is :func:`assets.ingest.reading.read_randlist`).
    """

    path: str = Field(default="", description="Folder holding RANDLIST.csv; empty in a blinded setup")

    def randlist_path(self, warehouse: Warehouse) -> Path:
        if not warehouse.unblinded:
            raise PermissionError("blinded run: the restricted randomization list must not be opened")
        if not self.path:
            raise FileNotFoundError(
                "unblinded run needs the restricted location (--restricted / TRIALPIPE_RESTRICTED)"
            )
        return Path(self.path) / RANDLIST_FILE


def randlist_problem(folder: str | None) -> str | None:
    """Why an unblinded run cannot read the randomization list in ``folder`` (None when it can).

    Checked before an unblinded run does any work: the folder must exist and hold ``RANDLIST.csv``
    as a regular file. Never called for a blinded run, which must not look at the location at all.
    """
    if not folder:
        return (
            "an unblinded run needs the restricted folder holding RANDLIST.csv "
            "(--restricted DIR or TRIALPIPE_RESTRICTED), and none is set"
        )
    root = Path(folder)
    path = root / RANDLIST_FILE
    if not root.is_dir():
        return f"the restricted folder {root} does not exist, so the randomization list {path} is missing"
    if not path.exists():
        return f"the randomization list {path} is missing (the restricted folder holds no {RANDLIST_FILE})"
    if not path.is_file():
        return f"the randomization list {path} is not a regular file"
    return None


class RunSettings(dg.ConfigurableResource):
    """Operational settings of a run (each from its ``TRIALPIPE_*`` variable in the code location)."""

    freshness_days: int = Field(
        default=7,
        description="A site is stale when its newest complete export is older (TRIALPIPE_FRESHNESS_DAYS)",
    )
    ingest_workers: int = Field(
        default=0, description="Processes for a multi-site ingest; 0 = one per CPU (TRIALPIPE_INGEST_WORKERS)"
    )

    def workers_for(self, n_sources: int) -> int:
        """Processes for a run of ``n_sources`` sources: the setting (or the CPUs), at most one per source."""
        import os

        wanted = self.ingest_workers if self.ingest_workers > 0 else (os.cpu_count() or 1)
        return max(1, min(wanted, n_sources))
