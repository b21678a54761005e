"""Site listings a site can act on (issue 17): visit, date, test code and unit; sorted by subject,
visit in schedule order and form; where to fix each query."""

import pandas as pd

from assets.common.findings import (
    CONTEXT_COLUMNS,
    FINDING_COLUMNS,
    derive_vars_finding_context,
    make_findings,
)
from assets.qa.listings import LISTING_COLUMNS, derive_site_listing, derive_site_listings, derive_var_fix_at
from assets.qa.queries import derive_current_queries, merge_query_history


def _finding(**kw):
    base = {"KIND": "SCHEMA", "SEVERITY": "ERROR", "SITEID": "101", "COLUMN": "LBORRES", "RULE": "r"}
    return {**base, **kw}


def test_findings_shape_keeps_its_columns_and_appends_date_test_code_and_unit():
    assert FINDING_COLUMNS[:14] == [
        "KIND", "SEVERITY", "SITEID", "SUBJID", "FORM", "RECID", "VISIT",
        "COLUMN", "RULE", "VALUE", "MESSAGE", "SRC_EXPORT", "SRC_FILE", "SRC_LINE",
    ]  # fmt: skip
    assert FINDING_COLUMNS[14:] == ["DATE", "TESTCD", "UNIT"]
    assert make_findings(pd.DataFrame([{"KIND": "K", "TESTCD": "HGB"}]))["TESTCD"].dtype == "string"


def test_finding_context_of_a_lab_row_a_log_form_row_and_an_unknown_form():
    lb = pd.DataFrame(
        {"VISIT": ["WEEK 2"], "LBDAT": ["2026-03-07"], "LBTESTCD": ["HGB"], "LBORRESU": ["g/L"]}
    )
    assert derive_vars_finding_context(lb, "LB").iloc[0].tolist() == ["WEEK 2", "2026-03-07", "HGB", "g/L"]
    ae = derive_vars_finding_context(pd.DataFrame({"AESTDAT": ["2026-04-01"]}, index=[7]), "AE")
    assert list(ae.columns) == CONTEXT_COLUMNS and ae.index.tolist() == [7]
    assert ae["DATE"].tolist() == ["2026-04-01"] and ae[["VISIT", "TESTCD", "UNIT"]].isna().all().all()
    assert derive_vars_finding_context(pd.DataFrame({"X": [1]}), "ADSL").isna().all().all()


def test_listing_is_sorted_by_subject_then_visit_schedule_then_form_and_carries_the_context():
    f = pd.DataFrame(
        [
            _finding(SUBJID="101-0002", FORM="LB", RECID="L9", VISIT="SCREENING"),
            _finding(SUBJID="101-0001", FORM="VS", RECID="V1", VISIT="WEEK 10", TESTCD="SYSBP", UNIT="mmHg"),
            _finding(SUBJID="101-0001", FORM="LB", RECID="L2", VISIT="WEEK 10", TESTCD="HGB", UNIT="g/L"),
            _finding(SUBJID="101-0001", FORM="LB", RECID="L1", VISIT="WEEK 2", DATE="2026-03-07"),
            _finding(SUBJID="101-0001", FORM="AE", RECID="A1"),  # a log form: no visit, listed last
        ]
    )
    queries = merge_query_history(derive_current_queries({"ingest": f}), None, "E1")
    listing = derive_site_listing(queries, "101")
    assert list(listing.columns) == LISTING_COLUMNS
    assert listing[["SUBJID", "VISIT", "FORM", "RECID"]].astype(object).where(
        listing.notna(), None
    ).values.tolist() == [
        ["101-0001", "WEEK 2", "LB", "L1"],
        ["101-0001", "WEEK 10", "LB", "L2"],
        ["101-0001", "WEEK 10", "VS", "V1"],
        ["101-0001", None, "AE", "A1"],
        ["101-0002", "SCREENING", "LB", "L9"],
    ]
    assert listing.loc[1, ["TESTCD", "UNIT"]].tolist() == ["HGB", "g/L"]
    assert listing.loc[0, "DATE"] == "2026-03-07"
    pd.testing.assert_frame_equal(derive_site_listings(queries, ["101"])["101"], listing)


def test_fix_at_names_site_subject_form_recid_file_and_line_and_leaves_out_what_is_missing():
    q = pd.DataFrame(
        {
            "SITEID": ["101", "101", None],
            "SUBJID": ["101-0001", None, None],
            "FORM": ["AE", "LB", "ADSL"],
            "RECID": ["AE7", None, None],
            "SRC_FILE": ["sites/101/E1/AE.csv", "sites/101/E1/LB.csv", None],
            "SRC_LINE": pd.array([3, None, 5], dtype="Int64"),
        }
    ).astype({c: "string" for c in ("SITEID", "SUBJID", "FORM", "RECID", "SRC_FILE")})
    assert derive_var_fix_at(q).tolist() == [
        "site 101, subject 101-0001, form AE, RECID AE7, sites/101/E1/AE.csv line 3",
        "site 101, form LB, sites/101/E1/LB.csv",
        "form ADSL",  # a derived table's finding: no file, so no line either
    ]


def test_a_file_line_read_back_as_a_float_is_listed_as_a_whole_number(tmp_path):
    """queries.parquet stores SRC_LINE as int64 with gaps, which pandas reads as float64."""
    from assets.qa.listings import derive_site_listings, write_csv, write_xlsx
    from assets.qa.queries import QUERY_COLUMNS

    row = {c: None for c in QUERY_COLUMNS}
    row.update(
        QUERY_ID="Q1",
        STATUS="OPEN",
        KIND="SCHEMA",
        SITEID="101",
        SUBJID="101-0001",
        FORM="VS",
        RECID="VS-1",
        SRC_FILE="sites/101/20260301T000000Z/VS.csv",
        SRC_LINE=22.0,
    )
    gap = {**row, "QUERY_ID": "Q2", "RECID": "VS-2", "SRC_LINE": float("nan")}
    queries = pd.DataFrame([row, gap])
    listing = derive_site_listings(queries, ["101"])["101"]
    assert listing["SRC_LINE"].astype("string").fillna("-").tolist() == ["22", "-"]
    assert listing["FIX_AT"].tolist()[0].endswith("VS.csv line 22")
    text = write_csv(listing, tmp_path / "q.csv").read_text(encoding="utf-8-sig")
    assert ",22," in text and "22.0" not in text
    write_xlsx({"queries": listing}, tmp_path / "q.xlsx")
