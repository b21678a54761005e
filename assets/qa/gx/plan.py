"""What to expect of each SDTM/ADaM table: expectation plans from the spec, CT and plausible ranges.

Pure, no GX import. Per dataset, the row-level table (the whole table, or a deterministic sample
above ``gx_full_rows_max`` rows) gets its plan of row-level expectations (keys unique, CT value
sets, ISO 8601, study day, plausible ranges), and a one-row-per-variable profile of the full table
(``<DATASET>_PROFILE``: missing counts, text lengths, full-table duplicate keys) gets the
expectations that would otherwise be one per column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns

ISO8601_PATTERN = (
    r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01])"
    r"(?:T(?:[01]\d|2[0-3])(?::[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?)?)?)?$"
)
"""ISO 8601 date/datetime at any delivered precision (derivations.md, Time)."""

IDENTIFIERS = ("STUDYID", "DOMAIN", "USUBJID")
MAX_TEXT_BYTES = 200  # derivations.md: character values are 200 bytes at most
PROFILE_SUFFIX = "_PROFILE"
"""``<DATASET>_PROFILE``: the name of a dataset's variable profile (:func:`variable_profile`)."""


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation as data: GX class name, its arguments, the rule it checks, and whether a
    failure is structural (blocking)."""

    expectation: str
    kwargs: dict[str, Any]
    rule: str
    structural: bool = False


@dataclass
class TableToValidate:
    """A table GX validates (a dataset's rows or its variable profile) with its expectation plan."""

    standard: str
    dataset: str
    frame: pd.DataFrame
    plan: list[PlannedExpectation]
    rows_in_table: int
    sampled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# --- what to expect ----------------------------------------------------------------------------


def nonextensible_codelists(ct: pd.DataFrame) -> dict[str, list[str]]:
    """Codelist code -> submission values, for the CDISC CT codelists that are not extensible."""
    require_columns(ct, ("clst_code", "is_clst", "term", "ext"), "nonextensible_codelists")
    heads = ct[ct["is_clst"].astype(bool)]
    closed = set(heads.loc[heads["ext"].astype("boolean").eq(False).fillna(False), "clst_code"])
    terms = ct[~ct["is_clst"].astype(bool) & ct["clst_code"].isin(closed)]
    return {
        cast(str, code): sorted(str(t) for t in g["term"].dropna()) for code, g in terms.groupby("clst_code")
    }


def plausible_ranges_by_code(qa_settings: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Plausible result range by test / parameter code in standard units, from study metadata."""
    ranges: dict[str, tuple[float, float]] = {}
    for frame, code in (
        (study.lab_tests(), "LBTESTCD"),
        (study.vital_signs(), "VSTESTCD"),
        (study.flow_cytometry(), "FCTESTCD"),
    ):
        rows = frame.dropna(subset=["PLAUSIBLE_LO", "PLAUSIBLE_HI"])
        ranges.update(
            {
                c: (float(lo), float(hi))
                for c, lo, hi in rows[[code, "PLAUSIBLE_LO", "PLAUSIBLE_HI"]].itertuples(index=False)
            }
        )
    for code, (lo, hi) in (qa_settings.get("plausible_ranges") or {}).items():
        ranges[code] = (float(lo), float(hi))
    return ranges


def _result_pairs(columns: list[str]) -> list[tuple[str, str]]:
    """(test code column, numeric result column) pairs: ``PARAMCD``/``AVAL`` and ``xxTESTCD``/``xxSTRESN``."""
    pairs: list[tuple[str, str]] = []
    if "PARAMCD" in columns and "AVAL" in columns:
        pairs.append(("PARAMCD", "AVAL"))
    for col in columns:
        if col.endswith("TESTCD") and len(col) > 6 and f"{col[:-6]}STRESN" in columns:
            pairs.append((col, f"{col[:-6]}STRESN"))
    return pairs


def plan_expectations(
    frame: pd.DataFrame,
    spec_vars: pd.DataFrame | None,
    keys: list[str],
    codelists: dict[str, list[str]],
    code_ranges: dict[str, tuple[float, float]],
    variable_ranges: dict[str, tuple[float, float]],
) -> list[PlannedExpectation]:
    """The expectations of one dataset, from its spec rows (``VARIABLE CORE CODELIST TYPE LENGTH``,
    may be empty), its keys, the closed CT codelists and plausible ranges. Only columns the frame
    has get value expectations; a spec variable the frame lacks fails the structural column check."""
    columns = list(frame.columns)
    spec = spec_vars if spec_vars is not None else pd.DataFrame(columns=["VARIABLE"])
    plan: list[PlannedExpectation] = []
    if not spec.empty:
        plan.append(
            PlannedExpectation(
                "ExpectTableColumnsToMatchSet",
                {"column_set": spec["VARIABLE"].tolist(), "exact_match": True},
                "columns_match_spec",
                structural=True,
            )
        )
    if keys and all(k in columns for k in keys):
        if len(keys) == 1:
            plan.append(
                PlannedExpectation("ExpectColumnValuesToBeUnique", {"column": keys[0]}, "keys_unique", True)
            )
        else:
            plan.append(
                PlannedExpectation(
                    "ExpectCompoundColumnsToBeUnique", {"column_list": list(keys)}, "keys_unique", True
                )
            )
    by_var = spec.set_index("VARIABLE") if not spec.empty else None
    for col in columns:
        row = by_var.loc[col] if by_var is not None and col in by_var.index else None
        codelist = str(row["CODELIST"]) if row is not None and "CODELIST" in row else ""
        if codelist in codelists:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeInSet",
                    {"column": col, "value_set": codelists[codelist]},
                    "ct_value_set",
                )
            )
        if col.endswith("DTC"):
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToMatchRegex", {"column": col, "regex": ISO8601_PATTERN}, "iso8601"
                )
            )
        if col.endswith("DY") and pd.api.types.is_numeric_dtype(frame[col]):
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToNotBeInSet", {"column": col, "value_set": [0]}, "study_day_not_zero"
                )
            )
        if col in variable_ranges and pd.api.types.is_numeric_dtype(frame[col]):
            lo, hi = variable_ranges[col]
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeBetween",
                    {"column": col, "min_value": lo, "max_value": hi},
                    "plausible_range",
                )
            )
    for code_col, result_col in _result_pairs(columns):
        if not pd.api.types.is_numeric_dtype(frame[result_col]):
            continue
        present = set(frame[code_col].dropna().astype(str).unique())
        for code in sorted(present & set(code_ranges)):
            lo, hi = code_ranges[code]
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeBetween",
                    {
                        "column": result_col,
                        "min_value": lo,
                        "max_value": hi,
                        "row_condition": f'{code_col}=="{code}"',
                        "condition_parser": "pandas",
                    },
                    "plausible_range",
                )
            )
    return plan


def deterministic_sample(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows evenly spaced through the frame (which is sorted by its keys): the same file gives
    the same sample, and every part of the key range is represented."""
    if len(frame) <= n:
        return frame
    positions = np.unique(np.linspace(0, len(frame) - 1, n).round().astype(np.int64))
    return frame.iloc[positions]


def required_variables(spec: pd.DataFrame, keys: list[str]) -> tuple[set[str], set[str]]:
    """(required, structural): ``CORE = Req`` spec variables plus keys and identifiers, and the
    subset whose absence makes the table wrong (keys and identifiers)."""
    structural = set(keys) | set(IDENTIFIERS)
    req = set(spec.loc[spec["CORE"].eq("Req"), "VARIABLE"]) if "CORE" in spec.columns else set()
    return req | structural, structural


def variable_profile(frame: pd.DataFrame, spec: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
    """One row per column of the full table (vectorized pandas): ``N_MISSING``, ``MAX_LENGTH`` of text
    values against ``LENGTH_LIMIT`` (spec LENGTH, else 200), and whether the variable is
    ``REQUIRED`` / ``STRUCTURAL``. GX then checks this profile, one expectation per rule instead of
    one per column: the per-expectation overhead of GX, not the rows, dominates its cost."""
    spec = (
        spec if spec is not None and not spec.empty else pd.DataFrame(columns=["VARIABLE", "CORE", "LENGTH"])
    )
    required, structural = required_variables(spec, keys)
    limits = dict(zip(spec["VARIABLE"], spec["LENGTH"])) if "LENGTH" in spec.columns else {}
    rows = []
    for col in frame.columns:
        series = frame[col]
        is_text = pd.api.types.is_string_dtype(series) or series.dtype == object
        n_missing = int(series.isna().sum())
        if not is_text or n_missing == len(series):
            max_len = 0
        elif series.dtype != object:  # a string column has its lengths already; they skip missing
            max_len = int(series.str.len().max())
        else:
            max_len = int(series.dropna().astype(str).str.len().max())
        limit = limits.get(col)
        rows.append(
            {
                "VARIABLE": col,
                "REQUIRED": col in required,
                "STRUCTURAL": col in structural,
                "N_MISSING": n_missing,
                "MAX_LENGTH": max_len,
                "LENGTH_LIMIT": int(limit)
                if limit is not None and pd.notna(limit) and is_text
                else MAX_TEXT_BYTES,
            }
        )
    out = pd.DataFrame(
        rows, columns=["VARIABLE", "REQUIRED", "STRUCTURAL", "N_MISSING", "MAX_LENGTH", "LENGTH_LIMIT"]
    )
    out["VARIABLE"] = out["VARIABLE"].astype("string")
    return out


def plan_profile(profile: pd.DataFrame, keys_duplicated: int | None = None) -> list[PlannedExpectation]:
    """Expectations on a :func:`variable_profile`: structural and other required variables never
    missing, text values within their length; for a sampled table also no duplicate key in the
    full table (``keys_duplicated`` rows, counted in pandas and carried in ``DUPLICATE_KEYS``)."""
    plan = [
        PlannedExpectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "N_MISSING",
                "max_value": 0,
                "row_condition": "STRUCTURAL==True",
                "condition_parser": "pandas",
            },
            "required_present",
            structural=True,
        ),
        PlannedExpectation(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "N_MISSING",
                "max_value": 0,
                "row_condition": "REQUIRED==True and STRUCTURAL==False",
                "condition_parser": "pandas",
            },
            "required_present",
        ),
        PlannedExpectation(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "LENGTH_LIMIT", "column_B": "MAX_LENGTH", "or_equal": True},
            "text_length",
        ),
    ]
    if keys_duplicated is not None:
        plan.append(
            PlannedExpectation(  # row-wise, so a batched profile tells which dataset has duplicates
                "ExpectColumnValuesToBeBetween",
                {"column": "DUPLICATE_KEYS", "min_value": 0, "max_value": 0},
                "keys_unique",
                structural=True,
            )
        )
    return plan


