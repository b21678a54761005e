"""SDTM-only study metadata (files this layer adds under ``study/``), read once and copied out.

- ``trial_design.yaml``: country, blinded labels, EX treatment names and dose unit, TE elements, TA pattern
- ``trial_summary.csv``: TS parameters; ``{key}`` in TSVAL is filled from ``study.yaml`` or, for an
  upper-case ``{LIMIT}``, from ``protocol_limits.csv`` as written there (``{AGE_MIN}`` -> ``18``)
- ``sdtm_test_codes.csv``: source test code -> SDTM test code, test name, specimen, CT code (LB, CP, RS)
- ``sdtm_value_maps.csv``: collected value -> CT submission value, per domain and variable
- ``sdtm_ct_extensions.csv``: sponsor-defined terms added to extensible CDISC codelists
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import yaml

import study
from study import STUDY_DIR


@cache
def _yaml() -> dict:
    with open(STUDY_DIR / "trial_design.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def trial_design() -> dict:
    """Trial design facts (a deep copy is not needed: callers only read scalars and lists of dicts)."""
    return dict(_yaml())


def trial_summary() -> pd.DataFrame:
    """TS parameters with ``{study.yaml key}`` and ``{protocol limit}`` placeholders filled."""
    ts = study.table("trial_summary")
    facts = {k: str(v) for k, v in study.study().items()}
    limits = study.table("protocol_limits")  # the text as written: AGE_MIN 18, not 18.0
    facts.update(zip(limits["LIMIT"], limits["VALUE"]))
    ts["TSVAL"] = [val.format(**facts) for val in ts["TSVAL"]]
    return ts


def test_codes(domain: str) -> pd.DataFrame:
    """SOURCE_TESTCD -> TESTCD, TEST, SPEC, CT_CODE, MARKERS for one SDTM domain."""
    df = study.table("sdtm_test_codes")
    return df[df["DOMAIN"] == domain].drop(columns="DOMAIN").reset_index(drop=True)


def value_map(domain: str, variable: str) -> dict[str, str]:
    df = study.table("sdtm_value_maps")
    df = df[(df["DOMAIN"] == domain) & (df["VARIABLE"] == variable)]
    return dict(zip(df["COLLECTED"], df["SUBMISSION"]))


def ct_extensions() -> pd.DataFrame:
    return study.table("sdtm_ct_extensions")
