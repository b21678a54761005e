"""Harmonize a form read as text: ISO dates, visit numbers, numbers, standard units.

Adds columns, never changes the text as sent (site-export.md; derivations.md, Time):
- every ``<X>DAT`` gets ``<X>DTC`` (ISO 8601 at the precision delivered; ``EXSTDTC`` carries
  ``EXSTTIM`` when the date is complete);
- ``USUBJID`` = ``STUDYID-SUBJID``; ``VISITNUM`` from the visit schedule (``UNSCHEDULED`` = 99);
- VS/FACS: ``--STRESN`` and ``--STRESU`` in the standard unit and ``--CONVF``, the factor used;
- LB: ``LBSTRESN`` (the number, converted), ``LBRESQUAL`` (``<``/``>`` kept), ``LBSTRESC``
  (standard result as text, qualifier included, or the word), ``LBSTRESU``, ``LBSTNRLO``/``LBSTNRHI``
  (the site's range converted), ``LBCONVF``;
- PGA ``PGASCOREN``, SLEDAI ``SLTOTALN``, CM ``CMDOSEN`` (every column of
  ``study/plausible_ranges.csv``, ``<COLUMN>N``): the numbers parsed.
Values that cannot be parsed stay missing here, never infinite; the raw-form schemas quarantine
those rows.
"""

from __future__ import annotations

import pandas as pd

import study
from assets.common.dates import date_plausibility, export_cut_date, iso_with_time, parse_cdash_dates
from assets.common.distinct import per_distinct
from assets.common.units import (
    convert_to_standard,
    format_number,
    parse_integer,
    parse_number,
    parse_result,
)
from study import facts

HELPER_COLUMNS = ("VS_UNIT_KNOWN", "LB_UNIT_KNOWN", "FC_UNIT_KNOWN")
FLAG_SEPARATOR = "__"  # <COLUMN>__<FLAG>: per-row verdicts the raw-form schemas check, then dropped


