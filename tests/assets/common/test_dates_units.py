"""Shared pieces: CDASH dates, study day, age, unit conversion (known answers at the boundaries)."""

import math

import pandas as pd
import pytest

from assets.common.dates import (
    age_in_years,
    date_plausibility,
    export_cut_date,
    impute_birth_date,
    iso_bounds,
    iso_bounds_text,
    parse_cdash_dates,
    study_day,
)
from assets.common.units import convert_to_standard, format_number, parse_integer, parse_number, parse_result


@pytest.mark.parametrize(
    "text, iso, valid",
    [
        ("07-MAR-2026", "2026-03-07", True),
        ("UN-MAR-2026", "2026-03", True),
        ("UN-UNK-2019", "2019", True),
        ("29-FEB-2024", "2024-02-29", True),
        ("29-FEB-2025", None, False),
        ("31-FEB-2026", None, False),
        ("31-APR-2026", None, False),
        ("07-UNK-2019", None, False),  # a known day with an unknown month is not a CDASH date
        ("2026-03-07", None, False),
        ("7/3/2026", None, False),
        ("07-Mar-2026", None, False),  # month must be upper case
        ("", None, True),  # empty is missing, not invalid
        ("01-JAN-0001", "0001-01-01", True),  # exists; implausible (date_plausibility)
        ("29-FEB-1900", None, False),  # 1900 is not a leap year
        ("29-FEB-2000", "2000-02-29", True),
        ("00-JAN-2020", None, False),
        ("\uff10\uff17-MAR-2026", None, False),  # full-width digits
        ("UN-UNK-\u0662\u0660\u0662\u0666", None, False),  # Arabic-Indic digits
    ],
)
def test_cdash_dates_keep_the_precision_delivered(text, iso, valid):
    parsed = parse_cdash_dates(pd.Series([text]))
    got = parsed.loc[0, "iso"]
    assert (None if pd.isna(got) else got) == iso
    assert bool(parsed.loc[0, "valid"]) is valid


def test_study_day_has_no_day_zero_and_partial_dates_get_none():
    first_dose = pd.Series(pd.to_datetime(["2026-03-10"] * 4))
    days = study_day(pd.Series(["2026-03-09", "2026-03-10", "2026-03-11", "2026-03"]), first_dose)
    assert days.tolist()[:3] == [-1, 1, 2]
    assert pd.isna(days.iloc[3])


def test_age_uses_the_15th_for_a_day_unknown_birth_date_and_1_july_without_month():
    birth = impute_birth_date(pd.Series(["1950-03", "1950-03", "1951"]))
    consent = pd.to_datetime(pd.Series(["2026-03-14", "2026-03-15", "2026-06-30"]))
    assert age_in_years(birth, consent).tolist() == [75, 76, 74]


