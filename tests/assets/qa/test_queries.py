"""Query ids, history across runs, and the quarantine listing (literal frames, known answers)."""

import pandas as pd
import pytest

from assets.common.findings import make_findings
from assets.qa.queries import (
    OPEN,
    RESOLVED,
    derive_current_queries,
    derive_quarantine_listing,
    derive_var_query_id,
    merge_query_history,
    summarize_open_queries,
)

# Data cuts (export ids): the history is dated with them, never with the clock (issue 14).
RUN1, RUN2, RUN3 = "20260301T020000Z", "20260401T020000Z", "20260501T020000Z"


def finding(**kw):
    base = dict(
        KIND="SCHEMA",
        SEVERITY="ERROR",
        SITEID="101",
        SUBJID="101-0001",
        FORM="VS",
        RECID="VS1",
        VISIT="SCREENING",
        COLUMN="VSORRES",
        RULE="plausible_range",
        VALUE="800",
        MESSAGE="weight 800 kg",
        SRC_EXPORT="20260301T020000Z",
        SRC_FILE="sites/101/20260301T020000Z/VS.csv",
        SRC_LINE=2,
    )
    return {**base, **kw}


def findings(*rows):
    return make_findings(pd.DataFrame(list(rows)))


def run(previous, cut, **producers):
    """One run at data cut ``cut`` (site 101's export in force; the study's data cut too)."""
    return merge_query_history(
        derive_current_queries(producers), previous, cut, producers_run=set(producers), site_cuts={"101": cut}
    )


def at(cut, *rows):
    """Findings delivered in export ``cut``."""
    return findings(*[{**r, "SRC_EXPORT": cut, "SRC_FILE": f"sites/101/{cut}/VS.csv"} for r in rows])


def test_query_id_ignores_value_export_file_and_line_but_not_what_identifies_the_problem():
    base = derive_var_query_id(findings(finding()))["QUERY_ID"].iloc[0]
    resent = derive_var_query_id(
        findings(
            finding(
                VALUE="900",
                SRC_EXPORT="20260401T020000Z",
                SRC_FILE="sites/101/20260401T020000Z/VS.csv",
                SRC_LINE=7,
                MESSAGE="weight 900 kg",
            )
        )
    )["QUERY_ID"].iloc[0]
    assert resent == base
    assert base.startswith("Q") and len(base) == 17
    for change in (
        {"RECID": "VS2"},
        {"COLUMN": "VSORRESU"},
        {"RULE": "valueset"},
        {"KIND": "DUPLICATE"},
        {"SITEID": "102"},
        {"SUBJID": "101-0002"},
        {"FORM": "LB"},
    ):
        other = derive_var_query_id(findings(finding(**change)))["QUERY_ID"].iloc[0]
        assert other != base, change


def test_query_ids_are_the_same_across_two_runs_and_the_rerun_gives_the_same_table():
    rows = (
        finding(),
        finding(RECID="VS2", SRC_LINE=3),
        finding(KIND="SLTOTAL_MISMATCH", FORM="SLEDAI", RECID="SL1"),
    )
    first = run(None, RUN1, ingest=at(RUN1, *rows))
    again = run(None, RUN1, ingest=at(RUN1, *rows))
    pd.testing.assert_frame_equal(first, again)
    second = run(first, RUN2, ingest=at(RUN2, *rows))
    assert sorted(second["QUERY_ID"]) == sorted(first["QUERY_ID"])
    # first / last seen: the exports the finding was first / last present in
    assert (second["FIRST_SEEN"] == RUN1).all() and (second["LAST_SEEN"] == RUN2).all()
    assert (second["STATUS"] == OPEN).all()
    # Rerunning on the same input changes nothing (idempotent): there is no run time to differ.
    pd.testing.assert_frame_equal(run(second, RUN2, ingest=at(RUN2, *rows)), second)


def test_first_and_last_seen_are_export_ids_not_run_times():
    """Known answer: a finding carried in export 20260301T020000Z of site 101, merged at a later
    study data cut, is first and last seen in that export; before the change both were the run time."""
    q = merge_query_history(derive_current_queries({"ingest": findings(finding())}), None, RUN2)
    assert q[["FIRST_SEEN", "LAST_SEEN"]].iloc[0].tolist() == ["20260301T020000Z", "20260301T020000Z"]
    # Without SRC_EXPORT (a finding on a derived table): its site's data cut, else the study's.
    derived = findings(finding(SRC_EXPORT=None, SRC_FILE=None), finding(SITEID="102", SRC_EXPORT=None))
    q = merge_query_history(derive_current_queries({"sdtm": derived}), None, RUN3, site_cuts={"101": RUN2})
    assert q.set_index("SITEID")["FIRST_SEEN"].to_dict() == {"101": RUN2, "102": RUN3}


def test_a_corrected_record_in_a_newer_export_resolves_its_query_and_history_is_kept():
    first = run(None, RUN1, ingest=at(RUN1, finding(), finding(RECID="VS2", SRC_LINE=3)))
    corrected = at(RUN2, finding(RECID="VS2", SRC_LINE=3))  # VS1 fixed
    second = run(first, RUN2, ingest=corrected).set_index("RECID")
    assert second.loc["VS1", "STATUS"] == RESOLVED
    # resolved in the export that no longer has it: the site's data cut
    assert second.loc["VS1", "RESOLVED_AT"] == RUN2 and second.loc["VS1", "LAST_SEEN"] == RUN1
    assert second.loc["VS1", "FIRST_SEEN"] == RUN1
    assert second.loc["VS2", "STATUS"] == OPEN and pd.isna(second.loc["VS2", "RESOLVED_AT"])
    assert second.loc["VS2", "SRC_EXPORT"] == RUN2
    # A third run: the resolved query keeps its resolution export; it is not dropped.
    third = run(second.reset_index(), RUN3, ingest=at(RUN3, finding(RECID="VS2", SRC_LINE=3))).set_index(
        "RECID"
    )
    assert third.loc["VS1", "STATUS"] == RESOLVED and third.loc["VS1", "RESOLVED_AT"] == RUN2


