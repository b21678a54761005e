"""ADSL: one record per screened subject (every subject in SDTM DM, screen failures included).

derivations.md, "Populations and treatment (ADSL)". Blinding: :func:`derive_vars_treatment`
receives the restricted randomization list only in an unblinded run; with ``randlist=None``
(blinded) randomized subjects get ``BLINDED`` arm and treatment values and no numeric dose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import derive_vars_baseline, flag_yn
from assets.common.columns import require_columns
from assets.common.dates import iso_to_date
from study import facts

BLINDED = "BLINDED"
NOT_TREATED = ("NOTTRT", "Not Treated")


def given_injections(ex: pd.DataFrame) -> pd.DataFrame:
    """EX rows of injections given: ``EXOCCUR != 'N'`` (all rows when EX has no ``EXOCCUR``)."""
    require_columns(ex, ["USUBJID", "EXSTDTC"], "given_injections")
    if "EXOCCUR" in ex.columns:
        ex = ex[ex["EXOCCUR"].ne("N").fillna(True)]
    return ex


def derive_adsl_subjects(dm: pd.DataFrame) -> pd.DataFrame:
    """The ADSL skeleton: DM identifiers and demographics, one row per subject."""
    require_columns(dm, ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX"], "derive_adsl_subjects")
    cols = [
        c
        for c in ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC")
        if c in dm.columns
    ]
    out = dm[cols].drop_duplicates("USUBJID").reset_index(drop=True).copy()
    for c in ("AGEU", "RACE", "ETHNIC"):
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["AGEU"] = out["AGEU"].fillna("YEARS").where(out["AGE"].notna())
    return out


def derive_vars_trt_dates(adsl: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """``TRTSDT``/``TRTEDT``: first and last given injection date (derivations.md: first dose is the
    earliest ``EXSTDAT`` with ``EXADMIN = Y``); ``TRTDURD = TRTEDT - TRTSDT + 1``; ``INJGIVN``: number
    of injections given."""
    require_columns(adsl, ["USUBJID"], "derive_vars_trt_dates")
    given = given_injections(ex).assign(D=lambda d: iso_to_date(d["EXSTDTC"].astype("string")))
    agg = given.groupby("USUBJID").agg(TRTSDT=("D", "min"), TRTEDT=("D", "max"), INJGIVN=("USUBJID", "size"))
    out = adsl.merge(agg, left_on="USUBJID", right_index=True, how="left")
    out["INJGIVN"] = out["INJGIVN"].fillna(0).astype("Int64")
    out["TRTDURD"] = ((out["TRTEDT"] - out["TRTSDT"]).dt.days + 1).astype("Int64")
    return out


def derive_vars_randomization(adsl: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """``RANDFL`` (in the IWRS randomization export), ``RANDDT`` and the helper ``RANDNO``."""
    require_columns(adsl, ["USUBJID"], "derive_vars_randomization")
    if rand is None or rand.empty or "USUBJID" not in rand.columns:
        rand = pd.DataFrame(
            {
                "USUBJID": pd.Series(dtype="string"),
                "RANDNO": pd.Series(dtype="string"),
                "RANDDTC": pd.Series(dtype="string"),
            }
        )
    r = rand.sort_values(["USUBJID", "RANDNO"], kind="stable").drop_duplicates("USUBJID")[
        ["USUBJID", "RANDNO", "RANDDTC"]
    ]
    out = adsl.merge(r, on="USUBJID", how="left")
    out["RANDFL"] = flag_yn(out["RANDNO"].notna())
    out["RANDDT"] = iso_to_date(out["RANDDTC"].astype("string"))
    return out.drop(columns="RANDDTC")


def derive_vars_treatment(adsl: pd.DataFrame, randlist: pd.DataFrame | None) -> pd.DataFrame:
    """``ARMCD ARM ACTARMCD ACTARM TRT01P TRT01PN TRT01A TRT01AN``.

    Unblinded (``randlist`` given): planned arm from the list by ``RANDNO`` (study/arms.csv for
    labels and ``TRT01PN`` 0/0.2/0.5/1); actual = planned for a subject given at least one injection
    (no kit-level dispensing data exist to say otherwise), ``NOTTRT``/``Not Treated`` otherwise.
    Blinded (``randlist`` None): ``BLINDED`` for randomized subjects, numeric codes missing; a
    randomized subject never dosed is ``NOTTRT`` for the actual arm (says nothing about the arm).
    Not randomized (screen failures): all missing (SDTMIG 3.4: ``ARMNRS`` explains, in DM)."""
    require_columns(adsl, ["USUBJID", "RANDNO", "RANDFL", "INJGIVN"], "derive_vars_treatment")
    out = adsl.copy()
    randomized = out["RANDFL"].eq("Y")
    treated = out["INJGIVN"].fillna(0).gt(0)
    na_text = pd.Series(pd.NA, index=out.index, dtype="string")
    if randlist is None:
        armcd = na_text.mask(randomized, BLINDED)
        arm = armcd.copy()
        pn = pd.Series(np.nan, index=out.index, dtype="Float64")
    else:
        require_columns(randlist, ["RANDNO", "ARMCD"], "derive_vars_treatment(randlist)")
        arms = study.arms().set_index("ARMCD")
        codes = randlist.drop_duplicates("RANDNO").set_index("RANDNO")["ARMCD"]
        armcd = out["RANDNO"].map(codes).astype("string").where(randomized)
        arm = armcd.map(arms["ARM"]).astype("string")
        pn = armcd.map(arms["TRT01PN"]).astype("Float64")
    out["ARMCD"], out["ARM"] = armcd, arm
    out["ACTARMCD"] = armcd.mask(randomized & ~treated, NOT_TREATED[0])
    out["ACTARM"] = arm.mask(randomized & ~treated, NOT_TREATED[1])
    out["TRT01P"], out["TRT01PN"] = arm, pn
    out["TRT01A"] = arm.where(treated)
    out["TRT01AN"] = pn.where(treated)
    return out


def derive_var_eligfl(adsl: pd.DataFrame, eligibility: pd.DataFrame) -> pd.DataFrame:
    """``ELIGFL = Y`` when every inclusion criterion is met and no exclusion criterion is present
    (no row of the subject counts against eligibility; derivations.md, Eligibility)."""
    require_columns(eligibility, ["USUBJID", "COUNTS_AGAINST"], "derive_var_eligfl")
    against = eligibility.groupby("USUBJID")["COUNTS_AGAINST"].any()
    evaluated = adsl["USUBJID"].isin(against.index)
    out = adsl.copy()
    out["ELIGFL"] = flag_yn(evaluated & ~adsl["USUBJID"].map(against).fillna(True).astype(bool))
    return out


def sledai_records(rs: pd.DataFrame) -> pd.DataFrame:
    """SLEDAI-2K totals from RS (``RSCAT = SLEDAI-2K``, ``RSTESTCD = SLEDTOT``: the recomputed total)."""
    require_columns(rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT"], "sledai_records")
    return rs[rs["RSCAT"].eq("SLEDAI-2K").fillna(False) & rs["RSTESTCD"].eq("SLEDTOT").fillna(False)]


def derive_var_sledaibl(adsl: pd.DataFrame, rs: pd.DataFrame) -> pd.DataFrame:
    """``SLEDAIBL``: the baseline SLEDAI-2K total (last non-missing total on or before the first
    dose date; derivations.md, SLEDAI-2K)."""
    require_columns(adsl, ["USUBJID", "TRTSDT"], "derive_var_sledaibl")
    # only the columns used: filtering the whole of SDTM RS (~10^6 records) re-takes every column
    used = ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT", "VISITNUM"]
    s = sledai_records(rs[[c for c in used if c in rs.columns]])
    bds = pd.DataFrame(
        {
            "USUBJID": s["USUBJID"].to_numpy(),
            "PARAMCD": "SLEDAI",
            "AVAL": pd.to_numeric(s["RSSTRESN"], errors="coerce").to_numpy(),
            "ADT": iso_to_date(s["RSDTC"].astype("string")).to_numpy(),
            "AVISITN": pd.to_numeric(s["VISITNUM"], errors="coerce").to_numpy()
            if "VISITNUM" in s
            else np.nan,
        }
    )
    bds = bds.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    base = derive_vars_baseline(bds)
    values = base[base["ABLFL"].eq("Y")].set_index("USUBJID")["AVAL"]
    out = adsl.copy()
    out["SLEDAIBL"] = out["USUBJID"].map(values).astype("Float64")
    return out


def derive_var_weightbl(adsl: pd.DataFrame, vs: pd.DataFrame) -> pd.DataFrame:
    """``WEIGHTBL`` (kg): the last weight on or before the first dose; for a subject never dosed,
    the last weight at ``SCREENING`` (derivations.md, ADSL)."""
    require_columns(vs, ["USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC", "VISIT"], "derive_var_weightbl")
    used = [c for c in ("USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC", "VISIT", "VSSEQ") if c in vs.columns]
    w = vs.loc[(vs["VSTESTCD"].eq("WEIGHT").fillna(False) & vs["VSSTRESN"].notna()).to_numpy(), used]
    w["D"] = iso_to_date(w["VSDTC"].astype("string"))
    w = w.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    seq = [c for c in ("VSSEQ",) if c in w.columns]
    dosed = (
        w[(w["D"] <= w["TRTSDT"]).fillna(False)]
        .sort_values(["USUBJID", "D", *seq])
        .groupby("USUBJID")
        .tail(1)
    )
    never = w[w["TRTSDT"].isna() & w["VISIT"].eq("SCREENING").fillna(False)]
    never = never.sort_values(["USUBJID", "VSDTC", *seq]).groupby("USUBJID").tail(1)
    values = pd.concat([dosed, never]).set_index("USUBJID")["VSSTRESN"]
    out = adsl.copy()
    out["WEIGHTBL"] = out["USUBJID"].map(values).astype("Float64")
    return out


def derive_vars_disposition(adsl: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """``EOSSTT`` (``COMPLETED``, ``DISCONTINUED`` or ``ONGOING``), ``EOSDT`` and ``DCSREAS`` from
    DS: the last completion or discontinuation event (``DSDECOD`` with an ``EOSSTT`` in
    study/disposition.csv); ``ONGOING`` without one."""
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "derive_vars_disposition")
    status = facts.end_of_study_status()
    ends = ds[ds["DSDECOD"].isin(list(status)).fillna(False)]
    ends = (
        ends.sort_values(["USUBJID", "DSSTDTC"], kind="stable", na_position="first")
        .groupby("USUBJID")
        .tail(1)
    )
    ends = ends.set_index("USUBJID")
    out = adsl.copy()
    decod = out["USUBJID"].map(ends["DSDECOD"]).astype("string")
    out["EOSSTT"] = decod.map(status).astype("string").fillna("ONGOING")
    out["EOSDT"] = iso_to_date(out["USUBJID"].map(ends["DSSTDTC"]).astype("string"))
    out["DCSREAS"] = decod.where(out["EOSSTT"].eq("DISCONTINUED"))
    return out


def derive_vars_populations(adsl: pd.DataFrame) -> pd.DataFrame:
    """``SAFFL``: randomized and at least one injection; ``FASFL``: ``SAFFL`` and a baseline
    SLEDAI-2K; ``PPROTFL``: ``FASFL``, ``ELIGFL`` and at least 17 of 21 injections given."""
    require_columns(adsl, ["RANDFL", "INJGIVN", "SLEDAIBL", "ELIGFL"], "derive_vars_populations")
    out = adsl.copy()
    out["SAFFL"] = flag_yn(out["RANDFL"].eq("Y") & out["INJGIVN"].fillna(0).ge(1))
    out["FASFL"] = flag_yn(out["SAFFL"].eq("Y") & out["SLEDAIBL"].notna())
    need = study.protocol_limits()["PPROT_MIN_INJECTIONS"]
    out["PPROTFL"] = flag_yn(out["FASFL"].eq("Y") & out["ELIGFL"].eq("Y") & out["INJGIVN"].fillna(0).ge(need))
    return out


def derive_adsl(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    ds: pd.DataFrame,
    vs: pd.DataFrame,
    rs: pd.DataFrame,
    rand: pd.DataFrame,
    eligibility: pd.DataFrame,
    randlist: pd.DataFrame | None,
) -> pd.DataFrame:
    """ADSL before spec conformance (helper ``RANDNO`` dropped)."""
    adsl = derive_adsl_subjects(dm)
    adsl = derive_vars_trt_dates(adsl, ex)
    adsl = derive_vars_randomization(adsl, rand)
    adsl = derive_vars_treatment(adsl, randlist)
    adsl = derive_var_eligfl(adsl, eligibility)
    adsl = derive_var_sledaibl(adsl, rs)
    adsl = derive_var_weightbl(adsl, vs)
    adsl = derive_vars_disposition(adsl, ds)
    adsl = derive_vars_populations(adsl)
    return adsl.drop(columns=["RANDNO"])
