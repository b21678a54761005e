"""End to end on the tiny trial: every listed SDTM dataset is written, labelled, conforms, and
identical input gives identical bytes; blinded output holds no arm or dose."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.common.parquet import read_labels
from schemas.sdtm_conformance import conformance_report
from study import spec

pytestmark = pytest.mark.e2e

REQUIRED = "TS TA TE TV TI DM SV IE EX CM MH AE DS LB VS RS CP SUPPEX SUPPMH SUPPRS".split()


def test_every_dataset_written_and_conforms(sdtm_runs):
    assert sdtm_runs["first"].success
    sdtm = sdtm_runs["root"] / "wh1" / "blinded" / "sdtm"
    for dataset in REQUIRED:
        path = sdtm / f"{dataset.lower()}.parquet"
        assert path.exists(), dataset
        df = pd.read_parquet(path)
        assert conformance_report(df, dataset)["passed"], dataset
        labels, ds_label = read_labels(path)
        assert labels == spec.labels("sdtm", dataset) and ds_label == spec.dataset_label("sdtm", dataset)
    checks = {e.check_name: e.passed for e in sdtm_runs["first"].get_asset_check_evaluations()}
    assert checks == {f"sdtm_{d.lower()}_conforms": True for d in REQUIRED}


def test_identical_input_identical_bytes(sdtm_runs):
    for dataset in REQUIRED:
        name = f"{dataset.lower()}.parquet"
        first = (sdtm_runs["root"] / "wh1" / "blinded" / "sdtm" / name).read_bytes()
        second = (sdtm_runs["root"] / "wh2" / "blinded" / "sdtm" / name).read_bytes()
        assert first == second, dataset


def test_blinded_holds_no_arm_or_dose_unblinded_does(sdtm_runs):
    blinded = sdtm_runs["root"] / "wh1" / "blinded" / "sdtm"
    dm = pd.read_parquet(blinded / "dm.parquet")
    assert set(dm["ARMCD"].dropna()) == {"BLINDED"}
    ex = pd.read_parquet(blinded / "ex.parquet")
    assert ex["EXDOSE"].isna().all() and not ex["EXTRT"].str.contains("MIU|0\\.").any()
    assert sdtm_runs["unblinded"].success
    udm = pd.read_parquet(sdtm_runs["root"] / "wh1" / "unblinded" / "sdtm" / "dm.parquet")
    assert set(udm["ARMCD"].dropna()) == {"IL2M", "PBO"}


def test_visit_window_findings_written(sdtm_runs):
    qa = pd.read_parquet(sdtm_runs["root"] / "wh1" / "blinded" / "qa" / "findings" / "visits.parquet")
    assert qa["KIND"].tolist() == ["VISIT_WINDOW"] and qa["VISIT"].tolist() == ["WEEK 8"]
