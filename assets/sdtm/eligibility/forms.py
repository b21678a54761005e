"""The harmonized forms as the criteria read them (site-export.md, Forms).

An export may carry no row of a form, and a form may lack a column nobody filled in: the criteria
get every column of :data:`FORM_COLUMNS`, empty where missing, so each reads its form one way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study

# Columns each form must offer to the criteria (harmonized ingest columns; site-export.md, Forms).
FORM_COLUMNS: dict[str, list[str]] = {
    "DM": ["USUBJID", "SUBJID", "SITEID", "RECID", "SEX", "BRTHDTC", "ICDTC"],
    "IE": [
        "USUBJID",
        "SUBJID",
        "SITEID",
        "RECID",
        "IETESTCD",
        "IEORRES",
        "SRC_EXPORT",
        "SRC_FILE",
        "SRC_LINE",
    ],
    "VS": ["USUBJID", "RECID", "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN"],
    "LB": ["USUBJID", "RECID", "VISIT", "LBDTC", "LBTESTCD", "LBSTRESN", "LBSTRESC", "LBRESQUAL", "LBSTNRHI"],
    "SLEDAI": ["USUBJID", "RECID", "VISIT", "SLDTC", *study.sledai_weights()],
    "PGA": ["USUBJID", "RECID", "VISIT", "PGADTC"],
    "BILAG": ["USUBJID", "RECID", "VISIT", "BLDTC"],
    "FACS": ["USUBJID", "RECID", "VISIT", "FCDTC"],
    "CM": [
        "USUBJID",
        "RECID",
        "CMTRT",
        "CMDECOD",
        "CMDOSEN",
        "CMDOSU",
        "CMDOSFRQ",
        "CMSTDTC",
        "CMENDTC",
        "CMONGO",
    ],
    "MH": ["USUBJID", "RECID", "MHTERM", "MHCAT", "MHSTDTC", "MHENDTC", "MHONGO", "MHNYHA"],
}
NUMERIC_COLUMNS = {"VSSTRESN", "LBSTRESN", "LBSTNRHI", "CMDOSEN", "SRC_LINE"}


def form_frame(forms: dict[str, pd.DataFrame], form: str) -> pd.DataFrame:
    """The harmonized frame of ``form`` with at least :data:`FORM_COLUMNS` (missing ones empty).

    An export may carry no row of a form (the ingest then returns a frame without columns)."""
    df = forms.get(form)
    df = pd.DataFrame() if df is None else df.copy()
    for col in FORM_COLUMNS.get(form, []):
        if col not in df.columns:
            df[col] = pd.Series(np.nan if col in NUMERIC_COLUMNS else pd.NA, index=df.index)
            if col not in NUMERIC_COLUMNS:
                df[col] = df[col].astype("string")
    return df


def criteria_frame(forms: dict[str, pd.DataFrame], form: str) -> pd.DataFrame:
    """:func:`form_frame` with exactly :data:`FORM_COLUMNS`: the criteria filter their forms (SCREENING
    rows, a test code, a category), and each filter re-takes every column (LB has 25 for ~500,000
    rows), so the columns nobody reads are dropped first."""
    return form_frame(forms, form)[FORM_COLUMNS[form]]
