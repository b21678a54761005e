"""pandera schemas of the protocol limits (registration criteria IN02, IN03, EX03).

These validate *true measurements*: a screening weight of 82 kg or an ALT at 2.5 x ULN is a real
value, so a failure here never quarantines a row (that is :mod:`schemas.raw_forms`); it is an
eligibility finding (site-export.md, Bad input: "value that is plausible but outside protocol
limits"). The frame validated is one row per screened subject from
:func:`assets.sdtm.eligibility.screening.derive_screening_values`: ``AGE WEIGHT ALT_XULN AST_XULN
SLEDAI``, already rounded to :data:`assets.common.precision.DECIMALS` decimals. Missing values pass
(missing data is ``NOT EVALUABLE`` in the eligibility listing, not a limit failure).

The rules are study data: ``study/protocol_rules.csv`` (column, criterion, rule name, check, the
limits it uses), the limits ``study/protocol_limits.csv``. Rule names are stable identifiers, named
by the criterion they belong to and what they check, never by a limit's value (a QA query id is a
hash that includes the rule: a changed limit must not re-open every query).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

import study

FAILURE_COLUMNS = ["USUBJID", "SUBJID", "SITEID", "IETESTCD", "COLUMN", "RULE", "VALUE"]


def protocol_rules() -> pd.DataFrame:
    """study/protocol_rules.csv: COLUMN, IETESTCD, RULE, CHECK (``in_range`` both ends inclusive,
    ``ge``, ``lt``), LOWER_LIMIT, UPPER_LIMIT (names in study/protocol_limits.csv, '' when unused)."""
    return study.table("protocol_rules")


def _check(rule: pd.Series, limits: dict[str, float]) -> pa.Check:
    """The pandera check of one rule of :func:`protocol_rules`, named by the rule."""
    kind, name = rule["CHECK"], rule["RULE"]
    if kind == "in_range":
        return pa.Check.in_range(limits[rule["LOWER_LIMIT"]], limits[rule["UPPER_LIMIT"]], name=name)
    if kind == "ge":
        return pa.Check.ge(limits[rule["LOWER_LIMIT"]], name=name)
    if kind == "lt":
        return pa.Check.lt(limits[rule["UPPER_LIMIT"]], name=name)
    raise ValueError(f"protocol_rules.csv: unknown CHECK {kind!r} of {name}")


def protocol_limits_schema() -> pa.DataFrameSchema:
    """One column per rule of :func:`protocol_rules` (age and weight within limits, both ends
    inclusive; SLEDAI-2K at least the minimum; ALT and AST below the liver limit in x ULN)."""
    limits = study.protocol_limits()
    columns = {
        rule["COLUMN"]: pa.Column(float, _check(rule, limits), nullable=True)
        for _, rule in protocol_rules().iterrows()
    }
    return pa.DataFrameSchema(
        {"USUBJID": pa.Column(str, nullable=False), **columns},
        coerce=True,
        strict=False,
        name="protocol_limits",
    )


def protocol_limit_failures(screening_values: pd.DataFrame) -> pd.DataFrame:
    """Every value outside a protocol limit: one row per subject x column, with the rule and the
    criterion (``IETESTCD``) it makes fail. Empty when all values are within the limits."""
    df = screening_values.reset_index(drop=True)
    rules = protocol_rules().set_index("COLUMN")
    try:
        protocol_limits_schema().validate(df, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna() & cases["column"].isin(list(rules.index))]
        idx = cases["index"].astype(int).to_numpy()
        out = pd.DataFrame(
            {
                "USUBJID": df["USUBJID"].to_numpy()[idx],
                "SUBJID": df["SUBJID"].to_numpy()[idx] if "SUBJID" in df else pd.NA,
                "SITEID": df["SITEID"].to_numpy()[idx] if "SITEID" in df else pd.NA,
                "IETESTCD": cases["column"].map(rules["IETESTCD"]).to_numpy(),
                "COLUMN": cases["column"].to_numpy(),
                "RULE": cases["column"].map(rules["RULE"]).to_numpy(),
                "VALUE": cases["failure_case"].astype(str).to_numpy(),
            }
        )
        return out.astype("string").sort_values(["USUBJID", "COLUMN"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({c: pd.Series(dtype="string") for c in FAILURE_COLUMNS})
