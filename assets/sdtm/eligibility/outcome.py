"""The outcome of a criterion: ``FLAG`` (nullable boolean, ``<NA>`` = NOT EVALUABLE) and ``REASON``.

derivations.md, Eligibility: a derived criterion that cannot be evaluated counts against
eligibility, with the reason ``NOT EVALUABLE``. Reasons quote the numbers compared, rounded as they
were compared (:func:`rounded`), so the listing shows why a limit was or was not reached.
"""

from __future__ import annotations

import pandas as pd

from assets.common.precision import DECIMALS
from assets.common.units import format_number

NOT_EVALUABLE = "NOT EVALUABLE"


def rounded(values: pd.Series) -> pd.Series:
    """Round to :data:`DECIMALS` (float noise from unit conversion must not decide a limit)."""
    return pd.to_numeric(values, errors="coerce").astype("Float64").round(DECIMALS)


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as short text for reasons (``82``, ``80.015``), ``missing`` when missing."""
    return format_number(pd.to_numeric(values, errors="coerce").astype("float64")).fillna("missing")


def outcome(flag: pd.Series, reason: pd.Series) -> pd.DataFrame:
    """The outcome frame of a criterion, one row per subject."""
    return pd.DataFrame({"FLAG": flag.astype("boolean"), "REASON": reason.astype("string")})


def outcome_not_evaluable_when_undecided(flag: pd.Series, reason: pd.Series) -> pd.DataFrame:
    """:func:`outcome` whose reason starts ``NOT EVALUABLE:`` where the flag is NA (criteria of
    several parts: the reason names every part, known or not)."""
    return outcome(flag, reason.mask(flag.isna(), f"{NOT_EVALUABLE}: " + reason))


def choose_text(index: pd.Index, cases: list[tuple[pd.Series, pd.Series | str]], default: str) -> pd.Series:
    """Text per row: the first case whose condition holds (conditions may hold NA = False)."""
    out = pd.Series(default, index=index, dtype="string")
    for cond, text in reversed(cases):
        out = out.mask(pd.Series(cond, index=index).fillna(False).astype(bool), text)
    return out
