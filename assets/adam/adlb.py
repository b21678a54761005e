"""ADLB: laboratory BDS in standard units (derivations.md, Datasets that must exist; Baseline).

One record per SDTM LB numeric result (``LBSTRESN``; qualitative screening tests such as HCG and
serology stay in SDTM LB). (v2) One parameter per test **and specimen**: ``PARAMCD``/``PARAM``/
``PARAMN`` come from ``study/adlb_parameters.csv`` by (``LBTESTCD``, ``LBSPEC``), so blood ``WBC``
and urine ``WBC`` are two parameters (``WBC``, ``WBCU``) and baseline, change and range flags,
derived per ``USUBJID``/``PARAMCD``, are derived within each. An LB record whose test and specimen
have no parameter there (the qualitative tests) is not in ADLB. ``A1LO``/``A1HI`` are the site
range in standard units, ``R2A1HI`` the ratio to the upper limit, ``ANRIND`` LOW/NORMAL/HIGH
against that range, ``BNRIND`` the baseline ``ANRIND``, ``SHIFT1`` "<BNRIND> to <ANRIND>" on
post-baseline records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import (
    ADSL_CORE_VARS,
    derive_var_ady,
    derive_var_anl01fl,
    derive_vars_avisit,
    derive_vars_baseline,
    merge_adsl,
    treatment_vars,
)
from assets.common.columns import require_columns
from assets.common.dates import iso_to_date
from assets.common.precision import DECIMALS

ADSL_VARS = [*ADSL_CORE_VARS, "TRTSDT"]
LB_VARS = [
    "USUBJID",
    "LBTESTCD",
    "LBSTRESN",
    "LBSTRESC",
    "LBSTRESU",
    "LBSPEC",
    "LBSTNRLO",
    "LBSTNRHI",
    "LBDTC",
    "VISIT",
]
"""SDTM LB variables ADLB needs (and ``LBSEQ`` when present)."""


def derive_var_anrind(adlb: pd.DataFrame) -> pd.DataFrame:
    """``ANRIND``: ``LOW`` below ``A1LO``, ``HIGH`` above ``A1HI``, else ``NORMAL`` (6 decimals, so a
    converted value equal to its converted limit is NORMAL); missing without value or range."""
    require_columns(adlb, ["AVAL", "A1LO", "A1HI"], "derive_var_anrind")
    out = adlb.copy(deep=False)
    v, lo, hi = (out[c].astype("Float64").round(DECIMALS) for c in ("AVAL", "A1LO", "A1HI"))
    ind = pd.Series(pd.NA, index=out.index, dtype="string")
    ind = ind.mask((v.notna() & (lo.notna() | hi.notna())).fillna(False), "NORMAL")
    ind = ind.mask((v < lo).fillna(False), "LOW").mask((v > hi).fillna(False), "HIGH")
    out["ANRIND"] = ind
    return out


def derive_var_shift1(adlb: pd.DataFrame) -> pd.DataFrame:
    """``SHIFT1`` = ``BNRIND to ANRIND`` on post-baseline records with both indicators."""
    require_columns(adlb, ["BNRIND", "ANRIND", "CHG"], "derive_var_shift1")
    out = adlb.copy(deep=False)
    both = out["BNRIND"].notna() & out["ANRIND"].notna() & out["CHG"].notna()
    out["SHIFT1"] = (out["BNRIND"].astype("string") + " to " + out["ANRIND"].astype("string")).where(both)
    return out


PARAMETER_KEYS = ["LBTESTCD", "LBSPEC"]


def adlb_parameters() -> pd.DataFrame:
    """``study/adlb_parameters.csv``: one row per (``LBTESTCD``, ``LBSPEC``) with its ``PARAMCD``,
    ``PARAMN`` (int) and ``PARAM``; raises when a test and specimen has two rows."""
    params = study.table("adlb_parameters")
    dup = params.duplicated(PARAMETER_KEYS) | params.duplicated("PARAMCD") | params.duplicated("PARAMN")
    if dup.any():
        raise ValueError(
            f"study/adlb_parameters.csv: duplicate parameters {params.loc[dup].to_dict('records')}"
        )
    params["PARAMN"] = params["PARAMN"].astype(int)
    return params


def parameter_rows(lb: pd.DataFrame, params: pd.DataFrame) -> np.ndarray:
    """Per LB row, the position of its (``LBTESTCD``, ``LBSPEC``) in ``params``, -1 when none (a
    missing code or specimen matches nothing)."""
    table_index = pd.MultiIndex.from_frame(params[PARAMETER_KEYS])
    keys = pd.MultiIndex.from_arrays([lb[c].astype("string") for c in PARAMETER_KEYS])
    return np.asarray(table_index.get_indexer(keys))


def derive_adlb(lb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADLB before spec conformance."""
    require_columns(lb, LB_VARS, "derive_adlb")
    params = adlb_parameters()
    pos = parameter_rows(lb, params)
    keep = pos >= 0
    # filter only the columns used: filtering the whole of SDTM LB re-takes every string column
    r = lb.loc[keep, [c for c in (*LB_VARS, "LBSEQ") if c in lb.columns]].reset_index(drop=True)
    p = params.iloc[pos[keep]].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "USUBJID": r["USUBJID"].astype("str"),
            "LBSEQ": pd.to_numeric(r["LBSEQ"], errors="coerce") if "LBSEQ" in r else np.nan,
            "PARAMCD": p["PARAMCD"].astype("str"),
            "PARAM": p["PARAM"].astype("str"),
            "PARAMN": p["PARAMN"].to_numpy(),
            "AVAL": pd.to_numeric(r["LBSTRESN"], errors="coerce"),
            "AVALC": r["LBSTRESC"].astype("str"),
            "A1LO": pd.to_numeric(r["LBSTNRLO"], errors="coerce"),
            "A1HI": pd.to_numeric(r["LBSTNRHI"], errors="coerce"),
            "ADT": iso_to_date(r["LBDTC"]),
            "VISIT": r["VISIT"].astype("str"),
        }
    )
    out["SRCSEQ"] = out["LBSEQ"]
    out = derive_vars_avisit(out).drop(columns="VISIT")
    out["R2A1HI"] = (out["AVAL"] / out["A1HI"].where(out["A1HI"] > 0)).round(DECIMALS)
    out = derive_var_anrind(out)
    out = merge_adsl(out, adsl, ["USUBJID", "TRTSDT"])
    out = derive_vars_baseline(out, nrind=True)
    out = derive_var_ady(out)
    out = derive_var_anl01fl(out)
    out = derive_var_shift1(out)
    out = merge_adsl(out, adsl, ADSL_VARS)
    return treatment_vars(out)