def derive_vars_dtc(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """``<X>DAT`` -> ``<X>DTC`` for every DATE column of the form (``RANDDAT`` -> ``RANDDTC``).

    Also ``<X>DAT__FORM_OK`` (empty or CDASH form), ``<X>DAT__EXISTS`` (the date is in the
    calendar, or its form is already wrong), ``<X>DAT__FROM_1900`` and ``<X>DAT__BY_CUT``
    (site-export.md, File format: not before 1900, not after the data cut of the row's export,
    ``SRC_EXPORT``; a date not parsed passes both): the schemas check these flags instead of
    parsing the dates a second time."""
    cols = study.form_columns(form)
    cut = per_distinct(df["SRC_EXPORT"], export_cut_date) if "SRC_EXPORT" in df.columns else None
    for col in cols.loc[cols["TYPE"] == "DATE", "COLUMN"]:
        parsed = per_distinct(df[col], parse_cdash_dates)
        dtc = col[:-3] + "DTC"
        df[dtc] = parsed["iso"]
        df[f"{col}{FLAG_SEPARATOR}FORM_OK"] = parsed["form_ok"].astype(bool)
        df[f"{col}{FLAG_SEPARATOR}EXISTS"] = (parsed["valid"] | ~parsed["form_ok"]).astype(bool)
        plausible = date_plausibility(df[dtc], cut)
        df[f"{col}{FLAG_SEPARATOR}FROM_1900"] = plausible["from_1900"]
        df[f"{col}{FLAG_SEPARATOR}BY_CUT"] = plausible["by_cut"]
    if form == "EX":
        df["EXSTDTC"] = iso_with_time(df["EXSTDTC"], df["EXSTTIM"])
    return df


def derive_var_visitnum(df: pd.DataFrame) -> pd.DataFrame:
    """``VISITNUM`` from ``VISIT`` via study/visits.csv; unknown labels stay missing."""
    if "VISIT" in df.columns:
        # Looked up once per distinct label (a handful), not once per row.
        visitnum = study.visitnum_map()
        df["VISITNUM"] = per_distinct(df["VISIT"], lambda labels: labels.map(visitnum).astype("Int64"))
    return df


def _derive_standard(df: pd.DataFrame, prefix: str, testcd: str, domain: str) -> pd.DataFrame:
    num = per_distinct(df[f"{prefix}ORRES"], parse_number)
    conv = convert_to_standard(df[testcd], df[f"{prefix}ORRESU"], num["value"], domain)
    df[f"{prefix}STRESN"] = conv["std_value"]
    df[f"{prefix}STRESU"] = conv["std_unit"].where(conv["unit_known"])
    df[f"{prefix}CONVF"] = conv["factor"]
    df[f"{domain}_UNIT_KNOWN"] = conv["unit_known"]
    return df


def derive_vars_vs_standard(df: pd.DataFrame) -> pd.DataFrame:
    """VS in kg, cm and C (LB x 0.45359237, in x 2.54, (F - 32) x 5/9)."""
    return _derive_standard(df, "VS", "VSTESTCD", "VS")


def derive_vars_fc_standard(df: pd.DataFrame) -> pd.DataFrame:
    """Flow cytometry: % of CD4+ T cells (one unit, factor 1)."""
    return _derive_standard(df, "FC", "FCTESTCD", "FC")


def derive_vars_lb_standard(df: pd.DataFrame) -> pd.DataFrame:
    """LB results and reference ranges in standard units; ``<``/``>`` qualifiers kept."""
    res = per_distinct(df["LBORRES"], parse_result)
    conv = convert_to_standard(df["LBTESTCD"], df["LBORRESU"], res["value"], "LB")
    df["LBSTRESN"] = conv["std_value"]
    df["LBRESQUAL"] = res["qualifier"]
    numeric_text = res["qualifier"].fillna("") + format_number(conv["std_value"])
    df["LBSTRESC"] = numeric_text.where(conv["std_value"].notna(), res["word"]).astype("string")
    df["LBSTRESU"] = conv["std_unit"].where(conv["unit_known"])
    df["LBCONVF"] = conv["factor"]
    for bound in ("LO", "HI"):
        raw = per_distinct(df[f"LBORNR{bound}"], parse_number)["value"]
        df[f"LBSTNR{bound}"] = (raw + conv["add_before"]) * conv["factor"]
    df["LB_UNIT_KNOWN"] = conv["unit_known"]
    return df


def harmonize_form(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """All harmonizations that apply to ``form``; returns a new frame."""
    df = df.copy()
    if "SUBJID" in df.columns:
        df["USUBJID"] = (df["STUDYID"].astype("string") + "-" + df["SUBJID"].astype("string")).astype(
            "string"
        )
    df = derive_var_visitnum(derive_vars_dtc(df, form))
    if form == "VS":
        df = derive_vars_vs_standard(df)
    elif form == "LB":
        df = derive_vars_lb_standard(df)
    elif form == "FACS":
        df = derive_vars_fc_standard(df)
    return derive_vars_numbers(df, form)


def derive_vars_numbers(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """``<COLUMN>N`` for every column of the form with a plausible range of its own
    (``study/plausible_ranges.csv``: ``PGASCOREN``, ``SLTOTALN``, ``CMDOSEN``), parsed by its type."""
    types = study.form_columns(form).set_index("COLUMN")["TYPE"]
    for column in dict.fromkeys(facts.plausible_ranges(form)["COLUMN"]):
        if column in df.columns:
            parse = parse_integer if types.get(column) == "INTEGER" else parse_number
            df[f"{column}N"] = per_distinct(df[column], parse)["value"]
    return df


def helper_columns(df: pd.DataFrame) -> list[str]:
    """The columns harmonize adds for the schemas only (unit verdicts, date flags)."""
    return [c for c in df.columns if c in HELPER_COLUMNS or FLAG_SEPARATOR in c]


def drop_helper_columns(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=helper_columns(df))
