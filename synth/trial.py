"""The state shared by the form builders: sites, subjects, visits and disease activity."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synth.sites import Site
from synth.table import Table


@dataclass
class Trial:
    """Everything decided before any form is written (arrays indexed by subject / visit row)."""

    seed: int
    defects: float
    cut: int
    sites: list[Site]
    subj: Table
    visits: Table
    items: np.ndarray  # subjects x scheduled visits x SLEDAI items (bool)
    pga: np.ndarray  # subjects x scheduled visits, tenths
    bilag: np.ndarray  # subjects x scheduled visits x domains (letters)
    randlist: Table
    moved_visits: list[dict] = field(default_factory=list)

    def site_of(self, subj_index: np.ndarray) -> np.ndarray:
        return self.subj["site"][subj_index]
