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
        present = series.dropna()
        if not is_text or present.empty:
            max_len = 0
        else:  # a string column has its lengths already (astype(str) would copy it for nothing)
            text = (
                present
                if pd.api.types.is_string_dtype(present) and present.dtype != object
                else present.astype(str)
            )
            max_len = int(text.str.len().max() or 0)
        limit = limits.get(col)
        rows.append(
            {
                "VARIABLE": col,
                "REQUIRED": col in required,
                "STRUCTURAL": col in structural,
                "N_MISSING": int(series.isna().sum()),
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
            PlannedExpectation(
                "ExpectColumnMaxToBeBetween",
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
            standard, f"{dataset}_PROFILE", profile, plan_profile(profile, duplicated), len(frame)
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
    started = time.perf_counter()
    for table in tables:
        name = f"{table.standard}_{table.dataset.lower()}"
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        expectations = [
            getattr(gxe, p.expectation)(**p.kwargs, meta={"rule": p.rule, "structural": p.structural})
            for p in table.plan
        ]
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        result_format = (
            {"result_format": "SUMMARY", "unexpected_index_column_names": ["VARIABLE"]}
            if "VARIABLE" in table.frame.columns
            else "SUMMARY"
        )
        checkpoint = ctx.checkpoints.add(
            gx.Checkpoint(name=f"qa_{name}", validation_definitions=[vd], result_format=result_format)
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame_for_gx(table)}, run_id=run_id)
        for vres in result.run_results.values():
            for r in vres.results:
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
                rows.append(
                    {
                        "STANDARD": table.standard.upper(),
                        "DATASET": table.dataset.upper(),
                        "RULE": cfg.meta.get("rule", ""),
                        "EXPECTATION": cfg.type,
                        "COLUMN": kw.get("column")
                        or " ".join(kw.get("column_list") or [])
                        or (f"{kw['column_A']} >= {kw['column_B']}" if kw.get("column_A") else ""),
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
    validated = time.perf_counter()
    ctx.build_data_docs(site_names=["qa"])
    shutil.rmtree(docs_dir, ignore_errors=True)
    if staging.exists():
        staging.rename(docs_dir)
    results = results_frame(rows)
    results.attrs["seconds_checkpoints"] = round(validated - started, 2)
    results.attrs["seconds_data_docs"] = round(time.perf_counter() - validated, 2)
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
