"""Translation queries name the site's record (derivations.md v2, text a format cannot hold; issue 17)."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.qa.queries import derive_current_queries
from assets.qa.translation import derive_vars_translation_source

MSG = "English translation needed"


def _finding(form: str, recid: str, subj: str, column: str, value: str, rule: str = "xpt_ascii") -> dict:
    return {
        "KIND": "XPT_V5",
        "SEVERITY": "ERROR",
        "SITEID": subj[:3],
        "SUBJID": subj,
        "FORM": form,
        "RECID": recid,
        "VISIT": None,
        "COLUMN": column,
        "RULE": rule,
        "VALUE": value,
        "MESSAGE": MSG,
        "SRC_EXPORT": None,
        "SRC_FILE": f"{form.lower()}.parquet",
        "SRC_LINE": None,
        "DATE": None,
        "TESTCD": None,
        "UNIT": None,
    }


AE_FORM = pd.DataFrame(
    {
        "STUDYID": ["S"] * 3,
        "SITEID": ["102", "102", "102"],
        "SUBJID": ["102-0001", "102-0001", "102-0002"],
        "RECID": ["7", "8", "3"],
        "AETERM": ["头痛", "头痛", "头痛"],
        "AESTDAT": ["01-MAR-2026", "05-MAR-2026", "02-MAR-2026"],
        "SRC_EXPORT": ["20260301T020000Z"] * 3,
        "SRC_FILE": ["AE.csv"] * 3,
        "SRC_LINE": [2, 3, 4],
    }
)


def test_a_value_in_two_datasets_becomes_one_query_per_source_record():
    findings = pd.DataFrame(
        [
            _finding("AE", "1", "102-0001", "AETERM", "头痛"),
            _finding("AE", "2", "102-0001", "AETERM", "头痛"),  # the same value in another row
            _finding("ADAE", "1", "102-0001", "AETERM", "头痛"),
            _finding("AE", "9", "102-0009", "AETERM", "Céphalée"),  # no form delivered it: unchanged
            _finding("AE", "2", "102-0001", "AETERM", "x" * 201, rule="xpt_length"),  # not a translation
        ]
    )
    out = derive_vars_translation_source(findings, {"AE": AE_FORM})
    assert list(out.columns) == list(findings.columns)
    got = out.sort_values(["RULE", "SUBJID", "FORM", "RECID"]).reset_index(drop=True)
    expected = pd.DataFrame(
        [
            {
                **_finding("AE", "7", "102-0001", "AETERM", "头痛"),
                "SRC_EXPORT": "20260301T020000Z",
                "SRC_FILE": "AE.csv",
                "SRC_LINE": 2,
                "DATE": "01-MAR-2026",
            },
            {
                **_finding("AE", "7", "102-0001", "AETERM", "头痛"),
                "SRC_EXPORT": "20260301T020000Z",
                "SRC_FILE": "AE.csv",
                "SRC_LINE": 2,
                "DATE": "01-MAR-2026",
            },
            {
                **_finding("AE", "8", "102-0001", "AETERM", "头痛"),
                "SRC_EXPORT": "20260301T020000Z",
                "SRC_FILE": "AE.csv",
                "SRC_LINE": 3,
                "DATE": "05-MAR-2026",
            },
            {
                **_finding("AE", "8", "102-0001", "AETERM", "头痛"),
                "SRC_EXPORT": "20260301T020000Z",
                "SRC_FILE": "AE.csv",
                "SRC_LINE": 3,
                "DATE": "05-MAR-2026",
            },
            _finding("AE", "9", "102-0009", "AETERM", "Céphalée"),
            _finding("AE", "2", "102-0001", "AETERM", "x" * 201, rule="xpt_length"),
        ]
    )
    expected = expected.sort_values(["RULE", "SUBJID", "FORM", "RECID"]).reset_index(drop=True)
    for frame in (got, expected):
        frame["SRC_LINE"] = pd.to_numeric(frame["SRC_LINE"]).astype("Int64")
    pd.testing.assert_frame_equal(got.astype("string"), expected.astype("string"), check_dtype=False)
    queries = derive_current_queries({"exports": out})
    translation = queries[queries["RULE"] == "xpt_ascii"].sort_values("RECID")
    assert translation[["FORM", "RECID", "SRC_LINE", "N_FINDINGS"]].astype("string").fillna(
        "-"
    ).values.tolist() == [
        ["AE", "7", "2", "2"],
        ["AE", "8", "3", "2"],
        ["AE", "9", "-", "1"],
    ]


def test_findings_without_translations_pass_unchanged():
    findings = pd.DataFrame([_finding("AE", "2", "102-0001", "AETERM", "x", rule="xpt_length")])
    assert derive_vars_translation_source(findings, {}) is findings


def test_needed_columns_are_checked():
    with pytest.raises(KeyError, match="VALUE"):
        derive_vars_translation_source(pd.DataFrame({"RULE": ["xpt_ascii"]}), {})
