"""pandera schemas of the 13 site forms and the IWRS export: structure and plausibility.

One schema per form, generated from ``study/forms.csv`` (column, type, required, value set) plus the
form's cross-column rules below (units known for the test, plausible ranges after unit conversion,
lab results of the right kind). They validate the *harmonized* frame of a form
(:mod:`assets.ingest.harmonize`): raw text columns plus the parsed ones. A failing row goes to
quarantine; protocol limits (weight 45-80 kg, ...) are not here, they are in
:mod:`schemas.protocol_rules` and never quarantine a row.

Rule names (the ``check`` of a failure) are stable identifiers used in the quarantine table and
the data queries: ``required``, ``value_set``, ``cdash_date_form``, ``date_exists``,
``date_from_1900``, ``date_by_data_cut``, ``number_form``, ``integer_form``, ``time_form``,
``text_characters``, ``meddra_code_form``, ``meddra_version_form``, ``unique_recid``, ``subject_id_form``, ``site_matches_folder``, ``study_id``,
``unit_known_for_test``, ``lab_result_form``, ``plausible_range``, ``birth_before_consent``.
Every numeric column has a ``plausible_range`` rule: by test (``vital_signs.csv``, ``lab_tests.csv``,
``flow_cytometry.csv``, in the standard unit; the lab reference range too) or from
``study/plausible_ranges.csv``.
Cross-column rules are named ``<COLUMN>:<rule>`` so a failure names the column it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

import study
from assets.common.dates import TIME_PATTERN, iso_bounds_text
from assets.common.distinct import per_distinct
from assets.common.units import RESULT_PATTERN, parse_integer, parse_number, parse_result
from study import facts

SUBJID_PATTERN = r"^[0-9]{3}-[0-9]{4}$"
MEDDRA_CODE_PATTERN = r"^[0-9]{8}$"
"""site-export.md (Forms, v2): a MedDRA code (``AELLTCD`` ... ``AESOCCD``) is 8 ASCII digits."""
MEDDRA_VERSION_PATTERN = r"^[0-9]{1,2}\.[0-9]$"
"""site-export.md (Forms, v2): ``MEDDRAV`` is a MedDRA release number such as ``27.0``."""
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
"""site-export.md (File format, v2): the control characters (Unicode Cc) other than tab, LF and CR."""
# TEXT columns and RECID/RANDNO are checked for them; a control character in a code, date or
# number already fails that column's own rule.

RULE_MESSAGES = {
    "required": "required value is missing",
    "value_set": "value not in the contract's value set",
    "cdash_date_form": "date is not in CDASH form DD-MON-YYYY (UN/UNK for unknown parts)",
    "date_exists": "date does not exist in the calendar",
    "date_from_1900": "date implausible: year before 1900",
    "date_by_data_cut": "date implausible: after the data cut of the export (its EXPORT_ID)",
    "number_form": "not a number written with ASCII digits, an optional leading - and . as decimal "
    "separator, or too large for a 64-bit float",
    "integer_form": "not a whole number of ASCII digits (or too large for a 64-bit float)",
    "time_form": "time is not HH:MM (24 hour)",
    "text_characters": "text holds a control character other than tab, CR and LF",
    "meddra_code_form": "MedDRA code is not 8 ASCII digits",
    "meddra_version_form": "MedDRA version is not a release number such as 27.0",
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


def _matches_ascii(pattern: str) -> Callable[[pd.Series], pd.Series]:
    """The value as sent (not stripped: a code with a blank is not 8 digits) matches ``pattern``."""
    return lambda s: _fullmatch(s.astype("string"), pattern).fillna(True) | s.isna()


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
        f"{column}__FROM_1900": pa.Column(bool, checks=pa.Check(lambda s: s, name="date_from_1900")),
        f"{column}__BY_CUT": pa.Column(bool, checks=pa.Check(lambda s: s, name="date_by_data_cut")),
    }


def _parses(parse: Callable[[pd.Series], pd.DataFrame]) -> Callable[[pd.Series], pd.Series]:
    """A number rule: the form and a finite value, as the harmonizer parses it (once per value)."""
    return lambda s: per_distinct(s, parse)["ok"] | s.isna()


def _text_ok(s: pd.Series) -> pd.Series:
    """No control character but tab, CR and LF (the value as sent, not stripped)."""
    text = s.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    bad = pd.Series(uniques, dtype="string").str.contains(CONTROL_CHARACTERS, regex=True)
    return ~bad.fillna(False).take(codes).set_axis(s.index).astype(bool)


def _column_checks(col_type: str, valueset: str) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if valueset:
        checks.append(pa.Check(_isin(study.valueset(valueset)), name="value_set"))
    if col_type == "DATE":
        pass  # checked through the flags harmonize adds (see _date_flag_columns)
    elif col_type == "NUMBER":
        checks.append(pa.Check(_parses(parse_number), name="number_form"))
    elif col_type == "INTEGER":
        checks.append(pa.Check(_parses(parse_integer), name="integer_form"))
    elif col_type == "TEXT":
        checks.append(pa.Check(_text_ok, name="text_characters"))
    elif col_type == "TIME":
        checks.append(pa.Check(_matches(TIME_PATTERN), name="time_form"))
    elif col_type == "MEDDRACODE":
        checks.append(pa.Check(_matches_ascii(MEDDRA_CODE_PATTERN), name="meddra_code_form"))
    elif col_type == "MEDDRAVERSION":
        checks.append(pa.Check(_matches_ascii(MEDDRA_VERSION_PATTERN), name="meddra_version_form"))
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


def _reference_limit_ok(df: pd.DataFrame, limit_col: str) -> pd.Series:
    """A limit of the site's reference range, in the standard unit, from 0 (a range such as
    ``0-40`` is usual) up to the test's plausible maximum (lab_tests.csv)."""
    ranges = study.lab_tests()
    ranges["PLAUSIBLE_LO"] = np.fmin(ranges["PLAUSIBLE_LO"].to_numpy(dtype="float64"), 0.0)
    return _range_ok(df, "LBTESTCD", limit_col, ranges, "LBTESTCD")


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
    # in form, and a number a 64-bit float holds
    numeric_form = _fullmatch(res, RESULT_PATTERN).fillna(False) & per_distinct(df["LBORRES"], parse_result)[
        "number_ok"
    ].to_numpy(dtype=bool)
    allowed_pairs = {f"{t}|{w}" for t, words in qualitative_words.items() for w in words}
    word_ok = (df["LBTESTCD"].astype("string") + "|" + res).isin(allowed_pairs).fillna(False)
    return res.isna() | (is_qual_test & word_ok) | (~is_qual_test & numeric_form)


