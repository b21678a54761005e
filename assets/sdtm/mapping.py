"""The spec-driven mapping engine (sdtm.oak / metacore style).

A domain builder prepares a *work* frame: the harmonized source rows plus the variables that need
a rule of their own (``ALGORITHM = derived`` in ``study/sdtm_variables.csv``) and the subject's
``RFSTDTC``. :func:`map_to_spec` then reads the spec, row by row, and makes every variable:

``studyid``   the study identifier (study.yaml)
``domain``    the dataset name
``direct``    copied from ``SOURCE`` (``FORM.COLUMN``: the column as sent or as harmonized by ingest)
``assign``    the literal in ``SOURCE``
``ct_map``    ``SOURCE`` column mapped through ``study/sdtm_value_maps.csv`` (unmapped values kept)
``derived``   taken from the work frame, where the builder computed it
``study_day`` study day of the ``--DTC`` variable named in ``SOURCE`` against ``RFSTDTC``
``seq``       1, 2, ... per ``USUBJID`` after a stable sort by the dataset keys (reruns keep them)

Types follow the spec: ``Char`` -> string, ``Num`` -> Int64 for counts, days and codes (:func:`is_integer_var`),
float otherwise (``VISITNUM`` is not whole for unscheduled visits). Adding a variable is a spec row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import study
from assets.common.columns import require_columns
from assets.common.dates import iso_to_date, study_day
from assets.common.distinct import per_distinct
from assets.sdtm import metadata
from study import spec

STANDARD = "sdtm"
INTEGER_VARIABLES = frozenset(
    {"AGE", "TAETORD", "VISITDY", "AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD", "AEBDSYCD", "AESOCCD"}
)
"""Whole numbers besides sequence numbers and days: the MedDRA codes are 8-digit integers."""


def isin_text(values: pd.Index | pd.Series, allowed) -> np.ndarray:
    """``values.isin(allowed)`` for text (a missing value matches a missing one), in Arrow: pandas'
    ``isin`` of Arrow text makes a Python scalar of every allowed value, ~20 ms for 5,000 subjects."""
    # pandas-stubs has no pd.array overload for an Index or Series input; pandas takes both.
    as_text = pa.array(pd.array(values, dtype="str"))  # type: ignore[call-overload]
    value_set = pa.array(pd.array(allowed, dtype="str"))
    found = pc.is_in(as_text, value_set=value_set, skip_nulls=False)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def is_integer_var(name: str) -> bool:
    """Sequence numbers, study days, age and planned orders are whole numbers (Int64)."""
    return name.endswith("SEQ") or name.endswith("DY") or name in INTEGER_VARIABLES


def iso_to_date_by_value(iso: pd.Series) -> pd.Series:
    """:func:`assets.common.dates.iso_to_date` (which parses each distinct value once), unnamed,
    index kept: a subject's reference dates repeat on each of its records."""
    return iso_to_date(iso).rename(None)


def map_by_value(values: pd.Series, mapping: Mapping | pd.Series) -> pd.Series:
    """``values.map(mapping).astype("string")`` looked up once per distinct value, index kept.

    Code lookups (visit -> epoch, test code -> test name) run on findings of ~500,000 rows, where
    ``Series.map`` goes through an object array of every row; here only the distinct values are
    looked up (a missing value maps to missing).
    """
    return per_distinct(values, lambda distinct: distinct.map(mapping).astype("string"))


