"""End to end ADLB (issue 16, done-when): a small generated trial at its interim data cut (subjects
enrolled late are mid-study), run through ingest, SDTM, eligibility, ADSL and ADLB once per module.

ADLB holds no two records of one subject, parameter and analysis visit unless ``DTYPE`` or the
analysis flag says why: at most one ``ANL01FL = Y`` record per subject, parameter and visit, and
every scheduled visit with a result has one; and what held before still holds (one ``ABLFL`` per
parameter, ``BASE`` constant, ``CHG = AVAL - BASE``, no study day 0, spec conformance).
"""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from assets.adam.assets import adam_adlb, adam_adsl
from assets.adam.common import DATE32
from assets.common.parquet import read_parquet
from assets.common.resources import LandingZone, RestrictedRandomization, RunSettings, Warehouse
from assets.sdtm.eligibility.assets import eligibility
from schemas.adam_conformance import conformance_failures
from study import spec
from tests.assets.sdtm.pipeline import run_sdtm_layer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def adlb(tmp_path_factory) -> pd.DataFrame:
    base = tmp_path_factory.mktemp("adlb_e2e")
    landing, wh = base / "landing", base / "wh"
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "generate", "--out", str(landing), "--restricted-out",
         str(base / "restricted"), "--seed", "11", "--sites", "2", "--subjects", "40"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert run_sdtm_layer(landing, wh).success
    resources = {
        "landing": LandingZone(path=str(landing)),
        "warehouse": Warehouse(path=str(wh)),
        "restricted": RestrictedRandomization(path=""),
        "settings": RunSettings(),
    }
    result = dg.materialize([eligibility, adam_adsl, adam_adlb], resources=resources, raise_on_error=False)
    assert result.success
    # as written: Parquet DATE columns stay Arrow date32, as the conformance check reads them
    return read_parquet(wh / "blinded" / "adam" / "adlb.parquet", types_mapper={pa.date32(): DATE32}.get)


def test_one_analysed_record_per_subject_parameter_and_visit(adlb):
    by = ["USUBJID", "PARAMCD", "AVISIT"]
    flagged = adlb[adlb["ANL01FL"] == "Y"]
    assert not flagged.duplicated(by).any()
    # every scheduled visit with a result has its analysed record
    scheduled = adlb[(adlb["AVISIT"] != "UNSCHEDULED") & adlb["AVAL"].notna() & adlb["ADT"].notna()]
    assert set(map(tuple, scheduled[by].drop_duplicates().to_numpy())) == set(
        map(tuple, flagged[by].to_numpy())
    )
    # two records of one subject, parameter and visit: the flag (or DTYPE) says which is analysed
    dup = adlb[adlb.duplicated(by, keep=False)]
    unexplained = dup.groupby(by).filter(
        lambda g: g["AVISIT"].iloc[0] != "UNSCHEDULED" and (g["ANL01FL"] == "Y").sum() != 1
    )
    assert unexplained.empty
    unscheduled = adlb[(adlb["AVISIT"] == "UNSCHEDULED") & adlb["ABLFL"].isna()]
    assert len(unscheduled) and unscheduled["ANL01FL"].isna().all()


def test_baseline_change_and_study_day_still_hold(adlb):
    per_param = adlb.groupby(["USUBJID", "PARAMCD"])
    assert per_param["ABLFL"].apply(lambda s: (s == "Y").sum()).max() == 1
    assert per_param["BASE"].nunique().max() == 1
    post = adlb.dropna(subset=["CHG"])
    assert len(post) and ((post["AVAL"] - post["BASE"]).round(6) == post["CHG"]).all()
    pchg = post[post["BASE"] != 0]
    assert ((pchg["CHG"] / pchg["BASE"] * 100).round(6) == pchg["PCHG"]).all()
    assert post.loc[post["BASE"] == 0, "PCHG"].isna().all()
    assert not (adlb["ADY"] == 0).any()
    assert (adlb["BASETYPE"] == "LAST").all()


def test_graded_parameters_and_flags(adlb):
    graded = {"ALT", "AST", "CREAT", "HGB", "PLAT", "WBC"}
    assert set(adlb.loc[adlb["ATOXGR"].notna(), "PARAMCD"]) <= graded
    assert set(adlb.loc[adlb["ATOXDSCL"].notna() | adlb["ATOXDSCH"].notna(), "PARAMCD"]) == graded
    assert adlb.loc[adlb["PARAMCD"].isin(graded), "ATOXGR"].notna().mean() > 0.9
    base = adlb[adlb["ABLFL"] == "Y"].set_index(["USUBJID", "PARAMCD"])["ATOXGR"]
    merged = adlb.join(base.rename("_B"), on=["USUBJID", "PARAMCD"])
    assert merged["BTOXGR"].fillna("-").eq(merged["_B"].fillna("-")).all()
    on = adlb[adlb["ONTRTFL"] == "Y"]
    assert len(on) and (pd.to_datetime(on["ADT"]) > pd.to_datetime(on["TRTSDT"])).all()
    assert adlb["DTYPE"].dropna().isin(["HALFLLOQ", "ULOQ"]).all()
    assert adlb.loc[adlb["DTYPE"].notna(), "AVALC"].str.match(r"^[<>]").all()


def test_traceability_copies_and_spec(adlb):
    assert (adlb["LBTESTCD"].notna() & adlb["LBSPEC"].notna() & adlb["VISIT"].notna()).all()
    assert (adlb["AVALC"] == adlb["LBSTRESC"]).all()
    assert list(adlb.columns) == spec.variables("adam", "ADLB")["VARIABLE"].tolist()
    assert conformance_failures(adlb, "ADLB", blinded=True).empty
