"""SDTM conformance schemas (pandera), generated from the metadata spec ``study/sdtm_*.csv``.

For every dataset of ``study/sdtm_datasets.csv``:
- exactly the spec variables, in spec order (``strict``, ``ordered``); Char variables are text and
  Num variables numbers;
- CORE ``Req`` variables present and never null (a null ``AEDECOD``, an event not yet coded, is a
  content failure: :data:`REQ_NULL_IS_QUERY`);
- keys unique: ``USUBJID`` in DM, ``USUBJID`` + ``--SEQ`` where a sequence exists, otherwise the
  dataset keys of the spec;
- ``--DTC`` values in ISO 8601 (any precision, optional time);
- values in the CDISC codelist where the spec names one (CT Q1-2025 parquet, read once, plus the
  sponsor extensions of ``study/sdtm_ct_extensions.csv``); DOMAIN/RDOMAIN equal to the dataset;
- variable names <= 8 upper-case characters, labels <= 40, character values <= 200 bytes.

Structural failures (a variable missing, extra or out of order, wrong type, a Req null, a duplicate
key, a bad name or label) make a dataset unusable; content failures (a value off its codelist, a
malformed date, an over-long value) are data queries. :func:`conformance_report` tells them apart.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

import study
from study import spec
from study.ct import ct_path as study_ct_path

STANDARD = "sdtm"
CT_ENV = "TRIALPIPE_SDTM_CT"
ISO8601 = r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?$"
MAX_BYTES = 200
CONTENT_CHECKS = ("iso8601", "max_200_bytes", "req_null_is_query")
REQ_NULL_IS_QUERY = frozenset({"AEDECOD"})
"""Req variables that are null, as delivered, while a data query is open: ``AEDECOD`` of an event
the sponsor has not coded yet (site-export.md, Forms, v2; derivations.md, consistency queries, AE
coding). A null there is a content failure (``req_null_is_query``), never a structural one: the
run goes on and the query asks for the coding."""
CONTENT_PREFIX = "ct_"


def ct_path() -> Path:
    """The CT in force (vendored subset unless TRIALPIPE_CT is set): see study/ct.py."""
    return study_ct_path()


@cache
def _ct_terms() -> dict[str, frozenset[str]]:
    """Codelist code -> submission values (terms), from the CDISC CT parquet, plus sponsor extensions."""
    ct = pd.read_parquet(ct_path(), columns=["clst_code", "is_clst", "term"])
    ct = ct[~ct["is_clst"].astype(bool)].dropna(subset=["term"])
    terms = {str(code): set(group["term"]) for code, group in ct.groupby("clst_code")}
    ext = study.table("sdtm_ct_extensions")
    for code, term in ext[["CODELIST", "TERM"]].itertuples(index=False):
        terms.setdefault(code, set()).add(term)
    return {code: frozenset(values) for code, values in terms.items()}


def codelist_terms(codes: str) -> frozenset[str]:
    """Allowed values of one or more space-separated codelist codes (``C66727 C114118``)."""
    terms = _ct_terms()
    missing = [c for c in codes.split() if c not in terms]
    if missing:
        raise KeyError(f"codelists {missing} are not in {ct_path().name} nor in sdtm_ct_extensions.csv")
    return frozenset().union(*(terms[c] for c in codes.split()))


def unique_keys(dataset: str) -> list[str]:
    """USUBJID in DM; USUBJID + --SEQ where the dataset has one; else the spec keys."""
    names = spec.variables(STANDARD, dataset)["VARIABLE"].tolist()
    if dataset == "DM":
        return ["USUBJID"]
    seq = [n for n in names if n.endswith("SEQ") and n != "TSSEQ"]
    if seq and "USUBJID" in names:
        return ["USUBJID", seq[0]]
    return spec.keys(STANDARD, dataset)


def byte_length_ok(s: pd.Series) -> pd.Series:
    """Character values of at most 200 bytes (UTF-8); null passes. Measured in Arrow (``binary_length``
    of the UTF-8 data): encoding each value in Python took seconds per dataset at 5,000 subjects.
    Shared with the ADaM schemas (``schemas.adam_conformance``), which have the same rule."""
    utf8 = pyarrow.array(s.astype("string"), type=pyarrow.large_string(), from_pandas=True)
    too_long = pc.fill_null(pc.greater(pc.binary_length(utf8), MAX_BYTES), False)
    return pd.Series(~too_long.to_numpy(zero_copy_only=False), index=s.index)


def _passes_null(result: pd.Series, s: pd.Series) -> pd.Series:
    """``result`` with null values of ``s`` passing (see :func:`_check`)."""
    return result.fillna(True).astype(bool) | s.isna().to_numpy()


def _is_text(s: pd.Series) -> bool:
    """Text values: a string dtype, only nulls, or an object column whose non-null values are all
    text (an object column's dtype test looks at its values, nulls included)."""
    if pd.api.types.is_string_dtype(s) or s.isna().all():
        return True
    return s.dtype == object and pd.api.types.is_string_dtype(s.dropna())


def _check(fn, name: str) -> pa.Check:
    """A column check that sees the null values too (``ignore_na=False``) and lets them pass itself:
    pandera's ``ignore_na`` drops the nulls of the column for every check, a filter of ~500,000 rows
    per check and column on the findings domains. Same failures, same failure cases."""
    return pa.Check(fn, name=name, ignore_na=False)


def _column(row: dict, dataset: str) -> pa.Column:
    var, typ, codelist = row["VARIABLE"], row["TYPE"], row["CODELIST"]
    checks = []
    if typ == "Char":
        checks.append(_check(_is_text, "char_type"))
        checks.append(_check(byte_length_ok, "max_200_bytes"))  # null passes
    else:
        checks.append(_check(lambda s: pd.api.types.is_numeric_dtype(s), "num_type"))
    if var.endswith("DTC"):
        checks.append(_check(lambda s: _passes_null(s.astype("string").str.fullmatch(ISO8601), s), "iso8601"))
    if codelist:
        allowed = codelist_terms(codelist)
        checks.append(
            _check(
                lambda s, allowed=allowed: _passes_null(s.isin(allowed), s),
                f"{CONTENT_PREFIX}{codelist.replace(' ', '_')}",
            )
        )
    if var == "DOMAIN":
        checks.append(_check(lambda s: _passes_null(s.eq(dataset), s), "domain_value"))
    if var == "RDOMAIN":
        checks.append(_check(lambda s: _passes_null(s.eq(dataset[4:]), s), "rdomain_value"))
    required_value = row["CORE"] == "Req"
    if required_value and var in REQ_NULL_IS_QUERY:
        # sees the nulls whatever _check does: the nulls are what it is about
        checks.append(pa.Check(lambda s: s.notna(), name="req_null_is_query", ignore_na=False))
        required_value = False
    return pa.Column(None, checks=checks, nullable=not required_value, required=True, name=var)


@cache
def sdtm_schema(dataset: str) -> pa.DataFrameSchema:
    """The pandera schema of one SDTM dataset, built from the spec (cached per dataset)."""
    variables = spec.variables(STANDARD, dataset)
    columns = {row["VARIABLE"]: _column(row, dataset) for row in variables.to_dict("records")}
    names_ok = all(len(n) <= 8 and n == n.upper() for n in columns)
    labels_ok = (
        all(len(label) <= 40 for label in variables["LABEL"])
        and len(spec.dataset_label(STANDARD, dataset)) <= 40
    )
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda df: names_ok and all(len(c) <= 8 for c in df.columns), name="names_at_most_8"),
            pa.Check(lambda df: labels_ok, name="labels_at_most_40"),
        ],
        unique=unique_keys(dataset),
        strict=True,
        ordered=True,
        name=dataset,
    )


def conformance_report(df: pd.DataFrame, dataset: str) -> dict:
    """Validate (lazily: every failure) and count: ``passed``, ``structural`` and ``content`` failure
    counts, ``by_check`` (check -> failures) and up to 20 ``examples``."""
    try:
        sdtm_schema(dataset).validate(df, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases.copy()
        cases["check"] = cases["check"].astype(str)
        is_content = cases["check"].isin(CONTENT_CHECKS) | cases["check"].str.startswith(CONTENT_PREFIX)
        by_check = (cases["column"].astype(str) + ": " + cases["check"]).value_counts().sort_index()
        examples = cases.head(20)[["column", "check", "failure_case", "index"]].astype(str)
        examples = examples.apply(lambda col: col.str.slice(0, 80)).to_dict("records")
        return {
            "passed": False,
            "structural": int((~is_content).sum()),
            "content": int(is_content.sum()),
            "by_check": {k: int(v) for k, v in by_check.items()},
            "examples": examples,
        }
    return {"passed": True, "structural": 0, "content": 0, "by_check": {}, "examples": []}