def tables_to_validate(
    standard: str,
    dataset: str,
    frame: pd.DataFrame,
    spec_vars: pd.DataFrame | None,
    keys: list[str],
    codelists: dict[str, list[str]],
    code_ranges: dict[str, tuple[float, float]],
    variable_ranges: dict[str, tuple[float, float]],
    full_rows_max: int,
    sample_rows: int,
) -> list[TableToValidate]:
    """The row-level table (the frame, or a deterministic sample when it has more than
    ``full_rows_max`` rows) and its full-table variable profile (``<DATASET>_PROFILE``), each with
    its expectation plan."""
    plan = plan_expectations(frame, spec_vars, keys, codelists, code_ranges, variable_ranges)
    profile = variable_profile(frame, spec_vars, keys)
    sampled = len(frame) > full_rows_max
    duplicated = None
    if sampled:
        present_keys = [k for k in keys if k in frame.columns]
        duplicated = int(frame.duplicated(present_keys, keep=False).sum()) if present_keys else 0
        profile["DUPLICATE_KEYS"] = duplicated
    rows = deterministic_sample(frame, sample_rows) if sampled else frame
    return [
        TableToValidate(standard, dataset, rows, plan, len(frame), sampled=sampled),
        TableToValidate(
            standard, f"{dataset}{PROFILE_SUFFIX}", profile, plan_profile(profile, duplicated), len(frame)
        ),
    ]


