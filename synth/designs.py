"""Planned eligibility outcome of each screened subject ("design").

A design names what the generated data of a subject will show: a screen-failure reason, a
boundary value that still passes, or (with defects) a protocol deviation. Every module that
builds a form reads the design and makes its data say exactly that; the IE answers follow.

Criterion results are written as the IE form would: inclusion ``Y`` = met, exclusion ``Y`` =
present. Defaults: every inclusion met, no exclusion present.
"""

from __future__ import annotations

from functools import cache

import numpy as np

import study
from synth.params import params, stream
from synth.sites import Site

# Screen failures: design -> criteria that the data (or, for IE-only criteria, the investigator) fail
FAILURES: dict[str, dict[str, str]] = {
    "IN01_NOT_MET": {"IN01": "N"},
    "IN02_SLEDAI_7": {"IN02": "N"},
    "IN02_LOW": {"IN02": "N"},
    "IN03_AGE_76": {"IN03": "N"},
    "IN03_AGE_YOUNG": {"IN03": "N"},
    "IN03_WT_82": {"IN03": "N"},
    "IN03_WT_HIGH": {"IN03": "N"},
    "IN03_WT_LB_ABOVE_80": {"IN03": "N"},
    "IN03_WT_LOW": {"IN03": "N"},
    "IN04_NO_STANDARD": {"IN04": "N"},
    "IN04_STEROID_HIGH": {"IN04": "N"},
    "IN05_HCG_POSITIVE": {"IN05": "N", "EX04": "Y"},
    "IN06_LATE_CONSENT": {"IN06": "N"},
    "EX01_ALLERGY": {"EX01": "Y"},
    "EX02_NPSLE": {"EX02": "Y"},
    "EX03_ALT": {"EX03": "Y"},
    "EX03_AST_UKAT": {"EX03": "Y"},
    "EX04_LACTATION": {"EX04": "Y"},
    "EX05_MALIGNANCY": {"EX05": "Y"},
    "EX06_SERIOUS_INFECTION": {"EX06": "Y"},
    "EX06_CHRONIC_INFECTION": {"EX06": "Y"},
    "EX07_HBSAG": {"EX07": "Y"},
    "EX07_TB": {"EX07": "Y"},
    "EX08_OCULAR": {"EX08": "Y"},
    "EX09_HEART_FAILURE": {"EX09": "Y"},
    "EX10_PEPTIC_ULCER": {"EX10": "Y"},
    "EX11_AUTOIMMUNE": {"EX11": "Y"},
    "EX12_RITUXIMAB": {"EX12": "Y"},
    "EX13_IMMUNOSUPPRESSOR": {"EX13": "Y"},
    "EX14_OTHER_TRIAL": {"EX14": "Y"},
}

# Every trial of >= 100 subjects carries each of these once: every derivable criterion fails at
# least once, plus the criteria only the investigator can answer.
REQUIRED_FAILURES = (
    "IN02_SLEDAI_7",
    "IN03_AGE_76",
    "IN03_WT_82",
    "IN03_WT_LB_ABOVE_80",
    "IN03_WT_LOW",
    "IN04_NO_STANDARD",
    "IN04_STEROID_HIGH",
    "IN05_HCG_POSITIVE",
    "IN06_LATE_CONSENT",
    "EX01_ALLERGY",
    "EX02_NPSLE",
    "EX03_ALT",
    "EX03_AST_UKAT",
    "EX05_MALIGNANCY",
    "EX06_SERIOUS_INFECTION",
    "EX06_CHRONIC_INFECTION",
    "EX07_HBSAG",
    "EX08_OCULAR",
    "EX09_HEART_FAILURE",
    "EX10_PEPTIC_ULCER",
    "EX11_AUTOIMMUNE",
    "EX12_RITUXIMAB",
    "EX13_IMMUNOSUPPRESSOR",
    "IN01_NOT_MET",
    "EX14_OTHER_TRIAL",
    "EX04_LACTATION",
)

# Eligible subjects sitting exactly on a limit (both ends of the ranges are inclusive)
PASSES = ("PASS_SLEDAI_8", "PASS_WT_45", "PASS_WT_80", "PASS_ALT_199", "PASS_AGE_75", "PASS_AGE_18")

