"""Study metadata as data: one place, read by every layer.

Each function returns a fresh copy of a table in this folder, so callers may modify it.
The CSV files are the source of truth; nothing here hard-codes study facts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import yaml

STUDY_DIR = Path(__file__).resolve().parent

FORMS = ("DM", "IE", "VS", "LB", "SLEDAI", "PGA", "BILAG", "EX", "CM", "MH", "AE", "DS", "FACS")
"""The 13 forms every site export carries (site-export.md)."""

COMMON_COLUMNS = ("STUDYID", "SITEID", "SUBJID", "RECID")


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(STUDY_DIR / name, dtype=str, keep_default_na=False)


def table(name: str) -> pd.DataFrame:
    """A metadata table by file stem (``visits``, ``lab_tests``, ...), all columns as text."""
    return _csv(f"{name}.csv").copy()


@cache
def study() -> dict:
    """Study-level facts (study.yaml)."""
    with open(STUDY_DIR / "study.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def studyid() -> str:
    return study()["studyid"]


def visits() -> pd.DataFrame:
    """Visit schedule: VISIT, VISITNUM (int), PLANNED_DAY, WINDOW_DAYS (float), EPOCH, flags."""
    df = table("visits")
    df["VISITNUM"] = df["VISITNUM"].astype(int)
    for col in ("PLANNED_DAY", "WINDOW_DAYS"):
        df[col] = pd.to_numeric(df[col].replace("", None), errors="coerce")
    return df


def visitnum_map() -> dict[str, int]:
    return dict(zip(visits()["VISIT"], visits()["VISITNUM"]))


def sledai_weights() -> dict[str, int]:
    """SLEDAI-2K item column -> weight, in the order of the form."""
    df = table("sledai_items")
    return dict(zip(df["ITEM"], df["WEIGHT"].astype(int)))


def bilag_domains() -> list[str]:
    return table("bilag_domains")["DOMAIN"].tolist()


def unit_conversions() -> pd.DataFrame:
    """DOMAIN, TESTCD, UNIT, STD_UNIT, ADD_BEFORE, FACTOR: standard = (value + ADD_BEFORE) * FACTOR."""
    df = table("unit_conversions")
    df["ADD_BEFORE"] = df["ADD_BEFORE"].astype(float)
    df["FACTOR"] = df["FACTOR"].astype(float)
    return df


def lab_tests() -> pd.DataFrame:
    df = table("lab_tests")
    for col in ("PLAUSIBLE_LO", "PLAUSIBLE_HI"):
        df[col] = pd.to_numeric(df[col].replace("", None), errors="coerce")
    return df


def vital_signs() -> pd.DataFrame:
    df = table("vital_signs")
    for col in ("PLAUSIBLE_LO", "PLAUSIBLE_HI"):
        df[col] = df[col].astype(float)
    return df


def flow_cytometry() -> pd.DataFrame:
    df = table("flow_cytometry")
    for col in ("PLAUSIBLE_LO", "PLAUSIBLE_HI"):
        df[col] = df[col].astype(float)
    return df


def drug_classes() -> pd.DataFrame:
    df = table("drug_classes")
    df["PREDNISONE_FACTOR"] = pd.to_numeric(df["PREDNISONE_FACTOR"].replace("", None), errors="coerce")
    return df


def dose_frequencies() -> dict[str, float]:
    df = table("dose_frequencies")
    return dict(zip(df["CMDOSFRQ"], df["PER_DAY"].astype(float)))


def dose_units() -> pd.DataFrame:
    df = table("dose_units")
    df["TO_MG"] = df["TO_MG"].astype(float)
    return df


def protocol_limits() -> dict[str, float]:
    """Numeric protocol limits (protocol_limits.csv): LIMIT -> VALUE, the one loader of them."""
    t = table("protocol_limits")
    return dict(zip(t["LIMIT"], t["VALUE"].astype(float)))


def criteria() -> pd.DataFrame:
    """The 20 eligibility criteria: IETESTCD, IECAT, IETEST, SOURCE, RULE."""
    return table("criteria")


def arms() -> pd.DataFrame:
    df = table("arms")
    df["TRT01PN"] = df["TRT01PN"].astype(float)
    df["DOSE_MIU"] = df["DOSE_MIU"].astype(float)
    return df


def dosing_cycles() -> pd.DataFrame:
    return table("dosing").astype(int)


def form_columns(form: str | None = None) -> pd.DataFrame:
    """Form-specific columns (beyond STUDYID SITEID SUBJID RECID): FORM, COLUMN, TYPE, REQUIRED, VALUESET."""
    df = table("forms")
    return df if form is None else df[df["FORM"] == form].reset_index(drop=True)


def required_columns(form: str) -> list[str]:
    """Columns a file of this form must have in its header (contract: every listed column)."""
    common = list(COMMON_COLUMNS) if form not in ("RAND", "RANDLIST") else ["STUDYID", "SITEID", "SUBJID"]
    if form == "RANDLIST":
        common = []
    return common + form_columns(form)["COLUMN"].tolist()


@cache
def _valuesets() -> dict[str, tuple[str, ...]]:
    vs = table("valuesets")
    sets = {str(k): tuple(g["VALUE"]) for k, g in vs.groupby("VALUESET", sort=False)}
    sets["VISIT"] = tuple(table("visits")["VISIT"])
    sets["DSDECOD"] = tuple(table("disposition")["DSDECOD"])  # the terms with their roles, one list
    sets["IETESTCD"] = tuple(table("criteria")["IETESTCD"])
    sets["VSTESTCD"] = tuple(table("vital_signs")["VSTESTCD"])
    sets["LBTESTCD"] = tuple(table("lab_tests")["LBTESTCD"])
    sets["FCTESTCD"] = tuple(table("flow_cytometry")["FCTESTCD"])
    return sets


def valueset(name: str) -> tuple[str, ...]:
    """Allowed values of a value set named in forms.csv (VISIT, SEX, NY, ...)."""
    return _valuesets()[name]