def columns_read_by(plan: list[PlannedExpectation]) -> set[str]:
    """The columns the expectations of a plan read: their column arguments and the columns named
    in their row conditions."""
    read: set[str] = set()
    for p in plan:
        kw = p.kwargs
        read |= {kw[k] for k in ("column", "column_A", "column_B") if k in kw}
        read |= set(kw.get("column_list") or [])
        read |= set(re.findall(r"[A-Za-z_]\w*", kw.get("row_condition") or ""))
    return read


def column_label(kw: Mapping[str, Any]) -> str:
    """The ``COLUMN`` of a result: the column, the key columns, or ``A >= B`` of a column pair."""
    return (
        kw.get("column")
        or " ".join(kw.get("column_list") or [])
        or (f"{kw['column_A']} >= {kw['column_B']}" if kw.get("column_A") else "")
    )


OutputTable = tuple[str, str, pd.DataFrame]
"""(standard, DATASET, frame) of one SDTM/ADaM Parquet file."""


def plan_output_tables(
    outputs: Iterable[OutputTable],
    specs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
    codelists: dict[str, list[str]],
    qa_settings: Mapping[str, Any],
) -> list[TableToValidate]:
    """Every output table with its expectation plan (:func:`tables_to_validate`): spec rows and
    keys from ``specs`` (standard -> (datasets, variables)) when the spec has them, the closed
    CT ``codelists``, plausible ranges and GX sizing from ``qa_settings`` (study/qa.yaml)."""
    code_ranges = plausible_ranges_by_code(qa_settings)
    variable_ranges = {
        k: (float(v[0]), float(v[1])) for k, v in (qa_settings.get("variable_ranges") or {}).items()
    }
    keys_by_standard = {
        standard: dict(zip(datasets["DATASET"], datasets["KEYS"].astype(str).str.split()))
        for standard, (datasets, _) in specs.items()
    }
    tables: list[TableToValidate] = []
    for standard, name, frame in outputs:
        variables = specs[standard][1]
        tables += tables_to_validate(
            standard,
            name,
            frame,
            variables[variables["DATASET"] == name],
            keys_by_standard[standard].get(name, []),
            codelists,
            code_ranges,
            variable_ranges,
            int(qa_settings["gx_full_rows_max"]),
            int(qa_settings["gx_sample_rows"]),
        )
    return tables
