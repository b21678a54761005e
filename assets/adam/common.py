"""Pieces every ADaM dataset uses: analysis dates, visits, baseline and change, ADSL variables,
and the final conform-to-spec step. Pure DataFrame functions (no Dagster).

Baseline (derivations.md, "Baseline and change", every BDS dataset): ``ABLFL = Y`` marks, per
subject and parameter, the last record with a non-missing ``AVAL`` dated on or before the first
dose date (``TRTSDT``); ``BASE`` is its ``AVAL`` (``BNRIND`` its ``ANRIND``) on every record of the
parameter; ``CHG = AVAL - BASE`` on post-baseline records (dated after ``TRTSDT``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

import study
from assets.common.dates import iso_to_date, study_day
from study import spec

DATE32 = pd.ArrowDtype(pa.date32())
UNSCHEDULED = "UNSCHEDULED"


ADSL_CORE_VARS = ["USUBJID", "STUDYID", "SUBJID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "SAFFL"]
"""Identifiers, treatment and safety flag that every BDS/OCCDS dataset carries from ADSL."""


def require(df: pd.DataFrame, columns: list[str], who: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{who}: columns missing: {missing}")


def limits() -> dict[str, float]:
    t = study.table("protocol_limits")
    return dict(zip(t["LIMIT"], t["VALUE"].astype(float)))


def derive_var_adt(df: pd.DataFrame, dtc: str, target: str = "ADT") -> pd.DataFrame:
    """``ADT`` (datetime64) from an ISO ``--DTC``: full dates only; partial dates get no ``ADT``."""
    require(df, [dtc], "derive_var_adt")
    out = df.copy()
    out[target] = iso_to_date(out[dtc].astype("string"))
    return out


def derive_var_ady(
    df: pd.DataFrame, date: str = "ADT", ref: str = "TRTSDT", target: str = "ADY"
) -> pd.DataFrame:
    """Study day against the first dose (derivations.md, Time: no day 0)."""
    require(df, [date, ref], "derive_var_ady")
    out = df.copy()
    out[target] = study_day(out[date], out[ref]) if len(out) else pd.Series(dtype="Int64")
    return out


def derive_vars_avisit(df: pd.DataFrame, visit: str = "VISIT") -> pd.DataFrame:
    """``AVISIT`` = the nominal ``VISIT`` label, ``AVISITN`` its number (study/visits.csv)."""
    require(df, [visit], "derive_vars_avisit")
    out = df.copy()
    out["AVISIT"] = out[visit].astype("string")
    out["AVISITN"] = out["AVISIT"].map(study.visitnum_map()).astype("Float64")
    return out


def merge_adsl(df: pd.DataFrame, adsl: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Add subject-level ``columns`` from ADSL by ``USUBJID`` (left join; ADSL is unique)."""
    require(adsl, ["USUBJID", *columns], "merge_adsl")
    keep = [c for c in columns if c != "USUBJID" and c not in df.columns]
    return df.merge(adsl[["USUBJID", *keep]], on="USUBJID", how="left", validate="many_to_one")


def treatment_vars(df: pd.DataFrame) -> pd.DataFrame:
    """BDS/OCCDS ``TRTP TRTPN TRTA TRTAN`` from ADSL ``TRT01P TRT01PN TRT01A TRT01AN`` (one period)."""
    out = df.copy()
    out["TRTP"], out["TRTPN"] = out["TRT01P"], out["TRT01PN"]
    out["TRTA"], out["TRTAN"] = out["TRT01A"], out["TRT01AN"]
    return out


def derive_vars_baseline(
    bds: pd.DataFrame, order: list[str] | None = None, nrind: bool = False
) -> pd.DataFrame:
    """Add ``ABLFL``, ``BASE``, ``CHG`` (and ``BNRIND`` when ``nrind``) per derivations.md.

    Needs ``USUBJID PARAMCD AVAL ADT TRTSDT``; ``order`` breaks ties between records of the same
    date (default ``AVISITN``, then the source sequence ``SRCSEQ`` if present): the last wins."""
    require(bds, ["USUBJID", "PARAMCD", "AVAL", "ADT", "TRTSDT"], "derive_vars_baseline")
    out = bds.copy()
    order = order or [c for c in ("AVISITN", "SRCSEQ") if c in out.columns]
    candidate = (
        out["AVAL"].notna() & out["ADT"].notna() & out["TRTSDT"].notna() & (out["ADT"] <= out["TRTSDT"])
    )
    cand = out[candidate.fillna(False).to_numpy()].sort_values(
        ["USUBJID", "PARAMCD", "ADT", *order], kind="stable"
    )
    base_idx = cand.groupby(["USUBJID", "PARAMCD"], sort=False).tail(1).index
    out["ABLFL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(out.index.isin(base_idx), "Y")
    base = out.loc[base_idx, ["USUBJID", "PARAMCD", "AVAL", *(["ANRIND"] if nrind else [])]]
    base = base.rename(columns={"AVAL": "BASE", "ANRIND": "BNRIND"})
    out = out.drop(columns=[c for c in ("BASE", "BNRIND") if c in out.columns])
    out = out.reset_index().merge(base, on=["USUBJID", "PARAMCD"], how="left").set_index("index")
    out.index.name = None
    post = (out["ADT"] > out["TRTSDT"]).fillna(False).astype(bool)
    out["CHG"] = (out["AVAL"] - out["BASE"]).where(post).astype("Float64")
    out["CHG"] = out["CHG"].round(6)
    return out


def derive_var_anl01fl(bds: pd.DataFrame) -> pd.DataFrame:
    """``ANL01FL = Y`` on the baseline record and, per subject, parameter and scheduled post-baseline
    ``AVISIT``, the last record by date (``UNSCHEDULED`` never analysed by visit)."""
    require(bds, ["USUBJID", "PARAMCD", "AVISIT", "ADT", "TRTSDT", "ABLFL"], "derive_var_anl01fl")
    out = bds.copy()
    post = (out["ADT"] > out["TRTSDT"]).fillna(False) & out["AVISIT"].ne(UNSCHEDULED).fillna(False)
    order = [c for c in ("SRCSEQ",) if c in out.columns]
    cand = out[post.to_numpy() & out["AVAL"].notna().to_numpy()].sort_values(
        ["USUBJID", "PARAMCD", "AVISIT", "ADT", *order]
    )
    last = cand.groupby(["USUBJID", "PARAMCD", "AVISIT"], sort=False).tail(1).index
    flag = out.index.isin(last) | out["ABLFL"].eq("Y").fillna(False).to_numpy()
    out["ANL01FL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(flag, "Y")
    return out


def to_date32(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """ADaM numeric dates: datetime64 -> Arrow ``date32`` (Parquet DATE), so readers see dates."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = pd.to_datetime(out[c]).astype(DATE32)
    return out


def finalize(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Spec variables only, in spec order (study/adam_variables.csv), typed per spec TYPE (Char -> string, Num -> Float64,
    Int64 for ``*SEQ``/``*DY``/counts, dates -> date32), rows sorted by the spec keys."""
    vars_ = spec.variables("adam", dataset)
    # helper columns of the derivation (TRT01P in a BDS, source dates, ...) are not part of the dataset
    out = df[[c for c in df.columns if c in set(vars_["VARIABLE"])]].copy()
    for row in vars_.itertuples():
        if row.VARIABLE not in out.columns:
            continue
        col = out[row.VARIABLE]
        if row.ALGORITHM == "date":
            out[row.VARIABLE] = pd.to_datetime(col).astype(DATE32)
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
    out = df.copy()
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
