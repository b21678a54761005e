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

Cost (measured, see the report): importing great_expectations takes about 3 s, so it is imported
only inside :func:`run_validations`. GX on pandas is vectorized, but per expectation it scans the
whole frame; tables above ``gx_full_rows_max`` rows are validated on a deterministic, evenly
spaced sample of ``gx_sample_rows`` rows in key order, and their full-table structural facts (rows,
duplicate keys, missing required values) are computed in pandas and validated by GX as a one-row
summary frame (``<DATASET>_SUMMARY``), so no structural failure can hide outside the sample.

Every expectation carries ``meta`` {rule, structural}: structural failures (columns differ from
the spec, keys not unique, a key or identifier missing) make downstream tables wrong and block.
"""

from __future__ import annotations

import logging
import os
import shutil
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
    required = (
        set(spec.loc[spec.get("CORE", pd.Series(dtype=str)).eq("Req"), "VARIABLE"])
        if "CORE" in spec
        else set()
    )
    structural_required = set(keys) | set(IDENTIFIERS)
    for col in columns:
        if col in required or col in structural_required:
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col},
                    "required_present",
                    col in structural_required,
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
        if pd.api.types.is_string_dtype(frame[col]) or frame[col].dtype == object:
            length = (
                row["LENGTH"]
                if row is not None and "LENGTH" in row and pd.notna(row["LENGTH"])
                else MAX_TEXT_BYTES
            )
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValueLengthsToBeBetween",
                    {"column": col, "max_value": int(length)},
                    "text_length",
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


def summarize_structure(frame: pd.DataFrame, keys: list[str], required: list[str]) -> pd.DataFrame:
    """A one-row frame of full-table structural facts (vectorized pandas) for a sampled table:
    ``ROWS``, ``DUPLICATE_KEYS`` and ``MISSING_<VAR>`` for each required variable."""
    facts = {"ROWS": len(frame)}
    present_keys = [k for k in keys if k in frame.columns]
    facts["DUPLICATE_KEYS"] = int(frame.duplicated(present_keys, keep=False).sum()) if present_keys else 0
    for col in required:
        if col in frame.columns:
            facts[f"MISSING_{col}"] = int(frame[col].isna().sum())
    return pd.DataFrame([facts])


def plan_summary(summary: pd.DataFrame, structural_missing: set[str]) -> list[PlannedExpectation]:
    plan = [
        PlannedExpectation(
            "ExpectColumnValuesToBeBetween",
            {"column": "DUPLICATE_KEYS", "min_value": 0, "max_value": 0},
            "keys_unique",
            True,
        )
    ]
    for col in summary.columns:
        if col.startswith("MISSING_"):
            var = col.removeprefix("MISSING_")
            plan.append(
                PlannedExpectation(
                    "ExpectColumnValuesToBeBetween",
                    {"column": col, "min_value": 0, "max_value": 0},
                    "required_present",
                    var in structural_missing,
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
    """The frame (or its sample plus a full-table summary when it has more than ``full_rows_max``
    rows) with its expectation plan."""
    plan = plan_expectations(frame, spec_vars, keys, codelists, code_ranges, variable_ranges)
    if len(frame) <= full_rows_max:
        return [TableToValidate(standard, dataset, frame, plan, len(frame))]
    sample = deterministic_sample(frame, sample_rows)
    required = [p.kwargs["column"] for p in plan if p.rule == "required_present"]
    structural = {p.kwargs["column"] for p in plan if p.rule == "required_present" and p.structural}
    summary = summarize_structure(frame, keys, required)
    return [
        TableToValidate(standard, dataset, sample, plan, len(frame), sampled=True),
        TableToValidate(
            standard, f"{dataset}_SUMMARY", summary, plan_summary(summary, structural), len(frame)
        ),
    ]


# --- running it: GX imported here only ----------------------------------------------------------


def _quiet_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def run_validations(
    tables: list[TableToValidate], docs_dir: Path, run_name: str, run_time: pd.Timestamp
) -> pd.DataFrame:
    """Run one checkpoint per table in an ephemeral context, build the Data Docs into ``docs_dir``
    (replaced as a whole, so it shows this run only), and return one row per expectation result."""
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
    rows = []
    for table in tables:
        name = f"{table.standard}_{table.dataset.lower()}"
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        expectations = [
            getattr(gxe, p.expectation)(**p.kwargs, meta={"rule": p.rule, "structural": p.structural})
            for p in table.plan
        ]
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        checkpoint = ctx.checkpoints.add(
            gx.Checkpoint(name=f"qa_{name}", validation_definitions=[vd], result_format="SUMMARY")
        )
        result = checkpoint.run(batch_parameters={"dataframe": table.frame}, run_id=run_id)
        for vres in result.run_results.values():
            for r in vres.results:
                cfg = r.expectation_config
                kw = cfg.kwargs
                res = r.result or {}
                sample = [str(v) for v in (res.get("partial_unexpected_list") or [])[:10]]
                if not sample and not r.success and res.get("details"):
                    sample = [str(res["details"].get("mismatched", res["details"]))]
                condition = kw.get("row_condition") or ""
                if isinstance(condition, dict):
                    condition = condition.get("pass_through_filter", str(condition))
                rows.append(
                    {
                        "STANDARD": table.standard.upper(),
                        "DATASET": table.dataset.upper(),
                        "RULE": cfg.meta.get("rule", ""),
                        "EXPECTATION": cfg.type,
                        "COLUMN": kw.get("column") or " ".join(kw.get("column_list") or []) or "",
                        "CONDITION": str(condition),
                        "STRUCTURAL": bool(cfg.meta.get("structural", False)),
                        "SUCCESS": bool(r.success)
                        and not (r.exception_info or {}).get("raised_exception", False),
                        "ROWS_IN_TABLE": table.rows_in_table,
                        "ROWS_VALIDATED": len(table.frame),
                        "SAMPLED": table.sampled,
                        "UNEXPECTED_COUNT": res.get("unexpected_count"),
                        "UNEXPECTED_PERCENT": res.get("unexpected_percent"),
                        "UNEXPECTED_SAMPLE": "; ".join(sample),
                    }
                )
    ctx.build_data_docs(site_names=["qa"])
    shutil.rmtree(docs_dir, ignore_errors=True)
    if staging.exists():
        staging.rename(docs_dir)
    return results_frame(rows)


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
