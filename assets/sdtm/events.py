"""Events: AE, MH (with SUPPMH) and DS."""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.common.dates import export_cut_date
from assets.common.distinct import per_distinct
from assets.sdtm.mapping import empty_dataset, map_to_spec
from assets.sdtm.supp import build_supp, combine_supp
from assets.sdtm.timing import derive_var_epoch_by_date, with_reference
from study import facts

ONGOING = "ONGOING"
MILESTONES = facts.milestones()
"""DSDECOD values that are protocol milestones (CT C114118; study/disposition.csv); the rest are
disposition events (C66727)."""


def _flag(values: pd.Series, text: str) -> pd.Series:
    return pd.Series(text, index=values.index, dtype="string").where(values.eq("Y").fillna(False))


def derive_var_aeenrf(ae: pd.DataFrame) -> pd.Series:
    """``AEENRF = ONGOING`` when ``AEONGO = Y`` and the subject has a reference period (DM
    ``RFSTDTC`` and ``RFENDTC``, the first and last dose); null otherwise. SDTMIG 3.4 (4.4.7):
    ``--ENRF`` is relative to the study reference period, which a screen failure or a subject never
    dosed does not have (CORE-000177: ``--ENRF`` populated while ``DM.RFENDTC`` is empty)."""
    require_columns(ae, ["AEONGO", "RFSTDTC", "RFENDTC"], "derive_var_aeenrf")
    has_period = ae["RFSTDTC"].notna() & ae["RFENDTC"].notna()
    return _flag(ae["AEONGO"], ONGOING).where(has_period)


def derive_vars_aeenrtpt(ae: pd.DataFrame) -> pd.DataFrame:
    """``AEENRTPT = ONGOING`` and ``AEENTPT`` = the data cut of the record's export (the UTC date of
    its ``EXPORT_ID``, site-export.md Landing zone layout) when ``AEONGO = Y``: the event was
    ongoing when the site exported it. Relative to a time point, as MH does it (SDTMIG 3.4,
    4.4.7), so it holds for every subject, whether or not it has a reference period."""
    require_columns(ae, ["AEONGO", "SRC_EXPORT"], "derive_vars_aeenrtpt")
    out = pd.DataFrame(index=ae.index)
    out["AEENRTPT"] = _flag(ae["AEONGO"], ONGOING)
    out["AEENTPT"] = per_distinct(ae["SRC_EXPORT"], export_cut_date).where(out["AEENRTPT"].notna())
    return out


def build_ae(ae: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """AE: one record per event as sent. The MedDRA coding (``AELLT`` ... ``AESOCCD``, ``AEDECOD``
    the preferred term) and the seriousness criteria are carried as delivered (site-export.md, v2):
    an event not yet coded has a null ``AEDECOD`` and an inconsistent seriousness answer is kept as
    sent (both are data queries, never changed here). ``AEENRF``, ``AEENRTPT``/``AEENTPT`` for
    ongoing events (:func:`derive_var_aeenrf`, :func:`derive_vars_aeenrtpt`); EPOCH of the start
    date; AEACN/AEOUT mapped to CT values."""
    if ae.empty:
        return empty_dataset("AE")
    require_columns(ae, ["USUBJID", "AETERM", "AESTDTC", "AEONGO", "RECID", "SRC_EXPORT"], "build_ae")
    require_columns(reference, ["USUBJID", "RFENDTC"], "build_ae")
    work = with_reference(ae, reference)
    work = work.join(
        reference[["USUBJID", "RFENDTC"]].drop_duplicates("USUBJID").set_index("USUBJID"), on="USUBJID"
    )
    for col in ("AEACN", "AEOUT"):
        work[col] = work[col].astype("string").str.strip().str.upper()
    work["AEENRF"] = derive_var_aeenrf(work)
    work = work.join(derive_vars_aeenrtpt(work))
    work["EPOCH"] = derive_var_epoch_by_date(work["AESTDTC"], work["RFSTDTC"], work["RFICDTC"])
    return map_to_spec(work, "AE", tiebreak=["RECID"]).reset_index(drop=True)


def build_mh(mh: pd.DataFrame, reference: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """MH: one record per condition; MHENRTPT = ONGOING (MHENTPT INFORMED CONSENT) when MHONGO = Y;
    MHSTDY/MHENDY against DM.RFSTDTC (``reference``; FDA business rules, CDISC CORE-000328/000776).
    The NYHA class of heart failure has no MH variable: SUPPMH QNAM MHNYHA."""
    if mh.empty:
        return {"MH": empty_dataset("MH"), "SUPPMH": empty_dataset("SUPPMH")}
    require_columns(mh, ["USUBJID", "MHTERM", "MHONGO", "MHNYHA", "RECID"], "build_mh")
    work = with_reference(mh, reference)
    work["MHENRTPT"] = _flag(work["MHONGO"], ONGOING)
    work["MHENTPT"] = _flag(work["MHONGO"], "INFORMED CONSENT")
    out = map_to_spec(work, "MH", tiebreak=["RECID"])
    supp = build_supp(out, work["MHNYHA"], "MH", "MHNYHA", "NYHA Class")
    return {"MH": out.reset_index(drop=True), "SUPPMH": combine_supp([supp], "SUPPMH")}


def build_ds(ds: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """DS: one record per disposition event or milestone; DSTERM as sent (else DSDECOD); DSCAT
    PROTOCOL MILESTONE for consent and randomization, DISPOSITION EVENT otherwise."""
    if ds.empty:
        return empty_dataset("DS")
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC", "RECID"], "build_ds")
    work = with_reference(ds, reference)
    term = work["DSTERM"].astype("string") if "DSTERM" in work else pd.Series(pd.NA, index=work.index)
    work["DSTERM"] = term.where(term.str.len() > 0, work["DSDECOD"])
    work["DSCAT"] = pd.Series("DISPOSITION EVENT", index=work.index, dtype="string").mask(
        work["DSDECOD"].isin(MILESTONES), "PROTOCOL MILESTONE"
    )
    work["EPOCH"] = derive_var_epoch_by_date(work["DSSTDTC"], work["RFSTDTC"], work["RFICDTC"])
    return map_to_spec(work, "DS", tiebreak=["RECID"]).reset_index(drop=True)
