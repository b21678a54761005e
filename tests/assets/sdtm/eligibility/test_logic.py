"""Three-valued date comparisons and per-subject Kleene OR / AND on literal series."""

from __future__ import annotations

import pandas as pd

from assets.sdtm.eligibility.logic import (
    all_by_subject,
    any_by_subject,
    date_on_or_after,
    date_on_or_before,
    ongoing_at_consent,
)

IDX = pd.Index(["S1", "S2", "S3", "S4"])


def test_partial_date_comparisons_at_their_precision():
    a = pd.Series(["2026-03", "2026-02", "2026", "2026-03-01", None], dtype="string")
    b = pd.Series(["2026-03-15"] * 5, dtype="string")
    assert date_on_or_before(a, b).tolist() == [pd.NA, True, pd.NA, True, pd.NA]
    assert date_on_or_after(a, b).tolist() == [pd.NA, False, pd.NA, False, pd.NA]


def test_days_shift_the_second_date():
    a = pd.Series(["2025-12-01", "2025-12-02"], dtype="string")
    b = pd.Series(["2026-03-01"] * 2, dtype="string")
    assert date_on_or_before(a, b, days=90).tolist() == [True, False]  # 90 and 89 days before


def test_ongoing_at_consent_and_missing_start():
    start = pd.Series(["2025-01-01", None, None, "2026-03-02"], dtype="string")
    end = pd.Series([None, None, "2026-02-28", None], dtype="string")
    ongoing = pd.Series(["Y", "Y", "N", "Y"], dtype="string")
    consent = pd.Series(["2026-03-01"] * 4, dtype="string")
    assert ongoing_at_consent(start, end, ongoing, consent).tolist() == [True, pd.NA, False, False]
    got = ongoing_at_consent(start, end, ongoing, consent, missing_start_is_before=True)
    assert got.tolist() == [True, True, False, False]
    # ended the day before consent: "ended less than 2 days before" holds
    got = ongoing_at_consent(start, end, ongoing, consent, ended_within_days=1, missing_start_is_before=True)
    assert got.tolist()[2] is True


def test_subject_level_kleene_or_and_and():
    flag = pd.Series(pd.array([True, pd.NA, False, pd.NA, False], dtype="boolean"))
    usubjid = pd.Series(["S1", "S1", "S2", "S2", "S3"])
    assert any_by_subject(flag, usubjid, IDX).tolist() == [True, pd.NA, False, False]
    assert all_by_subject(flag, usubjid, IDX).tolist() == [pd.NA, False, False, pd.NA]
