"""Pieces every ADaM dataset uses: analysis dates, visits, baseline and change, ADSL variables,
and the final conform-to-spec step. Pure DataFrame functions (no Dagster).

Baseline (derivations.md, "Baseline and change", every BDS dataset): ``ABLFL = Y`` marks, per
subject and parameter, the last record with a non-missing ``AVAL`` dated on or before the first
dose date (``TRTSDT``); ``BASE`` is its ``AVAL`` (``BNRIND`` its ``ANRIND``) on every record of the
parameter; ``CHG = AVAL - BASE`` on post-baseline records (dated after ``TRTSDT``).

Each step returns a new frame from ``copy(deep=False)``: with pandas copy-on-write the caller's
frame still never changes, and a wide BDS frame is not copied column by column at every step.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

import study
from assets.common.columns import require_columns
from assets.common.dates import iso_to_date, study_day
from assets.common.precision import DECIMALS
from study import spec

DATE32 = pd.ArrowDtype(pa.date32())
UNSCHEDULED = "UNSCHEDULED"


ADSL_CORE_VARS = ["USUBJID", "STUDYID", "SUBJID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "SAFFL"]
"""Identifiers, treatment and safety flag that every BDS/OCCDS dataset carries from ADSL."""


def derive_var_adt(df: pd.DataFrame, dtc: str, target: str = "ADT") -> pd.DataFrame:
    """``ADT`` (datetime64) from an ISO ``--DTC``: full dates only; partial dates get no ``ADT``."""
    require_columns(df, [dtc], "derive_var_adt")
    out = df.copy(deep=False)
    out[target] = iso_to_date(out[dtc].astype("string"))
    return out


def derive_var_ady(
    df: pd.DataFrame, date: str = "ADT", ref: str = "TRTSDT", target: str = "ADY"
) -> pd.DataFrame:
    """Study day against the first dose (derivations.md, Time: no day 0)."""
    require_columns(df, [date, ref], "derive_var_ady")
    out = df.copy(deep=False)
    out[target] = study_day(out[date], out[ref]) if len(out) else pd.Series(dtype="Int64")
    return out


def derive_vars_avisit(df: pd.DataFrame, visit: str = "VISIT") -> pd.DataFrame:
    """``AVISIT`` = the nominal ``VISIT`` label, ``AVISITN`` its number (study/visits.csv)."""
    require_columns(df, [visit], "derive_vars_avisit")
    out = df.copy(deep=False)
    out["AVISIT"] = out[visit].astype("string")
    out["AVISITN"] = out["AVISIT"].map(study.visitnum_map()).astype("Float64")
    return out


def merge_adsl(df: pd.DataFrame, adsl: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Add subject-level ``columns`` from ADSL by ``USUBJID`` (left join; ADSL is unique)."""
    require_columns(adsl, ["USUBJID", *columns], "merge_adsl")
    keep = [c for c in columns if c != "USUBJID" and c not in df.columns]
    if not adsl["USUBJID"].is_unique:
        raise pd.errors.MergeError("merge_adsl: ADSL has more than one record for a USUBJID")
    # Looked up once per distinct subject (a merge hashes every record's USUBJID string), then
    # taken by position; -1 (not in ADSL) becomes missing, as in a left join.
    codes, subjects = df["USUBJID"].factorize(use_na_sentinel=False)
    rows = pd.Index(adsl["USUBJID"]).get_indexer(subjects)[codes]
    out = df.reset_index(drop=True)
    for c in keep:
        out[c] = adsl[c].array.take(rows, allow_fill=True)
    return out


def treatment_vars(df: pd.DataFrame) -> pd.DataFrame:
    """BDS/OCCDS ``TRTP TRTPN TRTA TRTAN`` from ADSL ``TRT01P TRT01PN TRT01A TRT01AN`` (one period)."""
    out = df.copy(deep=False)
    out["TRTP"], out["TRTPN"] = out["TRT01P"], out["TRT01PN"]
    out["TRTA"], out["TRTAN"] = out["TRT01A"], out["TRT01AN"]
    return out


