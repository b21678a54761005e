"""Concomitant medications as the criteria read them: drug class and daily prednisone-equivalent
dose (derivations.md, Eligibility: medication classes by ``CMDECOD``; IN04, EX12, EX13).

Classes and prednisone factors are study data (``study/drug_classes.csv``), dose units and
frequencies too (``study/dose_units.csv``, ``study/dose_frequencies.csv``).
"""

from __future__ import annotations

import pandas as pd

import study
from assets.common.columns import require_columns


def derive_vars_drug_class(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """Add ``DRUG_CLASS`` and ``PRED_FACTOR`` (by upper-cased ``CMDECOD``, study/drug_classes.csv)
    and ``ICDTC_SUBJ`` (the subject's consent date, which every medication rule compares with)."""
    require_columns(cm, ["USUBJID", "CMDECOD"], "derive_vars_drug_class")
    classes = study.drug_classes().set_index("CMDECOD")
    out = cm.copy()
    decod = out["CMDECOD"].astype("string").str.upper().str.strip()
    out["DRUG_CLASS"] = decod.map(classes["DRUG_CLASS"]).astype("string")
    out["PRED_FACTOR"] = decod.map(classes["PREDNISONE_FACTOR"]).astype("float64")
    out["ICDTC_SUBJ"] = out["USUBJID"].map(subjects["ICDTC"]).astype("string")
    return out


def derive_vars_daily_prednisone_mg(cm: pd.DataFrame, weight_kg: pd.Series) -> pd.DataFrame:
    """Add ``DAILY_MG`` (daily dose in mg: ``CMDOSE`` in mg, ``g`` x 1000, ``mg/kg`` x screening
    weight; times frequency per day, study/dose_frequencies.csv) and ``PRED_MG`` (x prednisone
    factor, study/drug_classes.csv). Missing when dose, unit, frequency or a needed weight is missing."""
    require_columns(
        cm, ["USUBJID", "CMDOSEN", "CMDOSU", "CMDOSFRQ", "PRED_FACTOR"], "derive_vars_daily_prednisone_mg"
    )
    units = study.dose_units().set_index("CMDOSU")
    per_day = pd.Series(study.dose_frequencies())
    out = cm.copy()
    to_mg = out["CMDOSU"].map(units["TO_MG"]).astype("float64")
    per_kg = out["CMDOSU"].map(units["PER_KG"]).eq("Y").fillna(False).astype(bool)
    weight = out["USUBJID"].map(weight_kg).astype("float64")
    mg = out["CMDOSEN"].astype("float64") * to_mg
    mg = mg.where(~per_kg, mg * weight)
    out["DAILY_MG"] = mg * out["CMDOSFRQ"].map(per_day).astype("float64")
    out["PRED_MG"] = out["DAILY_MG"] * out["PRED_FACTOR"]
    return out
