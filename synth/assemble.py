"""Turns builder output into form tables: common columns, RECIDs, contract column order."""

from __future__ import annotations

from functools import cache

import numpy as np

import study
from synth.table import Table, text
from synth.trial import Trial


@cache
def _contract_columns(form: str) -> tuple[str, ...]:
    return tuple(study.required_columns(form))


def contract_columns(form: str) -> list[str]:
    """The form's columns in the contract's order (common columns first)."""
    return list(_contract_columns(form))


def add_common(form: str, t: Table, trial: Trial) -> Table:
    """Adds STUDYID, SITEID, SUBJID, ``_site`` and RECID.

    RECIDs number the records of a form per site in the order they came into existence
    (availability date, then subject, date, order), so an earlier snapshot, being a subset of
    older records, carries the same RECIDs as the newest one.
    """
    subj = t["_subj"]
    n = len(t)
    t["_site"] = trial.subj["site"][subj]
    t["STUDYID"] = text(study.studyid(), n)
    t["SITEID"] = text(trial.subj["SITEID"][subj])
    t["SUBJID"] = text(trial.subj["SUBJID"][subj])
    order = np.lexsort((t["_ord"], t["_date"], subj, t["_avail"], t["_site"]))
    site_sorted = t["_site"][order]
    starts = np.r_[0, np.flatnonzero(np.diff(site_sorted)) + 1] if n else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.r_[starts, n])
    number = np.arange(n) - np.repeat(starts, lengths) + 1
    width = max(6, len(str(int(lengths.max())))) if n else 6
    recid = np.empty(n, dtype=object)
    recid[order] = [f"{form}-{k:0{width}d}" for k in number]
    t["RECID"] = recid
    missing = [c for c in contract_columns(form) if c not in t]
    if missing:
        raise AssertionError(f"{form}: builder did not produce {missing}")
    t["_dup"] = np.zeros(n, dtype=np.int64)
    return t


def file_order(t: Table) -> np.ndarray:
    """Row order within a site's file: by subject, date, then the record's order (copies after originals)."""
    return np.lexsort((t["_dup"], t["_ord"], t["_date"], t["_subj"]))
