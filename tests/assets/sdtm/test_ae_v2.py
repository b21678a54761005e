"""Contract v2 AE form (site-export.md, Forms): seriousness criteria and MedDRA coding read,
validated, and carried into SDTM AE as delivered; the MedDRA version in TS; AEENRF only with a
reference period (CORE-000177) and AEENRTPT/AEENTPT for ongoing events; CORE-000266 decidable."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from assets.ingest.harmonize import harmonize_form
from assets.ingest.reading import read_form
from assets.ingest.validate import split_valid_and_quarantine
from assets.sdtm.events import build_ae, derive_var_aeenrf, derive_vars_aeenrtpt
from assets.sdtm.trial_design import build_ts, derive_param_dictver

EXPORT = "20260315T020000Z"  # data cut 2026-03-15
CRITERIA = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
HEADACHE = {  # a real coded term of the pharmaverse pilot data (LLT, PT and SOC codes); HLT/HLGT synthetic
    "MEDDRAV": "27.0",
    "AELLT": "HEADACHE",
    "AELLTCD": "10019211",
    "AEDECOD": "HEADACHE",
    "AEPTCD": "10019211",
    "AEHLT": "HLT_0064",
    "AEHLTCD": "99100064",
    "AEHLGT": "HLGT_0344",
    "AEHLGTCD": "99200344",
    "AEBODSYS": "NERVOUS SYSTEM DISORDERS",
    "AEBDSYCD": "10029205",
    "AESOC": "NERVOUS SYSTEM DISORDERS",
    "AESOCCD": "10029205",
}
CODES = ["AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD", "AEBDSYCD", "AESOCCD"]
NOT_SERIOUS = dict.fromkeys(CRITERIA, "")


def _form(rows: list[dict]) -> pd.DataFrame:
    """The AE form as read: every contract column as text (empty = missing), lineage."""
    base = dict.fromkeys(study.required_columns("AE"), "")
    base.update(STUDYID=study.studyid(), SITEID="101", SUBJID="101-0001", AESTDAT="01-MAR-2026")
    df = pd.DataFrame([{**base, "RECID": f"R{i}", **row} for i, row in enumerate(rows)], dtype="string")
    df = df.replace("", pd.NA)
    df["SRC_SITE"] = "101"
    df["SRC_EXPORT"] = EXPORT
    df["SRC_FILE"] = f"sites/101/{EXPORT}/AE.csv"
    df["SRC_LINE"] = pd.array(range(2, len(df) + 2), dtype="Int64")
    return df


def _validate(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = _form(rows)
    valid, quarantine = split_valid_and_quarantine(harmonize_form(df, "AE"), "AE", "101")
    assert len(valid) + quarantine["SRC_LINE"].nunique() == len(df)
    return valid, quarantine


def _failures(quarantine: pd.DataFrame) -> set[tuple[int, str, str]]:
    return {(int(r.SRC_LINE), r.COLUMN, r.RULE) for r in quarantine.itertuples()}


def _ae(**values) -> dict:
    return {"AETERM": "头痛", "AESER": "N", "AEONGO": "N", "AEENDAT": "02-MAR-2026", **HEADACHE, **values}


# --- input contract v2 ----------------------------------------------------------------------------


def test_the_v2_columns_are_contract_columns_of_the_ae_form():
    columns = study.required_columns("AE")
    assert set(CRITERIA) | set(HEADACHE) <= set(columns)
    types = study.form_columns("AE").set_index("COLUMN")
    assert set(types.loc[CRITERIA, "VALUESET"]) == {"NY"}
    assert set(types.loc[CODES, "TYPE"]) == {"MEDDRACODE"} and types.loc["MEDDRAV", "TYPE"] == "MEDDRAVERSION"
    assert (types.loc[[*CRITERIA, *HEADACHE], "REQUIRED"] == "N").all()  # empty while not answered/coded


def test_an_older_ae_export_without_the_v2_columns_is_rejected_as_a_whole(tmp_path):
    """site-export.md, Bad input: a file that lacks a required column is rejected with the reason."""
    v1 = [c for c in study.required_columns("AE") if c not in CRITERIA and c not in HEADACHE]
    path = tmp_path / "AE.csv"
    path.write_text(",".join(v1) + "\n" + ",".join(["x"] * len(v1)) + "\n", encoding="utf-8")
    read = read_form(path, "AE", EXPORT)
    assert read.table is None and read.line == 1
    assert read.rejection == "required column(s) missing: " + ", ".join([*CRITERIA, *HEADACHE])


def test_coded_serious_uncoded_and_inconsistent_events_are_all_valid_rows():
    rows = [
        _ae(**NOT_SERIOUS),  # coded, not serious, criteria left empty
        _ae(AESER="N", **dict.fromkeys(CRITERIA, "N")),  # criteria written N
        _ae(AESER="Y", **(dict.fromkeys(CRITERIA, "N") | {"AESHOSP": "Y"})),
        _ae(AESER="Y", **dict.fromkeys(CRITERIA, "N")),  # inconsistent: a data query, not a schema failure
        _ae(AESER="N", **(dict.fromkeys(CRITERIA, "N") | {"AESMIE": "Y"})),  # inconsistent the other way
        _ae(**dict.fromkeys(HEADACHE, "")),  # not coded yet: a data query, not a schema failure
    ]
    valid, quarantine = _validate(rows)
    assert quarantine.empty
    assert valid["AETERM"].tolist() == ["头痛"] * 6
    assert valid["AEPTCD"].tolist() == ["10019211"] * 5 + [pd.NA]


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("AEPTCD", "1001921", "meddra_code_form"),  # 7 digits
        ("AEPTCD", "100192110", "meddra_code_form"),  # 9 digits
        ("AELLTCD", "10019211.0", "meddra_code_form"),
        ("AESOCCD", " 10029205", "meddra_code_form"),  # a blank is not a digit
        ("AEHLTCD", "１００１９２１１", "meddra_code_form"),  # full-width digits
        ("AEBDSYCD", "1002920A", "meddra_code_form"),
        ("MEDDRAV", "27", "meddra_version_form"),
        ("MEDDRAV", "v27.0", "meddra_version_form"),
        ("AESDTH", "YES", "value_set"),
        ("AESHOSP", "y", "value_set"),
        ("AESMIE", "U", "value_set"),
        ("AEDECOD", "HEAD\x00ACHE", "text_characters"),
    ],
)
def test_malformed_coding_and_criteria_values_are_quarantined(column, value, rule):
    valid, quarantine = _validate(
        [_ae(AESER="Y", AESHOSP="Y"), _ae(**({"AESER": "Y", "AESHOSP": "Y"} | {column: value}))]
    )
    assert _failures(quarantine) == {(3, column, rule)}
    assert quarantine["VALUE"].tolist() == [value] and len(valid) == 1


def test_meddra_versions_and_codes_that_pass():
    rows = [_ae(MEDDRAV=v) for v in ("27.0", "26.1", "9.0")] + [_ae(AEHLTCD="00000001")]
    _, quarantine = _validate(rows)
    assert quarantine.empty


# --- SDTM AE ---------------------------------------------------------------------------------------


REF = pd.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3"],  # dosed; randomized never dosed; screen failure
        "RFSTDTC": ["2026-03-01T10:00", None, None],
        "RFENDTC": ["2026-03-07", None, None],
        "RFICDTC": ["2026-02-01", "2026-02-02", "2026-02-03"],
    },
    dtype="string",
)


def _sdtm_input(rows: list[dict]) -> pd.DataFrame:
    base = {
        "STUDYID": "LDIL2SLE",
        "USUBJID": "S1",
        "AETERM": "Headache",
        "AESTDTC": "2026-03-05",
        "AEENDTC": pd.NA,
        "AEONGO": "N",
        "AESEV": "MILD",
        "AESER": "N",
        "AEREL": "RELATED",
        "AEACN": "DOSE NOT CHANGED",
        "AEOUT": "RECOVERED/RESOLVED",
        "SRC_EXPORT": EXPORT,
        **dict.fromkeys(CRITERIA, pd.NA),
        **HEADACHE,
    }
    return pd.DataFrame([{**base, "RECID": f"AE{i}", **r} for i, r in enumerate(rows)]).astype("string")


def test_sdtm_ae_carries_the_coding_and_criteria_as_delivered():
    ae = build_ae(
        _sdtm_input(
            [
                {"AETERM": "头痛", "AESER": "Y", **dict.fromkeys(CRITERIA, "N"), "AESHOSP": "Y"},
                {"AETERM": "Céphalée", "AESTDTC": "2026-03-06", **dict.fromkeys(HEADACHE, pd.NA)},
                {"AETERM": "Headache", "AESTDTC": "2026-03-07", "AESER": "Y", **dict.fromkeys(CRITERIA, "N")},
            ]
        ),
        REF,
    )
    coded = ["AELLT", "AEDECOD", "AEHLT", "AEHLGT", "AEBODSYS", "AESOC"]
    expected = pd.DataFrame(
        {
            "AETERM": ["头痛", "Céphalée", "Headache"],
            **{c: pd.array([HEADACHE[c], None, HEADACHE[c]], dtype="string") for c in coded},
            **{c: pd.array([int(HEADACHE[c]), None, int(HEADACHE[c])], dtype="Int64") for c in CODES},
            "AESER": ["Y", "N", "Y"],
            "AESHOSP": pd.array(["Y", None, "N"], dtype="string"),
            "AESDTH": pd.array(["N", None, "N"], dtype="string"),
        }
    ).astype({"AETERM": "string", "AESER": "string"})
    pd.testing.assert_frame_equal(ae[expected.columns].reset_index(drop=True), expected, check_dtype=True)
    # the verbatim term is never the dictionary term, and no MedDRA version in AE (it goes to TS)
    assert "MEDDRAV" not in ae.columns
    order = list(ae.columns)
    assert order.index("AETERM") < order.index("AELLT") < order.index("AEDECOD") < order.index("AESOCCD")
    assert order.index("AEOUT") < order.index("AESCONG") < order.index("AESMIE") < order.index("EPOCH")


def test_core_000266_finds_exactly_the_serious_events_without_a_criterion():
    """CORE-000266: AESER not N and none of AESCAN AESCONG AESDISAB AESDTH AESHOSP AESLIFE AESOD
    AESMIE = Y. Decidable now that the criteria are delivered; a hit is a site inconsistency."""
    ae = build_ae(
        _sdtm_input(
            [
                {"AESER": "Y", **dict.fromkeys(CRITERIA, "N"), "AESLIFE": "Y"},
                {"AESER": "Y", **dict.fromkeys(CRITERIA, "N")},
                {"AESER": "N"},
            ]
        ),
        REF,
    )
    hit = ae[(ae["AESER"] != "N") & ~ae.reindex(columns=CRITERIA).eq("Y").any(axis=1)]
    assert hit["AESEQ"].tolist() == [2]


@pytest.mark.parametrize(
    ("subject", "ongoing", "enrf", "enrtpt", "entpt"),
    [
        ("S1", "Y", "ONGOING", "ONGOING", "2026-03-15"),  # reference period, ongoing at the data cut
        ("S1", "N", None, None, None),  # ended
        ("S1", None, None, None, None),  # not answered: nothing derived
        ("S2", "Y", None, "ONGOING", "2026-03-15"),  # randomized, never dosed: no reference period
        ("S3", "Y", None, "ONGOING", "2026-03-15"),  # screen failure: no reference period
        ("S3", "N", None, None, None),
    ],
)
def test_end_relative_flags_at_their_boundaries(subject, ongoing, enrf, enrtpt, entpt):
    end = pd.NA if ongoing == "Y" else "2026-03-06"
    ae = build_ae(_sdtm_input([{"USUBJID": subject, "AEONGO": ongoing, "AEENDTC": end}]), REF).iloc[0]
    got = tuple(None if pd.isna(ae[c]) else ae[c] for c in ("AEENRF", "AEENRTPT", "AEENTPT"))
    assert got == (enrf, enrtpt, entpt)


def test_core_000177_no_aeenrf_without_dm_rfendtc():
    ae = _sdtm_input([{"USUBJID": s, "AEONGO": "Y"} for s in ("S1", "S2", "S3")])
    out = build_ae(ae, REF).merge(REF[["USUBJID", "RFENDTC"]], on="USUBJID")
    assert not (out["RFENDTC"].isna() & out["AEENRF"].notna()).any()
    assert out["AEENRF"].notna().sum() == 1


def test_derive_var_aeenrf_needs_both_reference_dates():
    df = pd.DataFrame(
        {
            "AEONGO": ["Y", "Y", "Y", "N"],
            "RFSTDTC": ["2026-03-01", "2026-03-01", None, "2026-03-01"],
            "RFENDTC": ["2026-03-07", None, "2026-03-07", "2026-03-07"],
        },
        dtype="string",
    )
    expected = pd.Series(["ONGOING", None, None, None], dtype="string")
    pd.testing.assert_series_equal(derive_var_aeenrf(df), expected)


def test_derive_vars_aeenrtpt_takes_the_cut_of_each_records_export():
    df = pd.DataFrame(
        {
            "AEONGO": ["Y", "Y", "N", None],
            "SRC_EXPORT": ["20260301T020000Z", "20260401T031500Z", EXPORT, EXPORT],
        },
        dtype="string",
    )
    expected = pd.DataFrame(
        {
            "AEENRTPT": pd.array(["ONGOING", "ONGOING", None, None], dtype="string"),
            "AEENTPT": pd.array(["2026-03-01", "2026-04-01", None, None], dtype="string"),
        }
    )
    pd.testing.assert_frame_equal(derive_vars_aeenrtpt(df), expected)


@pytest.mark.parametrize("missing", ["SRC_EXPORT", "AEONGO"])
def test_build_ae_names_missing_columns(missing):
    with pytest.raises(KeyError, match=missing):
        build_ae(_sdtm_input([{}]).drop(columns=missing), REF)
    with pytest.raises(KeyError, match="RFENDTC"):
        build_ae(_sdtm_input([{}]), REF.drop(columns="RFENDTC"))


# --- TS: the MedDRA version ------------------------------------------------------------------------


def test_derive_param_dictver_one_row_per_delivered_version():
    ae = pd.DataFrame({"MEDDRAV": ["27.0", None, "26.1", "27.0", "", " 27.0 "]}, dtype="string")
    expected = pd.DataFrame(
        {
            "TSPARMCD": ["DICTVER", "DICTVER"],
            "TSPARM": ["Dictionary Version", "Dictionary Version"],
            "TSVAL": ["26.1", "27.0"],
            "TSVALCD": ["", ""],
            "TSVCDREF": ["MedDRA", "MedDRA"],
            "TSVCDVER": ["26.1", "27.0"],
        },
        dtype="string",
    )
    pd.testing.assert_frame_equal(derive_param_dictver(ae), expected)


@pytest.mark.parametrize(
    "ae", [None, pd.DataFrame(), pd.DataFrame({"MEDDRAV": pd.array([None, ""], dtype="string")})]
)
def test_no_dictver_row_while_nothing_is_coded(ae):
    assert derive_param_dictver(ae).empty
    assert "DICTVER" not in set(build_ts(ae)["TSPARMCD"])


def test_ts_holds_the_meddra_version_after_the_study_parameters():
    ts = build_ts(pd.DataFrame({"MEDDRAV": ["27.0", "27.0"]}, dtype="string"))
    row = ts[ts["TSPARMCD"] == "DICTVER"]
    assert row[["TSSEQ", "TSVAL", "TSVCDREF", "TSVCDVER"]].values.tolist() == [[1, "27.0", "MedDRA", "27.0"]]
    assert pd.isna(row["TSVALCD"].iloc[0])
    assert len(ts) == len(build_ts()) + 1


def test_an_uncoded_event_is_a_content_failure_not_a_structural_one():
    """A null AEDECOD (not yet coded) is a data query: the conformance check warns, never blocks;
    a null AETERM (Req, always delivered) stays structural."""
    from schemas.sdtm_conformance import conformance_report

    ae = build_ae(_sdtm_input([{}, {"AESTDTC": "2026-03-06", **dict.fromkeys(HEADACHE, pd.NA)}]), REF)
    report = conformance_report(ae, "AE")
    assert (report["structural"], report["content"]) == (0, 1)
    assert report["by_check"] == {"AEDECOD: req_null_is_query": 1}
    coded = conformance_report(ae.iloc[:1], "AE")
    assert coded["passed"]
    no_term = ae.assign(AETERM=pd.array([None, "x"], dtype="string"))
    assert conformance_report(no_term, "AE")["structural"] == 1
