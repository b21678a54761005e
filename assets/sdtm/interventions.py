"""Interventions: EX (study injections) with SUPPEX, and CM (concomitant medications)."""

from __future__ import annotations

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.dates import export_cut_date
from assets.common.distinct import per_distinct
from assets.sdtm import metadata
from assets.sdtm.mapping import empty_dataset, map_to_spec
from assets.sdtm.supp import build_supp, combine_supp
from assets.sdtm.timing import derive_var_epoch_by_date, with_reference

ONGOING = "ONGOING"


def derive_vars_ex_treatment(ex: pd.DataFrame, armcd: pd.Series | None) -> pd.DataFrame:
    """EXTRT, EXDOSE, EXDOSU. ``armcd`` (USUBJID -> ARMCD) only in an unblinded run: EXTRT PLACEBO or
    INTERLEUKIN-2 and the arm's DOSE_MIU in 10^6 IU. Blinded (``armcd`` None): a treatment name that
    names no dose and no dose at all (derivations.md, Populations: nothing from the restricted list)."""
    require_columns(ex, ["USUBJID"], "derive_vars_ex_treatment")
    design = metadata.trial_design()
    out = ex.copy()
    if armcd is None:
        out["EXTRT"] = design["blinded_extrt"]
        out["EXDOSE"] = float("nan")
        out["EXDOSU"] = pd.NA
        return out
    arms = study.arms().set_index("ARMCD")
    code = out["USUBJID"].map(armcd)
    out["EXDOSE"] = code.map(arms["DOSE_MIU"]).astype("float64")
    placebo = out["EXDOSE"].eq(0)
    out["EXTRT"] = pd.Series(design["active_extrt"], index=out.index, dtype="string").mask(
        placebo, design["placebo_extrt"]
    )
    out["EXDOSU"] = pd.Series(design["dose_unit"], index=out.index, dtype="string").where(
        out["EXDOSE"].notna()
    )
    return out


def build_ex(
    ex: pd.DataFrame, reference: pd.DataFrame, armcd: pd.Series | None = None
) -> dict[str, pd.DataFrame]:
    """EX: one record per given injection (EXADMIN = Y), EXENDTC = EXSTDTC; SUPPEX KITNO.

    Planned injections not given (EXADMIN = N, with EXREASND) are not exposure and are not in EX
    (SDTMIG 3.4 EX has no --OCCUR); every EX row is a given injection. They stay in the ingest forms.
    """
    if ex.empty:
        return {"EX": empty_dataset("EX"), "SUPPEX": empty_dataset("SUPPEX")}
    require_columns(ex, ["USUBJID", "EXADMIN", "EXSTDTC", "KITNO", "RECID"], "build_ex")
    given = ex[ex["EXADMIN"].eq("Y").fillna(False)].copy()
    work = derive_vars_ex_treatment(with_reference(given, reference), armcd)
    work["EXENDTC"] = work["EXSTDTC"]
    work["EPOCH"] = derive_var_epoch_by_date(work["EXSTDTC"], work["RFSTDTC"], work["RFICDTC"])
    out = map_to_spec(work, "EX", tiebreak=["RECID"])
    supp = build_supp(out, work["KITNO"], "EX", "KITNO", "Kit Number")
    return {"EX": out.reset_index(drop=True), "SUPPEX": combine_supp([supp], "SUPPEX")}


def derive_vars_cm_end_reference(cm: pd.DataFrame) -> pd.DataFrame:
    """When CMONGO = Y: CMENRTPT = ONGOING and CMENTPT = the data cut of the record's export (the
    UTC date of its ``EXPORT_ID``, ``SRC_EXPORT``; site-export.md Landing zone layout): the medication
    had not ended when the site exported it (relative to a time point, as MH and AE do; SDTMIG 3.4
    4.4.7). CMENRF = ONGOING only for a subject with a reference period (DM.RFSTDTC and RFENDTC, the
    first and last dose): a screen failure has none, so no end relative to it (CDISC CORE-000177)."""
    require_columns(cm, ["CMONGO", "SRC_EXPORT", "RFSTDTC", "RFENDTC"], "derive_vars_cm_end_reference")
    out = cm.copy(deep=False)  # copy-on-write: the columns added below do not reach ``cm``
    ongoing = out["CMONGO"].astype("string").eq("Y").fillna(False)
    out["CMENRTPT"] = pd.Series(ONGOING, index=out.index, dtype="string").where(ongoing)
    out["CMENTPT"] = per_distinct(out["SRC_EXPORT"], export_cut_date).where(ongoing)
    has_period = out["RFSTDTC"].notna() & out["RFENDTC"].notna()
    out["CMENRF"] = out["CMENRTPT"].where(has_period)
    return out


def build_cm(cm: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """CM: one record per medication as sent; CMDOSFRQ/CMROUTE mapped to CT submission values,
    CMENRTPT/CMENTPT/CMENRF by :func:`derive_vars_cm_end_reference` (``reference``: DM's USUBJID
    RFSTDTC RFICDTC RFENDTC), EPOCH of the start date."""
    if cm.empty:
        return empty_dataset("CM")
    require_columns(cm, ["USUBJID", "CMSTDTC", "CMONGO", "RECID", "SRC_EXPORT"], "build_cm")
    require_columns(reference, ["USUBJID", "RFENDTC"], "build_cm(reference)")
    work = with_reference(cm, reference)
    rfendtc = reference.drop_duplicates("USUBJID").set_index("USUBJID")["RFENDTC"]
    work["RFENDTC"] = work["USUBJID"].map(rfendtc).astype("string")
    work["CMROUTE"] = work["CMROUTE"].astype("string").str.upper()
    work = derive_vars_cm_end_reference(work)
    work["EPOCH"] = derive_var_epoch_by_date(work["CMSTDTC"], work["RFSTDTC"], work["RFICDTC"])
    return map_to_spec(work, "CM", tiebreak=["RECID"]).reset_index(drop=True)
