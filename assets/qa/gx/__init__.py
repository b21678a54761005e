"""Great Expectations suites for the SDTM and ADaM outputs, generated from the spec, and their run.

Modules: :mod:`.plan` (which tables, which expectations; pure), :mod:`.batch` (the batched
tables and the split of their results; pure), :mod:`.results` (the ``gx_results`` table),
:mod:`.run` (GX context, checkpoints, Data Docs) and :mod:`.settings` (study/qa.yaml). The names
below are the public API (``from assets.qa import gx as qa_gx``).

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
great_expectations takes 3-6 s, so it is imported only inside :func:`run_validations` (importing
this package does not import it). GX's cost is dominated by a fixed overhead per expectation
(building its metric graph: ~40-80 ms each), not by rows, so checks that would be one expectation per column (required values present, text lengths)
are computed in vectorized pandas as a one-row-per-variable profile of the full table
(``<DATASET>_PROFILE``) that GX validates with three expectations. Row-level expectations (keys,
CT value sets, ISO 8601, study day, ranges) run on the whole table up to ``gx_full_rows_max`` rows
(study/qa.yaml), above it on a deterministic, evenly spaced sample of ``gx_sample_rows`` rows in key
order; the full-table duplicate-key count then goes into the profile, so no structural failure can
hide outside the sample.

Every expectation carries ``meta`` {rule, structural}: structural failures (columns differ from
the spec, keys not unique, a key or identifier missing) make downstream tables wrong and block.
"""

from assets.qa.gx.batch import (
    PROFILES,
    RESULT_RANGES,
    BatchedValidation,
    batch_for_gx,
    batch_profiles,
    batch_result_ranges,
    merge_range_bounds,
    split_batched_result,
)
from assets.qa.gx.plan import (
    IDENTIFIERS,
    ISO8601_PATTERN,
    MAX_TEXT_BYTES,
    PROFILE_SUFFIX,
    OutputTable,
    PlannedExpectation,
    TableToValidate,
    column_label,
    columns_read_by,
    deterministic_sample,
    nonextensible_codelists,
    plan_expectations,
    plan_output_tables,
    plan_profile,
    plausible_ranges_by_code,
    required_variables,
    tables_to_validate,
    variable_profile,
)
from assets.qa.gx.results import RESULT_COLUMNS, RESULT_SORT, failed_expectations, result_row, results_frame
from assets.qa.gx.run import frame_for_gx, run_validations
from assets.qa.gx.settings import qa_settings

__all__ = [
    "BatchedValidation",
    "IDENTIFIERS",
    "ISO8601_PATTERN",
    "MAX_TEXT_BYTES",
    "OutputTable",
    "PROFILES",
    "PROFILE_SUFFIX",
    "PlannedExpectation",
    "RESULT_COLUMNS",
    "RESULT_RANGES",
    "RESULT_SORT",
    "TableToValidate",
    "batch_for_gx",
    "batch_profiles",
    "batch_result_ranges",
    "column_label",
    "columns_read_by",
    "deterministic_sample",
    "failed_expectations",
    "frame_for_gx",
    "merge_range_bounds",
    "nonextensible_codelists",
    "plan_expectations",
    "plan_output_tables",
    "plan_profile",
    "plausible_ranges_by_code",
    "qa_settings",
    "required_variables",
    "result_row",
    "results_frame",
    "run_validations",
    "split_batched_result",
    "tables_to_validate",
    "variable_profile",
]
