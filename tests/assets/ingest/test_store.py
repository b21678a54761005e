"""Reading ingested forms back: one table for all sources, cached per run by file identity."""

import pandas as pd

from assets.common.parquet import write_parquet
from assets.ingest import store


def _site(path, subjects):
    frame = pd.DataFrame({"SUBJID": subjects, "VISIT": "SCREENING", "VSORRES": ["70"] * len(subjects)})
    write_parquet(frame.astype("string"), path)


def test_read_form_concatenates_sources_projects_columns_and_sees_a_rewritten_file(tmp_path):
    folder = tmp_path / "forms" / "VS"
    _site(folder / "101.parquet", ["101-0001"])
    _site(folder / "102.parquet", ["102-0001", "102-0002"])
    first = store.read_form(tmp_path, "VS")
    assert first["SUBJID"].tolist() == ["101-0001", "102-0001", "102-0002"]
    assert list(store.read_form(tmp_path, "VS", columns=["VISIT"]).columns) == ["VISIT"]
    first.loc[0, "SUBJID"] = "changed by a caller"  # a caller's change never reaches the cache
    assert store.read_form(tmp_path, "VS")["SUBJID"].iloc[0] == "101-0001"
    _site(folder / "101.parquet", ["101-0009"])  # site 101 re-ingested (atomic rewrite)
    assert store.read_form(tmp_path, "VS")["SUBJID"].tolist() == ["101-0009", "102-0001", "102-0002"]
    (folder / "102.parquet").unlink()
    assert store.read_form(tmp_path, "VS")["SUBJID"].tolist() == ["101-0009"]
    assert store.read_form(tmp_path, "LB").empty


def test_read_form_present_reads_the_wanted_columns_the_form_has_in_the_forms_order(tmp_path):
    _site(tmp_path / "forms" / "VS" / "101.parquet", ["101-0001"])
    frame = store.read_form_present(tmp_path, "VS", {"VSORRES", "SUBJID", "AETERM"})
    assert list(frame.columns) == ["SUBJID", "VSORRES"]
    assert frame["VSORRES"].tolist() == ["70"]
    assert store.read_form_present(tmp_path, "LB", {"SUBJID"}).empty
