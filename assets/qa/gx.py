"""Great Expectations suites for the SDTM and ADaM outputs, generated from the spec, and their run.

Issue 5: per dataset, expectations for keys unique, required values present, CT value sets,
ISO 8601 forms and plausible ranges, run as checkpoints on every pipeline run, with Data Docs
built into ``qa/gx/``. Offline: ephemeral context, analytics off (``GX_ANALYTICS_ENABLED=false``).

What comes from where:
- columns and keys: ``study/<std>_variables.csv`` / ``<std>_datasets.csv`` (:mod:`study.spec`); a
  dataset without spec rows is still checked on what its columns tell (``*DTC``, ``*TESTCD``);
- required: ``CORE = Req``; value sets: the variable's ``CODELIST`` when the CDISC CT codelist is
  non-extensible (an extensible one may hold sponsor terms, so it is not a closed set);
- ISO 8601: every ``*DTC`` variable; study day: every ``*DY`` variable is never 0 (derivations.md);
- plausible ranges: lab, vital-sign and flow-cytometry ranges of ``study/`` by test code on the
  standard result (``--STRESN``, or ``AVAL`` by ``PARAMCD``), and ``study/qa.yaml``.

Cost (measured, numbers in the QA asset metadata and the lead's report): importing
great_expectations takes 3-6 s, so it is imported only inside :func:`run_validations`. GX's cost is
dominated by a fixed overhead per expectation (building its metric graph: ~40-80 ms each), not by
rows, so checks that would be one expectation per column (required values present, text lengths)
are computed in vectorized pandas as a one-row-per-variable profile of the full table
(``<DATASET>_PROFILE``) that GX validates with three expectations. Row-level expectations (keys,
CT value sets, ISO 8601, study day, ranges) run on the whole table up to ``gx_full_rows_max`` rows
(study/qa.yaml), above it on a deterministic, evenly spaced sample of ``gx_sample_rows`` rows in key
order; the full-table duplicate-key count then goes into the profile, so no structural failure can
hide outside the sample.

Every expectation carries ``meta`` {rule, structural}: structural failures (columns differ from
the spec, keys not unique, a key or identifier missing) make downstream tables wrong and block.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ISO8601_PATTERN = (
    r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01])"
    r"(?:T(?:[01]\d|2[0-3])(?::[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?)?)?)?$"
)
"""ISO 8601 date/datetime at any delivered precision (derivations.md, Time)."""

IDENTIFIERS = ("STUDYID", "DOMAIN", "USUBJID")
MAX_TEXT_BYTES = 200  # derivations.md: character values are 200 bytes at most

RESULT_COLUMNS = [
    "STANDARD",
    "DATASET",
    "RULE",
    "EXPECTATION",
    "COLUMN",
    "CONDITION",
    "STRUCTURAL",
    "SUCCESS",
    "ROWS_IN_TABLE",
    "ROWS_VALIDATED",
    "SAMPLED",
    "UNEXPECTED_COUNT",
    "UNEXPECTED_PERCENT",
    "UNEXPECTED_SAMPLE",
]
RESULT_SORT = ["STANDARD", "DATASET", "RULE", "COLUMN", "CONDITION", "EXPECTATION"]


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation as data: GX class name, its arguments, the rule it checks, and whether a
    failure is structural (blocking)."""

    expectation: str
    kwargs: dict
    rule: str
    structural: bool = False


@dataclass
class TableToValidate:
    standard: str
    dataset: str
    frame: pd.DataFrame
    plan: list[PlannedExpectation]
    rows_in_table: int
    sampled: bool = False
    extra: dict = field(default_factory=dict)


# --- what to expect: pure, no GX import -------------------------------------------------------


