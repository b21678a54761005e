"""Data-management consistency queries (derivations.md, "(v2) Data-management consistency queries").

Each rule of ``study/consistency_rules.csv`` is one ``derive_*_findings`` function here: it reads
ingested forms (harmonized rows that passed the schema, with RECID and source line) and returns
findings (:mod:`assets.common.findings` shape, ``SEVERITY = WARNING``, plus ``DATE``, the record's
date) - one per record concerned. Rows quarantined at ingest never reach these rules, so a value
that already fails its schema (a date after the data cut, a numeric lab result without a unit, a
``RANDNO`` twice in one IWRS file) is one quarantine query, never a consistency query too.

Dates are compared at the precision delivered: a rule fires only when the order is certain (``2025-05``
is neither before nor after ``2025-05-14``).
"""

from __future__ import annotations

import pandas as pd

from assets.sdtm.consistency.common import BASE, concat, record_dates
from assets.sdtm.consistency.events import (
    derive_ae_coding_findings,
    derive_ae_date_findings,
    derive_ae_duplicate_findings,
    derive_ae_seriousness_findings,
    derive_cm_date_findings,
)
from assets.sdtm.consistency.results import (
    derive_bp_order_findings,
    derive_lab_range_findings,
    derive_randomization_findings,
)
from assets.sdtm.consistency.timeline import (
    derive_after_death_findings,
    derive_before_consent_findings,
    derive_dated_records,
    derive_death_findings,
    derive_dosing_after_discontinuation_findings,
    derive_visit_order_findings,
    visit_days,
    visit_priors,
)


def derive_consistency_findings(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every consistency finding of the module docstring from the ingested ``forms`` (``AE``, ``CM``,
    ``DS``, ``EX``, ``VS``, ``LB``, ``DM``, ``RAND`` and the visit-based forms), one frame with the
    findings columns and ``DATE``; empty when none."""
    frames = {name: forms.get(name, pd.DataFrame()) for name in {*forms, *record_dates()["FORM"], "DM"}}

    def has(name: str, cols: list[str]) -> bool:
        df = frames.get(name)
        return df is not None and len(df) > 0 and all(c in df.columns for c in cols)

    parts = []
    if has("AE", [*BASE, "AESTDTC"]):
        ae = frames["AE"]
        for col in ("AEENDTC", "AEONGO", "AESER", "AETERM"):
            if col not in ae.columns:
                ae = ae.assign(**{col: pd.Series(pd.NA, index=ae.index, dtype="string")})
        parts += [
            derive_ae_date_findings(ae),
            derive_ae_seriousness_findings(ae),
            derive_ae_coding_findings(ae),
            derive_ae_duplicate_findings(ae),
        ]
    if has("CM", [*BASE, "CMSTDTC"]):
        cm = frames["CM"]
        for col in ("CMENDTC", "CMONGO"):
            if col not in cm.columns:
                cm = cm.assign(**{col: pd.Series(pd.NA, index=cm.index, dtype="string")})
        parts.append(derive_cm_date_findings(cm))
    ds = (
        frames["DS"]
        if has("DS", [*BASE, "DSDECOD", "DSSTDTC"])
        else pd.DataFrame(columns=[*BASE, "DSDECOD", "DSSTDTC"])
    )
    ae_all = frames["AE"] if has("AE", [*BASE, "AESTDTC"]) else pd.DataFrame(columns=[*BASE, "AESTDTC"])
    parts.append(derive_death_findings(ae_all, ds))
    if has("EX", [*BASE, "EXADMIN", "EXSTDTC"]):
        parts.append(derive_dosing_after_discontinuation_findings(frames["EX"], ds))
    if has("VS", [*BASE, "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN"]):
        parts.append(derive_bp_order_findings(frames["VS"]))
    if has("LB", [*BASE, "VISIT", "LBDTC", "LBTESTCD", "LBORRES"]):
        parts.append(derive_lab_range_findings(frames["LB"]))
    if has("RAND", ["USUBJID", "SITEID", "SUBJID", "RANDNO", "RANDDTC"]):
        parts.append(derive_randomization_findings(frames["RAND"]))
    dm = frames["DM"] if has("DM", ["USUBJID", "ICDTC"]) else None
    parts += derive_dated_record_findings(frames, ds, dm)
    return concat(parts)


def derive_dated_record_findings(
    frames: dict[str, pd.DataFrame], ds: pd.DataFrame, dm: pd.DataFrame | None
) -> list[pd.DataFrame]:
    """The rules on dated records (consent, after death, visit order), one form's dated records
    at a time: the records of every form together are the largest frame of the step. Visit order
    compares forms, so a first pass collects each form's visit days (:func:`visit_days`) and the
    second looks only at the subjects of a form that can be out of order."""
    dated_forms = [str(f) for f in record_dates()["FORM"] if len(frames.get(str(f), ()))]
    parts: list[pd.DataFrame] = []
    days: dict[str, pd.DataFrame] = {}
    for form in dated_forms:
        dated = derive_dated_records({form: frames[form]})
        if dated.empty:
            continue
        if dm is not None:
            parts.append(derive_before_consent_findings(dated, dm))
        parts.append(derive_after_death_findings(dated, ds))
        if dated["VISITNUM"].notna().any():
            days[form] = visit_days(dated)
    if not days:
        return parts
    priors = visit_priors(pd.concat(days.values(), ignore_index=True))
    for form, form_days in days.items():
        early = form_days.merge(priors, on=["USUBJID", "VISITNUM"])
        subjects = early.loc[
            (early["HI"] < early["PRIOR"].astype("string")).fillna(False).to_numpy(dtype=bool), "USUBJID"
        ]
        if subjects.empty:
            continue
        df = frames[form]
        dated = derive_dated_records(
            {form: df[df["USUBJID"].astype("string").isin(set(subjects)).to_numpy(dtype=bool)]}
        )
        parts.append(derive_visit_order_findings(dated, priors))
    return parts
