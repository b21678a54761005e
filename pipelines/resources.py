"""Dagster resources: where the data is, and the blinding boundary.

Paths come from run config or the environment (``TRIALPIPE_LANDING``, ``TRIALPIPE_WAREHOUSE``,
``TRIALPIPE_RESTRICTED``, ``TRIALPIPE_MODE`` = blinded | unblinded), so the Dagster UI and ``trialpipe run`` load the
same definitions.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

BLINDED = "blinded"
UNBLINDED = "unblinded"


class LandingZone(dg.ConfigurableResource):
    """The landing zone: ``sites/<SITEID>/<EXPORT_ID>/`` and ``iwrs/<EXPORT_ID>/`` (site-export.md)."""

    path: str = Field(description="Root folder of the landing zone")

    @property
    def root(self) -> Path:
        return Path(self.path).resolve()


class Warehouse(dg.ConfigurableResource):
    """The warehouse root; outputs go under ``<path>/<mode>/`` where mode is blinded or unblinded."""

    path: str = Field(description="Root folder of the warehouse")
    mode: str = Field(
        default="",
        description="blinded or unblinded; empty = TRIALPIPE_MODE at run time, else blinded (the default)",
    )

    @property
    def resolved_mode(self) -> str:
        """The mode of this run: configured, else ``TRIALPIPE_MODE`` read now (not at import), else blinded."""
        mode = self.mode or os.environ.get("TRIALPIPE_MODE") or BLINDED
        if mode not in (BLINDED, UNBLINDED):
            raise ValueError(f"warehouse mode must be {BLINDED!r} or {UNBLINDED!r}, not {mode!r}")
        return mode

    @property
    def unblinded(self) -> bool:
        return self.resolved_mode == UNBLINDED

    @property
    def root(self) -> Path:
        return Path(self.path).resolve() / (UNBLINDED if self.unblinded else BLINDED)

    def layer(self, name: str) -> Path:
        """``<root>/<layer>`` (``ingest``, ``sdtm``, ``adam``, ``qa``, ``submission``), created on demand."""
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        return p


class RestrictedRandomization(dg.ConfigurableResource):
    """The restricted, unblinded randomization list. Opened only in an unblinded run.

    Blinding is a security boundary (derivations.md, Populations): a blinded run must not touch
    this location at all, so the only way in is :meth:`read_randlist`, which refuses when the
    warehouse is blinded.
    """

    path: str = Field(
        default="", description="Folder holding RANDLIST.csv; empty = TRIALPIPE_RESTRICTED at run time"
    )

    def read_randlist(self, warehouse: Warehouse) -> pd.DataFrame:
        if not warehouse.unblinded:
            raise PermissionError("blinded run: the restricted randomization list must not be opened")
        folder = self.path or os.environ.get("TRIALPIPE_RESTRICTED", "")
        if not folder:
            raise FileNotFoundError(
                "unblinded run needs the restricted location (--restricted / TRIALPIPE_RESTRICTED)"
            )
        from assets.ingest.reading import read_form

        read = read_form(Path(folder) / "RANDLIST.csv", "RANDLIST", "RESTRICTED")
        if read.frame is None:
            raise ValueError(f"RANDLIST.csv rejected: {read.rejection}")
        return read.frame


def resources_from_env() -> dict:
    """The resources of the code location. Landing and warehouse must be set (EnvVar, resolved when
    a run starts); the mode and the restricted location are read from the environment when used,
    so each run sees its own settings and a blinded setup never names the restricted location."""
    return {
        "landing": LandingZone(path=dg.EnvVar("TRIALPIPE_LANDING")),
        "warehouse": Warehouse(path=dg.EnvVar("TRIALPIPE_WAREHOUSE")),
        "restricted": RestrictedRandomization(),
    }