def nonextensible_codelists(ct: pd.DataFrame) -> dict[str, list[str]]:
    """Codelist code -> submission values, for the CDISC CT codelists that are not extensible."""
    missing = [c for c in ("clst_code", "is_clst", "term", "ext") if c not in ct.columns]
    if missing:
        raise KeyError(f"nonextensible_codelists: columns missing: {missing}")
    heads = ct[ct["is_clst"].astype(bool)]
    closed = set(heads.loc[heads["ext"].astype("boolean").eq(False).fillna(False), "clst_code"])
    terms = ct[~ct["is_clst"].astype(bool) & ct["clst_code"].isin(closed)]
    return {code: sorted(str(t) for t in g["term"].dropna()) for code, g in terms.groupby("clst_code")}


def plausible_ranges_by_code(qa_settings: dict) -> dict[str, tuple[float, float]]:
    """Plausible result range by test / parameter code in standard units, from study metadata."""
    import study

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
    pairs = []
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


def frame_for_gx(table: TableToValidate) -> pd.DataFrame:
    """The table as GX gets it: text columns that no expectation reads become categorical. GX takes
    the rows of the whole frame for every conditional expectation (``row_condition``), and taking
    rows of an Arrow string column cost more than the checks themselves on big tables (LB, VS,
    ADLB); a categorical takes integer codes. Values, columns and their order stay the same, so the
    column-set check and every result are unchanged."""
    read = columns_read_by(table.plan) | {"VARIABLE"}  # VARIABLE: unexpected index of the profile
    untouched = [
        c
        for c in table.frame.columns
        if c not in read and (pd.api.types.is_string_dtype(table.frame[c]) or table.frame[c].dtype == object)
    ]
    return table.frame.astype({c: "category" for c in untouched}) if untouched else table.frame


# --- batching: fewer, larger GX validations ------------------------------------------------------
#
# GX's cost is a fixed overhead per expectation and per checkpoint, not rows. The variable profiles
# of all datasets therefore go to GX as one table (``PROFILES``, 4 expectations instead of 3-4 per
# dataset), and the plausible ranges by test code as one table of (code, value, low, high) rows
# (``RESULT_RANGES``, 2 expectations instead of one conditional expectation per test code). Each GX
# result is then split back by dataset (and code) from its unexpected rows, so ``gx_results`` keeps
# one row per dataset and rule exactly as if every dataset had been validated on its own.

PROFILE_SUFFIX = "_PROFILE"
PROFILES = "PROFILES"
RESULT_RANGES = "RESULT_RANGES"
PROFILE_OWNER = ["STANDARD", "DATASET"]
RANGE_OWNER = ["STANDARD", "DATASET", "CODE_COLUMN", "CODE", "RESULT_COLUMN"]


@dataclass
class BatchedValidation:
    """A table GX validates on behalf of several datasets, with per expectation (same order as
    ``plan``) the datasets (and codes) its result is split into: ``owners`` frames with the owner
    key columns plus ``DATASET STANDARD COLUMN CONDITION ROWS_IN_TABLE ROWS_VALIDATED SAMPLED``."""

    name: str
    frame: pd.DataFrame
    plan: list[PlannedExpectation]
    owner_columns: list[str]
    owners: list[pd.DataFrame]
    sample_column: list[str]
    index_columns: list[str]


def _range_of(p: PlannedExpectation) -> tuple[str, str] | None:
    """(code column, code) of a plausible-range expectation conditioned on a test code, else None."""
    cond = p.kwargs.get("row_condition") or ""
    m = re.fullmatch(r'(\w+)=="(.*)"', cond)
    return (m.group(1), m.group(2)) if p.rule == "plausible_range" and m else None


