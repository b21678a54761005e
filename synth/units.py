"""Units a site sends, and conversion to and from the standard unit (study/unit_conversions.csv)."""

from __future__ import annotations

from functools import cache

import study

_DOMAIN = {"LB": "LB", "VS": "VS", "FACS": "FC"}


@cache
def _conversions() -> dict[tuple[str, str, str], tuple[float, float]]:
    df = study.unit_conversions()
    return {
        (d, t, u): (a, f)
        for d, t, u, a, f in zip(df["DOMAIN"], df["TESTCD"], df["UNIT"], df["ADD_BEFORE"], df["FACTOR"])
    }


@cache
def standard_unit(form: str, testcd: str) -> str:
    """The standard unit of a test (the unit whose factor is 1 and offset 0)."""
    df = study.unit_conversions()
    row = df[(df["DOMAIN"] == _DOMAIN[form]) & (df["TESTCD"] == testcd)].iloc[0]
    return str(row["STD_UNIT"])


def accepted_units(form: str, testcd: str) -> list[str]:
    """Units the contract accepts for a test."""
    return [u for (d, t, u) in _conversions() if d == _DOMAIN[form] and t == testcd]


def site_unit(profile: dict, form: str, testcd: str) -> str:
    """The unit a site with this habit profile sends for a test."""
    unit = (profile.get("units") or {}).get(testcd)
    return unit if unit else standard_unit(form, testcd)


def to_standard(value, form: str, testcd: str, unit: str):
    """A value in ``unit`` converted to the standard unit."""
    add, factor = _conversions()[(_DOMAIN[form], testcd, unit)]
    return (value + add) * factor


def from_standard(value, form: str, testcd: str, unit: str):
    """A value in the standard unit expressed in ``unit``."""
    add, factor = _conversions()[(_DOMAIN[form], testcd, unit)]
    return value / factor - add
