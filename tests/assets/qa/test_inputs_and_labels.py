"""The QA labels from study/qa_variables.csv, the readers of other layers' files, and the small pure
helpers the QA assets call (literal frames, known answers)."""

import pandas as pd
import pytest

from assets.common.parquet import read_labels, write_json, write_parquet
from assets.qa import gx as qa_gx
from assets.qa import labels
from assets.qa.export_status import EXPORT_STATUS_COLUMNS, stale_export_status
from assets.qa.inputs import output_files, read_findings, read_output_tables, read_parquet_or_empty, read_run
from assets.qa.listings import listed_sites
from assets.qa.queries import QUARANTINE_COLUMNS, QUERY_COLUMNS, count_quarantined_rows
from assets.qa.run_config import utc_timestamp_text


@pytest.mark.parametrize(
    "dataset, columns",
    [
        (labels.QUERIES, QUERY_COLUMNS),
        (labels.QUARANTINE, QUARANTINE_COLUMNS),
        (labels.EXPORT_STATUS, EXPORT_STATUS_COLUMNS),
    ],
)
def test_every_qa_column_has_a_label_in_column_order(dataset, columns):
    table_labels = labels.labels(dataset)
    assert list(table_labels) == columns and all(table_labels.values())


def test_labels_are_a_fresh_dict_and_an_unknown_table_is_refused():
    labels.labels(labels.QUERIES)["STATUS"] = "changed"
    assert labels.labels(labels.QUERIES)["STATUS"] == "Query status (OPEN, RESOLVED)"  # a comma, quoted
    with pytest.raises(KeyError, match="qa_variables.csv"):
        labels.labels("NO_SUCH_TABLE")


def test_missing_files_read_as_empty(tmp_path):
    assert read_parquet_or_empty(tmp_path / "none.parquet").empty
    assert read_findings(tmp_path) == {}
    assert read_run(tmp_path) == {}
    assert list(read_output_tables(tmp_path)) == []
    assert output_files(tmp_path).columns.tolist() == ["LAYER", "DATASET", "LABEL", "ROWS"]


def test_readers_find_findings_run_and_output_tables(tmp_path):
    write_parquet(pd.DataFrame({"KIND": ["SCHEMA"]}), tmp_path / "qa" / "findings" / "visits.parquet")
    write_json(tmp_path / "qa" / "run.json", {"as_of": "2026-05-01T02:00:00Z"})
    frame = pd.DataFrame({"USUBJID": ["S1", "S2"]})
    write_parquet(frame, tmp_path / "adam" / "adsl.parquet", dataset_label="Subject level")
    write_parquet(frame, tmp_path / "sdtm" / "dm.parquet", dataset_label="Demographics")
    assert list(read_findings(tmp_path / "qa")) == ["visits"]
    assert read_run(tmp_path / "qa") == {"as_of": "2026-05-01T02:00:00Z"}
    assert [(s, d, len(f)) for s, d, f in read_output_tables(tmp_path)] == [
        ("sdtm", "DM", 2),
        ("adam", "ADSL", 2),
    ]
    files = output_files(tmp_path)
    assert files.values.tolist() == [["sdtm", "DM", "Demographics", 2], ["adam", "ADSL", "Subject level", 2]]
    assert read_labels(tmp_path / "sdtm" / "dm.parquet")[1] == "Demographics"


def test_stale_exports_are_older_than_the_limit_or_missing():
    status = pd.DataFrame({"SITEID": ["101", "102", "103"], "AGE_DAYS": pd.array([7, 8, None], "Int64")})
    assert stale_export_status(status, 7)["SITEID"].tolist() == ["102", "103"]
    assert stale_export_status(pd.DataFrame(), 7).empty


def test_landing_zone_problems_are_listed_but_never_a_stale_source():
    status = pd.DataFrame({"SITEID": ["101", "LANDING"], "AGE_DAYS": pd.array([3, None], "Int64")})
    assert stale_export_status(status, 7).empty


def test_listed_sites_are_every_site_with_a_status_query_or_quarantined_value():
    status = pd.DataFrame({"SITEID": ["101", "IWRS"]})
    queries = pd.DataFrame({"SITEID": ["102", None]})
    quarantine = pd.DataFrame({"SITEID": ["103", "101"]})
    assert listed_sites(status, queries, quarantine) == ["101", "102", "103", "IWRS"]
    assert listed_sites(pd.DataFrame(), queries, quarantine) == ["101", "102", "103"]


def test_quarantined_rows_count_each_source_line_once():
    quarantine = pd.DataFrame(
        {
            "SITEID": ["101", "101", "102"],
            "SRC_FILE": ["a", "a", "a"],
            "SRC_LINE": [3, 3, 3],
            "COLUMN": ["X", "Y", "X"],
        }
    )
    assert count_quarantined_rows(quarantine) == 2


def test_failed_expectations_all_structural_or_not():
    results = pd.DataFrame(
        {"RULE": ["a", "b", "c"], "SUCCESS": [False, False, True], "STRUCTURAL": [True, False, True]}
    )
    assert qa_gx.failed_expectations(results)["RULE"].tolist() == ["a", "b"]
    assert qa_gx.failed_expectations(results, structural=True)["RULE"].tolist() == ["a"]
    assert qa_gx.failed_expectations(results, structural=False)["RULE"].tolist() == ["b"]
    assert qa_gx.failed_expectations(pd.DataFrame(), structural=True).empty


def test_output_tables_are_planned_with_their_spec_rows_and_keys():
    frame = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["DM"], "USUBJID": ["S-1"], "AGE": [150]})
    datasets = pd.DataFrame({"DATASET": ["DM"], "KEYS": ["STUDYID USUBJID"]})
    variables = pd.DataFrame(
        {"DATASET": ["DM", "DM", "DM", "DM", "AE"], "VARIABLE": [*frame.columns, "AETERM"]}
    )
    settings = {"gx_full_rows_max": 10, "gx_sample_rows": 5, "variable_ranges": {"AGE": [0, 120]}}
    tables = qa_gx.plan_output_tables(
        [("sdtm", "DM", frame)], {"sdtm": (datasets, variables)}, codelists={}, qa_settings=settings
    )
    assert [t.dataset for t in tables] == ["DM", "DM_PROFILE"]
    rules = {(p.rule, p.kwargs.get("column")) for p in tables[0].plan}
    assert rules >= {("columns_match_spec", None), ("keys_unique", None), ("plausible_range", "AGE")}
    assert tables[0].plan[0].kwargs["column_set"] == list(frame.columns)  # the dataset's spec rows only


def test_run_timestamp_text_is_utc_to_the_second():
    assert utc_timestamp_text(pd.Timestamp("2026-05-01T04:00:00.9+02:00")) == "2026-05-01T02:00:00Z"
    assert utc_timestamp_text(pd.Timestamp("2026-05-01T02:00:00")) == "2026-05-01T02:00:00Z"