def batch_profiles(profiles: list[TableToValidate]) -> BatchedValidation | None:
    """All ``<DATASET>_PROFILE`` tables as one table with ``STANDARD``/``DATASET``; the duplicate-key
    count of a sampled table sits on its first profile row (missing elsewhere, which GX skips)."""
    if not profiles:
        return None
    frames, owners = [], []
    for t in profiles:
        dataset = t.dataset.upper().removesuffix(PROFILE_SUFFIX)
        f = t.frame.copy()
        dup = f["DUPLICATE_KEYS"] if "DUPLICATE_KEYS" in f.columns else pd.Series(pd.NA, index=f.index)
        f["DUPLICATE_KEYS"] = pd.array([dup.iloc[0] if len(f) else pd.NA] + [pd.NA] * (len(f) - 1), "Int64")
        f.insert(0, "DATASET", dataset)
        f.insert(0, "STANDARD", t.standard.upper())
        frames.append(f)
        owners.append(
            {
                "STANDARD": t.standard.upper(),
                "DATASET": dataset,
                "OUTPUT_DATASET": t.dataset.upper(),
                "ROWS_IN_TABLE": t.rows_in_table,
                "ROWS_VALIDATED": len(t.frame),
                "SAMPLED": t.sampled,
                "HAS_DUPLICATE_KEYS": "DUPLICATE_KEYS" in t.frame.columns,
            }
        )
    frame = pd.concat(frames, ignore_index=True)
    for col in ("STANDARD", "DATASET", "VARIABLE"):
        frame[col] = frame[col].astype("string")
    owner_frame = pd.DataFrame(owners)
    plan = plan_profile(frame, keys_duplicated=0 if owner_frame["HAS_DUPLICATE_KEYS"].any() else None)
    plan_owners = []
    for p in plan:
        o = (
            owner_frame
            if p.kwargs.get("column") != "DUPLICATE_KEYS"
            else owner_frame[owner_frame["HAS_DUPLICATE_KEYS"]]
        )
        plan_owners.append(
            o.assign(COLUMN=_column_label(p.kwargs), CONDITION=p.kwargs.get("row_condition") or "")
        )
    samples = ["DUPLICATE_KEYS" if p.kwargs.get("column") == "DUPLICATE_KEYS" else "VARIABLE" for p in plan]
    return BatchedValidation(
        PROFILES, frame, plan, PROFILE_OWNER, plan_owners, samples, [*PROFILE_OWNER, "VARIABLE"]
    )


def batch_result_ranges(
    tables: list[TableToValidate],
) -> tuple[list[TableToValidate], BatchedValidation | None]:
    """Take the plausible-range expectations by test code out of the row-level tables and check them
    on one table of (dataset, code column, code, result column, value, low, high) rows: the same
    rows (full table or sample) and values GX saw before, two expectations for all of them."""
    parts, owners, kept = [], [], []
    for t in tables:
        ranged = [(p, _range_of(p)) for p in t.plan]
        by_pair: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        for p, rc in ranged:
            if rc is not None:
                by_pair.setdefault((rc[0], p.kwargs["column"]), {})[rc[1]] = (
                    float(p.kwargs["min_value"]),
                    float(p.kwargs["max_value"]),
                )
        kept.append(
            TableToValidate(
                t.standard,
                t.dataset,
                t.frame,
                [p for p, rc in ranged if rc is None],
                t.rows_in_table,
                t.sampled,
                t.extra,
            )
        )
        for (code_col, result_col), bounds in by_pair.items():
            codes = t.frame[code_col].astype("string")
            value = pd.to_numeric(t.frame[result_col], errors="coerce").astype("Float64")
            rows = codes.isin(list(bounds)).fillna(False) & value.notna()
            lo = codes[rows].map({c: b[0] for c, b in bounds.items()}).astype("Float64")
            hi = codes[rows].map({c: b[1] for c, b in bounds.items()}).astype("Float64")
            parts.append(
                pd.DataFrame(
                    {
                        "STANDARD": t.standard.upper(),
                        "DATASET": t.dataset.upper(),
                        "CODE_COLUMN": code_col,
                        "CODE": codes[rows].to_numpy(),
                        "RESULT_COLUMN": result_col,
                        "VALUE": value[rows].to_numpy(),
                        "LOW": lo.to_numpy(),
                        "HIGH": hi.to_numpy(),
                    }
                )
            )
            owners += [
                {
                    "STANDARD": t.standard.upper(),
                    "DATASET": t.dataset.upper(),
                    "OUTPUT_DATASET": t.dataset.upper(),
                    "CODE_COLUMN": code_col,
                    "CODE": code,
                    "RESULT_COLUMN": result_col,
                    "COLUMN": result_col,
                    "CONDITION": f'{code_col}=="{code}"',
                    "ROWS_IN_TABLE": t.rows_in_table,
                    "ROWS_VALIDATED": len(t.frame),
                    "SAMPLED": t.sampled,
                }
                for code in sorted(bounds)
            ]
    if not owners:
        return kept, None
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[*RANGE_OWNER, "VALUE", "LOW", "HIGH"])
    )
    for col in RANGE_OWNER:
        frame[col] = frame[col].astype("string")
    for col in ("VALUE", "LOW", "HIGH"):
        frame[col] = frame[col].astype("Float64")
    both = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
    plan = [
        PlannedExpectation(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "VALUE", "column_B": "LOW", **both},
            "plausible_range",
        ),
        PlannedExpectation(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "HIGH", "column_B": "VALUE", **both},
            "plausible_range",
        ),
    ]
    owner_frame = pd.DataFrame(owners)
    return kept, BatchedValidation(
        RESULT_RANGES, frame, plan, RANGE_OWNER, [owner_frame, owner_frame], ["VALUE", "VALUE"], RANGE_OWNER
    )


