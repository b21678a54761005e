"""Findings: the one shape every layer uses to hand data queries to QA.

A finding is a problem QA must see and a site may have to answer: a quarantined value, a SLEDAI
total that differs from the recomputed one, an investigator's IE answer that differs from the
derived criterion, a visit outside its window, ... Each producing asset writes its findings to
``<warehouse>/<mode>/qa/findings/<producer>.parquet`` with exactly these columns; the QA layer
turns all of them into ``queries.parquet`` with stable query ids (site-export.md, Bad input;
issue "data-quality reporting").
"""

from __future__ import annotations

import pandas as pd

FINDING_COLUMNS = [
    "KIND",  # e.g. SCHEMA, DUPLICATE, SLTOTAL_MISMATCH, SLEDAI_LAB, VISIT_WINDOW, IE_DISAGREES, SLEDAI_MISSING_ITEM
    "SEVERITY",  # ERROR (row quarantined / form rejected) or WARNING (kept, queried)
    "SITEID",
    "SUBJID",
    "FORM",  # source form (DM, LB, ...) or SDTM/ADaM dataset
    "RECID",
    "VISIT",
    "COLUMN",
    "RULE",
    "VALUE",
    "MESSAGE",
    "SRC_EXPORT",
    "SRC_FILE",
    "SRC_LINE",
]

TEXT_COLUMNS = [c for c in FINDING_COLUMNS if c != "SRC_LINE"]


def make_findings(df: pd.DataFrame) -> pd.DataFrame:
    """Conform ``df`` to the findings shape: missing columns added empty, types fixed, order set."""
    out = df.copy()
    for col in FINDING_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out = out[FINDING_COLUMNS]
    out[TEXT_COLUMNS] = out[TEXT_COLUMNS].astype("string")
    out["SRC_LINE"] = pd.to_numeric(out["SRC_LINE"], errors="coerce").astype("Int64")
    return out.sort_values(
        ["SITEID", "SUBJID", "FORM", "RECID", "KIND", "COLUMN"], kind="stable"
    ).reset_index(drop=True)


def empty_findings() -> pd.DataFrame:
    return make_findings(pd.DataFrame(columns=FINDING_COLUMNS))
