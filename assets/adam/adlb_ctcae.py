"""ADLB toxicity grades per NCI CTCAE v5.0 (ADaMIG 1.3, Toxicity and range variables).

The criteria are study metadata, ``study/ctcae_v5_grades.csv``: one row per criterion with the
parameter (``PARAMCD``), the direction (``LOW``/``HIGH``), the CTCAE term, the grade, and the
condition ``AVAL <OPERATOR> FACTOR x <REFERENCE> + ADD`` where ``REFERENCE`` is ``ULN`` (``A1HI``),
``LLN`` (``A1LO``), ``BASE`` or ``NONE`` (an absolute value ``ADD`` in ``UNIT``, the standard unit);
``BASELINE`` restricts a row to records whose baseline is ``NORMAL`` or ``ABNORMAL`` in the row's
direction (CTCAE v5.0 "if baseline was normal/abnormal"), empty for every record. The text of the
CTCAE grade is kept beside it (``CTCAE_TEXT``).

Rules (names and values as in pharmaverse ADLB / admiral ``derive_var_atoxgr_dir``):

- ``ATOXDSCL``/``ATOXDSCH``: the CTCAE term of the low/high direction, on every record of a graded
  parameter.
- ``ATOXGRL``/``ATOXGRH``: per direction, the highest grade whose criterion holds, ``"0"`` when none
  holds; missing without a result, or when a criterion of a higher grade cannot be decided (its
  reference range limit is missing, or a censored result such as ``<10`` lies on both sides of the
  threshold). A row referring to ``BASE``, and a row for an ``ABNORMAL`` baseline, applies only to
  post-baseline records (``ADT > TRTSDT``) with a baseline: a baseline value is not graded against
  itself, so records on or before the first dose are graded against the range limits (admiral
  grades them against ``BASE`` too; this is the one difference). A baseline is abnormal when
  ``BNRIND`` is ``HIGH`` for the high direction, ``LOW`` for the low one.
- ``ATOXGR``: ``-<ATOXGRL>`` when ``ATOXGRL`` > 0, else ``ATOXGRH`` when > 0, else ``"0"`` when every
  direction the parameter has is ``"0"``, else missing (admiral ``derive_var_atoxgr``).
- ``BTOXGRL``/``BTOXGRH``/``BTOXGR``: the values of the baseline record (``ABLFL = Y``) on every
  record of the subject and parameter.

Values and thresholds are compared at ``DECIMALS`` decimals, as ``ANRIND`` is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.adlb_results import result_bounds
from assets.common.columns import require_columns
from assets.common.precision import DECIMALS

DIRECTIONS = {"LOW": "L", "HIGH": "H"}
OPERATORS = {"<", ">", ">="}
REFERENCES = {"ULN": "A1HI", "LLN": "A1LO", "BASE": "BASE", "NONE": None}
BASELINES = {"", "NORMAL", "ABNORMAL"}


def ctcae_grades() -> pd.DataFrame:
    """``study/ctcae_v5_grades.csv`` with ``GRADE`` (int), ``FACTOR``/``ADD`` (float); raises on an
    unknown direction, operator, reference or baseline condition, or two terms for one direction."""
    grades = study.table("ctcae_v5_grades")
    bad = (
        ~grades["DIRECTION"].isin(list(DIRECTIONS))
        | ~grades["OPERATOR"].isin(list(OPERATORS))
        | ~grades["REFERENCE"].isin(list(REFERENCES))
        | ~grades["BASELINE"].isin(list(BASELINES))
    )
    terms = grades.drop_duplicates(["PARAMCD", "DIRECTION", "TERM"])
    if bad.any() or terms.duplicated(["PARAMCD", "DIRECTION"]).any():
        raise ValueError(f"study/ctcae_v5_grades.csv: bad criteria {grades.loc[bad].to_dict('records')}")
    grades["GRADE"] = grades["GRADE"].astype(int)
    grades["FACTOR"] = grades["FACTOR"].astype(float)
    grades["ADD"] = grades["ADD"].astype(float)
    return grades


def derive_vars_atoxdsc(adlb: pd.DataFrame, criteria: pd.DataFrame | None = None) -> pd.DataFrame:
    """``ATOXDSCL``/``ATOXDSCH``: the CTCAE v5.0 term of the parameter's low/high direction
    (study/ctcae_v5_grades.csv), missing when the parameter has none."""
    require_columns(adlb, ["PARAMCD"], "derive_vars_atoxdsc")
    criteria = ctcae_grades() if criteria is None else criteria
    out = adlb.copy(deep=False)
    for direction, suffix in DIRECTIONS.items():
        terms = criteria.loc[criteria["DIRECTION"] == direction].drop_duplicates("PARAMCD")
        out[f"ATOXDSC{suffix}"] = (
            out["PARAMCD"].map(dict(zip(terms["PARAMCD"], terms["TERM"], strict=True))).astype("string")
        )
    return out


def _holds(
    op: str, lo: np.ndarray, lo_open: np.ndarray, hi: np.ndarray, hi_open: np.ndarray, threshold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(holds, fails) of ``value <op> threshold`` for a true value within the bounds."""
    if op == ">":
        return (lo > threshold) | ((lo == threshold) & lo_open), hi <= threshold
    if op == ">=":
        return lo >= threshold, (hi < threshold) | ((hi == threshold) & hi_open)
    return (hi < threshold) | ((hi == threshold) & hi_open), lo >= threshold  # "<"