def test_iso_bounds_of_partial_dates():
    b = iso_bounds(pd.Series(["2024-02", "2019", "2020-05-05"]))
    assert b["lo"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-01", "2019-01-01", "2020-05-05"]
    assert b["hi"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-29", "2019-12-31", "2020-05-05"]


@pytest.mark.parametrize(
    "domain, test, unit, value, expected, std_unit",
    [
        ("VS", "WEIGHT", "LB", 176.4, 80.01369406800001, "kg"),
        ("VS", "WEIGHT", "kg", 80.0, 80.0, "kg"),
        ("VS", "HEIGHT", "in", 65.0, 165.1, "cm"),
        ("VS", "TEMP", "F", 98.6, 37.0, "C"),
        ("LB", "ALT", "ukat/L", 0.7, 42.0, "U/L"),
        ("LB", "CREAT", "mg/dL", 1.0, 88.42, "umol/L"),
        ("LB", "HGB", "g/dL", 12.5, 125.0, "g/L"),
        ("LB", "C3", "mg/dL", 90.0, 0.9, "g/L"),
        ("LB", "PROT24", "mg/24h", 500.0, 0.5, "g/24h"),
        ("LB", "PLAT", "10^3/uL", 150.0, 150.0, "10^9/L"),
    ],
)
def test_units_convert_to_the_contract_standard(domain, test, unit, value, expected, std_unit):
    conv = convert_to_standard(pd.Series([test]), pd.Series([unit]), pd.Series([value]), domain)
    assert math.isclose(conv.loc[0, "std_value"], expected, rel_tol=1e-9)
    assert conv.loc[0, "std_unit"] == std_unit
    assert bool(conv.loc[0, "unit_known"])


def test_unknown_unit_is_flagged_not_guessed():
    conv = convert_to_standard(pd.Series(["ALT"]), pd.Series(["mmol/L"]), pd.Series([30.0]), "LB")
    assert not conv.loc[0, "unit_known"]
    assert math.isnan(conv.loc[0, "std_value"])


def test_lab_results_keep_their_qualifier():
    r = parse_result(pd.Series(["<5", "37", "0.82", "POSITIVE", ">=10", "abc"]))
    assert r["qualifier"].fillna("").tolist() == ["<", "", "", "", ">=", ""]
    assert r["value"].tolist()[:3] == [5.0, 37.0, 0.82]
    assert r["word"].fillna("").tolist()[3] == "POSITIVE"


def test_numbers_and_their_text():
    n = parse_number(pd.Series(["80.5", "8O.5", "", "-1", ".5"]))
    assert n["ok"].tolist() == [True, False, True, True, True]
    assert format_number(pd.Series([80.0, 0.4535923, 1234.5])).tolist() == ["80", "0.453592", "1234.5"]


@pytest.mark.parametrize(
    "text, ok, value",
    [
        ("80.5", True, 80.5),
        ("-1.5", True, -1.5),
        ("0.82", True, 0.82),
        ("\uff18\uff10", False, None),  # full-width 80
        ("\u0667\u0665", False, None),  # Arabic-Indic 75
        ("1e2", False, None),
        ("1E2", False, None),
        ("inf", False, None),
        ("-Infinity", False, None),
        ("NaN", False, None),
        ("80,5", False, None),
        ("+80", False, None),
        ("1" * 400, False, None),  # too large for a 64-bit float: never infinite
        ("1" + "0" * 308, True, 1e308),
        ("", True, None),
    ],
)
def test_numbers_are_ascii_decimal_text_a_float_holds(text, ok, value):
    n = parse_number(pd.Series([text], dtype="string"))
    assert bool(n["ok"].iloc[0]) is ok
    assert (math.isnan(n["value"].iloc[0]) and value is None) or n["value"].iloc[0] == value


def test_whole_numbers_and_lab_results_are_ascii_and_finite():
    i = parse_integer(pd.Series(["3", "03", "-3", "3.0", "\u0663", "9" * 400]))
    assert i["ok"].tolist() == [True, True, False, False, False, False]
    r = parse_result(pd.Series(["<5", "<\uff15", "9" * 400, ">1e3", "POSITIVE"]))
    assert r["value"].tolist()[0] == 5.0 and r["value"].iloc[1:].isna().all()
    assert r["number_ok"].tolist() == [True, True, False, True, True]  # in form but infinite: not ok
    assert r["word"].fillna("").tolist() == ["", "<\uff15", "", ">1E3", "POSITIVE"]


def test_a_conversion_that_overflows_is_infinite_and_quiet():
    conv = convert_to_standard(pd.Series(["ALT"]), pd.Series(["ukat/L"]), pd.Series([1e308]), "LB")
    assert math.isinf(conv.loc[0, "std_value"])  # outside every plausible range: quarantined


def test_the_data_cut_of_an_export_id_and_bounds_as_text():
    cut = export_cut_date(pd.Series(["20260301T020000Z", "2026-03-01", None]))
    assert cut.iloc[0] == "2026-03-01" and cut.iloc[1:].isna().all()
    b = iso_bounds_text(pd.Series(["2024-02", "1900-02", "2019", "0001-01-01", "9999", None]))
    assert b["lo"].tolist()[:5] == ["2024-02-01", "1900-02-01", "2019-01-01", "0001-01-01", "9999-01-01"]
    assert b["hi"].tolist()[:5] == ["2024-02-29", "1900-02-28", "2019-12-31", "0001-01-01", "9999-12-31"]
    assert b.iloc[5].isna().all()


def test_dates_before_1900_or_after_the_cut_are_implausible_the_cut_day_is_not():
    iso = pd.Series(
        [
            "0001",
            "1899-12-31",
            "1900-01-01",
            "2026-03-01",
            "2026-03-02",
            "2026-03",
            "2026-04",
            "9999-12-31",
            None,
        ]
    )
    p = date_plausibility(iso, pd.Series(["2026-03-01"] * len(iso)))
    assert p["from_1900"].tolist() == [False, False, True, True, True, True, True, True, True]
    assert p["by_cut"].tolist() == [True, True, True, True, False, True, False, False, True]
    assert date_plausibility(iso, None)["by_cut"].all()
