"""ADLB: laboratory BDS in standard units (derivations.md, Datasets that must exist; Baseline and
change), with the standard ADaMIG 1.3 / pharmaverse variables.

One record per SDTM LB numeric result (``LBSTRESN``, or a censored ``LBSTRESC`` such as ``<10``;
qualitative screening tests such as HCG and serology stay in SDTM LB). (v2) One parameter per test
**and specimen**: ``PARAMCD``/``PARAM``/``PARAMN``/``PARCAT1`` come from ``study/adlb_parameters.csv``
by (``LBTESTCD``, ``LBSPEC``), so blood ``WBC`` and urine ``WBC`` are two parameters (``WBC``,
``WBCU``) and baseline, change, range flags and grades, derived per ``USUBJID``/``PARAMCD``, are
derived within each. An LB record whose test and specimen have no parameter there is not in ADLB.

Derivations, each a function below or in ``adlb_results`` (censored results: ``AVAL``, ``DTYPE``),
``adlb_ctcae`` (CTCAE v5.0 grades) and ``common`` (baseline, change, study day): ``A1LO``/``A1HI``
the site range in standard units, ``R2A1HI`` the ratio to the upper limit, ``ANRIND`` LOW/NORMAL/
HIGH against that range, ``BASETYPE``, ``ABLFL``/``BASE``/``BNRIND``/``CHG``, ``PCHG``, ``SHIFT1``,
``ONTRTFL``, ``ANL01FL`` and the SDTM traceability copies (``LBSEQ LBTESTCD LBSPEC LBORRES LBORRESU
LBSTRESC VISIT VISITNUM LBDTC``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.adlb_ctcae import (
    ctcae_grades,
    derive_var_atoxgr,
    derive_vars_atoxdsc,
    derive_vars_atoxgr_dir,
    derive_vars_btoxgr,
)
from assets.adam.adlb_results import derive_vars_aval_censored, result_bounds
from assets.adam.common import (
    ADSL_CORE_VARS,
    UNSCHEDULED,
    derive_var_ady,
    derive_vars_avisit,
    derive_vars_baseline,
    last_per_group,
    merge_adsl,
    treatment_vars,
)
from assets.common.columns import require_columns
from assets.common.dates import iso_to_date
from assets.common.precision import DECIMALS

ADSL_VARS = [*ADSL_CORE_VARS, "TRTSDT", "TRTEDT"]
LB_VARS = [
    "USUBJID",
    "LBTESTCD",
    "LBORRES",
    "LBORRESU",
    "LBSTRESN",
    "LBSTRESC",
    "LBSTRESU",
    "LBSPEC",
    "LBSTNRLO",
    "LBSTNRHI",
    "LBDTC",
    "VISIT",
    "VISITNUM",
]
"""SDTM LB variables ADLB needs (and ``LBSEQ`` when present)."""

BASETYPE = "LAST"
"""The one baseline definition (derivations.md, Baseline and change: the last value on or before
the first dose), named as pharmaverse ADLB names it."""


def derive_var_anrind(adlb: pd.DataFrame) -> pd.DataFrame:
    """``ANRIND``: ``LOW`` below ``A1LO``, ``HIGH`` above ``A1HI``, ``NORMAL`` within (6 decimals, so
    a converted value equal to its converted limit is NORMAL); missing without value or range.

    A censored result is decided on what it says (``adlb_results``): ``<x`` is ``LOW`` when ``x <=
    A1LO``, ``NORMAL`` when ``A1LO <= 0`` and ``x <= A1HI``, else missing; ``>x`` is ``HIGH`` when
    ``x >= A1HI``, else missing."""
    require_columns(adlb, ["AVAL", "AVALC", "A1LO", "A1HI"], "derive_var_anrind")
    out = adlb.copy(deep=False)
    b = result_bounds(out["AVAL"], out["AVALC"])
    lo_v, hi_v = b["LO"].round(DECIMALS), b["HI"].round(DECIMALS)
    lo, hi = (pd.to_numeric(out[c], errors="coerce").astype(float).round(DECIMALS) for c in ("A1LO", "A1HI"))
    has_range = lo.notna() | hi.notna()
    low = (hi_v < lo) | ((hi_v == lo) & b["HI_OPEN"])
    high = (lo_v > hi) | ((lo_v == hi) & b["LO_OPEN"])
    normal = has_range & (lo.isna() | (lo_v >= lo)) & (hi.isna() | (hi_v <= hi))
    ind = pd.Series(pd.NA, index=out.index, dtype="string")
    ind = ind.mask((normal & lo_v.notna()).to_numpy(bool), "NORMAL")
    ind = ind.mask(low.to_numpy(bool), "LOW").mask(high.to_numpy(bool), "HIGH")
    out["ANRIND"] = ind
    return out


def derive_var_r2a1hi(adlb: pd.DataFrame) -> pd.DataFrame:
    """``R2A1HI = AVAL / A1HI`` (6 decimals); missing when ``A1HI`` is missing or not above 0."""
    require_columns(adlb, ["AVAL", "A1HI"], "derive_var_r2a1hi")
    out = adlb.copy(deep=False)
    hi = pd.to_numeric(out["A1HI"], errors="coerce").astype("Float64")
    out["R2A1HI"] = (pd.to_numeric(out["AVAL"], errors="coerce") / hi.where(hi > 0)).round(DECIMALS)
    return out


def derive_var_shift1(adlb: pd.DataFrame) -> pd.DataFrame:
    """``SHIFT1`` = ``BNRIND to ANRIND`` on post-baseline records with both indicators."""
    require_columns(adlb, ["BNRIND", "ANRIND", "CHG"], "derive_var_shift1")
    out = adlb.copy(deep=False)
    both = out["BNRIND"].notna() & out["ANRIND"].notna() & out["CHG"].notna()
    out["SHIFT1"] = (out["BNRIND"].astype("string") + " to " + out["ANRIND"].astype("string")).where(both)
    return out


def derive_var_basetype(adlb: pd.DataFrame) -> pd.DataFrame:
    """``BASETYPE = "LAST"`` on every record: one baseline definition, the last non-missing value
    on or before the first dose (derivations.md, Baseline and change)."""
    require_columns(adlb, ["PARAMCD"], "derive_var_basetype")
    out = adlb.copy(deep=False)
    out["BASETYPE"] = pd.Series(BASETYPE, index=out.index, dtype="string")
    return out


def derive_var_pchg(adlb: pd.DataFrame) -> pd.DataFrame:
    """``PCHG = CHG / BASE x 100`` (6 decimals) where ``CHG`` is present; missing when ``BASE`` is 0
    (no percent change from nothing) or missing (ADaMIG 1.3 PCHG)."""
    require_columns(adlb, ["CHG", "BASE"], "derive_var_pchg")
    out = adlb.copy(deep=False)
    base = pd.to_numeric(out["BASE"], errors="coerce").astype("Float64")
    chg = pd.to_numeric(out["CHG"], errors="coerce").astype("Float64")
    out["PCHG"] = (chg / base.where(base != 0) * 100).round(DECIMALS)
    return out


def derive_var_ontrtfl(adlb: pd.DataFrame, window_days: int | None = None) -> pd.DataFrame:
    """``ONTRTFL = Y`` when ``TRTSDT < ADT <= TRTEDT + window`` days, else missing. The window is
    the treatment-emergent one (study/protocol_limits.csv ``TEAE_DAYS_AFTER_LAST_DOSE``, 28 days,
    as ADAE ``TRTEMFL``); a record on the first-dose day is the pre-dose baseline, not on treatment
    (derivations.md, Baseline and change). No first or last dose date: missing."""
    require_columns(adlb, ["ADT", "TRTSDT", "TRTEDT"], "derive_var_ontrtfl")
    if window_days is None:
        window_days = int(study.protocol_limits()["TEAE_DAYS_AFTER_LAST_DOSE"])
    out = adlb.copy(deep=False)
    adt, start, end = (pd.to_datetime(out[c]) for c in ("ADT", "TRTSDT", "TRTEDT"))
    on = ((adt > start) & (adt <= end + pd.Timedelta(days=window_days))).fillna(False).to_numpy(bool)
    out["ONTRTFL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(on, "Y")
    return out


def derive_var_anl01fl_nearest(adlb: pd.DataFrame) -> pd.DataFrame:
    """``ANL01FL = Y`` on the one record analysed per subject, parameter and analysis visit:

    - the baseline record (``ABLFL = Y``), which is the one flagged in its visit;
    - in every other scheduled ``AVISIT``, among records with an ``AVAL`` and an ``ADT``, the record
      nearest to the visit's target day (study/visits.csv ``PLANNED_DAY``, counted from
      ``TRTSDT``), then the latest (``ADT``, then ``SRCSEQ``); a visit without a planned day
      (``SCREENING``) or a subject without ``TRTSDT``: the latest;
    - ``UNSCHEDULED`` records are not analysed by visit (never flagged unless baseline).

    So no two records of a subject, parameter and visit carry the flag."""
    require_columns(
        adlb, ["USUBJID", "PARAMCD", "AVISIT", "AVAL", "ADT", "TRTSDT", "ABLFL"], "derive_var_anl01fl_nearest"
    )
    out = adlb.copy(deep=False)
    by = ["USUBJID", "PARAMCD", "AVISIT"]
    is_base = out["ABLFL"].eq("Y").fillna(False).to_numpy(bool)
    group = out.groupby(by, sort=False).ngroup()
    has_base = pd.Series(is_base).groupby(group.to_numpy()).transform("any").to_numpy(bool)
    planned = pd.to_numeric(
        out["AVISIT"].map(study.visits().set_index("VISIT")["PLANNED_DAY"]), errors="coerce"
    ).astype(float)
    target = pd.to_datetime(out["TRTSDT"]) + pd.to_timedelta(planned - 1, unit="D")
    distance = (pd.to_datetime(out["ADT"]) - target).dt.days.abs().astype(float)
    keys = pd.DataFrame({"_NEAR": -distance.fillna(0.0), "ADT": out["ADT"]}, index=out.index)
    order = ["_NEAR", "ADT"]
    if "SRCSEQ" in out.columns:
        keys["SRCSEQ"] = pd.to_numeric(out["SRCSEQ"], errors="coerce")
        order.append("SRCSEQ")
    keys = keys.assign(**{c: out[c] for c in by})
    rows = (
        out["AVAL"].notna().to_numpy(bool)
        & out["ADT"].notna().to_numpy(bool)
        & out["AVISIT"].notna().to_numpy(bool)
        & out["AVISIT"].ne(UNSCHEDULED).fillna(False).to_numpy(bool)
        & ~has_base
    )
    picked = last_per_group(keys, rows, by, order)
    flag = out.index.isin(picked) | is_base
    out["ANL01FL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(flag, "Y")
    return out


PARAMETER_KEYS = ["LBTESTCD", "LBSPEC"]


def adlb_parameters() -> pd.DataFrame:
    """``study/adlb_parameters.csv``: one row per (``LBTESTCD``, ``LBSPEC``) with its ``PARAMCD``,
    ``PARAMN`` (int), ``PARAM`` and ``PARCAT1``; raises when a test and specimen has two rows."""
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
    text = {c: r[c].astype("string") for c in ("LBTESTCD", "LBSPEC", "LBORRES", "LBORRESU", "LBSTRESC")}
    out = pd.DataFrame(
        {
            "USUBJID": r["USUBJID"].astype("str"),
            "LBSEQ": pd.to_numeric(r["LBSEQ"], errors="coerce") if "LBSEQ" in r else np.nan,
            "PARAMCD": p["PARAMCD"].astype("str"),
            "PARAM": p["PARAM"].astype("str"),
            "PARAMN": p["PARAMN"].to_numpy(),
            "PARCAT1": p["PARCAT1"].astype("str"),
            "AVAL": pd.to_numeric(r["LBSTRESN"], errors="coerce"),
            "AVALC": text["LBSTRESC"],
            "A1LO": pd.to_numeric(r["LBSTNRLO"], errors="coerce"),
            "A1HI": pd.to_numeric(r["LBSTNRHI"], errors="coerce"),
            "ADT": iso_to_date(r["LBDTC"]),
            "VISIT": r["VISIT"].astype("string"),
            "VISITNUM": pd.to_numeric(r["VISITNUM"], errors="coerce"),
            "LBDTC": r["LBDTC"].astype("string"),
            **{c: text[c] for c in ("LBTESTCD", "LBSPEC", "LBORRES", "LBORRESU", "LBSTRESC")},
        }
    )
    out["SRCSEQ"] = out["LBSEQ"]
    out = derive_vars_avisit(out)
    out = derive_vars_aval_censored(out)
    out = derive_var_r2a1hi(out)
    out = derive_var_anrind(out)
    out = merge_adsl(out, adsl, ["USUBJID", "TRTSDT", "TRTEDT"])
    out = derive_var_basetype(out)
    out = derive_vars_baseline(out, nrind=True)
    out = derive_var_pchg(out)
    out = derive_var_ady(out)
    out = derive_var_ontrtfl(out)
    out = derive_var_anl01fl_nearest(out)
    out = derive_var_shift1(out)
    criteria = ctcae_grades()
    out = derive_vars_atoxdsc(out, criteria)
    out = derive_vars_atoxgr_dir(out, criteria)
    out = derive_var_atoxgr(out)
    out = derive_vars_btoxgr(out)
    out = merge_adsl(out, adsl, ADSL_VARS)
    return treatment_vars(out)
