"""Disease activity over the scheduled visits: SLEDAI-2K items, PGA and BILAG grades.

States are arrays over (subject, scheduled visit index, item). Index 0 is SCREENING, 1 DAY 1
and so on in VISITNUM order; visits without assessments carry the state of the last assessed
visit so that labs and temperature taken there agree with it.

SRI-4 at WEEK 24 is built in: a responder loses items worth >= 4 points by WEEK 24, has no new
item at WEEK 24 (so no new BILAG A or B) and a PGA not above baseline; a non-responder loses
items worth < 4 points. The share of responders per arm comes from study/synth.yaml.
"""

from __future__ import annotations

import numpy as np

import study
from synth.params import params, stream

_FALLBACK = {  # item sets used when rejection sampling does not hit a target total
    (8, 8): ("ARTHRITIS", "PROTEINURIA"),
    (7, 7): ("ARTHRITIS", "RASH", "FEVER"),
    (2, 7): ("ARTHRITIS", "RASH"),
    (8, 105): ("ARTHRITIS", "RASH", "DNABIND", "LOWCOMP"),
}


def item_names() -> list[str]:
    return list(study.sledai_weights())


def item_weights() -> np.ndarray:
    return np.asarray(list(study.sledai_weights().values()), dtype=np.int64)


def scheduled_visits():
    """Scheduled visits (VISITNUM < 99) in order, as the study table."""
    v = study.visits()
    return v[v["VISITNUM"] < 99].sort_values("VISITNUM").reset_index(drop=True)


def sledai_visit_mask() -> np.ndarray:
    return (scheduled_visits()["SLEDAI"] == "Y").to_numpy()


