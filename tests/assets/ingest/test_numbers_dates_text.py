"""site-export.md (File format, v2): number form, plausible ranges of every numeric column, implausible
dates against the data cut, control characters in text; each failure is a quarantine row naming the
form, the column, the file line and the rule, and every row is counted once."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from assets.ingest.harmonize import harmonize_form
from assets.ingest.validate import split_valid_and_quarantine
from schemas.raw_forms import raw_form_schema
from study import facts

EXPORT = "20260315T020000Z"  # the data cut: 2026-03-15


def _form(form: str, rows: list[dict], export: str = EXPORT) -> pd.DataFrame:
    """A form as read: every column as text (empty = missing), lineage, line 2 onwards."""
    base = {c: "" for c in study.required_columns(form)}
    base.update(STUDYID=study.studyid(), SITEID="101", SUBJID="101-0001")
    df = pd.DataFrame([{**base, "RECID": f"R{i}", **row} for i, row in enumerate(rows)], dtype="string")
    df = df.replace("", pd.NA)
    df["SRC_SITE"] = "101"
    df["SRC_EXPORT"] = export
    df["SRC_FILE"] = f"sites/101/{export}/{form}.csv"
    df["SRC_LINE"] = pd.array(range(2, len(df) + 2), dtype="Int64")
    return df


def _validate(form: str, rows: list[dict], export: str = EXPORT) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = _form(form, rows, export)
    valid, quarantine = split_valid_and_quarantine(harmonize_form(df, form), form, "101")
    # row accounting: every row is either valid or quarantined, once
    assert len(valid) + quarantine["SRC_LINE"].nunique() == len(df)
    return valid, quarantine


def _failures(quarantine: pd.DataFrame) -> set[tuple[int, str, str, str]]:
    return {(int(r.SRC_LINE), r.FORM, r.COLUMN, r.RULE) for r in quarantine.itertuples()}


def _cm(dose: str, unit: str = "mg") -> dict:
    return dict(CMTRT="Prednisone", CMDECOD="PREDNISONE", CMDOSE=dose, CMDOSU=unit, CMSTDAT="01-JAN-2026")


def _vs(value: str, test: str = "WEIGHT", unit: str = "kg", date: str = "07-MAR-2026") -> dict:
    return dict(VISIT="SCREENING", VSDAT=date, VSTESTCD=test, VSORRES=value, VSORRESU=unit)


def _lb(value: str, lo: str = "7", hi: str = "40") -> dict:
    return dict(
        VISIT="SCREENING",
        LBDAT="07-MAR-2026",
        LBTESTCD="ALT",
        LBORRES=value,
        LBORRESU="U/L",
        LBORNRLO=lo,
        LBORNRHI=hi,
    )


# --- item 4: numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "\uff18\uff10",  # full-width 80
        "\u0667\u0665",  # Arabic-Indic 75
        "1" * 400,  # parses to infinity
        "1e2",
        "inf",
        "NaN",
        "80,5",
        "+80",
    ],
)
def test_a_number_not_in_the_contracts_form_is_quarantined_never_missing(text):
    valid, q = _validate("VS", [_vs("70"), _vs(text)])
    assert _failures(q) == {(3, "VS", "VSORRES", "number_form")}
    assert q["VALUE"].tolist() == [text]
    assert valid["VSSTRESN"].tolist() == [70.0]


def test_a_400_digit_dose_is_quarantined_and_no_parsed_number_is_infinite():
    valid, q = _validate("CM", [_cm("10"), _cm("9" * 400)])
    assert _failures(q) == {(3, "CM", "CMDOSE", "number_form")}
    assert valid["CMDOSEN"].tolist() == [10.0]
    harmonized = harmonize_form(_form("CM", [_cm("9" * 400)]), "CM")
    assert harmonized["CMDOSEN"].isna().all()


@pytest.mark.parametrize(
    "dose, unit, ok",
    [
        ("1000", "mg", True),
        ("20000", "mg", True),
        ("20001", "mg", False),
        ("1e100", "mg", False),  # not a number at all: number_form, below
        ("150", "g", True),
        ("250", "g", False),
        ("10", "mg/kg", True),
        ("5000", "mg/kg", False),
        ("-1", "mg", False),
        ("30000", "", False),  # no unit: the widest range
    ],
)
def test_doses_have_plausible_ranges_by_unit(dose, unit, ok):
    _, q = _validate("CM", [_cm(dose, unit)])
    rules = {r for _, _, _, r in _failures(q)}
    if ok:
        assert rules == set()
    else:
        assert rules in ({"plausible_range"}, {"number_form"})
        assert set(q["COLUMN"]) == {"CMDOSE"}


def test_a_huge_value_in_range_units_is_out_of_range_not_infinite():
    # 1e308 (309 digits) holds in a float; in ukat/L x 60 it would be infinite: out of range
    row = _lb("1" + "0" * 308) | dict(LBORRESU="ukat/L", LBORNRLO="0.1", LBORNRHI="0.7")
    valid, q = _validate("LB", [row])
    assert _failures(q) == {(2, "LB", "LBORRES", "plausible_range")}
    assert valid.empty


@pytest.mark.parametrize(
    "result, rule",
    [("<\uff15", "lab_result_form"), ("9" * 400, "lab_result_form"), (">1e3", "lab_result_form")],
)
def test_lab_results_need_ascii_finite_numbers(result, rule):
    _, q = _validate("LB", [_lb("30"), _lb(result)])
    assert _failures(q) == {(3, "LB", "LBORRES", rule)}


@pytest.mark.parametrize(
    "lo, hi, column",
    [("-5", "40", "LBORNRLO"), ("7", "1" + "0" * 300, "LBORNRHI"), ("7", "6000", "LBORNRHI")],
)
def test_lab_reference_limits_have_a_plausible_range(lo, hi, column):
    _, q = _validate("LB", [_lb("30", lo, hi)])
    assert _failures(q) == {(2, "LB", column, "plausible_range")}


def test_whole_numbers_are_ascii_digits():
    row = {c: "N" for c in study.sledai_weights()} | dict(VISIT="SCREENING", SLDAT="07-MAR-2026")
    _, q = _validate(
        "SLEDAI", [row | dict(SLTOTAL="\uff14"), row | dict(SLTOTAL="4"), row | dict(SLTOTAL="106")]
    )
    assert _failures(q) == {
        (2, "SLEDAI", "SLTOTAL", "integer_form"),
        (4, "SLEDAI", "SLTOTAL", "plausible_range"),
    }


def test_every_numeric_column_of_every_form_has_a_plausible_range_rule():
    forms = study.form_columns()
    numeric = forms[forms["TYPE"].isin(["NUMBER", "INTEGER", "LABRESULT"])]
    assert len(numeric) >= 8
    for row in numeric.itertuples():
        names = {check.name for check in raw_form_schema(str(row.FORM)).checks}
        assert f"{row.COLUMN}:plausible_range" in names, (row.FORM, row.COLUMN)
    ranges = facts.plausible_ranges()
    assert set(ranges.loc[ranges["FORM"] == "CM", "BY_VALUE"]) == set(study.valueset("CMDOSU")) | {""}


# --- item 5: dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "date, rule",
    [
        ("01-JAN-0001", "date_from_1900"),
        ("UN-UNK-1899", "date_from_1900"),
        ("31-DEC-1899", "date_from_1900"),
        ("16-MAR-2026", "date_by_data_cut"),
        ("UN-APR-2026", "date_by_data_cut"),
        ("UN-UNK-2027", "date_by_data_cut"),
        ("31-DEC-9999", "date_by_data_cut"),
        ("\uff10\uff17-MAR-2026", "cdash_date_form"),
    ],
)
def test_an_implausible_date_is_quarantined(date, rule):
    _, q = _validate("VS", [_vs("70"), _vs("70", date=date)])
    assert _failures(q) == {(3, "VS", "VSDAT", rule)}


@pytest.mark.parametrize("date", ["01-JAN-1900", "15-MAR-2026", "UN-MAR-2026", "UN-UNK-2026"])
def test_the_day_of_the_data_cut_and_1900_are_plausible(date):
    valid, q = _validate("VS", [_vs("70", date=date)])
    assert q.empty and len(valid) == 1


def test_an_ae_ending_9999_is_quarantined_on_its_end_date():
    ae = dict(AETERM="Headache", AESTDAT="01-MAR-2026")
    _, q = _validate("AE", [ae, ae | dict(AEENDAT="31-DEC-9999")])
    assert _failures(q) == {(3, "AE", "AEENDAT", "date_by_data_cut")}


def test_the_cut_is_the_rows_own_export():
    df = pd.concat(
        [_form("VS", [_vs("70")], "20260301T020000Z"), _form("VS", [_vs("70")], "20260315T020000Z")]
    )
    valid, q = split_valid_and_quarantine(harmonize_form(df.reset_index(drop=True), "VS"), "VS", "101")
    assert q["SRC_EXPORT"].tolist() == ["20260301T020000Z"] and q["RULE"].tolist() == ["date_by_data_cut"]
    assert valid["SRC_EXPORT"].tolist() == ["20260315T020000Z"]


@pytest.mark.parametrize(
    "birth, consent, ok",
    [
        ("01-JAN-1980", "01-MAR-2026", True),
        ("01-MAR-2026", "01-MAR-2026", False),  # not before
        ("02-MAR-2026", "01-MAR-2026", False),
        ("UN-UNK-2026", "01-MAR-2026", True),  # can be before, at the precision delivered
        ("UN-MAR-2026", "01-MAR-2026", False),
        ("15-JUN-1990", "UN-JUN-1990", True),
    ],
)
def test_birth_before_consent_at_the_precision_delivered(birth, consent, ok):
    dm = dict(BRTHDAT=birth, SEX="F", ICDAT=consent)
    _, q = _validate("DM", [dm])
    assert _failures(q) == (set() if ok else {(2, "DM", "BRTHDAT", "birth_before_consent")})


def test_birth_year_0001_is_implausible():
    _, q = _validate("DM", [dict(BRTHDAT="01-JAN-0001", SEX="F", ICDAT="01-MAR-2026")])
    assert _failures(q) == {(2, "DM", "BRTHDAT", "date_from_1900")}


# --- item 11: text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Head\x00ache", "Head\x1bache", "Head\x7fache", "Head\x85ache", "\x0cHeadache"]
)
def test_control_characters_in_text_are_quarantined(text):
    ae = dict(AETERM="Headache", AESTDAT="01-MAR-2026")
    valid, q = _validate("AE", [ae, ae | dict(AETERM=text)])
    assert _failures(q) == {(3, "AE", "AETERM", "text_characters")}
    assert q["VALUE"].tolist() == [text] and valid["AETERM"].tolist() == ["Headache"]


@pytest.mark.parametrize(
    "text", ["头痛", "Kopf\tschmerz", "line one\r\nline two", "Sj\u00f6gren\u2019s", "a\nb"]
)
def test_unicode_text_tab_cr_and_lf_arrive_unchanged(text):
    ae = dict(AETERM=text, AESTDAT="01-MAR-2026")
    valid, q = _validate("AE", [ae])
    assert q.empty and valid["AETERM"].tolist() == [text]


def test_a_control_character_in_recid_is_quarantined():
    _, q = _validate("VS", [_vs("70") | dict(RECID="V\x001")])
    assert _failures(q) == {(2, "VS", "RECID", "text_characters")}


# --- through the files: reading, lineage, row accounting ---------------------------------------


def test_files_with_every_new_fault_quarantine_each_row_once(tmp_path):
    from assets.ingest.discovery import discover_exports
    from assets.ingest.site_ingest import ingest_source
    from tests.exports import write_export

    common = dict(SUBJID="101-0001")
    vs = [
        common | dict(RECID="V1") | _vs("70"),
        common | dict(RECID="V2") | _vs("\uff18\uff10"),
        common | dict(RECID="V3") | _vs("\uff18\uff10", date="31-DEC-9999"),  # two rules, one row
    ]
    ae = [
        common | dict(RECID="A1", AETERM="Head\x00ache", AESTDAT="01-MAR-2026"),
        common | dict(RECID="A2", AETERM="头痛\r\nsevere", AESTDAT="01-MAR-2026"),
    ]
    write_export(tmp_path, "101", EXPORT, {"VS": vs, "AE": ae})
    result = ingest_source("101", discover_exports(tmp_path), tmp_path)
    got = {(r.FORM, r.RECID, int(r.SRC_LINE), r.COLUMN, r.RULE) for r in result.quarantine.itertuples()}
    assert got == {
        ("VS", "V2", 3, "VSORRES", "number_form"),
        ("VS", "V3", 4, "VSORRES", "number_form"),
        ("VS", "V3", 4, "VSDAT", "date_by_data_cut"),
        ("AE", "A1", 2, "AETERM", "text_characters"),
    }
    assert set(result.quarantine["SRC_FILE"]) == {f"sites/101/{EXPORT}/VS.csv", f"sites/101/{EXPORT}/AE.csv"}
    acc = result.accounting.set_index("FORM")
    assert acc.loc["VS", ["ROWS_READ", "ROWS_PASSED", "ROWS_QUARANTINED"]].tolist() == [3, 1, 2]
    assert acc.loc["AE", ["ROWS_READ", "ROWS_PASSED", "ROWS_QUARANTINED"]].tolist() == [2, 1, 1]
    assert result.forms["AE"]["AETERM"].tolist() == ["头痛\r\nsevere"]  # arrives unchanged
    assert result.quarantine.set_index("RECID").loc["A1", "VALUE"] == "Head\x00ache"