# Randomized although a derived criterion says ineligible; the investigator answered as eligible
DEVIATIONS: dict[str, dict[str, str]] = {
    "DEV_WT": {"IN03": "N"},
    "DEV_ALT": {"EX03": "Y"},
    "DEV_SLEDAI": {"IN02": "N"},
    "DEV_BIOLOGIC": {"EX12": "Y"},
}

FEMALE_ONLY = {"IN05_HCG_POSITIVE", "EX04_LACTATION"}

# Designs that need a site with a particular habit
_NEEDS = {
    "IN03_WT_LB_ABOVE_80": lambda s: s.unit("VS", "WEIGHT") == "LB",
    "EX03_AST_UKAT": lambda s: s.unit("LB", "AST") == "ukat/L",
    "IN03_WT_82": lambda s: s.unit("VS", "WEIGHT") == "kg",
    "PASS_WT_45": lambda s: s.unit("VS", "WEIGHT") == "kg",
    "PASS_WT_80": lambda s: s.unit("VS", "WEIGHT") == "kg",
    "DEV_WT": lambda s: s.unit("VS", "WEIGHT") == "kg",
}


@cache
def _defaults() -> tuple[tuple[str, str], ...]:
    crit = study.criteria()
    return tuple((c, "Y" if cat == "INCLUSION" else "N") for c, cat in zip(crit["IETESTCD"], crit["IECAT"]))


def default_results() -> dict[str, str]:
    """IETESTCD -> result of a subject meeting every criterion."""
    return dict(_defaults())


def derived_results(design: str) -> dict[str, str]:
    """What the data of a subject with this design make of each criterion."""
    out = default_results()
    out.update(FAILURES.get(design, {}))
    out.update(DEVIATIONS.get(design, {}))
    return out


def investigator_answers(design: str) -> dict[str, str]:
    """What the investigator answers on the IE form (deviations: answered as eligible)."""
    out = default_results()
    out.update(FAILURES.get(design, {}))
    return out


def is_screen_failure(design: str) -> bool:
    return design in FAILURES


def _pick(order: np.ndarray, taken: np.ndarray, site_idx: np.ndarray, sites: list[Site], need) -> int | None:
    ok = np.ones(len(sites), dtype=bool) if need is None else np.array([bool(need(s)) for s in sites])
    for i in order:
        if not taken[i] and ok[site_idx[i]]:
            taken[i] = True
            return int(i)
    return None


def plan_designs(site_idx: np.ndarray, sites: list[Site], seed: int, defects: float) -> np.ndarray:
    """Design per subject ('' = ordinary eligible subject), about screen_failure_rate failing.

    With >= 100 subjects every kind in REQUIRED_FAILURES and PASSES occurs; smaller trials get a
    shuffled share of them. With defects > 0 a few subjects are DEVIATIONS.
    """
    p = params()
    rng = stream(seed, "designs")
    n = len(site_idx)
    target = int(round(float(p["screen_failure_rate"]) * n))
    if n >= 100:
        kinds = list(REQUIRED_FAILURES)
    else:
        kinds = list(
            np.asarray(REQUIRED_FAILURES, dtype=object)[rng.permutation(len(REQUIRED_FAILURES))][:target]
        )
    extra = p["extra_screen_failures"]
    if target > len(kinds):
        keys = list(extra)
        w = np.asarray([float(extra[k]) for k in keys])
        kinds += [keys[j] for j in rng.choice(len(keys), size=target - len(kinds), p=w / w.sum())]
    if n >= 40:
        kinds += list(PASSES)
    if defects > 0:
        n_dev = max(1, int(round(defects * n * 0.4)))
        dev = list(DEVIATIONS)
        kinds += [dev[j % len(dev)] for j in range(n_dev)]
    kinds = kinds[: max(0, n - 2)]  # leave at least two ordinary subjects
    design = np.full(n, "", dtype=object)
    taken = np.zeros(n, dtype=bool)
    order = rng.permutation(n)
    for kind in kinds:
        i = _pick(order, taken, site_idx, sites, _NEEDS.get(kind))
        if i is None and kind in _NEEDS:  # no site with that habit: the plain variant elsewhere
            i = _pick(order, taken, site_idx, sites, None)
        if i is not None:
            design[i] = kind
    return design
