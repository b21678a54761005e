"""Events: AE, MH (with SUPPMH) and DS."""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
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


def build_ae(ae: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """AE: one record per event as sent. AEDECOD = upper-case AETERM until MedDRA coding exists;
    AEENRF = ONGOING when AEONGO = Y; EPOCH of the start date; AEACN/AEOUT mapped to CT values."""
    if ae.empty:
        return empty_dataset("AE")
    require_columns(ae, ["USUBJID", "AETERM", "AESTDTC", "AEONGO", "RECID"], "build_ae")
    work = with_reference(ae, reference)
    work["AEDECOD"] = work["AETERM"].astype("string").str.strip().str.upper()
    for col in ("AEACN", "AEOUT"):
        work[col] = work[col].astype("string").str.strip().str.upper()
    work["AEENRF"] = _flag(work["AEONGO"], ONGOING)
    work["EPOCH"] = derive_var_epoch_by_date(work["AESTDTC"], work["RFSTDTC"], work["RFICDTC"])
    return map_to_spec(work, "AE", tiebreak=["RECID"]).reset_index(drop=True)


def build_mh(mh: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """MH: one record per condition; MHENRTPT = ONGOING (MHENTPT INFORMED CONSENT) when MHONGO = Y.
    The NYHA class of heart failure has no MH variable: SUPPMH QNAM MHNYHA."""
    if mh.empty:
        return {"MH": empty_dataset("MH"), "SUPPMH": empty_dataset("SUPPMH")}
    require_columns(mh, ["USUBJID", "MHTERM", "MHONGO", "MHNYHA", "RECID"], "build_mh")
    work = mh.copy()
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
