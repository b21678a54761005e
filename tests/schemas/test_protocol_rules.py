"""Protocol-limit schema: boundaries of IN02, IN03 and EX03; failures are findings, not quarantine."""

import pandas as pd

import study
from schemas.protocol_rules import protocol_limit_failures, protocol_rules


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
    assert set(f["RULE"]) == {"IN03:age_within_limits", "IN03:weight_within_limits"}


def test_sledai_8_passes_7_fails_and_liver_2_x_uln_fails_1_99_passes():
    df = frame(SLEDAI=[8.0, 7.0], ALT_XULN=[1.99, 2.0], AST_XULN=[2.0, 1.99])
    f = protocol_limit_failures(df)
    assert sorted(zip(f["USUBJID"], f["IETESTCD"], f["COLUMN"], f["RULE"], f["VALUE"])) == [
        ("S0", "EX03", "AST_XULN", "EX03:ast_below_liver_limit", "2.0"),
        ("S1", "EX03", "ALT_XULN", "EX03:alt_below_liver_limit", "2.0"),
        ("S1", "IN02", "SLEDAI", "IN02:sledai_at_least_minimum", "7.0"),
    ]


def test_missing_values_are_not_limit_failures():
    df = frame(WEIGHT=[None], SLEDAI=[None], AGE=[None], ALT_XULN=[None], AST_XULN=[None])
    assert protocol_limit_failures(df).empty


def test_rule_names_are_data_and_name_no_limit_value():
    rules = protocol_rules()
    limits = study.protocol_limits()
    assert rules["COLUMN"].tolist() == ["AGE", "WEIGHT", "SLEDAI", "ALT_XULN", "AST_XULN"]
    assert (rules["RULE"].str.split(":").str[0] == rules["IETESTCD"]).all()
    assert not rules["RULE"].str.split(":").str[1].str.contains(r"\d", regex=True).any()
    for col in ("LOWER_LIMIT", "UPPER_LIMIT"):
        assert set(rules[col]) - {""} <= set(limits)
