"""Three-valued logic of the criteria (derivations.md, Eligibility: partial dates are compared at
their precision; where that cannot decide, the criterion is NOT EVALUABLE).

Every function returns pandas' nullable boolean (Kleene logic): ``<NA>`` means "cannot decide".
Record-level answers become subject-level ones through :func:`any_by_subject` and
:func:`all_by_subject`.
"""

from __future__ import annotations

import pandas as pd

from assets.common.dates import iso_bounds
from assets.sdtm.mapping import isin_text


def date_on_or_before(a_iso: pd.Series, b_iso: pd.Series, days: int = 0) -> pd.Series:
    """Three-valued ``a <= b - days`` for ISO dates of any precision (NA when undecidable/missing)."""
    a, b = iso_bounds(a_iso), iso_bounds(b_iso.set_axis(a_iso.index))
    shift = pd.Timedelta(days=days)
    true = a["hi"] <= b["lo"] - shift
    false = a["lo"] > b["hi"] - shift
    out = pd.Series(pd.NA, index=a_iso.index, dtype="boolean")
    return out.mask(true.fillna(False), True).mask(false.fillna(False), False)


def date_on_or_after(a_iso: pd.Series, b_iso: pd.Series, days: int = 0) -> pd.Series:
    """Three-valued ``a >= b - days`` for ISO dates of any precision (NA when undecidable/missing)."""
    a, b = iso_bounds(a_iso), iso_bounds(b_iso.set_axis(a_iso.index))
    shift = pd.Timedelta(days=days)
    true = a["lo"] >= b["hi"] - shift
    false = a["hi"] < b["lo"] - shift
    out = pd.Series(pd.NA, index=a_iso.index, dtype="boolean")
    return out.mask(true.fillna(False), True).mask(false.fillna(False), False)


def ongoing_at_consent(
    start: pd.Series,
    end: pd.Series,
    ongoing: pd.Series,
    consent: pd.Series,
    ended_within_days: int = 0,
    missing_start_is_before: bool = False,
) -> pd.Series:
    """Three-valued: started on or before ``consent`` and (``ongoing = Y`` or end on or after
    ``consent - ended_within_days``). ``ended_within_days = N - 1`` encodes "ended less than N days
    before consent"; ``0`` is plain "ongoing at consent" (derivations.md, Eligibility: "ongoing at ICDAT")."""
    started = date_on_or_before(start, consent)
    if missing_start_is_before:
        started = started.mask(start.isna() & consent.notna(), True)
    still = date_on_or_after(end, consent, days=ended_within_days)
    still = still.mask(ongoing.eq("Y").fillna(False), True)
    return started & still


def any_by_subject(flag: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Subject-level Kleene OR: True if a record is True, NA if none True but one NA, else False."""
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "T": flag.eq(True).fillna(False).to_numpy(), "N": flag.isna().to_numpy()}
    )
    g = frame.groupby("U")[["T", "N"]].any().reindex(index, fill_value=False)
    out = pd.Series(False, index=index, dtype="boolean")
    return out.mask(g["N"], pd.NA).mask(g["T"], True)


def all_by_subject(flag: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Subject-level Kleene AND over records; NA for a subject without records."""
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "F": flag.eq(False).fillna(False).to_numpy(), "N": flag.isna().to_numpy()}
    )
    g = frame.groupby("U")[["F", "N"]].any()
    has = pd.Series(isin_text(index, g.index), index=index)
    g = g.reindex(index, fill_value=False)
    out = pd.Series(True, index=index, dtype="boolean")
    return out.mask(g["N"] | ~has, pd.NA).mask(g["F"], False)


def names_by_subject(names: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Distinct names per subject joined by ``, `` (in order of first appearance), '' when none:
    the records that made a subject-level answer True (or NA), for its reason."""
    # Python strings (object): joining per group then needs no conversion from Arrow per subject
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "X": names.astype("string").fillna("?").to_numpy()}, dtype=object
    )
    frame = frame.drop_duplicates()
    joined = frame.groupby("U", sort=False)["X"].agg(", ".join)
    return joined.reindex(index).fillna("").astype("string")
