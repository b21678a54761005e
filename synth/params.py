"""Generator parameters (study/synth.yaml) and named random streams.

Study facts come from ``study`` (the CSV/YAML metadata); this module only adds the knobs that
shape synthetic data. Every random draw goes through :func:`stream`, one numpy Generator per
named purpose, so that a seed gives the same bytes and one part can change without reshuffling
the draws of another.
"""

from __future__ import annotations

import zlib
from functools import cache

import numpy as np
import yaml

import study

PARAMS_FILE = study.STUDY_DIR / "synth.yaml"


@cache
def params() -> dict:
    """The generator parameters from study/synth.yaml."""
    with open(PARAMS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def stream(seed: int, name: str) -> np.random.Generator:
    """A random Generator for one purpose, derived from the trial seed and the purpose's name."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def weighted_choice(rng: np.random.Generator, options: dict, size: int) -> np.ndarray:
    """``size`` draws of the keys of ``options`` with probabilities proportional to its values."""
    keys = list(options)
    p = np.asarray([float(options[k]) for k in keys])
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]
