"""Sites: ids, habit profiles (units, BOM, CRLF, shuffled columns), lab reference ranges, export times."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synth.params import params, stream
from synth.units import site_unit


@dataclass(frozen=True)
class Site:
    """One site and its habits."""

    index: int
    siteid: str
    profile: dict
    lab_name: str
    export_minute: int
    ranges: dict = field(default_factory=dict)  # LBTESTCD -> (low, high) in standard units

    def unit(self, form: str, testcd: str) -> str:
        return site_unit(self.profile, form, testcd)

    @property
    def bom(self) -> bool:
        return bool(self.profile.get("bom"))

    @property
    def crlf(self) -> bool:
        return bool(self.profile.get("crlf"))

    @property
    def shuffle_columns(self) -> bool:
        return bool(self.profile.get("shuffle_columns"))


def make_sites(n_sites: int, seed: int) -> list[Site]:
    """Sites ``101``, ``102``, ... with habit profiles cycled from study/synth.yaml."""
    if not 1 <= n_sites <= 899:
        raise ValueError("sites must be between 1 and 899")
    p = params()
    rng = stream(seed, "sites")
    profiles = p["site_profiles"]
    minutes = p["export_minutes_utc"]
    sites = []
    for i in range(n_sites):
        ranges = {
            test: tuple(float(v) for v in opts[int(rng.integers(len(opts)))])
            for test, opts in p["lab_reference_ranges"].items()
        }
        sites.append(
            Site(
                index=i,
                siteid=str(101 + i),
                profile=profiles[i % len(profiles)],
                lab_name=p["lab_names"][int(rng.integers(len(p["lab_names"])))],
                export_minute=int(minutes[i % len(minutes)]),
                ranges=ranges,
            )
        )
    return sites


def site_sizes(n_sites: int, n_subjects: int, seed: int) -> np.ndarray:
    """Subjects per site: uneven, at least one each."""
    if n_subjects < n_sites:
        raise ValueError("need at least one subject per site")
    rng = stream(seed, "site-sizes")
    share = rng.dirichlet(np.full(n_sites, float(params()["site_size_concentration"])))
    return 1 + rng.multinomial(n_subjects - n_sites, share)