def derive_vars_atoxgr_dir(adlb: pd.DataFrame, criteria: pd.DataFrame | None = None) -> pd.DataFrame:
    """``ATOXGRL``/``ATOXGRH`` (text ``"0"``-``"4"``): per direction, the highest CTCAE v5.0 grade whose
    criterion of study/ctcae_v5_grades.csv holds, ``"0"`` when none does; missing without a result,
    for a parameter without that direction, or when a higher grade cannot be decided (see the module
    docstring for baseline-relative rows)."""
    require_columns(
        adlb,
        ["PARAMCD", "AVAL", "AVALC", "A1LO", "A1HI", "BASE", "BNRIND", "ADT", "TRTSDT"],
        "derive_vars_atoxgr_dir",
    )
    criteria = ctcae_grades() if criteria is None else criteria
    out = adlb.copy(deep=False)
    b = result_bounds(out["AVAL"], out["AVALC"])
    lo, hi = b["LO"].to_numpy(float).round(DECIMALS), b["HI"].to_numpy(float).round(DECIMALS)
    lo_open, hi_open = b["LO_OPEN"].to_numpy(bool), b["HI_OPEN"].to_numpy(bool)
    has_value = ~np.isnan(lo)
    post = (out["ADT"] > out["TRTSDT"]).fillna(False).to_numpy(bool)
    bnrind = out["BNRIND"].astype("string")
    refs = {
        name: pd.to_numeric(out[col], errors="coerce").to_numpy(float)
        for name, col in REFERENCES.items()
        if col
    }
    paramcd = out["PARAMCD"].astype("string").to_numpy(dtype=object)
    for direction, suffix in DIRECTIONS.items():
        rows = criteria.loc[criteria["DIRECTION"] == direction]
        abnormal = post & bnrind.eq(direction).fillna(False).to_numpy(bool)
        graded = np.isin(paramcd, rows["PARAMCD"].unique())
        best = np.zeros(len(out))
        undecided = np.full(len(out), -1.0)
        for record in rows.to_dict("records"):
            param, reference, baseline = (
                str(record["PARAMCD"]),
                str(record["REFERENCE"]),
                str(record["BASELINE"]),
            )
            factor, add, level = float(record["FACTOR"]), float(record["ADD"]), int(record["GRADE"])
            applies = paramcd == param
            if baseline == "NORMAL":
                applies &= ~abnormal
            elif baseline == "ABNORMAL":
                applies &= abnormal
            if reference == "BASE":
                applies &= post & ~np.isnan(refs["BASE"])
            ref = refs[reference] if reference != "NONE" else np.zeros(len(out))
            threshold = np.round(factor * ref + add, DECIMALS)
            holds, fails = _holds(str(record["OPERATOR"]), lo, lo_open, hi, hi_open, threshold)
            unknown = applies & has_value & ~holds & ~fails  # also a missing limit (NaN compares False)
            best = np.where(applies & holds, np.maximum(best, level), best)
            undecided = np.where(unknown, np.maximum(undecided, level), undecided)
        grade = pd.Series(best.astype(int).astype(str), index=out.index, dtype="string")
        out[f"ATOXGR{suffix}"] = grade.where(graded & has_value & (undecided <= best))
    return out


def derive_var_atoxgr(adlb: pd.DataFrame) -> pd.DataFrame:
    """``ATOXGR``: ``-ATOXGRL`` when the low grade is above 0, else ``ATOXGRH`` when above 0, else
    ``"0"`` when each direction the parameter has (``ATOXDSCL``/``ATOXDSCH``) is graded 0; missing
    otherwise (admiral ``derive_var_atoxgr``)."""
    require_columns(adlb, ["ATOXDSCL", "ATOXDSCH", "ATOXGRL", "ATOXGRH"], "derive_var_atoxgr")
    out = adlb.copy(deep=False)
    low, high = out["ATOXGRL"].astype("string"), out["ATOXGRH"].astype("string")
    low_n, high_n = pd.to_numeric(low).fillna(-1), pd.to_numeric(high).fillna(-1)
    zero_low = out["ATOXDSCL"].isna() | low.eq("0").fillna(False)
    zero_high = out["ATOXDSCH"].isna() | high.eq("0").fillna(False)
    graded = out["ATOXDSCL"].notna() | out["ATOXDSCH"].notna()
    grade = pd.Series(pd.NA, index=out.index, dtype="string")
    grade = grade.mask(graded & zero_low & zero_high, "0")
    grade = grade.mask(high_n > 0, high).mask(low_n > 0, "-" + low)
    out["ATOXGR"] = grade
    return out


def derive_vars_btoxgr(adlb: pd.DataFrame) -> pd.DataFrame:
    """``BTOXGRL``/``BTOXGRH``/``BTOXGR``: ``ATOXGRL``/``ATOXGRH``/``ATOXGR`` of the baseline record
    (``ABLFL = Y``) on every record of its subject and parameter; missing without a baseline."""
    require_columns(
        adlb, ["USUBJID", "PARAMCD", "ABLFL", "ATOXGRL", "ATOXGRH", "ATOXGR"], "derive_vars_btoxgr"
    )
    out = adlb.copy(deep=False)
    is_base = out["ABLFL"].eq("Y").fillna(False)
    source = {"BTOXGRL": "ATOXGRL", "BTOXGRH": "ATOXGRH", "BTOXGR": "ATOXGR"}
    base = (
        out[list(source.values())]
        .astype("string")
        .where(is_base, axis=0)
        .groupby([out["USUBJID"], out["PARAMCD"]], sort=False)
        .transform("first")
    )
    for target, column in source.items():
        out[target] = base[column].astype("string")
    return out
