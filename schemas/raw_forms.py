"""pandera schemas of the 13 site forms and the IWRS export: structure and plausibility.

One schema per form, generated from ``study/forms.csv`` (column, type, required, value set) plus the
form's cross-column rules below (units known for the test, plausible ranges after unit conversion,
lab results of the right kind). They validate the *harmonized* frame of a form
(:mod:`assets.ingest.harmonize`): raw text columns plus the parsed ones. A failing row goes to
quarantine; protocol limits (weight 45-80 kg, ...) are not here, they are in
:mod:`schemas.protocol_rules` and never quarantine a row.

Rule names (the ``check`` of a failure) are stable identifiers used in the quarantine table and
the data queries: ``required``, ``value_set``, ``cdash_date_form``, ``date_exists``, ``number_form``,
``integer_form``, ``time_form``, ``unique_recid``, ``subject_id_form``, ``site_matches_folder``,
``study_id``, ``unit_known_for_test``, ``lab_result_form``, ``plausible_range``.
Cross-column rules are named ``<COLUMN>:<rule>`` so a failure names the column it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

import study
from assets.common.dates import TIME_PATTERN
from assets.common.distinct import per_distinct
from assets.common.units import NUMBER_PATTERN, RESULT_PATTERN

SUBJID_PATTERN = r"^\d{3}-\d{4}$"

RULE_MESSAGES = {
    "required": "required value is missing",
    "value_set": "value not in the contract's value set",
    "cdash_date_form": "date is not in CDASH form DD-MON-YYYY (UN/UNK for unknown parts)",
    "date_exists": "date does not exist in the calendar",
    "number_form": "not a decimal number",
    "integer_form": "not a whole number",
    "time_form": "time is not HH:MM (24 hour)",
    "unique_recid": "RECID occurs more than once in the file (all copies quarantined)",
    "subject_id_form": "SUBJID is not SITEID-NNNN",
    "site_matches_folder": "SITEID differs from the site folder the file came from",
    "study_id": "STUDYID is not the study's",
    "unit_known_for_test": "unit not accepted for this test (contract unit tables)",
    "lab_result_form": "result is neither a number (optionally with < or >) nor a word allowed for the test",
    "plausible_range": "value outside the physically plausible range after unit conversion",
    "birth_before_consent": "birth date is not before the informed consent date",
}


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def _fullmatch(text: pd.Series, pattern: str) -> pd.Series:
    """``text.str.fullmatch(pattern)``, matched once per distinct value.

    pandas runs a pattern with ``\\s`` (or ``\\d`` on non-ASCII text) through Python's ``re``
    value by value; raw columns repeat a few thousand distinct values over many rows."""
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    return pd.Series(uniques, dtype=text.dtype).str.fullmatch(pattern).take(codes).set_axis(text.index)


def _matches(pattern: str) -> Callable[[pd.Series], pd.Series]:
    return lambda s: _fullmatch(_text(s), pattern).fillna(True) | s.isna()


def _isin(values: tuple[str, ...]) -> Callable[[pd.Series], pd.Series]:
    allowed = set(values)
    return lambda s: s.isna() | s.isin(allowed)


def _date_flag_columns(column: str) -> dict[str, pa.Column]:
    """Date rules on the per-row flags of :func:`assets.ingest.harmonize.derive_vars_dtc`; a failure
    is reported against ``column`` (the flag suffix is stripped) with the raw value."""
    return {
        f"{column}__FORM_OK": pa.Column(bool, checks=pa.Check(lambda s: s, name="cdash_date_form")),
        # a wrong form is reported once, by cdash_date_form
        f"{column}__EXISTS": pa.Column(bool, checks=pa.Check(lambda s: s, name="date_exists")),
    }


def _column_checks(col_type: str, valueset: str) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if valueset:
        checks.append(pa.Check(_isin(study.valueset(valueset)), name="value_set"))
    if col_type == "DATE":
        pass  # checked through the flags harmonize adds (see _date_flag_columns)
    elif col_type == "NUMBER":
        checks.append(pa.Check(_matches(NUMBER_PATTERN), name="number_form"))
    elif col_type == "INTEGER":
        checks.append(pa.Check(_matches(r"^\d+$"), name="integer_form"))
    elif col_type == "TIME":
        checks.append(pa.Check(_matches(TIME_PATTERN), name="time_form"))
    return checks


# --- cross-column rules, per form: (column, rule, function of the harmonized frame -> bool ok) ---


def _range_ok(df: pd.DataFrame, test_col: str, value_col: str, ranges: pd.DataFrame, key: str) -> pd.Series:
    # Each row's bounds by its test, the last row of a test winning as in a dict: one index lookup
    # per distinct test code (a few dozen codes over up to ~10^6 rows); an unknown test finds -1,
    # the missing bound appended at the end.
    bounds = ranges.drop_duplicates(key, keep="last")
    tests = pd.Index(bounds[key])
    at = per_distinct(df[test_col], lambda t: pd.Series(tests.get_indexer(t), index=t.index)).to_numpy()
    lo = pd.Series(np.append(bounds["PLAUSIBLE_LO"].to_numpy(dtype="float64"), np.nan)[at], index=df.index)
    hi = pd.Series(np.append(bounds["PLAUSIBLE_HI"].to_numpy(dtype="float64"), np.nan)[at], index=df.index)
    v = df[value_col]
    bad = v.notna() & ((lo.notna() & (v < lo)) | (hi.notna() & (v > hi)))
    return ~bad


def _unit_ok(df: pd.DataFrame, value_col: str, unit_col: str, known_col: str) -> pd.Series:
    """A result needs a unit accepted for its test; a unit without a result must still be known."""
    has_value = df[value_col].notna()
    has_unit = df[unit_col].notna()
    return df[known_col].fillna(False) | (~has_value & ~has_unit)


def _lab_unit_ok(df: pd.DataFrame) -> pd.Series:
    qualitative = df["LBTESTCD"].isin(
        set(study.lab_tests().query("RESULT_TYPE == 'QUALITATIVE'")["LBTESTCD"])
    )
    numeric_ok = _unit_ok(df, "LBORRES", "LBORRESU", "LB_UNIT_KNOWN")
    return (qualitative & df["LBORRESU"].isna()) | (~qualitative & numeric_ok)


def _lab_result_ok(df: pd.DataFrame) -> pd.Series:
    tests = study.lab_tests()
    qualitative_words = {  # the study tables are read as text
        str(row.LBTESTCD): set(str(row.QUALITATIVE_VALUES).split("|"))
        for row in tests.itertuples()
        if row.QUALITATIVE_VALUES
    }
    res = _text(df["LBORRES"])
    is_qual_test = df["LBTESTCD"].isin(set(qualitative_words))
    numeric_form = _fullmatch(res, RESULT_PATTERN).fillna(False)
    allowed_pairs = {f"{t}|{w}" for t, words in qualitative_words.items() for w in words}
    word_ok = (df["LBTESTCD"].astype("string") + "|" + res).isin(allowed_pairs).fillna(False)
    return res.isna() | (is_qual_test & word_ok) | (~is_qual_test & numeric_form)


def _birth_before_consent(df: pd.DataFrame) -> pd.Series:
    b = df["BRTHDTC"].astype("string").str.slice(0, 4)
    c = df["ICDTC"].astype("string").str.slice(0, 4)
    bad = b.notna() & c.notna() & (b > c)
    return ~bad


CROSS_RULES: dict[str, list[tuple[str, str, Callable[[pd.DataFrame], pd.Series]]]] = {
    "DM": [("BRTHDAT", "birth_before_consent", _birth_before_consent)],
    "VS": [
        ("VSORRESU", "unit_known_for_test", lambda d: _unit_ok(d, "VSORRES", "VSORRESU", "VS_UNIT_KNOWN")),
        (
            "VSORRES",
            "plausible_range",
            lambda d: _range_ok(d, "VSTESTCD", "VSSTRESN", study.vital_signs(), "VSTESTCD"),
        ),
    ],
    "LB": [
        ("LBORRESU", "unit_known_for_test", _lab_unit_ok),
        ("LBORRES", "lab_result_form", _lab_result_ok),
        (
            "LBORRES",
            "plausible_range",
            lambda d: _range_ok(d, "LBTESTCD", "LBSTRESN", study.lab_tests(), "LBTESTCD"),
        ),
    ],
    "FACS": [
        ("FCORRESU", "unit_known_for_test", lambda d: _unit_ok(d, "FCORRES", "FCORRESU", "FC_UNIT_KNOWN")),
        (
            "FCORRES",
            "plausible_range",
            lambda d: _range_ok(d, "FCTESTCD", "FCSTRESN", study.flow_cytometry(), "FCTESTCD"),
        ),
    ],
    "PGA": [
        ("PGASCORE", "plausible_range", lambda d: d["PGASCOREN"].isna() | d["PGASCOREN"].between(0.0, 3.0))
    ],
    "SLEDAI": [
        ("SLTOTAL", "plausible_range", lambda d: d["SLTOTALN"].isna() | d["SLTOTALN"].between(0, 105))
    ],
    "CM": [("CMDOSE", "plausible_range", lambda d: d["CMDOSEN"].isna() | (d["CMDOSEN"] >= 0))],
}


def _common_columns(form: str) -> dict[str, pa.Column]:
    cols = {
        "STUDYID": pa.Column(nullable=False, checks=pa.Check(_isin((study.studyid(),)), name="study_id")),
        "SITEID": pa.Column(nullable=False),
        "SUBJID": pa.Column(
            nullable=False, checks=pa.Check(_matches(SUBJID_PATTERN), name="subject_id_form")
        ),
    }
    if form not in ("RAND",):
        cols["RECID"] = pa.Column(nullable=False)
    return cols


@cache
def raw_form_schema(form: str) -> pa.DataFrameSchema:
    """The structure-and-plausibility schema of one form (``DM`` ... ``FACS``, ``RAND``)."""
    columns = _common_columns(form)
    if form == "RAND":
        columns["RANDNO"] = pa.Column(nullable=False)
    for row in study.form_columns(form).itertuples():
        # the contract tables are read as text
        column, col_type, valueset = str(row.COLUMN), str(row.TYPE), str(row.VALUESET)
        if column in columns:
            continue
        columns[column] = pa.Column(
            nullable=str(row.REQUIRED) != "Y", checks=_column_checks(col_type, valueset), required=True
        )
        if col_type == "DATE":
            columns.update(_date_flag_columns(column))
    frame_checks = [
        pa.Check(lambda d: d["SITEID"] == d["SRC_SITE"], name="SITEID:site_matches_folder"),
        pa.Check(
            lambda d: (
                d["SUBJID"].isna()
                | (d["SUBJID"].astype("string").str.slice(0, 4) == d["SITEID"].astype("string") + "-")
            ),
            name="SUBJID:subject_id_form",
        ),
    ]
    # Unique within a file (several sites' files are validated together): every copy fails.
    record_key = "RANDNO" if form == "RAND" else "RECID"
    frame_checks.append(
        pa.Check(
            lambda d, key=record_key: d[key].isna() | ~d.duplicated(["SRC_FILE", key], keep=False),
            name=f"{record_key}:unique_recid",
        )
    )
    for column, rule, fn in CROSS_RULES.get(form, []):
        frame_checks.append(pa.Check(fn, name=f"{column}:{rule}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name=f"raw_{form.lower()}")
