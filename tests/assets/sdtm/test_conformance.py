"""Each spec-generated conformance schema passes on a built dataset and fails on a seeded violation."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.sdtm.mapping import empty_dataset
from schemas.sdtm_conformance import REQ_NULL_IS_QUERY, byte_length_ok, conformance_report, unique_keys
from study import spec

DATASETS = spec.datasets("sdtm")["DATASET"].tolist()


def _one_row(dataset: str) -> pd.DataFrame:
    """A minimal valid row: Req variables filled with a value their checks accept."""
    df = empty_dataset(dataset)
    row = {}
    for var, typ, core, codelist in spec.variables("sdtm", dataset)[
        ["VARIABLE", "TYPE", "CORE", "CODELIST"]
    ].itertuples(index=False):
        if var == "DOMAIN":
            row[var] = dataset
        elif var == "RDOMAIN":
            row[var] = dataset[4:]
        elif typ == "Num":
            row[var] = 1
        elif core == "Req" and codelist:
            from schemas.sdtm_conformance import codelist_terms

            row[var] = sorted(codelist_terms(codelist))[0]
        elif core == "Req":
            row[var] = "X"
        elif var.endswith("DTC"):
            row[var] = "2026-03"
    return pd.DataFrame([row]).reindex(columns=df.columns).astype(df.dtypes.to_dict())


@pytest.mark.parametrize("dataset", DATASETS)
def test_schema_passes_a_valid_row(dataset):
    report = conformance_report(_one_row(dataset), dataset)
    assert report["passed"], report["by_check"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_schema_fails_on_each_seeded_violation(dataset):
    good = _one_row(dataset)
    variables = spec.variables("sdtm", dataset)
    req = [v for v in variables[variables["CORE"] == "Req"]["VARIABLE"] if v not in REQ_NULL_IS_QUERY]
    # a Req variable null: structural (AEDECOD of an event not yet coded is a query instead)
    bad = good.copy()
    bad.loc[0, req[-1]] = pd.NA
    assert conformance_report(bad, dataset)["structural"] >= 1
    # a spec variable missing: structural
    assert conformance_report(good.drop(columns=[req[-1]]), dataset)["structural"] >= 1
    # duplicate key: structural
    assert conformance_report(pd.concat([good, good], ignore_index=True), dataset)["structural"] >= 1
    # over-long text: content
    char = variables[
        (variables["TYPE"] == "Char")
        & (variables["CODELIST"] == "")
        & ~variables["VARIABLE"].isin(["DOMAIN", "RDOMAIN"] + unique_keys(dataset))
    ]["VARIABLE"].iloc[-1]
    long = good.copy()
    long[char] = long[char].astype("string")
    long.loc[0, char] = "é" * 101  # 202 bytes, 101 characters
    report = conformance_report(long, dataset)
    assert report["content"] >= 1 and not report["passed"]


@pytest.mark.parametrize(
    "dataset", [d for d in DATASETS if spec.variables("sdtm", d)["CODELIST"].ne("").any()]
)
def test_schema_flags_a_value_off_its_codelist(dataset):
    good = _one_row(dataset)
    variables = spec.variables("sdtm", dataset)
    var = variables[variables["CODELIST"] != ""]["VARIABLE"].iloc[0]
    good[var] = good[var].astype("string")
    good.loc[0, var] = "NOT A TERM"
    report = conformance_report(good, dataset)
    assert report["content"] == 1 and report["structural"] == 0


@pytest.mark.parametrize(
    "dataset", [d for d in DATASETS if spec.variables("sdtm", d)["VARIABLE"].str.endswith("DTC").any()]
)
def test_schema_flags_a_non_iso_date(dataset):
    good = _one_row(dataset)
    var = [v for v in good.columns if v.endswith("DTC")][0]
    good.loc[0, var] = "07-MAR-2026"
    report = conformance_report(good, dataset)
    assert report["content"] == 1 and "iso8601" in next(iter(report["by_check"]))


def test_spec_names_and_labels_are_within_limits():
    v = spec.variables("sdtm")
    assert v["VARIABLE"].str.len().le(8).all() and v["LABEL"].str.len().le(40).all()
    assert spec.datasets("sdtm")["LABEL"].str.len().le(40).all()


def test_dm_key_is_usubjid_and_findings_keys_use_seq():
    assert unique_keys("DM") == ["USUBJID"]
    assert unique_keys("LB") == ["USUBJID", "LBSEQ"]


def test_wrong_column_order_is_structural():
    good = _one_row("AE")
    cols = good.columns.tolist()
    cols[3], cols[4] = cols[4], cols[3]
    assert conformance_report(good[cols], "AE")["structural"] >= 1


def test_byte_length_counts_utf8_bytes_not_characters_and_nulls_pass():
    values = pd.Series(
        ["a" * 200, "a" * 201, "é" * 100, "é" * 101, "€" * 66, "€" * 67, None, ""], index=range(8, 0, -1)
    )
    ok = byte_length_ok(values)
    assert ok.tolist() == [True, False, True, False, True, False, True, True]
    assert ok.index.equals(values.index) and ok.dtype == bool
