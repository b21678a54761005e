"""Ingest: every bad-input kind of the contract, lineage, and row accounting (hand-built exports)."""

import pandas as pd
import pytest

from assets.ingest.discovery import discover_exports, inventory_frame, verify_export
from assets.ingest.reading import read_form
from assets.ingest.site_ingest import ingest_source
from tests.exports import csv_bytes, form_header, write_export

OLD, NEW, NEWER = "20260315T020000Z", "20260401T020000Z", "20260501T020000Z"
SUBJ = "101-0001"


def vs_row(recid, **kw):
    row = dict(
        SUBJID=SUBJ,
        RECID=recid,
        VISIT="SCREENING",
        VSDAT="07-MAR-2026",
        VSTESTCD="WEIGHT",
        VSORRES="70.0",
        VSORRESU="kg",
    )
    return {**row, **kw}


def lb_row(recid, **kw):
    row = dict(
        SUBJID=SUBJ,
        RECID=recid,
        VISIT="SCREENING",
        LBDAT="07-MAR-2026",
        LBTESTCD="ALT",
        LBORRES="30",
        LBORRESU="U/L",
        LBORNRLO="7",
        LBORNRHI="40",
    )
    return {**row, **kw}


def ingest(landing, site="101"):
    return ingest_source(site, discover_exports(landing), landing)


def quarantined(result):
    return {(r.RECID, r.COLUMN, r.RULE) for r in result.quarantine.itertuples()}


# --- exports: complete or not ---------------------------------------------------------------


@pytest.mark.parametrize(
    "breakage, reason_part",
    [
        ({"write_manifest": False}, "MANIFEST.json missing"),
        ({"manifest_override": {"PGA.csv": {"sha256": "0" * 64}}}, "SHA-256"),
        ({"manifest_override": {"VS.csv": {"rows": 99}}}, "manifest says 99"),
        (
            {"manifest_override": {"NOTES.csv": {"sha256": "0" * 64, "rows": 1}}},
            "NOTES.csv: listed in MANIFEST.json but missing",
        ),
    ],
)
def test_incomplete_newer_export_is_skipped_and_the_older_stays_in_force(tmp_path, breakage, reason_part):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    write_export(tmp_path, "101", NEW, {"VS": [vs_row("VS1"), vs_row("VS2")]}, **breakage)
    checks = discover_exports(tmp_path)
    newest = [c for c in checks if c.export_id == NEW][0]
    assert not newest.complete and reason_part in newest.reason
    result = ingest(tmp_path)
    assert result.export_id == OLD
    assert result.forms["VS"]["RECID"].tolist() == ["VS1"]
    inv = inventory_frame(checks).set_index("EXPORT_ID")
    assert bool(inv.loc[OLD, "IN_FORCE"]) and not bool(inv.loc[NEW, "IN_FORCE"])


def test_export_still_arriving_is_incomplete_until_its_files_are_there(tmp_path):
    folder = write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    data = (folder / "LB.csv").read_bytes()
    (folder / "LB.csv").unlink()
    assert not verify_export(folder, "101").complete
    (folder / "LB.csv").write_bytes(data)
    assert verify_export(folder, "101").complete


# --- whole forms rejected --------------------------------------------------------------------


def test_invalid_utf8_form_is_rejected_and_the_earlier_form_stays_in_force(tmp_path):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    bad = csv_bytes([vs_row("VS1", STUDYID="LDIL2SLE", SITEID="101")], form_header("VS")).replace(
        b"kg", b"k\xff"
    )
    write_export(tmp_path, "101", NEW, {"VS": [vs_row("VS1"), vs_row("VS2")]}, raw_files={"VS.csv": bad})
    result = ingest(tmp_path)
    assert result.forms["VS"]["SRC_EXPORT"].unique().tolist() == [OLD]
    rej = result.rejections.iloc[0]
    assert (rej.FORM, rej.SRC_EXPORT, rej.SRC_LINE, rej.FALLBACK_EXPORT) == ("VS", NEW, 2, OLD)
    assert "not valid UTF-8" in rej.REASON
    # The other forms of the newer export are in force.
    assert result.accounting.set_index("FORM").loc["LB", "SRC_EXPORT"] == NEW


def test_missing_required_column_rejects_the_form(tmp_path):
    cols = [c for c in form_header("LB") if c != "LBORRESU"]
    raw = csv_bytes([lb_row("LB1", STUDYID="LDIL2SLE", SITEID="101")], cols)
    write_export(tmp_path, "101", OLD, {"LB": [lb_row("LB1")]}, raw_files={"LB.csv": raw})
    result = ingest(tmp_path)
    assert "LB" not in result.forms
    assert "LBORRESU" in result.rejections.iloc[0]["REASON"]
    assert result.rejections.iloc[0]["FALLBACK_EXPORT"] == ""


# --- file format ---------------------------------------------------------------------------


