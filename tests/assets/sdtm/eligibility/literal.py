"""Literal site rows for the eligibility tests, harmonized by the real ingest code so unit
conversion (LB -> kg, ukat/L -> U/L) and ISO dates are the pipeline's own.

One subject by default (:data:`USUBJID`): a 45-year-old woman consented on 01-MAR-2026, 60 kg.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import study
from assets.ingest.harmonize import harmonize_form
from assets.sdtm.eligibility.forms import criteria_frame
from assets.sdtm.eligibility.screening import subjects_from_dm

SUBJ = "101-0001"
USUBJID = f"LDIL2SLE-{SUBJ}"
ITEMS = list(study.sledai_weights())
SEROLOGY = ["HBSAG", "HCVAB", "HIVAB", "EBVDNA", "TBIGRA"]


def harmonized(form: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a site would send them (text), harmonized by the ingest code, with lineage."""
    cols = study.required_columns(form)
    records = []
    for i, row in enumerate(rows, start=1):
        subj = row.get("SUBJID", SUBJ)
        rec: dict[str, Any] = {c: None for c in cols}
        rec.update({"STUDYID": "LDIL2SLE", "SITEID": subj[:3], "SUBJID": subj, "RECID": f"{form}{i:03d}"})
        rec.update(row)
        records.append(rec)
    df = pd.DataFrame(records, columns=list(dict.fromkeys([*cols, *(k for r in records for k in r)]))).astype(
        "string"
    )
    out = harmonize_form(df, form)
    out["SRC_EXPORT"] = "20260401T000000Z"
    out["SRC_FILE"] = f"sites/101/20260401T000000Z/{form}.csv"
    out["SRC_LINE"] = pd.array(range(2, len(out) + 2), dtype="Int64")
    return out.drop(columns=[c for c in out.columns if c.endswith("_UNIT_KNOWN")])


def form(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``rows`` of form ``name`` as a criterion receives them (harmonized, the criteria's columns)."""
    return criteria_frame({name: harmonized(name, rows)}, name)


def dm_row(**changes: str | None) -> dict[str, Any]:
    return {"BRTHDAT": "15-JUN-1980", "SEX": "F", "ICDAT": "01-MAR-2026", **changes}


def subjects(*rows: dict[str, Any]) -> pd.DataFrame:
    """The subject frame of DM ``rows`` (default: the one subject of :func:`dm_row`)."""
    return subjects_from_dm(form("DM", list(rows) or [dm_row()]))


def weight(value: str = "60", unit: str = "kg", date: str = "05-MAR-2026", visit: str = "SCREENING") -> dict:
    return {"VISIT": visit, "VSDAT": date, "VSTESTCD": "WEIGHT", "VSORRES": value, "VSORRESU": unit}


def sledai_row(visit: str, date: str, yes: list[str], **extra: str | None) -> dict[str, Any]:
    row = {item: ("Y" if item in yes else "N") for item in ITEMS}
    return {"VISIT": visit, "SLDAT": date, **row, **extra}


def lab(
    test: str,
    result: str,
    unit: str | None = None,
    hi: str | None = None,
    visit: str = "SCREENING",
    date: str = "05-MAR-2026",
) -> dict[str, Any]:
    return {
        "VISIT": visit,
        "LBDAT": date,
        "LBTESTCD": test,
        "LBORRES": result,
        "LBORRESU": unit,
        "LBORNRLO": "0" if hi else None,
        "LBORNRHI": hi,
    }


def prednisone(**changes: str | None) -> dict[str, Any]:
    """Prednisone 20 mg QD since 01-JAN-2025, ongoing (standard therapy, 0.33 mg/kg at 60 kg)."""
    return {
        "CMTRT": "Prednisone",
        "CMDECOD": "PREDNISONE",
        "CMDOSE": "20",
        "CMDOSU": "mg",
        "CMDOSFRQ": "QD",
        "CMSTDAT": "01-JAN-2025",
        "CMONGO": "Y",
        **changes,
    }


def sle_history() -> dict[str, Any]:
    return {"MHTERM": "Systemic lupus erythematosus", "MHCAT": "SLE", "MHSTDAT": "UN-UNK-2015", "MHONGO": "Y"}


def expected(subj: pd.DataFrame, flags: list[bool | None], reasons: list[str]) -> pd.DataFrame:
    """An outcome frame (FLAG, REASON) indexed like ``subj``."""
    return pd.DataFrame(
        {"FLAG": pd.array(flags, dtype="boolean"), "REASON": pd.array(reasons, dtype="string")},
        index=subj.index,
    )


def eligible_subject() -> dict[str, list[dict[str, Any]]]:
    """A 45-year-old woman, 60 kg, SLEDAI-2K 10, prednisone 20 mg QD for 14 months: eligible."""
    answers = [
        {"IETESTCD": c, "IEORRES": "Y" if c.startswith("IN") else "N"} for c in study.criteria()["IETESTCD"]
    ]
    return {
        "DM": [dm_row()],
        "IE": answers,
        "VS": [weight()],
        "LB": [
            lab("ALT", "20", "U/L", "40"),
            lab("AST", "20", "U/L", "40"),
            lab("HCG", "NEGATIVE"),
            *[lab(t, "NEGATIVE") for t in SEROLOGY],
        ],
        "SLEDAI": [sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS", "RASH", "ALOPECIA", "DNABIND"])],
        "CM": [prednisone()],
        "MH": [sle_history()],
    }


def all_forms(raw: dict[str, list[dict[str, Any]]]) -> dict[str, pd.DataFrame]:
    return {name: harmonized(name, rows) for name, rows in raw.items()}