def study_day_by_value(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """:func:`assets.common.dates.study_day` of ISO texts, parsing each distinct date once."""
    return study_day(iso_to_date_by_value(dates), iso_to_date_by_value(reference))


def cast_to_spec_types(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Char -> ``string``; Num -> ``Int64`` (see :func:`is_integer_var`) or ``float64``."""
    out = df.copy(deep=False)  # copy-on-write: the columns replaced below never reach ``df``
    for var, typ in spec.variables(STANDARD, dataset)[["VARIABLE", "TYPE"]].itertuples(index=False):
        if var not in out.columns:
            continue
        if typ == "Char":
            col = out[var].astype("string")
            if col.eq("").any():  # empty text is missing in SDTM (where() copies: only when needed)
                col = col.where(col.str.len() > 0)
            out[var] = col
        elif is_integer_var(var):
            out[var] = pd.to_numeric(out[var], errors="coerce").round().astype("Int64")
        else:
            out[var] = pd.to_numeric(out[var], errors="coerce").astype("float64")
    return out


def seq_var(dataset: str) -> str | None:
    """The ``--SEQ`` variable of a dataset (``AESEQ``), or None (DM, SV, trial design, SUPP--)."""
    names = spec.variables(STANDARD, dataset)
    rows = names[names["ALGORITHM"] == "seq"]
    return rows["VARIABLE"].iloc[0] if len(rows) else None


def derive_var_seq(df: pd.DataFrame, dataset: str, tiebreak: Sequence[str] = ()) -> pd.DataFrame:
    """Sort (stable) by the spec keys, then ``tiebreak`` columns, and number rows per ``USUBJID``.

    The keys come from ``study/sdtm_datasets.csv``; ``tiebreak`` (e.g. the source ``RECID``) makes
    the order total, so identical input gives identical ``--SEQ`` on every rerun.
    """
    seq = seq_var(dataset)
    keys = [k for k in spec.keys(STANDARD, dataset) if k != seq]
    require_columns(df, [*keys, *tiebreak, *(["USUBJID"] if seq else [])], f"derive_var_seq({dataset})")
    out = df.sort_values([*keys, *tiebreak], kind="stable", na_position="last")
    if seq:
        out[seq] = (out.groupby("USUBJID", sort=False).cumcount() + 1).astype("Int64")
    return out


def apply_value_map(values: pd.Series, domain: str, variable: str) -> pd.Series:
    """Collected values -> CT submission values (``study/sdtm_value_maps.csv``); others unchanged."""
    mapping = metadata.value_map(domain, variable)
    text = values.astype("string").str.strip()
    return text.replace(mapping) if mapping else text


def map_to_spec(work: pd.DataFrame, dataset: str, tiebreak: Sequence[str] = ()) -> pd.DataFrame:
    """Build ``dataset`` from ``work`` following the spec (see the module docstring).

    The result keeps ``work``'s index (so SUPP-- builders can join back), holds exactly the spec
    variables in spec order with spec types, and is sorted by the keys with ``--SEQ`` assigned.
    """
    variables = spec.variables(STANDARD, dataset)
    needed = []
    for var, source, algorithm in variables[["VARIABLE", "SOURCE", "ALGORITHM"]].itertuples(index=False):
        if algorithm == "derived":
            needed.append(var)
        elif algorithm in ("direct", "ct_map"):
            needed.append(source.split(".")[-1])
        elif algorithm == "study_day":
            needed.append("RFSTDTC")
    require_columns(work, sorted(set(needed)), f"map_to_spec({dataset})")
    domain = dataset[4:] if dataset.startswith("SUPP") else dataset
    out = pd.DataFrame(index=work.index)
    for var, source, algorithm in variables[["VARIABLE", "SOURCE", "ALGORITHM"]].itertuples(index=False):
        if algorithm == "studyid":
            out[var] = study.studyid()
        elif algorithm == "domain":
            out[var] = dataset
        elif algorithm == "assign":
            out[var] = source
        elif algorithm == "direct":
            out[var] = work[source.split(".")[-1]]
        elif algorithm == "ct_map":
            out[var] = apply_value_map(work[source.split(".")[-1]], domain, var)
        elif algorithm == "derived":
            out[var] = work[var]
        elif algorithm in ("study_day", "seq"):
            # filled below, once the source variables exist; Int64 already (an object column of
            # NA is slow to cast)
            out[var] = pd.Series(pd.NA, index=out.index, dtype="Int64")
        else:
            raise ValueError(f"{dataset}.{var}: unknown ALGORITHM {algorithm!r} in sdtm_variables.csv")
    for var, source in variables.loc[
        variables["ALGORITHM"] == "study_day", ["VARIABLE", "SOURCE"]
    ].itertuples(index=False):
        out[var] = study_day_by_value(out[source], work["RFSTDTC"])
    out = cast_to_spec_types(out, dataset)
    extra = [c for c in tiebreak if c not in out.columns]
    out = derive_var_seq(out.join(work[extra]) if extra else out, dataset, tiebreak)
    return spec.conform(out.drop(columns=extra), STANDARD, dataset)


def empty_dataset(dataset: str) -> pd.DataFrame:
    """A zero-row dataset with the spec's columns and types (a form nobody has sent yet)."""
    cols = spec.variables(STANDARD, dataset)["VARIABLE"].tolist()
    return cast_to_spec_types(pd.DataFrame({c: pd.Series(dtype="string") for c in cols}), dataset)
