"""Site listings: formula-injection escaping in CSV and XLSX, and the export status per site."""

import pandas as pd
from openpyxl import load_workbook

from assets.qa.export_status import derive_export_status
from assets.qa.listings import (
    derive_site_listing,
    escape_formula_injection,
    write_csv,
    write_xlsx,
)
from assets.qa.queries import derive_current_queries, merge_query_history


def test_text_starting_with_a_formula_trigger_gets_a_quote_and_nothing_else_changes():
    df = pd.DataFrame(
        {
            "VALUE": pd.Series(
                ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "a=b", "ok", None],
                dtype="string",
            ),
            "N": [1, -2, 3, 4, 5, 6, 7, 8, 9],
        }
    )
    out = escape_formula_injection(df)
    assert out["VALUE"].tolist()[:8] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "a=b",
        "ok",
    ]
    assert pd.isna(out["VALUE"].iloc[8])
    assert out["N"].tolist() == df["N"].tolist()  # numbers are not text: untouched
    assert df["VALUE"].iloc[0].startswith("=")  # the input frame is not modified


def test_a_formula_behind_leading_white_space_is_escaped():
    values = [" =2+2", "  +1", "\xa0-2", "\n@SUM(A1)", " \tx", "\t =1", " a=b", " ", "x -1"]
    out = escape_formula_injection(pd.DataFrame({"VALUE": pd.Series(values, dtype="string")}))
    assert out["VALUE"].tolist() == [
        "' =2+2",
        "'  +1",
        "'\xa0-2",
        "'\n@SUM(A1)",
        " \tx",
        "'\t =1",
        " a=b",
        " ",
        "x -1",
    ]


def test_site_listing_csv_escapes_a_formula_behind_a_space(tmp_path):
    listing = derive_site_listing(_queries(" =2+2"), "101")
    path = write_csv(listing, tmp_path / "queries.csv")
    assert "' =2+2" in path.read_text(encoding="utf-8")


def _queries(value):
    f = pd.DataFrame(
        [
            {
                "KIND": "SCHEMA",
                "SEVERITY": "ERROR",
                "SITEID": "101",
                "SUBJID": "101-0001",
                "FORM": "AE",
                "RECID": "AE1",
                "COLUMN": "AETERM",
                "RULE": "required",
                "VALUE": value,
                "MESSAGE": "bad",
                "SRC_EXPORT": "E1",
                "SRC_FILE": "f",
                "SRC_LINE": 2,
            }
        ]
    )
    return merge_query_history(derive_current_queries({"ingest": f}), None, "2026-05-01T00:00:00Z")


