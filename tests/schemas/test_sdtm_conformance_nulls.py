"""The SDTM column checks let null values pass themselves (``ignore_na=False``, no per-check filter):
the report must be the one pandera gives when it drops the nulls before every check."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

import schemas.sdtm_conformance as conformance
from assets.sdtm.mapping import empty_dataset
from study import spec

DATASETS = spec.datasets("sdtm")["DATASET"].tolist()


def _awkward(dataset: str) -> pd.DataFrame:
    """Six rows mixing nulls in every column with off-codelist values, a CDASH date, a wrong
    DOMAIN, empty and over-long (unicode) text, a duplicate key, and an object column."""
    variables = spec.variables("sdtm", dataset)
    rows = []
    for i in range(6):
        row = {}
        for j, (var, typ, codelist) in enumerate(
            variables[["VARIABLE", "TYPE", "CODELIST"]].itertuples(index=False)
        ):
            if (i + j) % 4 == 0:
                row[var] = None
            elif typ == "Num":
                row[var] = i if i != 5 else 1
            elif var in ("DOMAIN", "RDOMAIN"):
                row[var] = "XX" if i == 2 else (dataset if var == "DOMAIN" else dataset[4:])
            elif codelist:
                terms = sorted(conformance.codelist_terms(codelist))
                row[var] = "NOT A TERM" if i == 1 else terms[i % len(terms)]
            elif var.endswith("DTC"):
                row[var] = ["2026-03", "07-MAR-2026", "2026-03-01T10:00", "", "2026", "x"][i]
            else:
                row[var] = ["A", "é" * 101, "", "𝄞", "b" * 201, "c"][i]
        rows.append(row)
    empty = empty_dataset(dataset)
    df = pd.DataFrame(rows).reindex(columns=empty.columns).astype(empty.dtypes.to_dict())
    char = variables.loc[variables["TYPE"] == "Char", "VARIABLE"].tolist()
    df[char[-1]] = df[char[-1]].astype(object)  # nulls as None in an object column
    return df.set_axis(range(10, 16))


def _reports(df: pd.DataFrame, dataset: str, monkeypatch) -> tuple[dict, dict]:
    """(report as built, report with pandera dropping the nulls before each check)."""
    conformance.sdtm_schema.cache_clear()
    fast = conformance.conformance_report(df, dataset)
    with monkeypatch.context() as patch:
        patch.setattr(conformance, "_check", lambda fn, name: pa.Check(fn, name=name))
        conformance.sdtm_schema.cache_clear()
        reference = conformance.conformance_report(df, dataset)
    conformance.sdtm_schema.cache_clear()
    return fast, reference


@pytest.mark.parametrize("dataset", DATASETS)
def test_report_equals_pandera_dropping_nulls(dataset, monkeypatch):
    df = _awkward(dataset)
    fast, reference = _reports(df, dataset, monkeypatch)
    assert fast == reference
    assert not fast["passed"]


@pytest.mark.parametrize("dataset", ["LB", "AE", "SUPPRS"])
def test_all_null_and_empty_frames_report_the_same(dataset, monkeypatch):
    all_null = _awkward(dataset).iloc[:, :0].reindex(columns=_awkward(dataset).columns)
    for df in (all_null, empty_dataset(dataset)):
        fast, reference = _reports(df, dataset, monkeypatch)
        assert fast == reference