def _column_label(kw: dict) -> str:
    return (
        kw.get("column")
        or " ".join(kw.get("column_list") or [])
        or (f"{kw['column_A']} >= {kw['column_B']}" if kw.get("column_A") else "")
    )


def split_batched_result(
    batch: BatchedValidation, index: int, expectation_type: str, raised: bool, res: dict
) -> list[dict]:
    """One GX result on a batched table -> one result row per owner (dataset, or dataset and code):
    its unexpected rows, and its share of the rows GX checked (same row condition, missing values
    left out as GX does)."""
    p = batch.plan[index]
    kw = p.kwargs
    owners = batch.owners[index]
    key = batch.owner_columns
    checked = batch.frame.query(kw["row_condition"]) if kw.get("row_condition") else batch.frame
    domain = [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
    checked = checked.dropna(subset=domain)
    checked_n = checked.groupby(key, dropna=False).size()
    unexpected = pd.DataFrame(
        res.get("unexpected_index_list") or [], columns=[*key, batch.sample_column[index]]
    )
    groups = {k: g for k, g in unexpected.groupby(key, dropna=False)} if len(unexpected) else {}
    rows = []
    for owner in owners.itertuples(index=False):
        o = owner._asdict()
        k = tuple(o[c] for c in key)
        bad = groups.get(k, unexpected.iloc[0:0])
        n = int(checked_n.get(k, 0))
        sample_values = bad[batch.sample_column[index]].tolist()
        count = len(bad)
        if kw.get("column") == "DUPLICATE_KEYS":  # the rows sharing a key in the full table
            count = int(sum(sample_values))
        rows.append(
            {
                "STANDARD": o["STANDARD"],
                "DATASET": o["OUTPUT_DATASET"],
                "RULE": p.rule,
                "EXPECTATION": expectation_type,
                "COLUMN": o["COLUMN"],
                "CONDITION": o["CONDITION"],
                "STRUCTURAL": p.structural,
                "SUCCESS": not raised and len(bad) == 0,
                "ROWS_IN_TABLE": o["ROWS_IN_TABLE"],
                "ROWS_VALIDATED": o["ROWS_VALIDATED"],
                "SAMPLED": bool(o["SAMPLED"]),
                "UNEXPECTED_COUNT": count,
                "UNEXPECTED_PERCENT": 100.0 * len(bad) / n if n else None,  # as GX: none checked
                "UNEXPECTED_SAMPLE": "; ".join(str(v) for v in sample_values[:10]),
            }
        )
    return rows


def _merge_range_bounds(rows: list[dict]) -> list[dict]:
    """The low and the high bound of a code's range are two GX expectations on the batched table;
    report them as the one plausible-range result per code they replace (their unexpected rows
    cannot overlap when low <= high, so counts and percentages add)."""
    merged: dict[tuple, dict] = {}
    for r in rows:
        k = (r["STANDARD"], r["DATASET"], r["COLUMN"], r["CONDITION"])
        if k not in merged:
            merged[k] = dict(r)
            continue
        m = merged[k]
        m["SUCCESS"] = m["SUCCESS"] and r["SUCCESS"]
        m["UNEXPECTED_COUNT"] += r["UNEXPECTED_COUNT"]
        if r["UNEXPECTED_PERCENT"] is not None:
            m["UNEXPECTED_PERCENT"] = (m["UNEXPECTED_PERCENT"] or 0.0) + r["UNEXPECTED_PERCENT"]
        m["UNEXPECTED_SAMPLE"] = "; ".join(s for s in (m["UNEXPECTED_SAMPLE"], r["UNEXPECTED_SAMPLE"]) if s)
    return list(merged.values())


def batch_for_gx(tables: list[TableToValidate]) -> tuple[list[TableToValidate], list[BatchedValidation]]:
    """(row-level tables with their remaining own expectations, the batched tables)."""
    profiles = [t for t in tables if t.dataset.upper().endswith(PROFILE_SUFFIX)]
    row_level = [t for t in tables if not t.dataset.upper().endswith(PROFILE_SUFFIX)]
    row_level, ranges = batch_result_ranges(row_level)
    batches = [b for b in (batch_profiles(profiles), ranges) if b is not None]
    return row_level, batches


# --- running it: GX imported here only ----------------------------------------------------------


def _quiet_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def _result_row(table: TableToValidate, r) -> dict:
    """One GX expectation result on a dataset's own table -> one ``gx_results`` row."""
    cfg = r.expectation_config
    kw = cfg.kwargs
    res = r.result or {}
    index_rows = res.get("partial_unexpected_index_list") or []
    if index_rows and isinstance(index_rows[0], dict) and "VARIABLE" in index_rows[0]:
        sample = [str(v["VARIABLE"]) for v in index_rows[:10]]  # profile: name the variables
    else:
        sample = [str(v) for v in (res.get("partial_unexpected_list") or [])[:10]]
    if not sample and not r.success and res.get("observed_value") is not None:
        sample = [str(res["observed_value"])]
    if not sample and not r.success and res.get("details"):
        sample = [str(res["details"].get("mismatched", res["details"]))]
    condition = kw.get("row_condition") or ""
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter", str(condition))
    return {
        "STANDARD": table.standard.upper(),
        "DATASET": table.dataset.upper(),
        "RULE": cfg.meta.get("rule", ""),
        "EXPECTATION": cfg.type,
        "COLUMN": _column_label(kw),
        "CONDITION": str(condition),
        "STRUCTURAL": bool(cfg.meta.get("structural", False)),
        "SUCCESS": bool(r.success) and not (r.exception_info or {}).get("raised_exception", False),
        "ROWS_IN_TABLE": table.rows_in_table,
        "ROWS_VALIDATED": len(table.frame),
        "SAMPLED": table.sampled,
        "UNEXPECTED_COUNT": res.get("unexpected_count"),
        "UNEXPECTED_PERCENT": res.get("unexpected_percent"),
        "UNEXPECTED_SAMPLE": "; ".join(sample),
    }


def run_validations(
    tables: list[TableToValidate], docs_dir: Path, run_name: str, run_time: pd.Timestamp
) -> pd.DataFrame:
    """Run one checkpoint per table in an ephemeral context, build the Data Docs into ``docs_dir``
    (replaced as a whole, so it shows this run only), and return one row per expectation result and
    dataset. The profiles and the per-code plausible ranges are validated batched
    (:func:`batch_for_gx`) and their results split back per dataset."""
    setup_started = time.perf_counter()
    _quiet_gx()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    docs_dir = Path(docs_dir)
    staging = docs_dir.with_name(f".{docs_dir.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site_name, site in list(ctx.get_config().data_docs_sites.items()):
        # The ephemeral context's default site is a fresh temporary folder per run: drop it.
        ctx.delete_data_docs_site(site_name)
        shutil.rmtree(site.get("store_backend", {}).get("base_directory", ""), ignore_errors=True)
    ctx.add_data_docs_site(
        site_name="qa",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(staging)},
        },
    )
    source = ctx.data_sources.add_pandas("trialpipe")
    stamp = run_time.tz_convert("UTC").tz_localize(None) if run_time.tzinfo else run_time
    run_id = RunIdentifier(run_name=run_name, run_time=stamp.to_pydatetime())
    setup_seconds = time.perf_counter() - setup_started  # GX import and context: fixed per run

    def checkpoint_results(name: str, frame: pd.DataFrame, plan: list[PlannedExpectation], result_format):
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        expectations = [
            getattr(gxe, p.expectation)(
                **p.kwargs, meta={"rule": p.rule, "structural": p.structural, "plan": i}
            )
            for i, p in enumerate(plan)
        ]
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        checkpoint = ctx.checkpoints.add(
            gx.Checkpoint(name=f"qa_{name}", validation_definitions=[vd], result_format=result_format)
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
        return [r for vres in result.run_results.values() for r in vres.results]

    row_level, batches = batch_for_gx(tables)
    rows = []
    started = time.perf_counter()
    for table in row_level:
        if not table.plan:
            continue
        result_format = (
            {"result_format": "SUMMARY", "unexpected_index_column_names": ["VARIABLE"]}
            if "VARIABLE" in table.frame.columns
            else "SUMMARY"
        )
        name = f"{table.standard}_{table.dataset.lower()}"
        rows += [
            _result_row(table, r)
            for r in checkpoint_results(name, frame_for_gx(table), table.plan, result_format)
        ]
    for batch in batches:
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": batch.index_columns}
        split = []
        for r in checkpoint_results(batch.name.lower(), batch.frame, batch.plan, result_format):
            raised = bool((r.exception_info or {}).get("raised_exception", False))
            index = int(r.expectation_config.meta["plan"])
            split += split_batched_result(batch, index, r.expectation_config.type, raised, r.result or {})
        rows += _merge_range_bounds(split) if batch.name == RESULT_RANGES else split
    validated = time.perf_counter()
    ctx.build_data_docs(site_names=["qa"])
    shutil.rmtree(docs_dir, ignore_errors=True)
    if staging.exists():
        staging.rename(docs_dir)
    results = results_frame(rows)
    results.attrs["seconds_setup"] = round(setup_seconds, 2)
    results.attrs["seconds_checkpoints"] = round(validated - started, 2)
    results.attrs["seconds_data_docs"] = round(time.perf_counter() - validated, 2)
    results.attrs["gx_checkpoints"] = sum(1 for t in row_level if t.plan) + len(batches)
    results.attrs["gx_expectations"] = sum(len(t.plan) for t in row_level) + sum(len(b.plan) for b in batches)
    return results


def results_frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    text = ["STANDARD", "DATASET", "RULE", "EXPECTATION", "COLUMN", "CONDITION", "UNEXPECTED_SAMPLE"]
    out[text] = out[text].astype("string")
    for col in ("STRUCTURAL", "SUCCESS", "SAMPLED"):
        out[col] = out[col].astype(bool)
    for col in ("ROWS_IN_TABLE", "ROWS_VALIDATED", "UNEXPECTED_COUNT"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["UNEXPECTED_PERCENT"] = pd.to_numeric(out["UNEXPECTED_PERCENT"], errors="coerce").astype("Float64")
    return out.sort_values(RESULT_SORT, kind="stable").reset_index(drop=True)