def _total_bounds(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(len(design), 8)
    hi = np.full(len(design), 105)
    for kind, (a, b) in {
        "PASS_SLEDAI_8": (8, 8),
        "IN02_SLEDAI_7": (7, 7),
        "DEV_SLEDAI": (7, 7),
        "IN02_LOW": (2, 7),
    }.items():
        lo[design == kind], hi[design == kind] = a, b
    return lo, hi


def screening_items(design: np.ndarray, seed: int) -> np.ndarray:
    """SCREENING items (subjects x 24), totals >= 8 except where the design says otherwise."""
    rng = stream(seed, "sledai-screening")
    names = item_names()
    w = item_weights()
    prev = np.asarray([float(params()["sledai_prevalence"][k]) for k in names])
    lo, hi = _total_bounds(design)
    items = np.zeros((len(design), len(names)), dtype=bool)
    todo = np.arange(len(design))
    for _ in range(400):
        if not len(todo):
            break
        draw = rng.random((len(todo), len(names))) < prev
        tot = draw.astype(np.int64) @ w
        ok = (tot >= lo[todo]) & (tot <= hi[todo])
        items[todo[ok]] = draw[ok]
        todo = todo[~ok]
    for i in todo:
        key = (int(lo[i]), int(hi[i]))
        items[i] = [n in _FALLBACK[key] for n in names]
    return items


def _day1_items(screen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DAY 1 items: the SCREENING items, a few subjects differing by one low-weight item."""
    names = item_names()
    flare = [names.index(k) for k in params()["flare_items"]]
    day1 = screen.copy()
    who = np.flatnonzero(rng.random(len(screen)) < float(params()["baseline_item_toggle"]))
    cols = np.asarray(flare)[rng.integers(len(flare), size=len(who))]
    day1[who, cols] = ~day1[who, cols]
    return day1


def _resolved_sets(day1: np.ndarray, responder: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which DAY 1 items resolve by WEEK 24: worth >= 4 points for responders, < 4 for others."""
    p = params()["resolve_probability"]
    w = item_weights()
    prob = np.where(responder, float(p["responder"]), float(p["non_responder"]))[:, None]
    resolved = np.zeros_like(day1)
    todo = np.arange(len(day1))
    for _ in range(200):
        if not len(todo):
            break
        draw = day1[todo] & (rng.random((len(todo), day1.shape[1])) < prob[todo])
        gain = draw.astype(np.int64) @ w
        ok = np.where(responder[todo], gain >= 4, gain < 4)
        resolved[todo[ok]] = draw[ok]
        todo = todo[~ok]
    # responders that could not reach 4 points lose every item; non-responders keep all
    resolved[todo] = np.where(responder[todo, None], day1[todo], False)
    return resolved


def trajectories(screen: np.ndarray, responder: np.ndarray, dose: np.ndarray, seed: int) -> np.ndarray:
    """Items at every scheduled visit (subjects x visits x 24)."""
    rng = stream(seed, "sledai-course")
    p = params()
    names = item_names()
    sledai = sledai_visit_mask()
    n_vis = len(sledai)
    post = np.flatnonzero(sledai & (np.arange(n_vis) >= 2))  # assessed visits after DAY 1
    day1 = _day1_items(screen, rng)
    resolved = _resolved_sets(day1, responder, rng)
    # higher doses resolve earlier: resolution visit drawn from a dose-tilted distribution
    tilt = np.linspace(1.0, 0.0, len(post))[None, :] * (1.0 + 2.0 * dose[:, None])
    pr = np.exp(tilt) / np.exp(tilt).sum(axis=1, keepdims=True)
    cum = pr.cumsum(axis=1)
    u = rng.random(day1.shape)
    res_at = post[np.minimum((u[:, :, None] > cum[:, None, :]).sum(axis=2), len(post) - 1)]
    items = np.zeros((len(screen), n_vis, len(names)), dtype=bool)
    items[:, 0] = screen
    flare_cols = np.asarray([names.index(k) for k in p["flare_items"]])
    last = post[-1]
    for k in range(1, n_vis):
        items[:, k] = day1 & ~(resolved & (res_at <= k))
        if k in post:
            if k == last:  # responders keep WEEK 24 free of new items (no new BILAG A/B)
                chance = np.where(responder, 0.0, float(p["non_responder_week24_flare"]))
            else:
                chance = np.full(len(screen), float(p["flare_probability"]))
            who = np.flatnonzero(rng.random(len(screen)) < chance)
            items[who, k, flare_cols[rng.integers(len(flare_cols), size=len(who))]] = True
    # visits without an assessment carry the state of the last assessed visit
    for k in range(2, n_vis):
        if not sledai[k]:
            prev = max(j for j in range(k) if sledai[j])
            items[:, k] = items[:, prev]
    return items


def totals(items: np.ndarray) -> np.ndarray:
    """Weighted SLEDAI-2K totals of item arrays (last axis = items)."""
    return items.astype(np.int64) @ item_weights()


def pga_tenths(items: np.ndarray, responder: np.ndarray, seed: int) -> np.ndarray:
    """PGA in tenths (0-30) per subject and scheduled visit, following the SLEDAI total."""
    rng = stream(seed, "pga")
    p = params()["pga_baseline"]
    n, n_vis, _ = items.shape
    base = np.clip(np.round(rng.normal(p["mean"], p["sd"], n) * 10), p["min"] * 10, p["max"] * 10)
    tot = totals(items).astype(float)
    ratio = tot / np.maximum(tot[:, [1]], 1.0)
    pga = np.round(base[:, None] * (0.15 + 0.85 * ratio) + rng.normal(0, 1.5, (n, n_vis)))
    pga[:, 1] = base
    pga[:, 0] = np.clip(base + rng.integers(-1, 2, n), 0, 30)
    last = n_vis - 1
    pga[:, last] = np.where(responder, np.minimum(pga[:, last], base), pga[:, last])
    return np.clip(pga, 0, 30).astype(np.int64)


def bilag_grades(items: np.ndarray, responder: np.ndarray, seed: int) -> np.ndarray:
    """BILAG grade letters (subjects x visits x domains) derived from the active SLEDAI items.

    An active domain has a severity per subject (A, B or C); from a random post-baseline visit on
    it may be graded one step milder (more often in responders). An inactive domain is C right
    after it resolved, D if it was ever involved, else E.
    """
    rng = stream(seed, "bilag")
    p = params()
    names = item_names()
    domains = study.bilag_domains()
    letters = np.asarray(["A", "B", "C"], dtype=object)
    n, n_vis, _ = items.shape
    sledai = sledai_visit_mask()
    post = np.flatnonzero(sledai & (np.arange(n_vis) >= 2))
    soft_p = np.where(responder, p["bilag_softening"]["responder"], p["bilag_softening"]["non_responder"])
    out = np.empty((n, n_vis, len(domains)), dtype=object)
    for d, dom in enumerate(domains):
        cols = [names.index(k) for k in p["bilag_items"][dom]]
        active = items[:, :, cols].any(axis=2) if cols else np.zeros((n, n_vis), dtype=bool)
        pa, pb = p["bilag_grade"][dom]
        u = rng.random(n)
        level = np.where(u < pa, 0, np.where(u < pa + pb, 1, 2))
        softens = rng.random(n) < soft_p
        soft_at = np.where(softens, post[rng.integers(len(post), size=n)], n_vis)
        history = rng.random(n) < float(p["bilag_history"])
        ever = history.copy()
        prev_active = np.zeros(n, dtype=bool)
        for k in range(n_vis):
            grade = letters[np.minimum(level + (k >= soft_at), 2)]
            inactive = np.where(prev_active, "C", np.where(ever, "D", "E"))
            out[:, k, d] = np.where(active[:, k], grade, inactive)
            if sledai[k]:
                ever |= active[:, k]
                prev_active = active[:, k]
    return out
