"""The spec-driven engine and the timing rules: study day edges, --SEQ stability, VISITNUM, EPOCH."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.sdtm.events import build_ae
from assets.sdtm.mapping import derive_var_seq, iso_to_date_by_value, map_to_spec
from assets.sdtm.timing import (
    derive_var_epoch,
    derive_var_epoch_by_date,
    derive_vars_reference_dates,
    unscheduled_visitnums,
)

REF = pd.DataFrame(
    {"USUBJID": ["S1"], "RFSTDTC": ["2026-03-01T10:00"], "RFENDTC": ["2026-03-07"], "RFICDTC": ["2026-02-01"]}
)
V2_COLUMNS = (  # site-export.md v2: seriousness criteria and MedDRA coding, not answered / not coded here
    "AESDTH AESLIFE AESHOSP AESDISAB AESCONG AESMIE MEDDRAV AELLT AELLTCD AEDECOD AEPTCD AEHLT AEHLTCD "
    "AEHLGT AEHLGTCD AEBODSYS AEBDSYCD AESOC AESOCCD"
).split()


def _ae(dates: list[str]) -> pd.DataFrame:
    n = len(dates)
    return pd.DataFrame(
        {
            "STUDYID": "LDIL2SLE",
            "USUBJID": "S1",
            "RECID": [f"AE{i}" for i in range(n)],
            "AETERM": [f"Event {i}" for i in range(n)],
            "AESTDTC": dates,
            "AEENDTC": pd.NA,
            "AEONGO": "Y",
            "AESEV": "MILD",
            "AESER": "N",
            "AEREL": "RELATED",
            "AEACN": "dose not changed",
            "AEOUT": "UNKNOWN",
            "SRC_EXPORT": "20260401T020000Z",
            **dict.fromkeys(V2_COLUMNS, pd.NA),
        }
    ).astype("string")


def test_study_day_edges_day_before_first_dose_is_minus_one_first_dose_is_one_partial_is_none():
    ae = build_ae(_ae(["2026-02-28", "2026-03-01", "2026-03-02", "2026-03", "2026"]), REF)
    by_date = dict(zip(ae["AESTDTC"], ae["AESTDY"]))
    assert by_date["2026-02-28"] == -1
    assert by_date["2026-03-01"] == 1
    assert by_date["2026-03-02"] == 2
    assert pd.isna(by_date["2026-03"]) and pd.isna(by_date["2026"])
    assert 0 not in set(ae["AESTDY"].dropna())


def test_ct_map_and_derived_values_of_ae():
    ae = build_ae(_ae(["2026-03-05"]).assign(AEDECOD="HEADACHE"), REF)
    row = ae.iloc[0]
    assert row["AEDECOD"] == "HEADACHE"  # the delivered preferred term, not the verbatim term
    assert row["AEACN"] == "DOSE NOT CHANGED"
    assert row["AEENRF"] == "ONGOING"
    assert (row["AEENRTPT"], row["AEENTPT"]) == ("ONGOING", "2026-04-01")
    assert row["EPOCH"] == "TREATMENT"
    assert row["DOMAIN"] == "AE" and row["STUDYID"] == "LDIL2SLE"


def test_seq_is_stable_whatever_the_input_order():
    ae = _ae(["2026-03-05", "2026-03-02", "2026-03-02", "2026-02-20"])
    first = build_ae(ae, REF)
    again = build_ae(ae.iloc[[3, 1, 0, 2]].reset_index(drop=True), REF)
    pd.testing.assert_frame_equal(first.reset_index(drop=True), again.reset_index(drop=True))
    assert first["AESEQ"].tolist() == [1, 2, 3, 4]
    assert first["AESTDTC"].tolist() == ["2026-02-20", "2026-03-02", "2026-03-02", "2026-03-05"]
    # the tie on 2026-03-02 is broken by AETERM (a key), then RECID
    assert first["AETERM"].tolist()[1:3] == ["Event 1", "Event 2"]


def test_seq_restarts_per_subject():
    df = pd.DataFrame(
        {
            "STUDYID": "X",
            "USUBJID": ["B", "A", "B", "A"],
            "AESTDTC": ["2", "2", "1", "1"],
            "AETERM": "T",
            "AESEQ": pd.NA,
        }
    )
    out = derive_var_seq(df, "AE")
    assert out[["USUBJID", "AESTDTC", "AESEQ"]].values.tolist() == [
        ["A", "1", 1],
        ["A", "2", 2],
        ["B", "1", 1],
        ["B", "2", 2],
    ]


def test_map_to_spec_names_missing_derived_variables():
    with pytest.raises(KeyError, match=r"\['AEENRF', 'AEENRTPT', 'AEENTPT', 'EPOCH'\]"):
        map_to_spec(_ae(["2026-03-05"]).assign(RFSTDTC="2026-03-01", RFICDTC="2026-02-01"), "AE")


def test_reference_dates_use_given_complete_injections_only():
    dm = pd.DataFrame({"USUBJID": ["S1", "S2"], "ICDTC": ["2026-02-01", "2026-02-02"]}, dtype="string")
    ex = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S1", "S1", "S2"],
            "EXADMIN": ["N", "Y", "Y", "Y", "N"],
            "EXSTDTC": ["2026-02-27", "2026-03-03", "2026-03-01T10:00", "2026-03", "2026-03-01"],
        },
        dtype="string",
    )
    ds = pd.DataFrame({"USUBJID": ["S1", "S1"], "DSSTDTC": ["2026-02-01", "2026-08-01"]}, dtype="string")
    ref = derive_vars_reference_dates(dm, ex, ds).set_index("USUBJID")
    assert ref.loc["S1", "RFSTDTC"] == "2026-03-01T10:00"  # the N on 02-27 and the partial date do not count
    assert ref.loc["S1", "RFXENDTC"] == "2026-03-03" and ref.loc["S1", "RFENDTC"] == "2026-03-03"
    assert ref.loc["S1", "RFPENDTC"] == "2026-08-01"
    assert pd.isna(ref.loc["S2", "RFSTDTC"]) and pd.isna(ref.loc["S2", "RFPENDTC"])


def test_epoch_by_date_boundaries():
    dates = pd.Series(
        ["2026-01-31", "2026-02-28", "2026-03-01", "2026-05-27", "2026-05-28", "2026-03"], dtype="string"
    )
    ref = pd.Series(["2026-03-01"] * 6, dtype="string")
    consent = pd.Series(["2026-02-01"] * 6, dtype="string")
    epoch = derive_var_epoch_by_date(dates, ref, consent)
    # day 88 (= WEEK 12 planned day 85 + window 3) is the last TREATMENT day
    assert epoch.tolist()[:5] == [pd.NA, "SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP"]
    assert pd.isna(epoch.iloc[5])


def test_iso_to_date_by_value_parses_repeats_and_keeps_index_and_missing():
    iso = pd.Series(
        ["2026-03-01T10:00", None, "2026-03", "2026-03-01", "2026-03-01T10:00"], index=[9, 7, 5, 3, 1]
    )
    dates = iso_to_date_by_value(iso)
    assert dates.index.tolist() == [9, 7, 5, 3, 1]
    assert dates.isna().tolist() == [False, True, True, False, False]
    assert (dates.dropna() == pd.Timestamp("2026-03-01")).all()
    assert iso_to_date_by_value(pd.Series([], dtype="string")).empty


def test_epoch_of_scheduled_visit_from_schedule_and_of_unscheduled_from_date():
    visit = pd.Series(
        ["WEEK 12", "UNSCHEDULED", "SCREENING", "UNSCHEDULED"], index=[4, 3, 2, 1], dtype="string"
    )
    dtc = pd.Series(
        ["2026-01-01", "2026-05-28", "2026-06-30", "2026-02-28"], index=visit.index, dtype="string"
    )
    ref = pd.Series("2026-03-01", index=visit.index, dtype="string")
    consent = pd.Series("2026-02-01", index=visit.index, dtype="string")
    epoch = derive_var_epoch(visit, dtc, ref, consent)
    # the schedule wins even against the date; unscheduled day 89 is FOLLOW-UP, day -1 SCREENING
    assert epoch.tolist() == ["TREATMENT", "FOLLOW-UP", "SCREENING", "SCREENING"]
    assert epoch.index.equals(visit.index) and epoch.dtype == "string"


def test_unscheduled_visits_are_numbered_by_date_per_subject_across_forms():
    visits = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S1", "S2", "S1"],
            "VISIT": ["UNSCHEDULED", "UNSCHEDULED", "UNSCHEDULED", "UNSCHEDULED", "WEEK 2"],
            "DTC": ["2026-04-01", "2026-03-20", "2026-04-01T09:00", "2026-03-01", "2026-03-15"],
        },
        dtype="string",
    )
    got = unscheduled_visitnums(visits)
    assert got.values.tolist() == [
        ["S1", "2026-03-20", 99.01],
        ["S1", "2026-04-01", 99.02],
        ["S2", "2026-03-01", 99.01],
    ]
