"""The faster ADaM building blocks against their straightforward pandas equivalents, on literal
awkward input: missing keys and values, ties, unicode, subjects not in ADSL, empty frames."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from assets.adam.common import (
    DATE32,
    derive_var_anl01fl,
    derive_vars_baseline,
    last_per_group,
    merge_adsl,
)
from schemas.adam_conformance import conformance_failures
from tests.assets.adam import literal as L

NA = pd.NA
D = pd.Timestamp


def _bds() -> pd.DataFrame:
    """Two subjects (one with a unicode id), ties on date and sequence, missing keys and values."""
    return pd.DataFrame(
        {
            "USUBJID": pd.Series(["S-1", "S-1", "S-1", "Ü-2", "Ü-2", "Ü-2", None, "S-1", "S-1"], dtype="str"),
            "PARAMCD": pd.Series(["ALT", "ALT", "ALT", "ALT", "ALT", None, "ALT", "AST", "ALT"], dtype="str"),
            "AVISIT": pd.Series(
                ["DAY 1", "DAY 1", "WEEK 4", "WEEK 4", "UNSCHEDULED", "WEEK 4", "WEEK 4", "DAY 1", "WEEK 4"],
                dtype="string",
            ),
            "AVISITN": pd.array([1, 1, 2, 2, np.nan, 2, 2, 1, 2], dtype="Float64"),
            "SRCSEQ": [1.0, 1.0, 3.0, 1.0, 2.0, 3.0, 1.0, np.nan, 4.0],
            "AVAL": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0, 3.0],
            "ANRIND": pd.Series(
                ["LOW", NA, "HIGH", "NORMAL", NA, "LOW", "LOW", "NORMAL", NA], dtype="string"
            ),
            "ADT": [D("2026-01-01"), D("2026-01-01"), D("2026-02-01"), D("2026-01-01"), pd.NaT]
            + [D("2026-02-01"), D("2026-01-01"), D("2026-01-01"), D("2026-02-01")],
            "TRTSDT": [D("2026-01-01")] * 3
            + [D("2026-01-05")] * 3
            + [D("2026-01-01"), pd.NaT, D("2026-01-01")],
        }
    ).set_axis([10, 3, 7, 1, 2, 8, 5, 4, 6])


def _reference_last_per_group(df, rows, by, order) -> pd.Index:
    """The straightforward way: sort the whole (filtered) frame, last row of each group."""
    return df[rows].sort_values([*by, *order], kind="stable").groupby(by, sort=False).tail(1).index


def _reference_baseline(bds: pd.DataFrame, nrind: bool) -> pd.DataFrame:
    """derive_vars_baseline written with a wide sort and a merge of the baseline values back."""
    out = bds.copy()
    order = [c for c in ("AVISITN", "SRCSEQ") if c in out.columns]
    candidate = (
        out["AVAL"].notna() & out["ADT"].notna() & out["TRTSDT"].notna() & (out["ADT"] <= out["TRTSDT"])
    )
    base_idx = _reference_last_per_group(out, candidate.to_numpy(), ["USUBJID", "PARAMCD"], ["ADT", *order])
    out["ABLFL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(out.index.isin(base_idx), "Y")
    base = out.loc[base_idx, ["USUBJID", "PARAMCD", "AVAL", *(["ANRIND"] if nrind else [])]]
    base = base.rename(columns={"AVAL": "BASE", "ANRIND": "BNRIND"})
    out = out.reset_index().merge(base, on=["USUBJID", "PARAMCD"], how="left").set_index("index")
    out.index.name = None
    post = (out["ADT"] > out["TRTSDT"]).fillna(False).astype(bool)
    out["CHG"] = (out["AVAL"] - out["BASE"]).where(post).astype("Float64").round(6)
    return out


@pytest.mark.parametrize("by", [["USUBJID", "PARAMCD"], ["USUBJID", "PARAMCD", "AVISIT"]])
def test_last_per_group_matches_sorting_the_whole_frame(by):
    df = _bds()
    rows = df["AVAL"].notna().to_numpy()
    got = last_per_group(df, rows, by, ["ADT", "SRCSEQ"])
    assert sorted(got) == sorted(_reference_last_per_group(df, rows, by, ["ADT", "SRCSEQ"]))
    assert list(last_per_group(df, np.zeros(len(df), dtype=bool), by, ["ADT"])) == []


@pytest.mark.parametrize("nrind", [False, True])
def test_baseline_matches_the_merge_implementation(nrind):
    df = _bds()
    pd.testing.assert_frame_equal(derive_vars_baseline(df, nrind=nrind), _reference_baseline(df, nrind))
    empty = df.iloc[:0]
    pd.testing.assert_frame_equal(
        derive_vars_baseline(empty, nrind=nrind), _reference_baseline(empty, nrind), check_index_type=False
    )


def test_anl01fl_matches_sorting_the_whole_frame():
    bds = derive_vars_baseline(_bds())
    post = (bds["ADT"] > bds["TRTSDT"]).fillna(False) & bds["AVISIT"].ne("UNSCHEDULED").fillna(False)
    rows = post.to_numpy() & bds["AVAL"].notna().to_numpy()
    last = _reference_last_per_group(bds, rows, ["USUBJID", "PARAMCD", "AVISIT"], ["ADT", "SRCSEQ"])
    expected = bds.index.isin(last) | bds["ABLFL"].eq("Y").fillna(False).to_numpy()
    assert expected.any() and not expected.all()
    assert derive_var_anl01fl(bds)["ANL01FL"].eq("Y").fillna(False).tolist() == expected.tolist()


def test_merge_adsl_matches_a_left_merge():
    adsl = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-2", "Ü-3"],
            "N": [1, 2, 3],
            "B": [True, False, True],
            "D": pd.to_datetime(["2026-01-01", None, "2026-02-01"]).astype("datetime64[s]"),
            "T": pd.Series(["a", None, "ç"], dtype="string"),
            "F": pd.array([1.5, None, 2.0], dtype="Float64"),
            "C": ["x", None, "z"],
        }
    )
    columns = list(adsl.columns)
    frames = [
        pd.DataFrame({"USUBJID": ["Ü-3", "S-1", "S-1"], "X": [1, 2, 3]}, index=[5, 3, 9]),
        pd.DataFrame({"USUBJID": ["S-9", "S-1", None], "X": [1, 2, 3]}),
        pd.DataFrame({"USUBJID": pd.Series([], dtype="str"), "X": pd.Series([], dtype="int64")}),
    ]
    for df in frames:
        expected = df.merge(adsl, on="USUBJID", how="left", validate="many_to_one")
        pd.testing.assert_frame_equal(merge_adsl(df, adsl, columns), expected)
    with pytest.raises(pd.errors.MergeError):
        merge_adsl(frames[0], pd.concat([adsl, adsl]), columns)


def test_conformance_same_failures_with_date32_or_date_objects():
    """The check reads dates back as Arrow date32; ``datetime.date`` objects give the same verdict."""
    out = pd.DataFrame(
        {
            "STUDYID": L.STUDYID,
            "USUBJID": [L.usubjid(1), L.usubjid(1), L.usubjid(2)],
            "ASTDT": pd.array([datetime.date(2026, 1, 2), datetime.date(2026, 1, 2), None], dtype=DATE32),
            "AESEQ": [1.0, 1.0, 2.0],
            "TRTEMFL": pd.Series(["Y", "N", NA], dtype="string"),
        }
    )
    as_objects = out.assign(ASTDT=out["ASTDT"].astype(object))
    assert isinstance(as_objects.loc[0, "ASTDT"], datetime.date)
    failures = conformance_failures(out, "ADAE", blinded=True)
    assert not failures.empty
    pd.testing.assert_frame_equal(failures, conformance_failures(as_objects, "ADAE", blinded=True))
