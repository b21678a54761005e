"""What every consistency rule shares (derivations.md, (v2) Data-management consistency queries): the
rule metadata of study/consistency_rules.csv and study/consistency_record_dates.csv, the findings of a
rule on the rows it flags (:mod:`assets.common.findings` shape, with the record's visit, date, test code
and unit as delivered), and dates compared at the precision delivered."""

from __future__ import annotations

from functools import cache

import pandas as pd

import study
from assets.common.dates import iso_bounds_text
from assets.common.findings import CONTEXT_COLUMNS, derive_vars_finding_context, finding_context_columns

LINEAGE = ["SRC_EXPORT", "SRC_FILE", "SRC_LINE"]
BASE = ["USUBJID", "SITEID", "SUBJID", "RECID"]


@cache
def rules_table() -> pd.DataFrame:
    return study.table("consistency_rules").set_index("RULE")


def rule_kind(rule: str) -> str:
    """The query KIND of a rule of study/consistency_rules.csv."""
    return str(rules_table().loc[rule, "KIND"])


def rule_columns(rule: str) -> list[str]:
    """The columns a rule reads (study/consistency_rules.csv ``COLUMNS``)."""
    return str(rules_table().loc[rule, "COLUMNS"]).split()


@cache
def columns_read() -> frozenset[str]:
    """Every column a consistency rule reads from an ingested form: the key and lineage columns,
    the visit, each rule's CDASH ``COLUMNS`` (study/consistency_rules.csv) with their harmonized
    forms (``--DAT`` as ``--DTC``, ``--ORRES`` as ``--STRESN``), the record dates of
    study/consistency_record_dates.csv and the finding context of study/qa.yaml."""
    cdash = {c for cols in rules_table()["COLUMNS"].dropna() for c in str(cols).split()}
    harmonized = {c[:-3] + "DTC" for c in cdash if c.endswith("DAT")}
    harmonized |= {c[:-5] + "STRESN" for c in cdash if c.endswith("ORRES")}
    dates = set(record_dates()["DATE_COLUMN"]) | set(record_dates()["SOURCE_COLUMN"])
    forms = [*record_dates()["FORM"], "DM"]
    context = {c for form in forms for c in finding_context_columns(str(form)).values()}
    return frozenset({*BASE, *LINEAGE, "VISIT", "VISITNUM", *cdash, *harmonized, *dates, *context})


def record_dates() -> pd.DataFrame:
    """study/consistency_record_dates.csv: per form, the record's harmonized date, the CDASH column it
    comes from, and whether the consent and the death rules look at it."""
    return study.table("consistency_record_dates")


def text(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as trimmed text, empty text as missing; all missing when the frame lacks it."""
    if col not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    s = df[col].astype("string").str.strip()
    return s.mask(s.eq(""))


def findings(df: pd.DataFrame, mask, rule: str, form: str, column, value, message) -> pd.DataFrame:
    """Findings of ``rule`` for the rows of ``df`` where ``mask`` holds (``column``, ``value`` and
    ``message``: scalars or Series aligned on ``df``), with the visit, date, test code and unit of
    each record as delivered (:func:`assets.common.findings.derive_vars_finding_context`)."""
    mask = pd.Series(mask, index=df.index).fillna(False).astype(bool)
    if not mask.any():
        return pd.DataFrame()
    rows = df[mask]

    def pick(v):
        return v[mask] if isinstance(v, pd.Series) else v

    context = (
        rows[list(CONTEXT_COLUMNS)]
        if set(CONTEXT_COLUMNS) <= set(rows.columns)
        else derive_vars_finding_context(rows, form)
    )
    out = pd.DataFrame(
        {
            "KIND": rule_kind(rule),
            "SEVERITY": "WARNING",
            "SITEID": text(rows, "SITEID"),
            "SUBJID": text(rows, "SUBJID"),
            "FORM": form,
            "RECID": text(rows, "RECID"),
            "VISIT": context["VISIT"],
            "COLUMN": pick(column),
            "RULE": rule,
            "VALUE": pick(value),
            "MESSAGE": pick(message),
            "DATE": context["DATE"],
            "TESTCD": context["TESTCD"],
            "UNIT": context["UNIT"],
            **{c: rows[c] if c in rows.columns else pd.NA for c in LINEAGE},
        },
        index=rows.index,
    )
    return out.reset_index(drop=True)


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def bounds(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Earliest and latest day (ISO text) a date of any precision stands for."""
    b = iso_bounds_text(iso.astype("string"))
    return b["lo"], b["hi"]


def before(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a`` certainly before ``b`` (its latest day before ``b``'s earliest); False when either is missing."""
    return (bounds(a)[1] < bounds(b)[0]).fillna(False).astype(bool)


def shown(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("")
