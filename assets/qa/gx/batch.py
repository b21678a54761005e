"""Batching: fewer, larger GX validations, their results split back per dataset.

GX's cost is a fixed overhead per expectation and per checkpoint, not rows. The variable profiles
of all datasets therefore go to GX as one table (``PROFILES``, 4 expectations instead of 3-4 per
dataset), and the plausible ranges by test code as one table of (code, value, low, high) rows
(``RESULT_RANGES``, 2 expectations instead of one conditional expectation per test code). Each GX
result is then split back by dataset (and code) from its unexpected rows, so ``gx_results`` keeps
one row per dataset and rule exactly as if every dataset had been validated on its own.

Pure, no GX import: a GX result comes in as its type, whether it raised, and its result dict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from assets.qa.gx.plan import PROFILE_SUFFIX, PlannedExpectation, TableToValidate, column_label, plan_profile

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
    frames: list[pd.DataFrame] = []
    owners: list[dict[str, Any]] = []
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
    plan_owners: list[pd.DataFrame] = []
    for p in plan:
        o = (
            owner_frame
            if p.kwargs.get("column") != "DUPLICATE_KEYS"
            else owner_frame[owner_frame["HAS_DUPLICATE_KEYS"]]
        )
        plan_owners.append(
            o.assign(COLUMN=column_label(p.kwargs), CONDITION=p.kwargs.get("row_condition") or "")
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
    parts: list[pd.DataFrame] = []
    owners: list[dict[str, Any]] = []
    kept: list[TableToValidate] = []
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


def split_batched_result(
    batch: BatchedValidation, index: int, expectation_type: str, raised: bool, res: dict[str, Any]
) -> list[dict[str, Any]]:
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
    rows: list[dict[str, Any]] = []
    for owner in owners.itertuples(index=False):
        o = cast(Any, owner)._asdict()  # a namedtuple of the owner columns
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


def merge_range_bounds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The low and the high bound of a code's range are two GX expectations on the batched table;
    report them as the one plausible-range result per code they replace (their unexpected rows
    cannot overlap when low <= high, so counts and percentages add)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
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
