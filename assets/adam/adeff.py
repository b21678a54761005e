"""ADEFF: efficacy BDS, one record per subject, parameter and analysis visit.

Parameters (derivations.md, SLEDAI-2K and SRI-4): ``SLEDAI`` (recomputed SLEDAI-2K total, RS
``SLEDTOT``), ``PGA`` (physician's global assessment 0-3), ``SRI4`` (SLE Responder Index 4,
``AVALC`` ``Y``/``N``, ``AVAL`` 1/0) at every post-baseline SLEDAI visit of the schedule.

SRI-4 variables (ADaMIG 1.3 criterion variables, documented in study/adam_variables.csv):
``CRIT1``/``CRIT1FL`` SLEDAI-2K reduced by >= 4; ``CRIT2``/``CRIT2FL`` no new BILAG A and at most
one new BILAG B; ``CRIT3``/``CRIT3FL`` PGA not worse by >= 0.3 (each ``Y``, ``N`` or missing when the
component is missing); ``NRREAS`` the reason for non-response (sponsor-defined, e.g.
``DISCONTINUED BEFORE VISIT``, ``PGA MISSING``); ``DTYPE = PHANTOM`` (ADaMIG: a record added for a
visit with no assessment) when the subject had no SLEDAI, PGA or BILAG at the visit.

Records: scheduled visits only, the last record by date when a visit repeats; an ``UNSCHEDULED``
record is kept only when it is the baseline record (baseline follows the rule, endpoints never use
unscheduled visits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import (
    ADSL_CORE_VARS,
    UNSCHEDULED,
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

PARAMS = {
    "SLEDAI": ("SLEDAI-2K Total Score", 1),
    "PGA": ("Physician's Global Assessment (0-3)", 2),
    "SRI4": ("SLE Responder Index 4 (SRI-4) Response", 3),
}
ADSL_VARS = [*ADSL_CORE_VARS, "FASFL", "PPROTFL", "TRTSDT", "EOSSTT", "EOSDT"]
CRIT_TEXT = {
    "CRIT1": "SLEDAI-2K reduced by 4 or more from baseline",
    "CRIT2": "No new BILAG A and at most one new BILAG B",
    "CRIT3": "PGA not worse by 0.3 or more from baseline",
}


def sri4_visits() -> pd.DataFrame:
    """Post-baseline SLEDAI visits of the schedule (``WEEK 4`` ... ``WEEK 24``) with planned day."""
    v = study.visits()
    day1 = int(v.loc[v["VISIT"] == "DAY 1", "VISITNUM"].iloc[0])
    keep = v["SLEDAI"].eq("Y") & v["VISITNUM"].gt(day1) & v["VISIT"].ne(UNSCHEDULED)
    return v.loc[keep, ["VISIT", "VISITNUM", "PLANNED_DAY"]].reset_index(drop=True)


def _rs_rows(rs: pd.DataFrame, rows: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` (those present) of the RS records where ``rows``, on a fresh 0..n-1 index:
    filtering only the columns used, since SDTM RS is wide and large (~10^6 records)."""
    keep = rows.to_numpy(dtype=bool)
    return rs.loc[keep, [c for c in columns if c in rs.columns]].reset_index(drop=True)


