"""Findings: the one shape every layer uses to hand data queries to QA.

A finding is a problem QA must see and a site may have to answer: a quarantined value, a SLEDAI
total that differs from the recomputed one, an investigator's IE answer that differs from the
derived criterion, a visit outside its window, ... Each producing asset writes its findings to
``<warehouse>/<mode>/qa/findings/<producer>.parquet`` with exactly these columns; the QA layer
turns all of them into ``queries.parquet`` with stable query ids (site-export.md, Bad input;
issue "data-quality reporting").
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import yaml

import study

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
    # (issue 17) where a site finds the record: appended, so the columns above keep their order
    "DATE",  # the record's own date as delivered (visit, assessment or event start date)
    "TESTCD",  # test code of a lab, vital-sign or cell-population result (LBTESTCD, VSTESTCD, ...)
    "UNIT",  # unit of that result as delivered (LBORRESU, VSORRESU, ...)
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


CONTEXT_COLUMNS = ["VISIT", "DATE", "TESTCD", "UNIT"]
"""What tells a site where a finding's record is, besides site, subject, form and RECID (issue 17)."""


@cache
def _finding_context() -> dict:
    with open(study.STUDY_DIR / "qa.yaml", encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh).get("finding_context") or {})


def finding_context_columns(form: str) -> dict[str, str]:
    """Per context column of :data:`CONTEXT_COLUMNS`, the column of source form ``form`` that holds it
    (``study/qa.yaml``, ``finding_context``; ``VISIT`` is the form's own ``VISIT``); empty for a form
    it does not list (a derived table)."""
    listed = dict(_finding_context().get(form) or {})
    return {"VISIT": "VISIT", **{k.upper(): v for k, v in listed.items()}}


def derive_vars_finding_context(rows: pd.DataFrame, form: str) -> pd.DataFrame:
    """``VISIT``, ``DATE``, ``TESTCD`` and ``UNIT`` of each row of source form ``form`` as delivered
    (text; missing where the form has no such column, e.g. no visit on a log form such as AE):
    the columns :func:`finding_context_columns` names, aligned with ``rows``."""
    columns = finding_context_columns(form)
    return pd.DataFrame(
        {
            name: (
                rows[columns[name]].astype("string")
                if name in columns and columns[name] in rows.columns
                else pd.Series(pd.NA, index=rows.index, dtype="string")
            )
            for name in CONTEXT_COLUMNS
        },
        index=rows.index,
    )


def table_row_context(names: list[str], domain: str, take) -> list[dict]:
    """``VISIT``, ``DATE``, ``TESTCD`` and ``UNIT`` of rows of an SDTM or ADaM table (issue 17), one
    dict per row: ``VISIT`` (ADaM ``AVISIT``), the first of ``--DTC``, ``--STDTC``, ``ADT`` present, the
    first of ``--TESTCD``, ``PARAMCD``, and of ``--ORRESU``, ``--STRESU``, ``AVALU`` (``--`` the
    domain's prefix, the first two letters of ``domain``). ``take(column)`` returns the rows' values
    of a column; a column the table lacks gives missing values."""
    prefix = domain[:2].upper()
    candidates = {
        "VISIT": ["VISIT", "AVISIT"],
        "DATE": [f"{prefix}DTC", f"{prefix}STDTC", "ADT", "ADTC"],
        "TESTCD": [f"{prefix}TESTCD", "PARAMCD"],
        "UNIT": [f"{prefix}ORRESU", f"{prefix}STRESU", "AVALU"],
    }
    columns = {k: next((c for c in v if c in names), None) for k, v in candidates.items()}
    values = {k: take(c) for k, c in columns.items() if c is not None}
    n = len(next(iter(values.values()))) if values else 0
    return (
        [{k: (None if v[i] is None else str(v[i])) for k, v in values.items()} for i in range(n)]
        if values
        else []
    )


def empty_findings() -> pd.DataFrame:
    return make_findings(pd.DataFrame(columns=FINDING_COLUMNS))
