"""Study facts the derivations look up by meaning, each read from one file of this folder.

- ``visit_forms.csv``: the visit-based forms (site-export.md, Forms) and the harmonized date
  column of each (``VSDAT`` as sent -> ``VSDTC`` after ingest)
- ``disposition.csv``: every standardized disposition term (``DSDECOD``) with its ``DSCAT``, the
  ADSL end-of-study status it gives (``EOSSTT``; empty for a milestone) and, where a derivation
  looks a term up, its ``ROLE`` (``COMPLETION``, ``DEATH``, ``SCREEN FAILURE``, ...)
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
