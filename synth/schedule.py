"""Visits actually held: SCREENING for everyone, the scheduled visits of randomized subjects up to
the data cut or their discontinuation, and a few UNSCHEDULED visits.

Dates sit inside the visit window (jitter from study/synth.yaml); with defects a few visits are
moved just outside it, and those become ``visit_out_of_window`` ground truth.
"""

from __future__ import annotations

import numpy as np

from synth.efficacy import scheduled_visits
from synth.params import params, stream
from synth.table import Table

UNSCHEDULED = "UNSCHEDULED"


def _scheduled_grid(subj: Table, seed: int, cut: int):
    """Planned dates (subjects x scheduled visits) with in-window jitter, and which visits happened."""
    rng = stream(seed, "visit-dates")
    sv = scheduled_visits()
    n, k = len(subj), len(sv)
    planned = sv["PLANNED_DAY"].fillna(0).to_numpy(dtype=np.int64)
    window = sv["WINDOW_DAYS"].fillna(0).to_numpy(dtype=np.int64)
    jit_max = np.asarray([int(params()["visit_jitter_days"].get(int(w), 0)) if w > 0 else 0 for w in window])
    jitter = np.round(rng.uniform(-1, 1, (n, k)) * jit_max[None, :]).astype(np.int64)
    date = subj["d1"][:, None] + planned[None, :] - 1 + jitter
    date[:, 0] = subj["scrdt"]
    held = (date <= cut) & (date < subj["discdt"][:, None])
    held[subj["fail"], 1:] = False
    held[:, 0] = True
    return date, held, planned, window


def _push_out_of_window(
    date, held, planned, window, subj: Table, defects: float, seed: int, cut: int
) -> list[dict]:
    """Moves a few held visits (WEEK 2 onwards) just outside their window; returns what moved."""
    if defects <= 0:
        return []
    rng = stream(seed, "visit-out-of-window")
    cells = np.argwhere(held[:, 2:]) + np.array([0, 2])
    n_move = max(1, int(round(defects * len(cells) * 0.2)))
    moved = []
    for i, k in cells[rng.permutation(len(cells))]:
        if len(moved) >= n_move:
            break
        if subj["design"][i] != "":
            continue
        sign = 1 if rng.random() < 0.5 else -1
        new = subj["d1"][i] + planned[k] - 1 + sign * (window[k] + int(rng.integers(1, 5)))
        prev_date = date[i, k - 1]
        next_date = date[i, k + 1] if k + 1 < date.shape[1] else np.iinfo(np.int64).max
        if not (prev_date < new < next_date) or new > cut or new >= subj["discdt"][i]:
            continue
        date[i, k] = new
        moved.append(
            {
                "subj": int(i),
                "k": int(k),
                "date": int(new),
                "studyday": int(new - subj["d1"][i] + 1),
                "planned": int(planned[k]),
                "window": int(window[k]),
            }
        )
    return moved


def _unscheduled(subj: Table, date, held, seed: int, cut: int) -> Table:
    rng = stream(seed, "visit-unscheduled")
    n = len(subj)
    who = np.flatnonzero(~subj["fail"] & (rng.random(n) < float(params()["unscheduled_visit_rate"])))
    day = rng.integers(20, 161, len(who))
    when = subj["d1"][who] + day - 1
    keep = (when <= cut) & (when < subj["discdt"][who])
    keep &= ~(date[who] == when[:, None]).any(axis=1)
    who, when = who[keep], when[keep]
    # state: the last scheduled visit held on or before the unscheduled one
    before = held[who] & (date[who] <= when[:, None])
    state = before.shape[1] - 1 - np.argmax(before[:, ::-1], axis=1)
    return Table(_subj=who, _k=np.full(len(who), -1), _state=state, _date=when)


def make_visits(subj: Table, seed: int, cut: int, defects: float) -> tuple[Table, list[dict]]:
    """One row per visit held: _subj, _k (scheduled index, -1 unscheduled), _state, _date, VISIT, _visitnum.

    Also adds ``completed`` (WEEK 24 held) and ``lastdt`` (last visit date) to ``subj``.
    """
    sv = scheduled_visits()
    date, held, planned, window = _scheduled_grid(subj, seed, cut)
    moved = _push_out_of_window(date, held, planned, window, subj, defects, seed, cut)
    ii, kk = np.nonzero(held)
    sched = Table(_subj=ii, _k=kk, _state=kk, _date=date[ii, kk])
    visits = Table.concat([sched, _unscheduled(subj, date, held, seed, cut)])
    labels = np.asarray(sv["VISIT"].tolist() + [UNSCHEDULED], dtype=object)
    visitnums = np.asarray(sv["VISITNUM"].tolist() + [99])
    visits["VISIT"] = labels[visits["_k"]]
    visits["_visitnum"] = visitnums[visits["_k"]]
    order = np.lexsort((visits["_date"], visits["_subj"]))
    visits = visits.take(order)
    last = len(sv) - 1
    subj["completed"] = held[:, last]
    subj["completedt"] = np.where(held[:, last], date[:, last], np.iinfo(np.int64).max // 4)
    for m in moved:
        m["VISIT"] = labels[m["k"]]
        m["iso"] = str(np.datetime64(m["date"], "D"))
    return visits, moved