def _birth_before_consent(df: pd.DataFrame) -> pd.Series:
    """site-export.md (File format, v2): the birth date lies before ``ICDAT``, at the precision
    delivered: a failure when the earliest day the birth date can stand for is not before the
    latest day the consent date can (``2000`` and ``15-MAY-2000`` pass, ``UN-MAY-2000`` and
    ``01-MAY-2000`` do not)."""
    birth = iso_bounds_text(df["BRTHDTC"])["lo"]
    consent = iso_bounds_text(df["ICDTC"])["hi"]
    bad = (birth >= consent).fillna(False)
    return ~bad.astype(bool)


def _column_range_ok(form: str, column: str) -> Callable[[pd.DataFrame], pd.Series]:
    """``<COLUMN>N`` (the parsed number) inside its range of ``study/plausible_ranges.csv``: the
    range of the row's ``BY_COLUMN`` value, else the range with an empty ``BY_VALUE``."""

    def ok(df: pd.DataFrame) -> pd.Series:
        ranges = facts.plausible_ranges(form)
        ranges = ranges[ranges["COLUMN"] == column]
        by = str(ranges["BY_COLUMN"].iloc[0])
        key = df[by].astype("string").fillna("") if by else pd.Series("", index=df.index, dtype="string")
        known = set(ranges["BY_VALUE"])
        key = key.where(key.isin(known), "")
        frame = pd.DataFrame({"KEY": key, "V": df[f"{column}N"]})
        return _range_ok(frame, "KEY", "V", ranges.rename(columns={"BY_VALUE": "KEY"}), "KEY")

    return ok


def _range_rules(form: str) -> list[tuple[str, str, Callable[[pd.DataFrame], pd.Series]]]:
    columns = dict.fromkeys(facts.plausible_ranges(form)["COLUMN"])
    return [(column, "plausible_range", _column_range_ok(form, column)) for column in columns]


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
        ("LBORNRLO", "plausible_range", lambda d: _reference_limit_ok(d, "LBSTNRLO")),
        ("LBORNRHI", "plausible_range", lambda d: _reference_limit_ok(d, "LBSTNRHI")),
    ],
    "FACS": [
        ("FCORRESU", "unit_known_for_test", lambda d: _unit_ok(d, "FCORRES", "FCORRESU", "FC_UNIT_KNOWN")),
        (
            "FCORRES",
            "plausible_range",
            lambda d: _range_ok(d, "FCTESTCD", "FCSTRESN", study.flow_cytometry(), "FCTESTCD"),
        ),
    ],
}
"""The rules by test; the plausible ranges of study/plausible_ranges.csv are added per form."""


def _common_columns(form: str) -> dict[str, pa.Column]:
    cols = {
        "STUDYID": pa.Column(nullable=False, checks=pa.Check(_isin((study.studyid(),)), name="study_id")),
        "SITEID": pa.Column(nullable=False),
        "SUBJID": pa.Column(
            nullable=False, checks=pa.Check(_matches(SUBJID_PATTERN), name="subject_id_form")
        ),
    }
    if form not in ("RAND",):
        cols["RECID"] = pa.Column(nullable=False, checks=pa.Check(_text_ok, name="text_characters"))
    return cols


@cache
def raw_form_schema(form: str) -> pa.DataFrameSchema:
    """The structure-and-plausibility schema of one form (``DM`` ... ``FACS``, ``RAND``)."""
    columns = _common_columns(form)
    if form == "RAND":
        columns["RANDNO"] = pa.Column(nullable=False, checks=pa.Check(_text_ok, name="text_characters"))
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
    for column, rule, fn in CROSS_RULES.get(form, []) + _range_rules(form):
        frame_checks.append(pa.Check(fn, name=f"{column}:{rule}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name=f"raw_{form.lower()}")