def test_a_problem_that_comes_back_reopens_its_query_with_the_first_seen_kept():
    first = run(None, RUN1, ingest=at(RUN1, finding()))
    second = run(first, RUN2, ingest=findings())
    assert second["STATUS"].tolist() == [RESOLVED]
    third = run(second, RUN3, ingest=at(RUN3, finding(VALUE="850")))
    assert third["STATUS"].tolist() == [OPEN]
    assert third["FIRST_SEEN"].tolist() == [RUN1] and third["LAST_SEEN"].tolist() == [RUN3]
    assert third["RESOLVED_AT"].isna().all() and third["VALUE"].tolist() == ["850"]


def test_queries_of_a_producer_that_delivered_nothing_this_run_are_carried_not_resolved():
    first = run(
        None,
        RUN1,
        ingest=at(RUN1, finding()),
        sledai=at(RUN1, finding(KIND="SLTOTAL_MISMATCH", FORM="SLEDAI", RECID="SL1")),
    )
    second = run(first, RUN2, ingest=at(RUN2, finding()))  # the sledai producer did not run
    by_producer = second.set_index("PRODUCER")
    assert by_producer.loc["sledai", "STATUS"] == OPEN and by_producer.loc["sledai", "LAST_SEEN"] == RUN1


def test_copies_of_one_problem_are_one_query_and_rows_without_recid_are_told_apart_by_line():
    dup = findings(
        finding(KIND="DUPLICATE", RULE="unique_recid", COLUMN="RECID", SRC_LINE=2),
        finding(KIND="DUPLICATE", RULE="unique_recid", COLUMN="RECID", SRC_LINE=5),
    )
    q = derive_current_queries({"ingest": dup})
    assert len(q) == 1 and q["N_FINDINGS"].tolist() == [2] and q["SRC_LINE"].tolist() == [2]
    no_recid = findings(finding(RECID=None, SRC_LINE=2), finding(RECID=None, SRC_LINE=5))
    assert derive_current_queries({"ingest": no_recid})["QUERY_ID"].nunique() == 2


def test_export_level_findings_are_told_apart_by_export():
    inc = findings(
        finding(
            KIND="EXPORT_INCOMPLETE",
            RULE="manifest_complete",
            SUBJID=None,
            FORM=None,
            RECID=None,
            COLUMN=None,
            SRC_EXPORT="20260301T020000Z",
            SRC_LINE=None,
        ),
        finding(
            KIND="EXPORT_INCOMPLETE",
            RULE="manifest_complete",
            SUBJID=None,
            FORM=None,
            RECID=None,
            COLUMN=None,
            SRC_EXPORT="20260401T020000Z",
            SRC_LINE=None,
        ),
    )
    assert derive_current_queries({"ingest": inc})["QUERY_ID"].nunique() == 2


def test_open_queries_by_site_and_kind():
    q = run(
        None, RUN1, ingest=findings(finding(), finding(RECID="VS2"), finding(SITEID="102", KIND="DUPLICATE"))
    )
    table = summarize_open_queries(q)
    assert (
        table.loc["101", "SCHEMA"] == 2
        and table.loc["101", "DUPLICATE"] == 0
        and table.loc["102", "DUPLICATE"] == 1
    )


def test_quarantine_listing_names_site_export_file_line_recid_column_rule_value():
    q = pd.DataFrame(
        [
            {
                "SOURCE": "101",
                "SRC_EXPORT": "E1",
                "SRC_FILE": "sites/101/E1/VS.csv",
                "SRC_LINE": 4,
                "FORM": "VS",
                "RECID": "VS9",
                "SUBJID": "101-0001",
                "COLUMN": "VSORRES",
                "RULE": "plausible_range",
                "VALUE": "800",
                "MESSAGE": "too heavy",
            }
        ]
    )
    out = derive_quarantine_listing(q)
    assert out.iloc[0][["SITEID", "SRC_EXPORT", "SRC_LINE", "RECID", "COLUMN", "RULE", "VALUE"]].tolist() == [
        "101",
        "E1",
        4,
        "VS9",
        "VSORRES",
        "plausible_range",
        "800",
    ]
    with pytest.raises(KeyError, match="SRC_LINE"):
        derive_quarantine_listing(q.drop(columns="SRC_LINE"))
    assert derive_quarantine_listing(pd.DataFrame()).empty


def test_a_renamed_rule_keeps_the_query_ids_of_its_first_name():
    """study/rule_renames.csv: IN03:age_18_to_75 became IN03:age_within_limits in 0.2.0; the open
    queries a site is answering keep their ids, while the listing shows the new name."""
    old = derive_var_query_id(findings(finding(KIND="PROTOCOL_LIMIT", RULE="IN03:age_18_to_75")))
    new = derive_var_query_id(findings(finding(KIND="PROTOCOL_LIMIT", RULE="IN03:age_within_limits")))
    assert new["QUERY_ID"].iloc[0] == old["QUERY_ID"].iloc[0]
    assert new["RULE"].iloc[0] == "IN03:age_within_limits"
    other = derive_var_query_id(findings(finding(KIND="PROTOCOL_LIMIT", RULE="IN03:weight_within_limits")))
    assert other["QUERY_ID"].iloc[0] != new["QUERY_ID"].iloc[0]
