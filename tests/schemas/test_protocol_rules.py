"""Protocol-limit schema: boundaries of IN02, IN03 and EX03; failures are findings, not quarantine."""

import pandas as pd

from schemas.protocol_rules import protocol_limit_failures


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"USUBJID": [f"S{i}" for i in range(n)], "SUBJID": ["101-0001"] * n, "SITEID": ["101"] * n}
    defaults = {
        "AGE": [40.0] * n,
        "WEIGHT": [60.0] * n,
        "SLEDAI": [10.0] * n,
        "ALT_XULN": [0.5] * n,
        "AST_XULN": [0.5] * n,
    }
    return pd.DataFrame({**base, **defaults, **cols})


def test_limits_inclusive_where_the_protocol_says_so():
    df = frame(WEIGHT=[45.0, 80.0, 80.1, 44.9], AGE=[18.0, 75.0, 76.0, 17.0])
    f = protocol_limit_failures(df)
    assert sorted(zip(f["USUBJID"], f["COLUMN"])) == [
        ("S2", "AGE"),
        ("S2", "WEIGHT"),
        ("S3", "AGE"),
        ("S3", "WEIGHT"),
    ]
    assert set(f["IETESTCD"]) == {"IN03"}
    assert set(f["RULE"]) == {"IN03:age_18_to_75", "IN03:weight_45_to_80_kg"}


def test_sledai_8_passes_7_fails_and_liver_2_x_uln_fails_1_99_passes():
    df = frame(SLEDAI=[8.0, 7.0], ALT_XULN=[1.99, 2.0], AST_XULN=[2.0, 1.99])
    f = protocol_limit_failures(df)
    assert sorted(zip(f["USUBJID"], f["IETESTCD"], f["COLUMN"])) == [
        ("S0", "EX03", "AST_XULN"),
        ("S1", "EX03", "ALT_XULN"),
        ("S1", "IN02", "SLEDAI"),
    ]


def test_missing_values_are_not_limit_failures():
    df = frame(WEIGHT=[None], SLEDAI=[None], AGE=[None], ALT_XULN=[None], AST_XULN=[None])
    assert protocol_limit_failures(df).empty
