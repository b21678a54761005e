"""Ingest on a generated trial with injected defects: the quarantine holds exactly the injected
row defects (recall 100%, no valid row quarantined), skipped exports and rejected forms are the
injected ones, and every row read is accounted for."""

import pandas as pd
import pytest

from assets.ingest.discovery import IWRS, discover_exports, list_sites
from assets.ingest.site_ingest import ingest_source
from synth.generate import generate_trial

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("gt")
    landing = root / "landing"
    generate_trial(landing, root / "restricted", sites=6, subjects=120, seed=11, defects=0.05)
    checks = discover_exports(landing)
    results = {s: ingest_source(s, checks, landing) for s in [*list_sites(landing), IWRS]}
    truth = pd.read_csv(landing / "GROUND_TRUTH.csv", dtype=str, keep_default_na=False)
    return landing, checks, results, truth


def test_quarantine_holds_exactly_the_injected_row_defects(ingested):
    _, _, results, truth = ingested
    q = pd.concat([r.quarantine for r in results.values()], ignore_index=True)
    got = {(r.SOURCE, r.SRC_FILE.split("/")[-1], r.RECID) for r in q.itertuples()}
    expected_rows = truth[truth["outcome"] == "quarantine"]
    expected = {(r.site, r.file, r.recid) for r in expected_rows.itertuples()}
    assert len(expected) > 10
    assert got - expected == set(), "valid rows were quarantined"
    assert expected - got == set(), "injected defects were missed"


def test_every_quarantine_kind_is_injected_and_caught_with_its_rule(ingested):
    _, _, results, truth = ingested
    q = pd.concat([r.quarantine for r in results.values()], ignore_index=True)
    q["FILE"] = q["SRC_FILE"].str.split("/").str[-1]
    rules_by_key = {k: set(v) for k, v in q.groupby(["SOURCE", "FILE", "RECID"])["RULE"]}
    expected_rule = {
        "row_bad_number": {"number_form", "integer_form", "lab_result_form"},
        "row_bad_valueset": {"value_set", "unit_known_for_test"},
        "row_implausible": {"plausible_range"},
        "row_bad_date_form": {"cdash_date_form"},
        "row_impossible_date": {"date_exists"},
        "row_missing_required": {"required"},
        "duplicate_recid": {"unique_recid"},
    }
    rows = truth[truth["outcome"] == "quarantine"]
    assert set(rows["kind"]) == set(expected_rule)
    for r in rows.itertuples():
        assert rules_by_key[(r.site, r.file, r.recid)] & expected_rule[r.kind], (
            r.kind,
            r.site,
            r.file,
            r.recid,
        )


def test_skipped_exports_and_rejected_forms_are_the_injected_ones(ingested):
    _, checks, results, truth = ingested
    skipped = {(c.source, c.export_id) for c in checks if not c.complete}
    expected = {(r.site, r.export_id) for r in truth[truth["outcome"] == "export_skipped"].itertuples()}
    assert skipped == expected and len(expected) == 4
    rejected = pd.concat([r.rejections for r in results.values()], ignore_index=True)
    got = {(r.SOURCE, r.SRC_FILE.split("/")[-1]) for r in rejected.itertuples()}
    want = {(r.site, r.file) for r in truth[truth["outcome"] == "form_rejected"].itertuples()}
    assert got == want
    # The rejected form falls back to the site's previous complete export.
    assert (rejected["FALLBACK_EXPORT"] != "").all()


def test_unexpected_column_is_reported_not_quarantined(ingested):
    _, _, results, truth = ingested
    unexpected = pd.concat([r.unexpected for r in results.values()], ignore_index=True)
    want = truth[truth["outcome"] == "reported"]
    assert {(r.site, r.column) for r in want.itertuples()} == {
        (r.SOURCE, r.COLUMN) for r in unexpected.itertuples()
    }


def test_rows_read_equal_rows_passed_plus_quarantined(ingested):
    _, _, results, _ = ingested
    acc = pd.concat([r.accounting for r in results.values()], ignore_index=True)
    assert acc["BALANCED"].all()
    assert acc["ROWS_READ"].sum() == acc["ROWS_PASSED"].sum() + acc["ROWS_QUARANTINED"].sum()
    # 6 sites x 13 forms (a rejected form is accounted from its fallback export) + RAND.
    assert len(acc) == 6 * 13 + 1
