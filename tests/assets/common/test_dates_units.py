"""Shared pieces: CDASH dates, study day, age, unit conversion (known answers at the boundaries)."""

import math

import pandas as pd
import pytest

from assets.common.dates import age_in_years, impute_birth_date, iso_bounds, parse_cdash_dates, study_day
from assets.common.units import convert_to_standard, format_number, parse_number, parse_result


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
