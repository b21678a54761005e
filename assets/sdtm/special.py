"""Special-purpose domains: DM (one record per screened subject) and SV (subject visits)."""

from __future__ import annotations

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.dates import age_in_years, impute_birth_date, iso_to_date
from assets.sdtm import metadata
from assets.sdtm.mapping import empty_dataset, isin_text, map_to_spec
from assets.sdtm.timing import derive_var_visitnum, derive_vars_reference_dates, unscheduled_visitnums
from study import facts

DEATH = facts.disposition_term("DEATH")
SCREEN_FAILURE = facts.disposition_term("SCREEN FAILURE")
"""The DS terms (study/disposition.csv ROLE) that give DTHDTC/DTHFL and ARMNRS SCREEN FAILURE."""


def derive_var_age(dm: pd.DataFrame) -> pd.DataFrame:
    """AGE in whole years from BRTHDTC to ICDTC; birth day missing -> 15th, month and day missing ->
    1 July (derivations.md, Time). AGEU is assigned by the spec."""
    require_columns(dm, ["BRTHDTC", "ICDTC"], "derive_var_age")
    out = dm.copy()
    out["AGE"] = age_in_years(impute_birth_date(dm["BRTHDTC"]), iso_to_date(dm["ICDTC"]))
    return out


def derive_vars_death(dm: pd.DataFrame, ds: pd.DataFrame, ae: pd.DataFrame) -> pd.DataFrame:
    """DTHDTC: date of the DS record DEATH; DTHFL = Y when DS says DEATH or an AE outcome is FATAL."""
    require_columns(dm, ["USUBJID"], "derive_vars_death")
    out = dm.copy()
    deaths = (
        ds[ds["DSDECOD"].eq(DEATH).fillna(False)] if len(ds) else pd.DataFrame(columns=["USUBJID", "DSSTDTC"])
    )
    first = deaths.groupby("USUBJID")["DSSTDTC"].min() if len(deaths) else pd.Series(dtype="string")
    fatal = ae.loc[ae["AEOUT"].eq("FATAL").fillna(False), "USUBJID"] if len(ae) else pd.Series(dtype="str")
    out["DTHDTC"] = out["USUBJID"].map(first).astype("string")
    dead = isin_text(out["USUBJID"], pd.concat([deaths["USUBJID"], fatal], ignore_index=True))
    out["DTHFL"] = pd.Series("Y", index=out.index, dtype="string").where(dead)
    return out


def derive_vars_arm(
    dm: pd.DataFrame, rand: pd.DataFrame, ds: pd.DataFrame, randlist: pd.DataFrame | None
) -> pd.DataFrame:
    """ARMCD ARM ACTARMCD ACTARM ARMNRS (SDTMIG 3.4 DM; derivations.md, Populations).

    ``randlist`` is None in a blinded run: randomized subjects then get the blinded label and nothing
    from the restricted list. Unblinded: ARMCD from the list by the subject's IWRS RANDNO, ARM from
    study/arms.csv. Actual arm = planned arm when at least one injection was given (``RFXSTDTC``), as
    no dispensing record says otherwise. Null arms carry ARMNRS: SCREEN FAILURE (not randomized, DS
    SCREEN FAILURE), NOT ASSIGNED (not randomized otherwise), ASSIGNED, NOT TREATED (randomized, never
    dosed), UNPLANNED TREATMENT (dosed without randomization).
    """
    require_columns(dm, ["USUBJID", "RFXSTDTC"], "derive_vars_arm")
    out = dm.copy()
    randomized = pd.Series(
        isin_text(out["USUBJID"], rand["USUBJID"]) if len(rand) else False, index=out.index
    )
    if randlist is None:
        label = metadata.trial_design()["blinded_arm"]
        armcd = pd.Series(label, index=out.index, dtype="string").where(randomized)
        arm = armcd
    else:
        require_columns(randlist, ["RANDNO", "ARMCD"], "derive_vars_arm(randlist)")
        by_subject = rand[["USUBJID", "RANDNO"]].merge(randlist[["RANDNO", "ARMCD"]], on="RANDNO", how="left")
        armcd = out["USUBJID"].map(by_subject.drop_duplicates("USUBJID").set_index("USUBJID")["ARMCD"])
        armcd = armcd.astype("string").where(randomized)
        arm = armcd.map(dict(zip(study.arms()["ARMCD"], study.arms()["ARM"]))).astype("string")
    dosed = out["RFXSTDTC"].notna()
    screen_failed = (
        pd.Series(
            isin_text(out["USUBJID"], ds.loc[ds["DSDECOD"].eq(SCREEN_FAILURE).fillna(False), "USUBJID"]),
            index=out.index,
        )
        if len(ds)
        else False
    )
    out["ARMCD"], out["ARM"] = armcd, arm
    out["ACTARMCD"] = armcd.where(dosed)
    out["ACTARM"] = arm.where(dosed)
    nrs = pd.Series(pd.NA, index=out.index, dtype="string")
    nrs = nrs.mask(~randomized & dosed, "UNPLANNED TREATMENT")
    nrs = nrs.mask(~randomized & ~dosed, "NOT ASSIGNED")
    nrs = nrs.mask(~randomized & ~dosed & screen_failed, "SCREEN FAILURE")
    nrs = nrs.mask(randomized & ~dosed, "ASSIGNED, NOT TREATED")
    out["ARMNRS"] = nrs
    return out


def build_dm(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    ds: pd.DataFrame,
    ae: pd.DataFrame,
    rand: pd.DataFrame,
    randlist: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """DM: one record per subject of the DM form. BRTHDTC is not carried (privacy); ``randlist``
    only in an unblinded run (see :func:`derive_vars_arm`)."""
    if dm.empty:
        return empty_dataset("DM")
    require_columns(dm, ["USUBJID", "SUBJID", "SITEID", "BRTHDTC", "ICDTC", "SEX"], "build_dm")
    work = dm.drop_duplicates("USUBJID").merge(
        derive_vars_reference_dates(dm, ex, ds).drop(columns="RFICDTC"), on="USUBJID", how="left"
    )
    work = derive_var_age(work)
    work = derive_vars_death(work, ds, ae)
    work = derive_vars_arm(work, rand, ds, randlist)
    work["COUNTRY"] = metadata.trial_design()["country"]
    return map_to_spec(work, "DM").reset_index(drop=True)


def build_sv(visits: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """SV: one record per subject and visit that has any dated visit-based record (VS LB SLEDAI PGA
    BILAG FACS); SVSTDTC/SVENDTC the earliest/latest date (date part) of the records of that visit.

    ``visits`` is :func:`assets.sdtm.timing.visit_dates`; ``reference`` has USUBJID RFSTDTC.
    """
    require_columns(visits, ["USUBJID", "VISIT", "VISITNUM", "DTC"], "build_sv")
    dated = visits.dropna(subset=["DTC"])
    if dated.empty:
        return empty_dataset("SV")
    dated = derive_var_visitnum(dated, "DTC", unscheduled_visitnums(dated))
    dated = dated.assign(DAY=dated["DTC"].str.slice(0, 10))
    sv = dated.groupby(["USUBJID", "VISITNUM"], as_index=False).agg(
        VISIT=("VISIT", "first"), SVSTDTC=("DAY", "min"), SVENDTC=("DAY", "max")
    )
    planned = study.visits().set_index("VISIT")["PLANNED_DAY"]
    sv["VISITDY"] = sv["VISIT"].map(planned)
    sv = sv.merge(reference[["USUBJID", "RFSTDTC"]], on="USUBJID", how="left")
    return map_to_spec(sv, "SV").reset_index(drop=True)