def last_per_group(df: pd.DataFrame, rows: np.ndarray, by: list[str], order: list[str]) -> pd.Index:
    """Index labels of the last row, by a stable sort on ``order``, of each ``by`` group among
    ``rows`` (a boolean array); rows with a missing ``by`` value belong to no group.

    Only numeric keys are filtered and sorted: the ``by`` strings become one group number (only
    the order within a group decides which row is last), and re-ordering the wide frame would
    re-take every Arrow-backed string column of it."""
    group = df.groupby(by, sort=False).ngroup()
    keys = df[order].assign(_GROUP=group)[rows & group.notna().to_numpy()]
    keys = keys.sort_values(["_GROUP", *order], kind="stable")
    return keys.index[~keys["_GROUP"].duplicated(keep="last").to_numpy()]


def derive_vars_baseline(
    bds: pd.DataFrame, order: list[str] | None = None, nrind: bool = False
) -> pd.DataFrame:
    """Add ``ABLFL``, ``BASE``, ``CHG`` (and ``BNRIND`` when ``nrind``) per derivations.md.

    Needs ``USUBJID PARAMCD AVAL ADT TRTSDT``; ``order`` breaks ties between records of the same
    date (default ``AVISITN``, then the source sequence ``SRCSEQ`` if present): the last wins."""
    require_columns(bds, ["USUBJID", "PARAMCD", "AVAL", "ADT", "TRTSDT"], "derive_vars_baseline")
    out = bds.copy(deep=False)
    order = order or [c for c in ("AVISITN", "SRCSEQ") if c in out.columns]
    candidate = (
        out["AVAL"].notna() & out["ADT"].notna() & out["TRTSDT"].notna() & (out["ADT"] <= out["TRTSDT"])
    )
    by = ["USUBJID", "PARAMCD"]
    base_idx = last_per_group(out, candidate.fillna(False).to_numpy(), by, ["ADT", *order])
    is_base = pd.Series(out.index.isin(base_idx), index=out.index)
    out["ABLFL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(is_base, "Y")
    source = {"BASE": "AVAL", **({"BNRIND": "ANRIND"} if nrind else {})}
    # the baseline record's values on every record of its group (one baseline per group, so
    # "first" non-missing is that record's value; a group without baseline stays missing)
    base = (
        out[list(source.values())]
        .where(is_base, axis=0)
        .groupby([out[c] for c in by], sort=False)
        .transform("first")
    )
    out = out.drop(columns=[c for c in source if c in out.columns])
    for target, column in source.items():
        out[target] = base[column]
    post = (out["ADT"] > out["TRTSDT"]).fillna(False).astype(bool)
    out["CHG"] = (out["AVAL"] - out["BASE"]).where(post).astype("Float64")
    out["CHG"] = out["CHG"].round(DECIMALS)
    return out


def derive_var_extreme_flag(
    df: pd.DataFrame,
    by_vars: list[str],
    order: list[tuple[str, bool]],
    new_var: str,
    rows: pd.Series | None = None,
    mode: Literal["first", "last"] = "first",
) -> pd.DataFrame:
    """admiral ``derive_var_extreme_flag`` (within ``restrict_derivation`` when ``rows`` is given):
    ``new_var = Y`` on the first (``mode = "first"``) or last record of each ``by_vars`` group among
    ``rows``, after a stable sort on ``order`` (``(column, ascending)`` pairs; missing values sort
    last either way, as dplyr ``arrange`` does); missing on every other record. A missing ``by_vars``
    value is a group of its own (dplyr ``group_by``)."""
    require_columns(df, [*by_vars, *(c for c, _ in order)], "derive_var_extreme_flag")
    if mode not in ("first", "last"):
        raise ValueError(f"derive_var_extreme_flag: mode must be 'first' or 'last', not {mode!r}")
    out = df.copy(deep=False)
    chosen = np.ones(len(out), dtype=bool) if rows is None else rows.fillna(False).to_numpy(dtype=bool)
    cols = [c for c, _ in order]
    sub = out.loc[chosen, list(dict.fromkeys([*by_vars, *cols]))]
    sub = sub.sort_values(cols, ascending=[a for _, a in order], kind="stable", na_position="last")
    group = sub.groupby(by_vars, dropna=False, sort=False).ngroup()
    picked = sub.index[~group.duplicated(keep=mode).to_numpy()]
    out[new_var] = pd.Series(pd.NA, index=out.index, dtype="string").mask(out.index.isin(picked), "Y")
    return out


def derive_var_anl01fl(bds: pd.DataFrame) -> pd.DataFrame:
    """``ANL01FL = Y`` on the baseline record and, per subject, parameter and scheduled post-baseline
    ``AVISIT``, the last record by date (``UNSCHEDULED`` never analysed by visit)."""
    require_columns(bds, ["USUBJID", "PARAMCD", "AVISIT", "ADT", "TRTSDT", "ABLFL"], "derive_var_anl01fl")
    out = bds.copy(deep=False)
    post = (out["ADT"] > out["TRTSDT"]).fillna(False) & out["AVISIT"].ne(UNSCHEDULED).fillna(False)
    order = [c for c in ("SRCSEQ",) if c in out.columns]
    rows = post.to_numpy() & out["AVAL"].notna().to_numpy()
    last = last_per_group(out, rows, ["USUBJID", "PARAMCD", "AVISIT"], ["ADT", *order])
    flag = out.index.isin(last) | out["ABLFL"].eq("Y").fillna(False).to_numpy()
    out["ANL01FL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(flag, "Y")
    return out


def to_date32(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """ADaM numeric dates: datetime64 -> Arrow ``date32`` (Parquet DATE), so readers see dates."""
    out = df.copy(deep=False)
    for c in columns:
        if c in out.columns:
            out[c] = pd.to_datetime(out[c]).astype(DATE32)
    return out


def finalize(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Spec variables only, in spec order (study/adam_variables.csv), typed per spec TYPE (Char -> string, Num -> Float64,
    Int64 for ``*SEQ``/``*DY``/counts, dates -> date32, datetimes -> datetime64[s]), rows sorted by the spec keys."""
    vars_ = spec.variables("adam", dataset)
    # helper columns of the derivation (TRT01P in a BDS, source dates, ...) are not part of the dataset
    out = df[[c for c in df.columns if c in set(vars_["VARIABLE"])]].copy(deep=False)
    for row in vars_.itertuples():
        if row.VARIABLE not in out.columns:
            continue
        col = out[row.VARIABLE]
        if row.ALGORITHM == "date":
            out[row.VARIABLE] = pd.to_datetime(col).astype(DATE32)
        elif row.ALGORITHM == "datetime":
            out[row.VARIABLE] = pd.to_datetime(col).astype("datetime64[s]")
        elif row.TYPE == "Char":
            out[row.VARIABLE] = col.astype("string")
        elif row.ALGORITHM == "integer":
            out[row.VARIABLE] = pd.to_numeric(col, errors="coerce").round().astype("Int64")
        else:
            out[row.VARIABLE] = pd.to_numeric(col, errors="coerce").astype("Float64")
    out = spec.conform(out, "adam", dataset)
    keys = spec.keys("adam", dataset)
    return out.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def dates_to_datetime(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A dataset read back from Parquet: its ``date`` variables (``datetime.date`` objects) as
    datetime64 again, so the derivations can compare them with ``ADT`` and do date arithmetic."""
    out = df.copy(deep=False)
    v = spec.variables("adam", dataset)
    for col in v.loc[v["ALGORITHM"] == "date", "VARIABLE"]:
        if col in out.columns:
            out[col] = pd.to_datetime(out[col])
    return out


def flag_yn(condition: pd.Series) -> pd.Series:
    """``Y``/``N`` from a boolean (missing -> ``N``)."""
    return pd.Series(
        np.where(condition.fillna(False).astype(bool), "Y", "N"), index=condition.index, dtype="string"
    )