def test_site_listing_files_show_the_formula_as_text(tmp_path):
    listing = derive_site_listing(_queries("=cmd|' /C calc'!A0"), "101")
    assert listing["VALUE"].tolist() == ["'=cmd|' /C calc'!A0"]
    assert derive_site_listing(_queries("x"), "102").empty
    write_csv(listing, tmp_path / "q.csv")
    text = (tmp_path / "q.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and ",=cmd" not in text
    write_xlsx({"Open queries": listing}, tmp_path / "q.xlsx", created=pd.Timestamp("2026-05-01"))
    ws = load_workbook(tmp_path / "q.xlsx")["Open queries"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("VALUE") + 1)
    assert cell.data_type == "s" and cell.value == "'=cmd|' /C calc'!A0"


def test_export_status_newest_complete_export_its_age_and_skipped_exports_with_reason():
    inv = pd.DataFrame(
        [
            {"SOURCE": "101", "EXPORT_ID": "20260301T020000Z", "COMPLETE": True, "REASON": ""},
            {"SOURCE": "101", "EXPORT_ID": "20260401T020000Z", "COMPLETE": True, "REASON": ""},
            {
                "SOURCE": "101",
                "EXPORT_ID": "20260420T020000Z",
                "COMPLETE": False,
                "REASON": "MANIFEST.json missing",
            },
            {
                "SOURCE": "102",
                "EXPORT_ID": "20260410T020000Z",
                "COMPLETE": False,
                "REASON": "VS.csv: SHA-256 off",
            },
        ]
    )
    out = derive_export_status(inv, "2026-05-01T02:00:00Z").set_index("SITEID")
    assert out.loc["101", "LAST_EXPORT"] == "20260401T020000Z"
    assert out.loc["101", "AGE_DAYS"] == 30  # 1 April 02:00 to 1 May 02:00
    assert out.loc["101", "EXPORTS_FOUND"] == 3 and out.loc["101", "EXPORTS_INCOMPLETE"] == 1
    assert out.loc["101", "INCOMPLETE_SKIPPED"] == "20260420T020000Z (MANIFEST.json missing)"
    assert pd.isna(out.loc["102", "LAST_EXPORT"]) and pd.isna(out.loc["102", "AGE_DAYS"])
    # One second short of a whole day does not count as a day.
    assert derive_export_status(inv, "2026-05-02T01:59:59Z").set_index("SITEID").loc["101", "AGE_DAYS"] == 30


def test_xlsx_keeps_types_and_is_byte_identical_when_written_twice(tmp_path):
    frame = pd.DataFrame(
        {
            "TEXT": pd.Series(["=1+1", "#N/A", "a & <b>", "x\ry", "", None], dtype="string"),
            "LINE": [1, 2, 3, 4, 5, 6],
            "VALUE": [1.5, float("nan"), -2.0, 0.0, 3.25, 1e-7],
            "FLAG": [True, False, True, False, True, False],
        }
    )
    created = pd.Timestamp("2026-05-01T02:00:00Z")
    write_xlsx({"Sheet": frame, "Empty": frame.iloc[:0]}, tmp_path / "a.xlsx", created=created)
    write_xlsx({"Sheet": frame, "Empty": frame.iloc[:0]}, tmp_path / "b.xlsx", created=created)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    wb = load_workbook(tmp_path / "a.xlsx")
    assert (
        wb.properties.created == wb.properties.modified == pd.Timestamp("2026-05-01T02:00:00").to_pydatetime()
    )
    rows = [[(c.value, c.data_type) for c in r] for r in wb["Sheet"].iter_rows()]
    assert [v for v, _ in rows[0]] == ["TEXT", "LINE", "VALUE", "FLAG"]
    texts = [r[0] for r in rows[1:]]
    # A formula-looking or error-code-looking text stays text; empty and missing are empty cells.
    assert texts[:4] == [("=1+1", "s"), ("#N/A", "s"), ("a & <b>", "s"), ("x\ry", "s")]
    assert texts[4][0] is None and texts[5][0] is None
    assert [r[1] for r in rows[1:3]] == [(1, "n"), (2, "n")]
    assert rows[1][2] == (1.5, "n") and rows[2][2][0] is None and rows[6][2] == (1e-7, "n")
    assert rows[1][3] == (True, "b") and rows[2][3] == (False, "b")
    assert wb["Sheet"].freeze_panes == "A2"
    assert [[c.value for c in r] for r in wb["Empty"].iter_rows()] == [["TEXT", "LINE", "VALUE", "FLAG"]]


def test_the_freshness_age_is_taken_at_the_run_date_the_file_age_at_the_data_cut():
    from assets.qa.export_status import export_age_at

    inv = pd.DataFrame(
        {
            "SOURCE": ["101", "102"],
            "EXPORT_ID": ["20260401T020000Z", "20260301T020000Z"],
            "COMPLETE": [True, True],
            "REASON": ["", ""],
        }
    )
    at_cut = derive_export_status(inv, "2026-04-01T02:00:00Z").set_index("SITEID")
    assert at_cut["AGE_DAYS"].to_dict() == {"101": 0, "102": 31}
    on_run_date = export_age_at(at_cut.reset_index(), "2026-04-11T03:00:00Z").set_index("SITEID")
    assert on_run_date["AGE_DAYS"].to_dict() == {"101": 10, "102": 41}
