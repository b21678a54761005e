"""Faults of the contract's "Bad input" table, planted in what is written, with their ground truth.

File-level faults (whole exports, whole forms, extra columns) are planned here and carried out
by the writer; row-level faults are applied to copies of the form tables that become the files
of each site's newest complete export (the one in force). Rows marked ``_protect`` (eligibility
inputs, first doses, planted queries) never get a row fault, so every other ground-truth line
stays true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np

import study
from synth.dates import MONTHS
from synth.params import params, stream
from synth.sites import Site
from synth.table import Table
from synth.units import accepted_units, from_standard

ROW_FORMS = ("VS", "LB", "SLEDAI", "PGA", "BILAG", "EX", "CM", "MH", "AE", "FACS")
ROW_KINDS = (
    "row_bad_number",
    "row_bad_valueset",
    "row_implausible",
    "row_bad_date_form",
    "row_impossible_date",
    "row_missing_required",
    "duplicate_recid",
)
SKIP_KINDS = (
    "export_no_manifest",
    "export_missing_file",
    "export_checksum_mismatch",
    "export_rowcount_mismatch",
)
REJECT_FORMS = {"form_invalid_utf8": ("AE", "PGA"), "form_missing_required_column": ("FACS", "BILAG")}
MISSING_COLUMN = {"FACS": "FCTESTCD", "BILAG": "BLDAT"}
UNEXPECTED = ("CM", "COMMENT")

# Values outside each value set (checked against study.valueset at import)
BAD_CODE = {
    "VISIT": "WEEK 3",
    "NY": "YES",
    "BILAGGRADE": "F",
    "AESEV": "FATAL",
    "AEREL": "MAYBE",
    "CMDOSU": "tablet",
    "CMDOSFRQ": "Q2D",
    "MHCAT": "CANCER",
    "NYHA": "V",
    "VSTESTCD": "BMI",
    "LBTESTCD": "GLUC",
    "FCTESTCD": "CD8",
}
BAD_UNIT = {"VSORRESU": "stone", "LBORRESU": "mmol/L", "FCORRESU": "cells/uL"}
for _vs, _bad in BAD_CODE.items():
    assert _bad not in study.valueset(_vs), (_vs, _bad)

_FULL_DATE = re.compile(r"^\d{2}-[A-Z]{3}-\d{4}$")
_PLAIN_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_TEST_COL = {"VS": "VSTESTCD", "LB": "LBTESTCD", "FACS": "FCTESTCD"}
_UNIT_COL = {"VS": "VSORRESU", "LB": "LBORRESU", "FACS": "FCORRESU"}


@dataclass
class FilePlan:
    """Which exports and files carry file-level faults."""

    skipped: list[tuple[int, str, int]] = field(default_factory=list)  # site index, kind, days after newest
    rejected: dict[tuple[int, str], tuple[str, str]] = field(
        default_factory=dict
    )  # (site, form) -> kind, column
    unexpected: dict[tuple[int, str], str] = field(default_factory=dict)  # (site, form) -> extra column

    def untouchable(self) -> set[tuple[int, str]]:
        return set(self.rejected) | set(self.unexpected)


def plan_file_faults(sites: list[Site], frames: dict[str, Table], seed: int, defects: float) -> FilePlan:
    """One newer incomplete export per skip kind, one rejected form per reject kind, one extra column."""
    plan = FilePlan()
    if defects <= 0:
        return plan
    rng = stream(seed, "file-faults")
    order = [int(i) for i in rng.permutation(len(sites))]
    seen: dict[int, int] = {}
    for j, kind in enumerate(SKIP_KINDS):
        s = order[j % len(order)]
        seen[s] = seen.get(s, 0) + 1
        plan.skipped.append((s, kind, seen[s]))
    used: list[int] = []
    for kind, forms in REJECT_FORMS.items():
        site, form = _site_with_rows(frames, forms, order, used)
        used.append(site)
        plan.rejected[(site, form)] = (
            kind,
            MISSING_COLUMN.get(form, "") if kind == "form_missing_required_column" else "",
        )
    site, form = _site_with_rows(frames, (UNEXPECTED[0],), order, used)
    plan.unexpected[(site, form)] = UNEXPECTED[1]
    return plan


def _site_with_rows(frames: dict[str, Table], forms, order: list[int], avoid: list[int]) -> tuple[int, str]:
    """A site (preferably not in ``avoid``) whose newest export has rows of the first possible form."""
    for form in forms:
        counts = np.bincount(frames[form]["_site"], minlength=len(order))
        for pass_avoid in (True, False):
            for s in order:
                if counts[s] and (not pass_avoid or s not in avoid):
                    return s, form
    return order[0], forms[0]


# ------------------------------------------------------------------------------ row faults
@cache
def _meta(form: str):
    fc = study.form_columns(form)
    return {
        "number": fc.loc[fc["TYPE"].isin(["NUMBER", "INTEGER", "LABRESULT"]), "COLUMN"].tolist(),
        "date": fc.loc[fc["TYPE"] == "DATE", "COLUMN"].tolist(),
        "required": fc.loc[fc["REQUIRED"] == "Y", "COLUMN"].tolist(),
        "code": [(c, v) for c, v, t in zip(fc["COLUMN"], fc["VALUESET"], fc["TYPE"]) if t == "CODE" and v],
        "unit": fc.loc[fc["TYPE"] == "UNIT", "COLUMN"].tolist(),
    }


def _bad_number(form, t, r, meta, rng):
    if form == "PGA":
        return "PGASCORE", "high"
    for col in meta["number"]:
        v = t[col][r]
        if _PLAIN_NUMBER.match(v or ""):
            for a, b in (("0", "O"), ("1", "l"), (".", ",")):
                if a in v:
                    i = v.rindex(a)
                    return col, v[:i] + b + v[i + 1 :]
            return col, v + "+"
    return None


def _bad_valueset(form, t, r, meta, rng):
    options = [(c, BAD_CODE[v]) for c, v in meta["code"] if t[c][r] and v in BAD_CODE]
    options += [(c, BAD_UNIT[c]) for c in meta["unit"] if t[c][r]]
    if not options:
        return None
    col, bad = options[int(rng.integers(len(options)))]
    if col in BAD_UNIT:
        assert bad not in accepted_units(form, t[_TEST_COL[form]][r])
    return col, bad


def _implausible(form, t, r, meta, rng):
    if form == "PGA":
        return "PGASCORE", f"{params()['pga_range'][1] * 1.5:.1f}"
    if form not in _TEST_COL:
        return None
    col = meta["number"][0]
    v, test, unit = t[col][r], t[_TEST_COL[form]][r], t[_UNIT_COL[form]][r]
    if not _PLAIN_NUMBER.match(v or "") or not unit:
        return None
    hi = _plausible_hi(form)[test]
    decimals = len(v.split(".")[1]) if "." in v else 0
    return col, f"{from_standard(hi * 3, form, test, unit):.{decimals}f}"


@cache
def _plausible_hi(form: str) -> dict[str, float]:
    table = {"VS": study.vital_signs, "LB": study.lab_tests, "FACS": study.flow_cytometry}[form]()
    return dict(zip(table[_TEST_COL[form]], table["PLAUSIBLE_HI"].astype(float)))


def _full_date_col(t, r, meta, rng):
    cols = [c for c in meta["date"] if _FULL_DATE.match(t[c][r] or "")]
    return cols[int(rng.integers(len(cols)))] if cols else None


def _bad_date_form(form, t, r, meta, rng):
    col = _full_date_col(t, r, meta, rng)
    if col is None:
        return None
    d, mon, y = t[col][r].split("-")
    m = MONTHS.index(mon) + 1
    forms = [f"{y}-{m:02d}-{d}", f"{int(d)}/{m}/{y}", f"{d}-{mon.capitalize()}-{y}"]
    return col, forms[int(rng.integers(len(forms)))]


def _impossible_date(form, t, r, meta, rng):
    col = _full_date_col(t, r, meta, rng)
    if col is None:
        return None
    y = t[col][r][-4:]
    d, mon = [("31", "FEB"), ("30", "FEB"), ("31", "APR"), ("31", "JUN"), ("31", "SEP"), ("31", "NOV")][
        int(rng.integers(6))
    ]
    return col, f"{d}-{mon}-{y}"


def _missing_required(form, t, r, meta, rng):
    cols = [c for c in meta["required"] if t[c][r]]
    return (cols[int(rng.integers(len(cols)))], "") if cols else None


_APPLY = {
    "row_bad_number": _bad_number,
    "row_bad_valueset": _bad_valueset,
    "row_implausible": _implausible,
    "row_bad_date_form": _bad_date_form,
    "row_impossible_date": _impossible_date,
    "row_missing_required": _missing_required,
}


@dataclass
class RowFaults:
    """Changes for the in-force export: per form, column -> {row: value}, and rows to duplicate."""

    changes: dict[str, dict[str, dict[int, str]]] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    truth: list[dict] = field(default_factory=list)


def _candidates(frames: dict[str, Table], plan: FilePlan) -> tuple[np.ndarray, np.ndarray, int]:
    """(form index, row) of rows that may get a fault, and the row count the rate applies to."""
    forms, rows, total = [], [], 0
    skip = plan.untouchable()
    for fi, form in enumerate(ROW_FORMS):
        t = frames[form]
        total += len(t)
        ok = ~t["_protect"]
        for site, f in skip:
            if f == form:
                ok &= t["_site"] != site
        idx = np.flatnonzero(ok)
        forms.append(np.full(len(idx), fi))
        rows.append(idx)
    return np.concatenate(forms), np.concatenate(rows), total


def plan_row_faults(
    frames: dict[str, Table], plan: FilePlan, sites: list[Site], seed: int, defects: float
) -> RowFaults:
    """Picks rows at the given rate (at least one of every kind) and decides each fault."""
    out = RowFaults()
    if defects <= 0:
        return out
    rng = stream(seed, "row-faults")
    fidx, ridx, total = _candidates(frames, plan)
    n = min(len(ridx), max(len(ROW_KINDS), int(round(defects * total))))
    metas = {f: _meta(f) for f in ROW_FORMS}
    picked = rng.permutation(len(ridx))
    used_kinds: dict[str, int] = {k: 0 for k in ROW_KINDS}
    cursor = 0

    def apply(pos: int, kinds) -> bool:
        form, r = ROW_FORMS[int(fidx[pos])], int(ridx[pos])
        t = frames[form]
        for kind in kinds:
            if kind == "duplicate_recid":
                out.duplicates.setdefault(form, []).append(r)
                for copy in (1, 2):
                    out.truth.append(_truth(kind, form, t, r, "RECID", sites, f"copy={copy}"))
                used_kinds[kind] += 1
                return True
            res = _APPLY[kind](form, t, r, metas[form], rng)
            if res is not None:
                col, value = res
                out.changes.setdefault(form, {}).setdefault(col, {})[r] = value
                out.truth.append(_truth(kind, form, t, r, col, sites, f"value={value}"))
                used_kinds[kind] += 1
                return True
        return False

    while cursor < len(picked) and sum(used_kinds.values()) < n:
        kinds = list(np.asarray(ROW_KINDS, dtype=object)[rng.permutation(len(ROW_KINDS))])
        apply(int(picked[cursor]), kinds)
        cursor += 1
    for kind in ROW_KINDS:  # every kind at least once
        while used_kinds[kind] == 0 and cursor < len(picked):
            apply(int(picked[cursor]), [kind])
            cursor += 1
    return out


def _truth(kind, form, t, r, col, sites, detail) -> dict:
    return {
        "kind": kind,
        "outcome": "quarantine",
        "site": sites[int(t["_site"][r])].siteid,
        "export_id": "",
        "file": f"{form}.csv",
        "recid": t["RECID"][r],
        "column": col,
        "detail": f"subjid={t['SUBJID'][r]};{detail}",
    }


def faulty_frame(form: str, t: Table, faults: RowFaults) -> Table:
    """The form table with this form's row faults applied and duplicated rows appended."""
    changes = faults.changes.get(form, {})
    dups = faults.duplicates.get(form, [])
    if not changes and not dups:
        return t
    out = Table(t)
    for col, rows in changes.items():
        out[col] = t[col].copy()
        idx = np.fromiter(rows.keys(), dtype=np.int64)
        out[col][idx] = np.asarray(list(rows.values()), dtype=object)
    if dups:
        copy = out.take(np.asarray(dups, dtype=np.int64))
        copy["_dup"] = np.ones(len(copy), dtype=np.int64)
        out = Table.concat([out, copy])
    return out