def test_bom_crlf_shuffled_columns_and_quoted_newlines_keep_true_line_numbers(tmp_path):
    cols = list(reversed(form_header("AE")))
    rows = [
        dict(
            STUDYID="LDIL2SLE",
            SITEID="101",
            SUBJID=SUBJ,
            RECID="AE1",
            AETERM="HEADACHE, MILD",
            AESTDAT="10-MAR-2026",
        ),
        dict(
            STUDYID="LDIL2SLE",
            SITEID="101",
            SUBJID=SUBJ,
            RECID="AE2",
            AETERM='RASH "FACE"\nAND NECK',
            AESTDAT="11-MAR-2026",
        ),
        dict(
            STUDYID="LDIL2SLE", SITEID="101", SUBJID=SUBJ, RECID="AE3", AETERM="NAUSEA", AESTDAT="31-FEB-2026"
        ),
    ]
    folder = write_export(
        tmp_path, "101", OLD, {}, raw_files={"AE.csv": csv_bytes(rows, cols, bom=True, crlf=True)}
    )
    read = read_form(folder / "AE.csv", "AE", OLD)
    assert read.frame["SRC_LINE"].tolist() == [2, 3, 5]
    assert read.frame["AETERM"].tolist()[1] == 'RASH "FACE"\nAND NECK'
    assert read.frame.columns[0] == "STUDYID"  # BOM stripped from the first name
    result = ingest(tmp_path)
    q = result.quarantine.iloc[0]
    assert (q.RECID, q.SRC_LINE, q.COLUMN, q.RULE, q.VALUE) == (
        "AE3",
        5,
        "AESTDAT",
        "date_exists",
        "31-FEB-2026",
    )


def test_unexpected_column_is_reported_and_not_used(tmp_path):
    cols = form_header("VS") + ["COMMENT"]
    raw = csv_bytes([vs_row("VS1", STUDYID="LDIL2SLE", SITEID="101", COMMENT="=HYPERLINK()")], cols)
    write_export(tmp_path, "101", OLD, {}, raw_files={"VS.csv": raw})
    result = ingest(tmp_path)
    assert "COMMENT" not in result.forms["VS"].columns
    assert result.quarantine.empty
    assert result.unexpected[["FORM", "COLUMN", "VALUES_PRESENT"]].values.tolist() == [["VS", "COMMENT", 1]]


# --- rows quarantined ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, column, rule",
    [
        (vs_row("V", VSORRES="8O.5"), "VSORRES", "number_form"),
        (vs_row("V", VSORRES="800"), "VSORRES", "plausible_range"),
        (vs_row("V", VSORRES="19.9"), "VSORRES", "plausible_range"),
        (vs_row("V", VSORRES="661.4", VSORRESU="LB"), "VSORRES", "plausible_range"),  # 300.002 kg
        (vs_row("V", VISIT="WEEK 3"), "VISIT", "value_set"),
        (vs_row("V", VSDAT="2026-03-07"), "VSDAT", "cdash_date_form"),
        (vs_row("V", VSDAT="31-FEB-2026"), "VSDAT", "date_exists"),
        (vs_row("V", VSDAT=""), "VSDAT", "required"),
        (vs_row("V", VSORRESU="stone"), "VSORRESU", "unit_known_for_test"),
        (vs_row("V", SUBJID="102-0001"), "SUBJID", "subject_id_form"),
        (vs_row("V", STUDYID="OTHER"), "STUDYID", "study_id"),
    ],
)
def test_each_vs_rule_quarantines_the_row_with_file_line_column_rule_value(tmp_path, row, column, rule):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("OK1"), row]})
    result = ingest(tmp_path)
    q = result.quarantine
    assert set(zip(q["COLUMN"], q["RULE"], strict=True)) == {(column, rule)}
    assert q["SRC_LINE"].tolist() == [3] and q["SRC_FILE"].tolist() == [f"sites/101/{OLD}/VS.csv"]
    assert result.forms["VS"]["RECID"].tolist() == ["OK1"]


@pytest.mark.parametrize(
    "row, column, rule",
    [
        (lb_row("L", LBORRES="MAYBE"), "LBORRES", "lab_result_form"),
        (lb_row("L", LBORRESU="mmol/L"), "LBORRESU", "unit_known_for_test"),
        (lb_row("L", LBORRESU=""), "LBORRESU", "unit_known_for_test"),
        (lb_row("L", LBTESTCD="HGB", LBORRES="900", LBORRESU="g/L"), "LBORRES", "plausible_range"),
        (
            lb_row("L", LBTESTCD="HCG", LBORRES="POSITIVE", LBORRESU="IU/L", LBORNRLO="", LBORNRHI=""),
            "LBORRESU",
            "unit_known_for_test",
        ),
        (lb_row("L", LBORNRHI="forty"), "LBORNRHI", "number_form"),
    ],
)
def test_each_lb_rule_quarantines_the_row(tmp_path, row, column, rule):
    write_export(tmp_path, "101", OLD, {"LB": [lb_row("OK1"), row]})
    result = ingest(tmp_path)
    assert quarantined(result) == {("L", column, rule)}


