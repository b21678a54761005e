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

(v2) Visits not yet due: an ``SRI4`` record whose visit window (planned study day + window,
study/visits.csv, from the first dose) ends after the data cut of the subject's site (the
``EXPORT_ID`` of the site's export in force, ``DCUTDTC``) and has no assessment has ``AVAL`` and
``AVALC`` missing and ``NRREAS = NOT YET DUE``: neither responder nor non-responder.

Standard BDS variables (ADaMIG 1.3): ``ASEQ``, ``PARCAT1`` (study/adeff_parameters.csv), ``PCHG``
(SLEDAI and PGA; missing when ``BASE = 0``), and the ADSL covariates, merged from ADSL, never
recomputed (``STRAT1R`` when ADSL has it).

Records: scheduled visits only, the last record by date when a visit repeats; an ``UNSCHEDULED``
record is kept only when it is the baseline record (baseline follows the rule, endpoints never use
unscheduled visits).
"""

from __future__ import annotations

from collections.abc import Mapping

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
from assets.common.data_cut import EXPORT_ID_FORMAT, export_id_iso, export_id_time
from assets.common.dates import iso_to_date
from assets.common.precision import DECIMALS

ADSL_VARS = [
    *ADSL_CORE_VARS,
    "AGE",
    "AGEU",
    "SEX",
    "RACE",
    "ETHNIC",
    "FASFL",
    "PPROTFL",
    "TRTSDT",
    "TRTEDT",
    "EOSSTT",
    "EOSDT",
]
"""ADSL variables every ADEFF record carries (merged by ``USUBJID``, as in ADSL)."""
ADSL_OPTIONAL_VARS = ["STRAT1R"]
"""ADSL variables merged when ADSL has them (missing otherwise): the randomization stratum."""
NOT_YET_DUE = "NOT YET DUE"
"""``NRREAS`` of an SRI4 record whose visit is not yet due at the data cut (derivations.md, v2)."""
CRIT_TEXT = {
    "CRIT1": "SLEDAI-2K reduced by 4 or more from baseline",
    "CRIT2": "No new BILAG A and at most one new BILAG B",
    "CRIT3": "PGA not worse by 0.3 or more from baseline",
}


def adeff_parameters() -> pd.DataFrame:
    """``study/adeff_parameters.csv``: one row per ``PARAMCD`` with ``PARAMN`` (int), ``PARAM``,
    ``PARCAT1`` and, for a parameter read from SDTM RS, its ``RSCAT`` and ``RSTESTCD`` (empty for
    the derived ``SRI4``); raises when a code or number appears twice."""
    params = study.table("adeff_parameters")
    dup = params.duplicated("PARAMCD") | params.duplicated("PARAMN")
    if dup.any():
        raise ValueError(
            f"study/adeff_parameters.csv: duplicate parameters {params.loc[dup].to_dict('records')}"
        )
    params["PARAMN"] = params["PARAMN"].astype(int)
    return params


def _parameter(paramcd: str) -> dict:
    params = adeff_parameters()
    rows = params[params["PARAMCD"] == paramcd]
    if rows.empty:
        raise KeyError(f"{paramcd} is not in study/adeff_parameters.csv")
    return rows.iloc[0].to_dict()


def sri4_visits() -> pd.DataFrame:
    """Post-baseline SLEDAI visits of the schedule (``WEEK 4`` ... ``WEEK 24``) with planned day and
    window (days either side), study/visits.csv."""
    v = study.visits()
    day1 = int(v.loc[v["VISIT"] == "DAY 1", "VISITNUM"].iloc[0])
    keep = v["SLEDAI"].eq("Y") & v["VISITNUM"].gt(day1) & v["VISIT"].ne(UNSCHEDULED)
    return v.loc[keep, ["VISIT", "VISITNUM", "PLANNED_DAY", "WINDOW_DAYS"]].reset_index(drop=True)


def site_data_cuts(cuts: Mapping[str, str] | None) -> pd.DataFrame:
    """``SITEID``, ``DCUTDTC`` (ISO 8601 UTC, ``2026-03-01T02:00:00Z``) and ``DCUTDTM`` (the same
    time as a timestamp, UTC without zone) of each site, from the export id in force per source
    (:func:`assets.common.data_cut.source_data_cuts`); sources that are not a site (``IWRS``) and
    ids that are not a time are left out."""
    ids = {
        str(site): str(export_id)
        for site, export_id in sorted((cuts or {}).items())
        if str(site).isdigit() and export_id_time(str(export_id)) is not None
    }
    stamps = pd.to_datetime(pd.Series(list(ids.values()), dtype="object"), format=EXPORT_ID_FORMAT, utc=True)
    return pd.DataFrame(
        {
            "SITEID": pd.Series(list(ids), dtype="string"),
            "DCUTDTC": pd.Series([export_id_iso(i) for i in ids.values()], dtype="string"),
            "DCUTDTM": stamps.dt.tz_localize(None).astype("datetime64[ns]"),
        }
    )


def derive_vars_dcut(df: pd.DataFrame, cuts: Mapping[str, str] | None) -> pd.DataFrame:
    """``DCUTDTC`` (and the helper ``DCUTDTM``): the data cut of the subject's site, the export id
    of the site's export in force (derivations.md, v2; site-export.md: ``EXPORT_ID`` is the site's
    data cut); missing for a site without an export in force (or when no cuts are given)."""
    require_columns(df, ["SITEID"], "derive_vars_dcut")
    table = site_data_cuts(cuts)
    out = df.copy(deep=False)
    rows = pd.Index(table["SITEID"]).get_indexer(out["SITEID"].astype("string"))  # -1: no cut
    out["DCUTDTC"] = pd.Series(table["DCUTDTC"].array.take(rows, allow_fill=True), index=out.index)
    out["DCUTDTM"] = pd.Series(table["DCUTDTM"].array.take(rows, allow_fill=True), index=out.index)
    return out


def _rs_rows(rs: pd.DataFrame, rows: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The ``columns`` (those present) of the RS records where ``rows``, on a fresh 0..n-1 index:
    filtering only the columns used, since SDTM RS is wide and large (~10^6 records)."""
    keep = rows.to_numpy(dtype=bool)
    return rs.loc[keep, [c for c in columns if c in rs.columns]].reset_index(drop=True)


