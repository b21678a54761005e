"""pandera schemas of the protocol limits (registration criteria IN02, IN03, EX03).

These validate *true measurements*: a screening weight of 82 kg or an ALT at 2.5 x ULN is a real
value, so a failure here never quarantines a row (that is :mod:`schemas.raw_forms`); it is an
eligibility finding (site-export.md, Bad input: "value that is plausible but outside protocol
limits"). The frame validated is one row per screened subject from
:func:`assets.sdtm.eligibility.derive_screening_values`: ``AGE WEIGHT ALT_XULN AST_XULN SLEDAI``,
already rounded to 6 decimals. Missing values pass (missing data is ``NOT EVALUABLE`` in the
eligibility listing, not a limit failure). Limits come from ``study/protocol_limits.csv``.

Check names are stable rule identifiers, named by the criterion they belong to.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

import study

LIMIT_CRITERION = {"AGE": "IN03", "WEIGHT": "IN03", "SLEDAI": "IN02", "ALT_XULN": "EX03", "AST_XULN": "EX03"}
LIMIT_RULE = {
    "AGE": "IN03:age_18_to_75",
    "WEIGHT": "IN03:weight_45_to_80_kg",
    "SLEDAI": "IN02:sledai_at_least_8",
    "ALT_XULN": "EX03:alt_below_2_x_uln",
    "AST_XULN": "EX03:ast_below_2_x_uln",
}


def _limits() -> dict[str, float]:
    t = study.table("protocol_limits")
    return dict(zip(t["LIMIT"], t["VALUE"].astype(float)))


def protocol_limits_schema() -> pa.DataFrameSchema:
    """Age 18-75, weight 45-80 kg (both inclusive), SLEDAI-2K >= 8, ALT and AST < 2 x ULN."""
    lim = _limits()
    liver = lim["LIVER_MAX_XULN"]
    return pa.DataFrameSchema(
        {
            "USUBJID": pa.Column(str, nullable=False),
            "AGE": pa.Column(
                float,
                pa.Check.in_range(lim["AGE_MIN"], lim["AGE_MAX"], name="IN03:age_18_to_75"),
                nullable=True,
            ),
            "WEIGHT": pa.Column(
                float,
                pa.Check.in_range(lim["WEIGHT_MIN"], lim["WEIGHT_MAX"], name="IN03:weight_45_to_80_kg"),
                nullable=True,
            ),
            "SLEDAI": pa.Column(
                float, pa.Check.ge(lim["SLEDAI_MIN"], name="IN02:sledai_at_least_8"), nullable=True
            ),
            "ALT_XULN": pa.Column(float, pa.Check.lt(liver, name="EX03:alt_below_2_x_uln"), nullable=True),
            "AST_XULN": pa.Column(float, pa.Check.lt(liver, name="EX03:ast_below_2_x_uln"), nullable=True),
        },
        coerce=True,
        strict=False,
        name="protocol_limits",
    )


FAILURE_COLUMNS = ["USUBJID", "SUBJID", "SITEID", "IETESTCD", "COLUMN", "RULE", "VALUE"]


def protocol_limit_failures(screening_values: pd.DataFrame) -> pd.DataFrame:
    """Every value outside a protocol limit: one row per subject x column, with the rule and the
    criterion (``IETESTCD``) it makes fail. Empty when all values are within the limits."""
    df = screening_values.reset_index(drop=True)
    try:
        protocol_limits_schema().validate(df, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna() & cases["column"].isin(list(LIMIT_CRITERION))]
        idx = cases["index"].astype(int).to_numpy()
        out = pd.DataFrame(
            {
                "USUBJID": df["USUBJID"].to_numpy()[idx],
                "SUBJID": df["SUBJID"].to_numpy()[idx] if "SUBJID" in df else pd.NA,
                "SITEID": df["SITEID"].to_numpy()[idx] if "SITEID" in df else pd.NA,
                "IETESTCD": cases["column"].map(LIMIT_CRITERION).to_numpy(),
                "COLUMN": cases["column"].to_numpy(),
                "RULE": cases["column"].map(LIMIT_RULE).to_numpy(),
                "VALUE": cases["failure_case"].astype(str).to_numpy(),
            }
        )
        return out.astype("string").sort_values(["USUBJID", "COLUMN"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({c: pd.Series(dtype="string") for c in FAILURE_COLUMNS})
