"""Consistency queries on the order of a subject's dated records (derivations.md, (v2) Data-management
consistency queries: consent, death, dosing after discontinuation, visit order)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.common.columns import require_columns
from assets.common.findings import CONTEXT_COLUMNS, derive_vars_finding_context
from assets.sdtm.consistency.common import (
    BASE,
    LINEAGE,
    before,
    bounds,
    concat,
    findings,
    record_dates,
    shown,
    text,
)
from study import facts

UNSCHEDULED = "UNSCHEDULED"
FATAL = "FATAL"


# ----------------------------------------------------------------------------------- dated records
def derive_dated_records(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every record of the forms of study/consistency_record_dates.csv with its date: ``FORM``,
    ``DTC`` (harmonized date), ``COLUMN`` (its CDASH column), ``VALUE`` (the date as delivered),
    ``BEFORE_CONSENT``/``AFTER_DEATH`` (whether the consent and death rules look at it), the visit,
    the lineage; records without a date are left out."""
    parts = []
    for row in record_dates().itertuples():
        df = forms.get(str(row.FORM))
        if df is None or df.empty or row.DATE_COLUMN not in df.columns:
            continue
        dtc = text(df, str(row.DATE_COLUMN))
        part = pd.DataFrame(
            {
                **{c: text(df, c) for c in [*BASE, "VISIT"]},
                "VISITNUM": pd.to_numeric(df["VISITNUM"], errors="coerce") if "VISITNUM" in df else np.nan,
                "FORM": str(row.FORM),
                "DTC": dtc,
                "COLUMN": str(row.SOURCE_COLUMN),
                "VALUE": text(df, str(row.SOURCE_COLUMN)).fillna(dtc),
                "BEFORE_CONSENT": row.BEFORE_CONSENT == "Y",
                "AFTER_DEATH": row.AFTER_DEATH == "Y",
                **{c: df[c] if c in df.columns else pd.NA for c in LINEAGE},
            },
            index=df.index,
        )
        context = derive_vars_finding_context(df, str(row.FORM))
        part[list(CONTEXT_COLUMNS)] = context[list(CONTEXT_COLUMNS)]
        if str(row.FORM) == "DS":
            part["DSDECOD"] = text(df, "DSDECOD")
        parts.append(part[dtc.notna().to_numpy(dtype=bool)])
    if not parts:
        columns = [*BASE, "VISITNUM", "FORM", "DTC", "COLUMN", "VALUE", "BEFORE_CONSENT", "AFTER_DEATH"]
        return pd.DataFrame(columns=[*columns, *LINEAGE, *CONTEXT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _each_form(dated: pd.DataFrame, mask: pd.Series, rule: str, message: pd.Series) -> pd.DataFrame:
    """Findings of ``rule`` on the dated records of ``mask``, each under its own form and date column."""
    out = []
    for form, rows in dated[mask].groupby("FORM", sort=True):
        out.append(findings(rows, True, rule, str(form), rows["COLUMN"], rows["VALUE"], message[rows.index]))
    return concat(out)


def derive_before_consent_findings(dated: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """KIND ``BEFORE_CONSENT`` (derivations.md, (v2) Data-management consistency queries: consent): a
    dated record (:func:`derive_dated_records`, ``BEFORE_CONSENT = Y``: every form but medical
    history and medications, which record what came before the study) certainly before the
    subject's ``ICDAT`` (``no_record_before_consent``; the consent day itself is consistent)."""
    require_columns(dated, [*BASE, "FORM", "DTC", "BEFORE_CONSENT"], "derive_before_consent_findings")
    require_columns(dm, ["USUBJID", "ICDTC"], "derive_before_consent_findings(dm)")
    if dated.empty:
        return pd.DataFrame()
    consent = dm.dropna(subset=["ICDTC"]).drop_duplicates("USUBJID").set_index("USUBJID")["ICDTC"]
    ic = dated["USUBJID"].map(consent).astype("string")
    bad = dated["BEFORE_CONSENT"].astype(bool) & before(dated["DTC"], ic)
    return _each_form(
        dated,
        bad,
        "no_record_before_consent",
        "dated " + shown(dated["VALUE"]) + ", before informed consent on " + shown(ic),
    )


def _death_dates(ds: pd.DataFrame) -> pd.Series:
    """Per subject, the earliest DS DEATH date (its latest possible day), as ISO text."""
    death = ds[text(ds, "DSDECOD").eq(facts.disposition_term("DEATH")).fillna(False).to_numpy(dtype=bool)]
    if death.empty:
        return pd.Series(dtype="string")
    hi = bounds(death["DSSTDTC"])[1]
    return hi.groupby(death["USUBJID"].astype("string")).min().dropna()


def _fatal(ae: pd.DataFrame) -> pd.Series:
    return (text(ae, "AESDTH").eq("Y") | text(ae, "AEOUT").str.upper().eq(FATAL)).fillna(False).astype(bool)


def derive_death_findings(
    ae: pd.DataFrame, ds: pd.DataFrame, dated: pd.DataFrame | None = None
) -> pd.DataFrame:
    """KIND ``DEATH`` (derivations.md, (v2) Data-management consistency queries: death): an AE with
    ``AESDTH = Y`` or ``AEOUT = FATAL`` of a subject without a DS record ``DEATH``
    (``fatal_ae_has_ds_death``); a DS ``DEATH`` record of a subject without such an AE
    (``ds_death_has_fatal_ae``); a dated record (:func:`derive_dated_records`, ``AFTER_DEATH = Y``)
    certainly after the subject's death date, the earliest DS ``DEATH`` date
    (``no_record_after_death``; the day of death itself is consistent). Without ``dated``, the
    first two only (the third is :func:`derive_after_death_findings`, one form at a time)."""
    require_columns(ae, [*BASE, "AESTDTC"], "derive_death_findings(ae)")
    require_columns(ds, [*BASE, "DSDECOD", "DSSTDTC"], "derive_death_findings(ds)")
    died = _death_dates(ds)
    fatal = _fatal(ae)
    fatal_subjects = set(ae.loc[fatal, "USUBJID"].astype(str))
    is_death = text(ds, "DSDECOD").eq(facts.disposition_term("DEATH")).fillna(False).astype(bool)
    ds_subjects = ds["USUBJID"].astype("string")
    column = pd.Series(
        np.where(text(ae, "AESDTH").eq("Y").fillna(False), "AESDTH", "AEOUT"), index=ae.index, dtype="string"
    )
    value = pd.Series(
        np.where(column.eq("AESDTH"), "Y", shown(text(ae, "AEOUT"))), index=ae.index, dtype="string"
    )
    parts = [
        findings(
            ae,
            fatal & ~ae["USUBJID"].astype("string").isin(set(died.index)).fillna(False),
            "fatal_ae_has_ds_death",
            "AE",
            column,
            value,
            column + " = " + value + " but the subject has no DS record DEATH",
        ),
        findings(
            ds,
            is_death & ~ds_subjects.isin(fatal_subjects).fillna(False),
            "ds_death_has_fatal_ae",
            "DS",
            "DSDECOD",
            "DEATH",
            pd.Series(
                "DS record DEATH but no AE of the subject has AESDTH = Y or AEOUT = FATAL", index=ds.index
            ),
        ),
    ]
    if dated is not None:
        parts.append(derive_after_death_findings(dated, ds))
    return concat(parts)


def derive_after_death_findings(dated: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """The ``no_record_after_death`` part of :func:`derive_death_findings`: a dated record
    (``AFTER_DEATH = Y``) certainly after the subject's earliest DS ``DEATH`` date, the DS ``DEATH``
    record itself aside. Record by record, so the dated records of each form can be checked alone."""
    require_columns(dated, [*BASE, "FORM", "DTC", "AFTER_DEATH"], "derive_after_death_findings")
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "derive_after_death_findings(ds)")
    died = _death_dates(ds)
    if not len(died) or not len(dated):
        return pd.DataFrame()
    death_day = dated["USUBJID"].map(died).astype("string")
    own = dated["FORM"].eq("DS") & dated.get("DSDECOD", pd.Series(pd.NA, index=dated.index)).eq(
        facts.disposition_term("DEATH")
    ).fillna(False)
    after = (bounds(dated["DTC"])[0] > death_day).fillna(False).astype(bool)
    bad = dated["AFTER_DEATH"].astype(bool) & after & ~own
    return _each_form(
        dated,
        bad,
        "no_record_after_death",
        "dated " + shown(dated["VALUE"]) + ", after the death on " + shown(death_day),
    )


def derive_dosing_after_discontinuation_findings(ex: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """KIND ``DOSING_AFTER_DISCONTINUATION`` (derivations.md, (v2) Data-management consistency
    queries: dosing after discontinuation): an injection given (``EXADMIN = Y``) certainly after the
    date of a discontinuation DS record, one whose ``DSDECOD`` has ``EOSSTT = DISCONTINUED`` in
    study/disposition.csv (``no_dose_after_discontinuation``; the day of discontinuation itself is
    consistent)."""
    require_columns(ex, [*BASE, "EXADMIN", "EXSTDTC"], "derive_dosing_after_discontinuation_findings")
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "derive_dosing_after_discontinuation_findings(ds)")
    stopping = {k for k, v in facts.end_of_study_status().items() if v == "DISCONTINUED"}
    disc = ds[text(ds, "DSDECOD").isin(stopping).fillna(False).to_numpy(dtype=bool)]
    if disc.empty or ex.empty:
        return pd.DataFrame()
    hi = bounds(disc["DSSTDTC"])[1]
    first = hi.groupby(disc["USUBJID"].astype("string")).min().dropna()
    stop = ex["USUBJID"].astype("string").map(first).astype("string")
    after = (bounds(ex["EXSTDTC"])[0] > stop).fillna(False).astype(bool)
    raw = shown(text(ex, "EXSTDAT").fillna(text(ex, "EXSTDTC")))
    return findings(
        ex,
        text(ex, "EXADMIN").eq("Y") & after,
        "no_dose_after_discontinuation",
        "EX",
        "EXSTDAT",
        raw,
        "injection given on " + raw + ", after discontinuation on " + shown(stop),
    )


def _scheduled(dated: pd.DataFrame) -> pd.DataFrame:
    """The dated records of scheduled visits (a ``VISITNUM``, ``VISIT`` not ``UNSCHEDULED``) with the
    earliest (``LO``) and latest (``HI``) day each date stands for."""
    sched = dated[
        dated["VISITNUM"].notna().to_numpy(dtype=bool)
        & ~text(dated, "VISIT").eq(UNSCHEDULED).fillna(False).to_numpy(dtype=bool)
    ].copy()
    sched["LO"], sched["HI"] = bounds(sched["DTC"])
    return sched


def visit_days(dated: pd.DataFrame) -> pd.DataFrame:
    """Per subject and scheduled visit of the dated records: ``LO``, the latest earliest-day of its
    records, and ``HI``, the earliest latest-day. The ``LO`` of several forms' visit days combine by
    their maximum (:func:`visit_priors`); ``HI`` tells whether a form can hold a visit-order finding."""
    require_columns(dated, ["USUBJID", "VISIT", "VISITNUM", "DTC"], "visit_days")
    sched = _scheduled(dated)
    return (
        sched.groupby(["USUBJID", "VISITNUM"], sort=True)
        .agg(LO=("LO", "max"), HI=("HI", "min"))
        .reset_index()
    )


def visit_priors(days: pd.DataFrame) -> pd.DataFrame:
    """Per subject and scheduled visit, ``PRIOR``: the latest earliest-day of any record of a lower
    visit of the subject (from :func:`visit_days` of one or several forms; missing for the first)."""
    require_columns(days, ["USUBJID", "VISITNUM", "LO"], "visit_priors")
    per_visit = days.groupby(["USUBJID", "VISITNUM"], sort=True)["LO"].max().reset_index()
    # ISO days order as text: their rank among the distinct days is a number groupby can cummax.
    lo = per_visit["LO"]
    distinct = np.sort(lo.dropna().unique().astype(str))
    rank = pd.Series(np.searchsorted(distinct, lo.fillna("").astype(str)), dtype="float64")
    rank = rank.where(lo.notna().to_numpy(dtype=bool))
    prior = rank.groupby(per_visit["USUBJID"]).cummax().groupby(per_visit["USUBJID"]).shift(1)
    known = prior.notna().to_numpy(dtype=bool)
    per_visit["PRIOR"] = pd.Series(pd.NA, index=per_visit.index, dtype="string")
    per_visit.loc[known, "PRIOR"] = distinct[prior[known].astype(int).to_numpy()]
    return per_visit[["USUBJID", "VISITNUM", "PRIOR"]]


def derive_visit_order_findings(dated: pd.DataFrame, priors: pd.DataFrame | None = None) -> pd.DataFrame:
    """KIND ``VISIT_ORDER`` (derivations.md, (v2) Data-management consistency queries: visit order):
    a record of a scheduled visit (any ``VISIT`` but ``UNSCHEDULED``) certainly before a record of an
    earlier scheduled visit of the same subject (lower ``VISITNUM``), in any visit-based form
    (``visits_in_order``). One finding per subject, visit, form and date, with the first record's
    lineage (as the visit-window findings), on the later visit: the one dated too early. ``priors``
    (:func:`visit_priors`) brings the earlier visits of records not in ``dated``, such as other
    forms'; by default those of ``dated`` itself."""
    require_columns(dated, [*BASE, "VISIT", "VISITNUM", "FORM", "DTC"], "derive_visit_order_findings")
    sched = _scheduled(dated)
    if sched.empty:
        return pd.DataFrame()
    priors = visit_priors(visit_days(dated)) if priors is None else priors
    prior = sched.merge(priors, on=["USUBJID", "VISITNUM"], how="left")
    prior.index = sched.index
    bad = (sched["HI"] < prior["PRIOR"].astype("string")).fillna(False).astype(bool)
    rows = sched[bad].assign(PRIOR=prior.loc[bad, "PRIOR"])
    rows = rows.sort_values(["USUBJID", "VISITNUM", "FORM", "DTC", "RECID"], kind="stable")
    rows = rows.drop_duplicates(["USUBJID", "VISIT", "FORM", "DTC"])
    return _each_form(
        rows,
        pd.Series(True, index=rows.index),
        "visits_in_order",
        rows["VISIT"].astype("string")
        + " dated "
        + shown(rows["VALUE"])
        + ", before a record of an earlier visit dated "
        + shown(rows["PRIOR"]),
    )
