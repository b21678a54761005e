"""Every producer's findings carry where the record is (issue 17): ingest quarantine (visit, date,
test code, unit of the row as delivered), SLEDAI lab queries (test and unit compared)."""

from __future__ import annotations

from assets.sdtm.sledai_queries import derive_sledai_findings
from tests.assets.ingest.test_numbers_dates_text import _validate
from tests.assets.sdtm.eligibility.literal import harmonized, lab, sledai_row


def test_a_quarantined_lab_value_shows_its_visit_date_test_code_and_unit():
    _, q = _validate(
        "LB",
        [{"VISIT": "WEEK 2", "LBDAT": "07-MAR-2026", "LBTESTCD": "ALT", "LBORRES": "1e9", "LBORRESU": "U/L"}],
    )
    assert len(q) >= 1
    row = q.iloc[0]
    assert (row["FORM"], row["VISIT"], row["DATE"], row["TESTCD"], row["UNIT"]) == (
        "LB",
        "WEEK 2",
        "07-MAR-2026",
        "ALT",
        "U/L",
    )


def test_a_quarantined_log_form_value_has_its_date_and_no_visit():
    _, q = _validate("AE", [{"AETERM": "Headache", "AESTDAT": "01-MAR-2026", "AESEV": "HUGE"}])
    assert not q.empty
    assert q["DATE"].eq("01-MAR-2026").all() and q["VISIT"].isna().all() and q["TESTCD"].isna().all()


def test_sledai_lab_query_names_the_lab_test_its_unit_and_the_assessment_date():
    sl = harmonized("SLEDAI", [sledai_row("WEEK 4", "17-APR-2026", ["PROTEINURIA"])])
    at = harmonized("LB", [lab("PROT24", "0.5", "g/24h", "0.15", visit="WEEK 4", date="17-APR-2026")])
    f = derive_sledai_findings(sl, at)
    assert f[["KIND", "VISIT", "DATE", "TESTCD", "UNIT"]].values.tolist() == [
        ["SLEDAI_LAB", "WEEK 4", "17-APR-2026", "PROT24", "g/24h"]
    ]


def test_export_finding_context_from_an_sdtm_row_and_an_adam_row():
    from assets.common.findings import table_row_context

    lb = {"VISIT": ["WEEK 2", None], "LBDTC": ["2026-03-07", "2026-03-21"], "LBTESTCD": ["ALT", "HGB"]}
    lb["LBORRESU"], lb["LBSTRESU"] = ["U/L", "g/L"], ["x", "x"]  # the unit as collected wins
    assert table_row_context(list(lb), "LB", lb.__getitem__) == [
        {"VISIT": "WEEK 2", "DATE": "2026-03-07", "TESTCD": "ALT", "UNIT": "U/L"},
        {"VISIT": None, "DATE": "2026-03-21", "TESTCD": "HGB", "UNIT": "g/L"},
    ]
    adeff = {"AVISIT": ["WEEK 24"], "ADT": ["2026-08-01"], "PARAMCD": ["SRI4"]}
    assert table_row_context(list(adeff), "ADEFF", adeff.__getitem__) == [
        {"VISIT": "WEEK 24", "DATE": "2026-08-01", "TESTCD": "SRI4"}
    ]
    assert table_row_context(["STUDYID"], "TS", lambda c: ["X"]) == []  # nothing to add