def rs_parameter(rs: pd.DataFrame, rscat: str, rstestcd: str, paramcd: str) -> pd.DataFrame:
    """RS records of one assessment as BDS rows: ``PARAMCD PARAM PARAMN AVAL ADT AVISIT AVISITN SRCSEQ``."""
    require_columns(rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT"], "rs_parameter")
    r = _rs_rows(
        rs,
        rs["RSCAT"].eq(rscat).fillna(False) & rs["RSTESTCD"].eq(rstestcd).fillna(False),
        ["USUBJID", "RSSTRESN", "RSDTC", "VISIT", "RSSEQ"],
    )
    out = pd.DataFrame(
        {
            "USUBJID": r["USUBJID"].astype("str"),
            "PARAMCD": paramcd,
            "PARAM": PARAMS[paramcd][0],
            "PARAMN": PARAMS[paramcd][1],
            "AVAL": pd.to_numeric(r["RSSTRESN"], errors="coerce").astype("float64"),
            "ADT": iso_to_date(r["RSDTC"]),
            "VISIT": r["VISIT"].astype("str"),
            "SRCDOM": "RS",
            "SRCSEQ": pd.to_numeric(r["RSSEQ"], errors="coerce") if "RSSEQ" in r else np.nan,
        }
    )
    return derive_vars_avisit(out).drop(columns="VISIT")


def derive_bds_parameter(records: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Baseline, change, study day and analysis flag for one RS-derived parameter; one record per
    subject and scheduled visit (the last by date), unscheduled records only when baseline."""
    bds = merge_adsl(records, adsl, ["USUBJID", "TRTSDT"])
    bds = derive_vars_baseline(bds)
    bds = derive_var_ady(bds)
    drop_unscheduled = bds["AVISIT"].eq(UNSCHEDULED).fillna(True) & bds["ABLFL"].ne("Y").fillna(True)
    # one record per visit: the baseline record if the visit has it, else the last non-missing by
    # date; chosen on the key columns only, then the wide frame is taken once in that order
    keys = bds.loc[~drop_unscheduled.to_numpy(), ["USUBJID", "PARAMCD", "AVISITN", "ADT", "SRCSEQ"]]
    keys = keys.assign(_HAS=bds["AVAL"].notna(), _BL=bds["ABLFL"].eq("Y").fillna(False))
    keys = keys.sort_values(
        ["USUBJID", "PARAMCD", "AVISITN", "_BL", "_HAS", "ADT", "SRCSEQ"], na_position="first", kind="stable"
    )
    last = keys.groupby(["USUBJID", "PARAMCD", "AVISITN"], sort=False, dropna=False).tail(1).index
    return derive_var_anl01fl(bds.loc[last])


def bilag_grades(rs: pd.DataFrame, adsl: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """BILAG-2004 grades: (per subject x scheduled visit x domain: grade and date, the last of the
    visit) and (per subject x domain: the baseline grade, the last on or before ``TRTSDT``)."""
    require_columns(rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESC", "RSDTC", "VISIT"], "bilag_grades")
    b = _rs_rows(
        rs,
        rs["RSCAT"].eq("BILAG-2004").fillna(False) & rs["RSTESTCD"].isin(study.bilag_domains()).fillna(False),
        ["USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC", "VISIT"],
    )
    b = pd.DataFrame(
        {
            "USUBJID": b["USUBJID"].astype("str"),
            "DOMAIN": b["RSTESTCD"].astype("str"),
            "GRADE": b["RSSTRESC"].astype("str"),
            "ADT": iso_to_date(b["RSDTC"]),
            "VISIT": b["VISIT"].astype("str"),
        }
    ).merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    graded = b[b["GRADE"].isin(list("ABCDE")).fillna(False)].sort_values(
        ["USUBJID", "DOMAIN", "ADT"], kind="stable"
    )
    base = graded[(graded["ADT"] <= graded["TRTSDT"]).fillna(False)].groupby(["USUBJID", "DOMAIN"]).tail(1)
    visits = (
        graded[graded["VISIT"].ne(UNSCHEDULED).fillna(False)].groupby(["USUBJID", "VISIT", "DOMAIN"]).tail(1)
    )
    return visits[["USUBJID", "VISIT", "DOMAIN", "GRADE", "ADT"]], base[["USUBJID", "DOMAIN", "GRADE"]]


def derive_var_bilag_component(
    grades: pd.DataFrame, baseline: pd.DataFrame, grid: pd.DataFrame
) -> pd.DataFrame:
    """Per row of ``grid`` (``USUBJID VISIT``): ``NEWA`` (new BILAG A: graded A, baseline not A),
    ``NEWB`` (new BILAG B: graded B, baseline C, D or E), ``BLMISS`` (domains without a grade at the
    visit or at baseline), and ``CRIT2FL``: ``N`` if a new A or two or more new B are known, else
    missing if a domain is missing, else ``Y``."""
    domains = study.bilag_domains()
    full = grid[["USUBJID", "VISIT"]].drop_duplicates().merge(pd.DataFrame({"DOMAIN": domains}), how="cross")
    full = full.merge(
        grades[["USUBJID", "VISIT", "DOMAIN", "GRADE"]], on=["USUBJID", "VISIT", "DOMAIN"], how="left"
    )
    full = full.merge(baseline.rename(columns={"GRADE": "BGRADE"}), on=["USUBJID", "DOMAIN"], how="left")
    full["NEWA"] = full["GRADE"].eq("A").fillna(False) & full["BGRADE"].ne("A").fillna(False)
    full["NEWB"] = full["GRADE"].eq("B").fillna(False) & full["BGRADE"].isin(["C", "D", "E"]).fillna(False)
    full["MISS"] = full["GRADE"].isna() | full["BGRADE"].isna()
    agg = (
        full.groupby(["USUBJID", "VISIT"], sort=False)
        .agg(NEWA=("NEWA", "sum"), NEWB=("NEWB", "sum"), BLMISS=("MISS", "sum"))
        .reset_index()
    )
    max_b = study.protocol_limits()["SRI4_MAX_NEW_BILAG_B"]
    fails = agg["NEWA"].gt(0) | agg["NEWB"].gt(max_b)
    agg["CRIT2FL"] = (
        pd.Series("Y", index=agg.index, dtype="string").mask(agg["BLMISS"].gt(0), pd.NA).mask(fails, "N")
    )
    return grid.merge(agg, on=["USUBJID", "VISIT"], how="left")


def derive_param_sri4(
    adsl: pd.DataFrame, sledai: pd.DataFrame, pga: pd.DataFrame, rs: pd.DataFrame
) -> pd.DataFrame:
    """``SRI4`` records: every ``FASFL = Y`` subject x every post-baseline SLEDAI visit (attended or not).

    Responder (``AVALC = Y``, ``AVAL = 1``) when all hold against baseline: SLEDAI-2K ``CHG <= -4``;
    no new BILAG A and at most one new BILAG B; PGA ``CHG < 0.3`` (rounded to 6 decimals: PGA has one
    decimal, so 0.3 is exact after rounding). Any component missing at the visit, or the subject
    discontinued (``EOSSTT = DISCONTINUED``) with ``EOSDT`` before the visit (its date, or when not
    attended its planned date ``TRTSDT + planned day - 1``), means not a responder, reason in
    ``NRREAS`` (``VISIT NOT YET DUE AT DATA CUT`` for an ongoing subject whose planned date is after
    the latest assessment date in the data)."""
    require_columns(adsl, ["USUBJID", "FASFL", "TRTSDT", "EOSSTT", "EOSDT"], "derive_param_sri4")
    lim = study.protocol_limits()
    fas = adsl[adsl["FASFL"].eq("Y").fillna(False)][["USUBJID", "TRTSDT", "EOSSTT", "EOSDT"]]
    grid = fas.merge(sri4_visits(), how="cross")

    def visit_rows(bds: pd.DataFrame) -> pd.DataFrame:
        return bds[bds["AVISIT"].ne(UNSCHEDULED).fillna(False) & bds["ABLFL"].ne("Y").fillna(True)]

    s = visit_rows(sledai)[["USUBJID", "AVISIT", "AVAL", "CHG", "ADT"]].rename(
        columns={"AVISIT": "VISIT", "AVAL": "S_AVAL", "CHG": "S_CHG", "ADT": "S_ADT"}
    )
    p = visit_rows(pga)[["USUBJID", "AVISIT", "AVAL", "CHG", "ADT"]].rename(
        columns={"AVISIT": "VISIT", "AVAL": "P_AVAL", "CHG": "P_CHG", "ADT": "P_ADT"}
    )
    grid = grid.merge(s, on=["USUBJID", "VISIT"], how="left").merge(p, on=["USUBJID", "VISIT"], how="left")
    grades, base = bilag_grades(rs, adsl)
    grid = derive_var_bilag_component(grades, base, grid)
    b_dt = grades.groupby(["USUBJID", "VISIT"])["ADT"].max().rename("B_ADT").reset_index()
    grid = grid.merge(b_dt, on=["USUBJID", "VISIT"], how="left")

    s_chg = grid["S_CHG"].astype("Float64").round(DECIMALS)
    p_chg = grid["P_CHG"].astype("Float64").round(DECIMALS)
    crit1 = (s_chg <= -lim["SRI4_SLEDAI_REDUCTION"]).map({True: "Y", False: "N"}).astype("string")
    crit3 = (p_chg < lim["SRI4_PGA_WORSENING"]).map({True: "Y", False: "N"}).astype("string")
    grid["CRIT1FL"], grid["CRIT3FL"] = crit1, crit3
    attended = (
        grid[["S_AVAL", "P_AVAL"]].notna().any(axis=1)
        | grid["B_ADT"].notna()
        | grid["S_ADT"].notna()
        | grid["P_ADT"].notna()
    )
    planned = grid["TRTSDT"] + pd.to_timedelta(grid["PLANNED_DAY"] - 1, unit="D")
    adt = grid["S_ADT"].fillna(grid["P_ADT"]).fillna(grid["B_ADT"])
    when = adt.fillna(planned)
    disc = grid["EOSSTT"].eq("DISCONTINUED").fillna(False) & (grid["EOSDT"] < when).fillna(False)

    responder = (
        crit1.eq("Y").fillna(False)
        & grid["CRIT2FL"].eq("Y").fillna(False)
        & crit3.eq("Y").fillna(False)
        & ~disc
    )
    # A discontinuation or a missed visit is the whole reason; otherwise every missing or failed component.
    reasons = [
        (attended & crit1.isna(), "SLEDAI-2K MISSING"),
        (attended & grid["CRIT2FL"].isna() & grid["NEWA"].eq(0) & grid["NEWB"].le(1), "BILAG MISSING"),
        (attended & crit3.isna(), "PGA MISSING"),
        (crit1.eq("N"), "SLEDAI-2K REDUCTION < 4"),
        (grid["NEWA"].gt(0), "NEW BILAG A"),
        (grid["NEWB"].gt(lim["SRI4_MAX_NEW_BILAG_B"]), "2 OR MORE NEW BILAG B"),
        (crit3.eq("N"), "PGA WORSE BY 0.3 OR MORE"),
    ]
    joined = pd.Series("", index=grid.index, dtype="string")
    for cond, text in reasons:
        hit = cond.fillna(False).astype(bool)
        joined = joined.mask(
            hit,
            joined + pd.Series(np.where(joined.eq(""), "", "; "), index=grid.index, dtype="string") + text,
        )
    # The data cut is taken as the latest SLEDAI/PGA date in the data: a visit planned after it for a
    # subject still in the study is not yet due (a non-responder today, but not a missed visit).
    data_cut = pd.concat([sledai["ADT"], pga["ADT"]]).max()
    not_due = ~attended & grid["EOSSTT"].eq("ONGOING").fillna(False) & (planned > data_cut).fillna(False)
    short = joined.mask(~attended, "VISIT NOT ATTENDED").mask(not_due, "VISIT NOT YET DUE AT DATA CUT")
    short = short.mask(disc, "DISCONTINUED BEFORE VISIT")
    out = pd.DataFrame(
        {
            "USUBJID": grid["USUBJID"],
            "PARAMCD": "SRI4",
            "PARAM": PARAMS["SRI4"][0],
            "PARAMN": PARAMS["SRI4"][1],
            "AVISIT": grid["VISIT"].astype("string"),
            "AVISITN": grid["VISITNUM"].astype("Float64"),
            "ADT": adt,
            "TRTSDT": grid["TRTSDT"],
            "AVAL": responder.astype(float),
            "AVALC": np.where(responder, "Y", "N"),
            "CRIT1": CRIT_TEXT["CRIT1"],
            "CRIT1FL": crit1,
            "CRIT2": CRIT_TEXT["CRIT2"],
            "CRIT2FL": grid["CRIT2FL"],
            "CRIT3": CRIT_TEXT["CRIT3"],
            "CRIT3FL": crit3,
            "NRREAS": short.where(~responder),
            "DTYPE": pd.Series(pd.NA, index=grid.index, dtype="string").mask(~attended, "PHANTOM"),
            "ANL01FL": "Y",
            "SRCDOM": pd.NA,
            "SRCSEQ": np.nan,
        }
    )
    return derive_var_ady(out)


def derive_adeff(adsl: pd.DataFrame, rs: pd.DataFrame) -> pd.DataFrame:
    """ADEFF before spec conformance: SLEDAI and PGA BDS records plus SRI4."""
    require_columns(
        rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSSTRESC", "RSDTC", "VISIT"], "derive_adeff"
    )
    sledai = derive_bds_parameter(rs_parameter(rs, "SLEDAI-2K", "SLEDTOT", "SLEDAI"), adsl)
    pga = derive_bds_parameter(rs_parameter(rs, "PGA", "PGA", "PGA"), adsl)
    sri4 = derive_param_sri4(adsl, sledai, pga, rs)
    bds = pd.concat([sledai, pga], ignore_index=True)
    bds["AVALC"] = pd.Series(pd.NA, index=bds.index, dtype="string")
    for col in ("CRIT1", "CRIT1FL", "CRIT2", "CRIT2FL", "CRIT3", "CRIT3FL", "NRREAS", "DTYPE"):
        bds[col] = pd.Series(pd.NA, index=bds.index, dtype="string")
    sri4["ABLFL"] = pd.Series(pd.NA, index=sri4.index, dtype="string")
    sri4["BASE"] = np.nan
    sri4["CHG"] = np.nan
    out = pd.concat([bds.drop(columns=["TRTSDT"]), sri4.drop(columns=["TRTSDT"])], ignore_index=True)
    out = merge_adsl(out, adsl, ADSL_VARS)
    return treatment_vars(out)