def rs_parameter(rs: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """RS records of one parameter (its ``RSCAT``/``RSTESTCD`` in study/adeff_parameters.csv) as BDS
    rows: ``PARAMCD PARAM PARAMN AVAL ADT AVISIT AVISITN SRCDOM SRCSEQ``."""
    require_columns(rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT"], "rs_parameter")
    param = _parameter(paramcd)
    r = _rs_rows(
        rs,
        rs["RSCAT"].eq(param["RSCAT"]).fillna(False) & rs["RSTESTCD"].eq(param["RSTESTCD"]).fillna(False),
        ["USUBJID", "RSSTRESN", "RSDTC", "VISIT", "RSSEQ"],
    )
    out = pd.DataFrame(
        {
            "USUBJID": r["USUBJID"].astype("str"),
            "PARAMCD": paramcd,
            "PARAM": param["PARAM"],
            "PARAMN": param["PARAMN"],
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


def window_closes(grid: pd.DataFrame) -> pd.Series:
    """The time a visit's window closes: midnight after its last day, the first dose date
    ``TRTSDT`` + ``PLANNED_DAY`` + ``WINDOW_DAYS`` (study day ``PLANNED_DAY + WINDOW_DAYS`` is the
    last day of the window; study day 1 is ``TRTSDT``)."""
    require_columns(grid, ["TRTSDT", "PLANNED_DAY", "WINDOW_DAYS"], "window_closes")
    days = grid["PLANNED_DAY"].astype("float64") + grid["WINDOW_DAYS"].astype("float64").fillna(0.0)
    return grid["TRTSDT"] + pd.to_timedelta(days, unit="D")


def derive_var_not_yet_due(grid: pd.DataFrame, attended: pd.Series) -> pd.Series:
    """(v2) A visit not yet due at the data cut (derivations.md, SRI-4): no assessment of it exists
    (``attended`` False), the subject is still in the study (``EOSSTT = ONGOING``: a subject who
    completed or discontinued will not attend it) and its window closes after the data cut of the
    subject's site (:func:`window_closes` later than ``DCUTDTM``). A window that closed at or before
    the cut without an assessment is missed, and without a known cut nothing is not yet due."""
    require_columns(
        grid, ["TRTSDT", "PLANNED_DAY", "WINDOW_DAYS", "EOSSTT", "DCUTDTM"], "derive_var_not_yet_due"
    )
    after_cut = (window_closes(grid) > grid["DCUTDTM"]).fillna(False).astype(bool)
    ongoing = grid["EOSSTT"].eq("ONGOING").fillna(False).astype(bool)
    return ~attended.astype(bool) & ongoing & after_cut


def derive_param_sri4(
    adsl: pd.DataFrame,
    sledai: pd.DataFrame,
    pga: pd.DataFrame,
    rs: pd.DataFrame,
    cuts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``SRI4`` records: every ``FASFL = Y`` subject x every post-baseline SLEDAI visit (attended or not).

    Responder (``AVALC = Y``, ``AVAL = 1``) when all hold against baseline: SLEDAI-2K ``CHG <= -4``;
    no new BILAG A and at most one new BILAG B; PGA ``CHG < 0.3`` (rounded to 6 decimals: PGA has one
    decimal, so 0.3 is exact after rounding). Any component missing at the visit, or the subject
    discontinued (``EOSSTT = DISCONTINUED``) with ``EOSDT`` before the visit (its date, or when not
    attended its planned date ``TRTSDT + planned day - 1``), means not a responder (``AVALC = N``,
    ``AVAL = 0``), reason in ``NRREAS``; a visit without any assessment is ``VISIT NOT ATTENDED``.

    (v2) A visit not yet due at the data cut of the subject's site (``cuts``: site -> export id in
    force; :func:`derive_var_not_yet_due`) has ``AVAL``/``AVALC`` missing and ``NRREAS = NOT YET
    DUE``. Without ``cuts`` every window counts as closed (the final data)."""
    require_columns(adsl, ["USUBJID", "SITEID", "FASFL", "TRTSDT", "EOSSTT", "EOSDT"], "derive_param_sri4")
    lim = study.protocol_limits()
    fas = adsl[adsl["FASFL"].eq("Y").fillna(False)][["USUBJID", "SITEID", "TRTSDT", "EOSSTT", "EOSDT"]]
    grid = derive_vars_dcut(fas, cuts).merge(sri4_visits(), how="cross")

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
    not_due = derive_var_not_yet_due(grid, attended)

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
    short = joined.mask(~attended, "VISIT NOT ATTENDED").mask(not_due, NOT_YET_DUE)
    short = short.mask(disc, "DISCONTINUED BEFORE VISIT")
    avalc = pd.Series(np.where(responder, "Y", "N"), index=grid.index, dtype="string").mask(not_due, pd.NA)
    param = _parameter("SRI4")
    out = pd.DataFrame(
        {
            "USUBJID": grid["USUBJID"],
            "PARAMCD": "SRI4",
            "PARAM": param["PARAM"],
            "PARAMN": param["PARAMN"],
            "AVISIT": grid["VISIT"].astype("string"),
            "AVISITN": grid["VISITNUM"].astype("Float64"),
            "ADT": adt,
            "TRTSDT": grid["TRTSDT"],
            "AVAL": responder.astype(float).mask(not_due),
            "AVALC": avalc,
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


def derive_var_pchg(bds: pd.DataFrame) -> pd.DataFrame:
    """``PCHG`` = 100 x ``CHG`` / ``BASE`` (ADaMIG 1.3 BDS), rounded to 6 decimals; missing where
    ``CHG`` is missing and where ``BASE = 0`` (no percentage of zero; as the pharmaverse ADLB)."""
    require_columns(bds, ["BASE", "CHG"], "derive_var_pchg")
    out = bds.copy(deep=False)
    base = pd.to_numeric(out["BASE"], errors="coerce").astype("Float64")
    base = base.mask(base.eq(0).fillna(False))
    chg = pd.to_numeric(out["CHG"], errors="coerce").astype("Float64")
    out["PCHG"] = (100 * chg / base).round(DECIMALS)
    return out


def derive_var_parcat1(df: pd.DataFrame) -> pd.DataFrame:
    """``PARCAT1``: the parameter category of ``PARAMCD`` in study/adeff_parameters.csv."""
    require_columns(df, ["PARAMCD"], "derive_var_parcat1")
    cats = adeff_parameters().set_index("PARAMCD")["PARCAT1"]
    out = df.copy(deep=False)
    out["PARCAT1"] = out["PARAMCD"].map(cats).astype("string")
    return out


def derive_var_aseq(df: pd.DataFrame, order: tuple[str, ...] = ("PARAMN", "AVISITN", "ADT")) -> pd.DataFrame:
    """``ASEQ``: 1, 2, ... per ``USUBJID`` in ``order`` (ADaMIG 1.3: uniquely identifies a record of a
    subject within the dataset); the order of the dataset's sort keys, so record k of a subject in
    the file has ``ASEQ = k``."""
    require_columns(df, ["USUBJID", *order], "derive_var_aseq")
    out = df.copy(deep=False)
    keys = out[["USUBJID", *order]].sort_values(["USUBJID", *order], kind="stable", na_position="last")
    seq = keys.groupby("USUBJID", sort=False).cumcount() + 1
    out["ASEQ"] = seq.reindex(out.index).astype("Int64")
    return out


def derive_vars_adsl_covariates(df: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """The subject-level variables of ADSL every ADEFF record carries (:data:`ADSL_VARS`, and
    :data:`ADSL_OPTIONAL_VARS` when ADSL has them, else missing), by ``USUBJID``, unchanged."""
    present = [c for c in ADSL_OPTIONAL_VARS if c in adsl.columns]
    out = merge_adsl(df, adsl, [*ADSL_VARS, *present])
    for c in ADSL_OPTIONAL_VARS:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out


def derive_adeff(adsl: pd.DataFrame, rs: pd.DataFrame, cuts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """ADEFF before spec conformance: SLEDAI and PGA BDS records plus SRI4, with the ADSL
    covariates, the site's data cut (``cuts``: site -> export id in force; None: no cut known, every
    visit window closed), ``PCHG``, ``PARCAT1`` and ``ASEQ``."""
    require_columns(
        rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSSTRESC", "RSDTC", "VISIT"], "derive_adeff"
    )
    sledai = derive_bds_parameter(rs_parameter(rs, "SLEDAI"), adsl)
    pga = derive_bds_parameter(rs_parameter(rs, "PGA"), adsl)
    sri4 = derive_param_sri4(adsl, sledai, pga, rs, cuts)
    bds = pd.concat([sledai, pga], ignore_index=True)
    bds["AVALC"] = pd.Series(pd.NA, index=bds.index, dtype="string")
    for col in ("CRIT1", "CRIT1FL", "CRIT2", "CRIT2FL", "CRIT3", "CRIT3FL", "NRREAS", "DTYPE"):
        bds[col] = pd.Series(pd.NA, index=bds.index, dtype="string")
    sri4["ABLFL"] = pd.Series(pd.NA, index=sri4.index, dtype="string")
    sri4["BASE"] = np.nan
    sri4["CHG"] = np.nan
    out = pd.concat([bds.drop(columns=["TRTSDT"]), sri4.drop(columns=["TRTSDT"])], ignore_index=True)
    out = derive_vars_adsl_covariates(out, adsl)
    out = treatment_vars(out)
    out = derive_vars_dcut(out, cuts)
    out = derive_var_pchg(out)
    out = derive_var_parcat1(out)
    return derive_var_aseq(out)
