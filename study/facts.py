"""Study facts the derivations look up by meaning, each read from one file of this folder.

- ``visit_forms.csv``: the visit-based forms (site-export.md, Forms) and the harmonized date
  column of each (``VSDAT`` as sent -> ``VSDTC`` after ingest)
- ``disposition.csv``: every standardized disposition term (``DSDECOD``) with its ``DSCAT``, the
  ADSL end-of-study status it gives (``EOSSTT``; empty for a milestone) and, where a derivation
  looks a term up, its ``ROLE`` (``COMPLETION``, ``DEATH``, ``SCREEN FAILURE``, ...)
- ``plausible_ranges.csv``: the physically plausible range of each numeric form column that is not
  ranged by its test (``PGASCORE``, ``SLTOTAL``, ``CMDOSE`` by ``CMDOSU``); the ranges by test are
  ``PLAUSIBLE_LO``/``PLAUSIBLE_HI`` of ``vital_signs.csv``, ``lab_tests.csv``, ``flow_cytometry.csv``
- ``study.yaml`` ``primary_endpoint_visit``: the visit of the primary endpoint (SRI-4)
"""

from __future__ import annotations

import pandas as pd

import study


def visit_forms() -> dict[str, str]:
    """Visit-based form -> its harmonized date column (``VS`` -> ``VSDTC``), in file order."""
    t = study.table("visit_forms")
    return dict(zip(t["FORM"], t["DATE_COLUMN"]))


def disposition() -> pd.DataFrame:
    """The disposition terms: DSDECOD, DSCAT, EOSSTT, ROLE (all text; empty when not applicable)."""
    return study.table("disposition")


def milestones() -> tuple[str, ...]:
    """``DSDECOD`` values that are protocol milestones (``DSCAT = PROTOCOL MILESTONE``)."""
    t = disposition()
    return tuple(t.loc[t["DSCAT"] == "PROTOCOL MILESTONE", "DSDECOD"])


def end_of_study_status() -> dict[str, str]:
    """``DSDECOD`` of a completion or discontinuation -> the ``EOSSTT`` it gives."""
    t = disposition()
    t = t[t["EOSSTT"] != ""]
    return dict(zip(t["DSDECOD"], t["EOSSTT"]))


def disposition_term(role: str) -> str:
    """The one ``DSDECOD`` of a ``ROLE`` in disposition.csv (``DEATH``, ``SCREEN FAILURE``, ...)."""
    t = disposition()
    terms = t.loc[t["ROLE"] == role, "DSDECOD"].tolist()
    if len(terms) != 1:
        raise KeyError(f"study/disposition.csv: {len(terms)} terms of role {role!r}, expected one")
    return terms[0]


def primary_endpoint_visit() -> str:
    """The visit of the primary endpoint (study.yaml ``primary_endpoint_visit``)."""
    return study.study()["primary_endpoint_visit"]


def plausible_ranges(form: str | None = None) -> pd.DataFrame:
    """Plausible ranges of form columns (plausible_ranges.csv): FORM, COLUMN, BY_COLUMN, BY_VALUE
    (the range applies to rows whose ``BY_COLUMN`` holds ``BY_VALUE``; an empty ``BY_VALUE`` is the
    range of every other row), PLAUSIBLE_LO, PLAUSIBLE_HI (float; NaN = no bound), UNIT, SOURCE."""
    t = study.table("plausible_ranges")
    for col in ("PLAUSIBLE_LO", "PLAUSIBLE_HI"):
        t[col] = pd.to_numeric(t[col].replace("", None), errors="coerce").astype("float64")
    return t if form is None else t[t["FORM"] == form].reset_index(drop=True)
