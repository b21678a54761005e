"""Dagster resources: where the data is, the blinding boundary, and the run settings.

The classes live here, below the layers, so an asset names the resource it needs without
importing the wiring; ``pipelines/resources.py`` makes the instances (from the environment, with
``EnvVar``, for the UI's code location; from the command line for ``trialpipe run``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

BLINDED = "blinded"
UNBLINDED = "unblinded"
MODES = (BLINDED, UNBLINDED)


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
        return Path(self.path) / "RANDLIST.csv"


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