def test_duplicate_recid_quarantines_every_copy(tmp_path):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1"), vs_row("VS2"), vs_row("VS2", VSORRES="71")]})
    result = ingest(tmp_path)
    q = result.quarantine
    assert q["RULE"].unique().tolist() == ["unique_recid"] and q["SRC_LINE"].tolist() == [3, 4]
    assert result.forms["VS"]["RECID"].tolist() == ["VS1"]


def test_protocol_limit_values_are_true_measurements_not_quarantined(tmp_path):
    rows = [vs_row("VS1", VSORRES="82.0"), vs_row("VS2", VSORRES="44.9")]
    write_export(tmp_path, "101", OLD, {"VS": rows, "LB": [lb_row("LB1", LBORRES="100")]})
    result = ingest(tmp_path)
    assert result.quarantine.empty
    assert sorted(result.forms["VS"]["VSSTRESN"].tolist()) == [44.9, 82.0]


def test_harmonized_values_standard_units_and_qualifiers(tmp_path):
    lb = [
        lb_row("LB1", LBORRES="<5", LBORRESU="ukat/L", LBORNRLO="0.1", LBORNRHI="0.7"),
        dict(
            SUBJID=SUBJ,
            RECID="LB2",
            VISIT="SCREENING",
            LBDAT="UN-MAR-2026",
            LBTESTCD="HCG",
            LBORRES="NEGATIVE",
        ),
    ]
    write_export(tmp_path, "101", OLD, {"LB": lb, "VS": [vs_row("VS1", VSORRES="176.4", VSORRESU="LB")]})
    result = ingest(tmp_path)
    lbf = result.forms["LB"].set_index("RECID")
    assert lbf.loc["LB1", "LBSTRESC"] == "<300" and lbf.loc["LB1", "LBRESQUAL"] == "<"
    assert (lbf.loc["LB1", "LBSTNRHI"], lbf.loc["LB1", "LBSTRESU"], lbf.loc["LB1", "LBCONVF"]) == (
        42.0,
        "U/L",
        60.0,
    )
    assert lbf.loc["LB2", "LBSTRESC"] == "NEGATIVE" and lbf.loc["LB2", "LBDTC"] == "2026-03"
    vs = result.forms["VS"].iloc[0]
    assert vs["VSSTRESU"] == "kg" and abs(vs["VSSTRESN"] - 80.0137) < 1e-4 and vs["VISITNUM"] == 1
    assert vs["USUBJID"] == "LDIL2SLE-101-0001"


def test_rows_read_equal_passed_plus_quarantined_per_form(tmp_path):
    vs = [vs_row("VS1"), vs_row("VS2", VSORRES="bad"), vs_row("VS3", VISIT="X", VSDAT="1/1/2026")]
    write_export(tmp_path, "101", OLD, {"VS": vs, "LB": [lb_row("LB1"), lb_row("LB1")]})
    acc = ingest(tmp_path).accounting.set_index("FORM")
    assert acc.loc["VS", ["ROWS_READ", "ROWS_PASSED", "ROWS_QUARANTINED"]].tolist() == [3, 1, 2]
    assert acc.loc["LB", ["ROWS_READ", "ROWS_PASSED", "ROWS_QUARANTINED"]].tolist() == [2, 0, 2]
    assert acc["BALANCED"].all()
    assert len(acc) == 13


def test_iwrs_export_is_ingested_with_its_own_schema(tmp_path):
    rand = [
        dict(SUBJID=SUBJ, SITEID="101", RANDNO="R001", RANDDAT="09-MAR-2026", STRATUM="SLEDAI>=10"),
        dict(SUBJID="101-0002", SITEID="101", RANDNO="R002", RANDDAT="09-MAR-2026", STRATUM="HIGH"),
    ]
    write_export(tmp_path, "IWRS", OLD, {"RAND": rand})
    result = ingest_source("IWRS", discover_exports(tmp_path), tmp_path)
    assert result.forms["RAND"]["RANDNO"].tolist() == ["R001"]
    assert result.forms["RAND"]["RANDDTC"].tolist() == ["2026-03-09"]
    assert quarantined(result) == {("R002", "STRATUM", "value_set")}
    assert isinstance(result.quarantine, pd.DataFrame)


def test_sites_validated_together_keep_recid_uniqueness_per_file(tmp_path):
    from assets.ingest.site_ingest import ingest_sources

    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1"), vs_row("VS2")]})
    other = [vs_row("VS1", SUBJID="102-0001"), vs_row("VS1", SUBJID="102-0001", VSORRES="71")]
    write_export(tmp_path, "102", OLD, {"VS": other})
    results = ingest_sources(["101", "102"], discover_exports(tmp_path), tmp_path)
    assert results["101"].quarantine.empty
    assert results["101"].forms["VS"]["RECID"].tolist() == ["VS1", "VS2"]
    q = results["102"].quarantine
    assert q["RULE"].tolist() == ["unique_recid"] * 2 and set(q["SOURCE"]) == {"102"}
    assert results["102"].forms["VS"].empty
