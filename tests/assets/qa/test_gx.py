"""Great Expectations suites from the spec: a clean table passes, each seeded violation fails."""

import re
import time

import pandas as pd
import pytest

from assets.qa import gx as qa_gx
from assets.qa.gx import run as gx_run
from assets.qa.gx.docs import deterministic_page, stable_uuid

SPEC = pd.DataFrame(
    {
        "VARIABLE": ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "SEX", "LBDTC", "LBDY"],
        "CORE": ["Req", "Req", "Req", "Req", "Req", "Exp", "Perm", "Exp", "Perm"],
        "CODELIST": ["", "", "", "", "", "", "C66731", "", ""],
        "LENGTH": pd.array([200, 2, 40, None, 8, None, 2, 19, None], dtype="Int64"),
    }
)
KEYS = ["STUDYID", "USUBJID", "LBSEQ"]
CODELISTS = {"C66731": ["F", "M", "U", "INTERSEX"]}
RANGES = {"ALT": (0.0, 5000.0), "HGB": (20.0, 250.0)}


def lb(changes=None):
    df = pd.DataFrame(
        {
            "STUDYID": "LDIL2SLE",
            "DOMAIN": "LB",
            "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0001", "LDIL2SLE-101-0002", "LDIL2SLE-101-0002"],
            "LBSEQ": [1, 2, 1, 2],
            "LBTESTCD": ["ALT", "HGB", "ALT", "HGB"],
            "LBSTRESN": [30.0, 130.0, 25.0, 140.0],
            "SEX": ["F", "F", "M", "M"],
            "LBDTC": ["2026-03-07", "2026-03-07T08:30", "2026-03", "2026"],
            "LBDY": [-3, -3, 1, 2],
        }
    )
    for (col, row), value in (changes or {}).items():
        df.loc[row, col] = value
    return df.convert_dtypes(infer_objects=True, convert_integer=False, convert_floating=False)


def validate(frame, tmp_path, full_rows_max=1000, sample_rows=1000):
    tables = qa_gx.tables_to_validate(
        "sdtm", "LB", frame, SPEC, KEYS, CODELISTS, RANGES, {}, full_rows_max, sample_rows
    )
    return qa_gx.run_validations(tables, tmp_path / "gx", "test", pd.Timestamp("2026-05-01T00:00:00Z"))


def failed(results):
    """Failed expectations; on the variable profile, the variables that failed stand for the column."""
    bad = results[~results["SUCCESS"]]
    return {
        (
            r.DATASET,
            r.RULE,
            r.UNEXPECTED_SAMPLE if r.DATASET.endswith("_PROFILE") else r.COLUMN,
            bool(r.STRUCTURAL),
        )
        for r in bad.itertuples()
    }


def test_plan_from_spec_covers_keys_ct_iso_study_day_and_ranges():
    plan = qa_gx.plan_expectations(lb(), SPEC, KEYS, CODELISTS, RANGES, {})
    rules = {(p.rule, p.kwargs.get("column", " ".join(p.kwargs.get("column_list", [])))) for p in plan}
    assert ("keys_unique", "STUDYID USUBJID LBSEQ") in rules
    assert (
        ("ct_value_set", "SEX") in rules
        and ("iso8601", "LBDTC") in rules
        and ("study_day_not_zero", "LBDY") in rules
    )
    ranges = [p.kwargs for p in plan if p.rule == "plausible_range"]
    assert {r["row_condition"] for r in ranges} == {'LBTESTCD=="ALT"', 'LBTESTCD=="HGB"'}
    assert {p.rule for p in plan if p.structural} == {"columns_match_spec", "keys_unique"}


def test_variable_profile_counts_missing_and_lengths_and_marks_required_and_structural():
    df = lb({("LBTESTCD", 1): None, ("SEX", 0): "FEMALE"})
    profile = qa_gx.variable_profile(df, SPEC, KEYS).set_index("VARIABLE")
    assert profile.loc["LBTESTCD", "N_MISSING"] == 1 and bool(profile.loc["LBTESTCD", "REQUIRED"])
    assert not bool(profile.loc["LBTESTCD", "STRUCTURAL"]) and bool(profile.loc["USUBJID", "STRUCTURAL"])
    assert not bool(profile.loc["LBSTRESN", "REQUIRED"])  # CORE Exp
    assert profile.loc["SEX", "MAX_LENGTH"] == 6 and profile.loc["SEX", "LENGTH_LIMIT"] == 2
    assert profile.loc["USUBJID", "LENGTH_LIMIT"] == 40 and profile.loc["LBSEQ", "MAX_LENGTH"] == 0


def test_extensible_codelists_are_not_closed_sets():
    ct = pd.DataFrame(
        {
            "clst_code": ["C1", "C1", "C2", "C2"],
            "is_clst": [True, False, True, False],
            "term": ["X", "A", "Y", "B"],
            "ext": [False, None, True, None],
        }
    )
    assert qa_gx.nonextensible_codelists(ct) == {"C1": ["A"]}


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({("LBSEQ", 1): 1}, {("LB", "keys_unique", "STUDYID USUBJID LBSEQ", True)}),
        (
            {("USUBJID", 2): None},
            # GX compound uniqueness skips rows with a missing key part; the profile's missing count catches it
            {("LB_PROFILE", "required_present", "USUBJID", True)},
        ),
        (
            {("SEX", 0): "FEMALE"},
            {("LB", "ct_value_set", "SEX", False), ("LB_PROFILE", "text_length", "SEX", False)},
        ),
        ({("LBDTC", 2): "07-MAR-2026"}, {("LB", "iso8601", "LBDTC", False)}),
        ({("LBDTC", 2): "2026-13-01"}, {("LB", "iso8601", "LBDTC", False)}),
        ({("LBDY", 3): 0}, {("LB", "study_day_not_zero", "LBDY", False)}),
        ({("LBSTRESN", 1): 800.0}, {("LB", "plausible_range", "LBSTRESN", False)}),
    ],
)
def test_gx_suite_fails_on_each_seeded_violation_and_only_on_it(tmp_path, changes, expected):
    results = validate(lb(changes), tmp_path)
    assert failed(results) == expected


def test_clean_table_passes_and_data_docs_are_built(tmp_path):
    results = validate(lb(), tmp_path)
    assert results["SUCCESS"].all() and len(results) == 10  # 7 row-level, 3 on the profile
    assert (tmp_path / "gx" / "index.html").is_file()
    assert list((tmp_path / "gx" / "validations").rglob("*.html"))


def test_column_missing_from_spec_output_is_structural(tmp_path):
    results = validate(lb().drop(columns="LBDY"), tmp_path)
    assert ("LB", "columns_match_spec", "", True) in failed(results)


def test_big_table_is_sampled_but_a_duplicate_key_outside_the_sample_still_fails(tmp_path):
    n = 40
    big = pd.DataFrame(
        {
            "STUDYID": "LDIL2SLE",
            "DOMAIN": "LB",
            "USUBJID": [f"LDIL2SLE-101-{i:04d}" for i in range(n)],
            "LBSEQ": 1,
            "LBTESTCD": "ALT",
            "LBSTRESN": 30.0,
            "SEX": "F",
            "LBDTC": "2026-03-07",
            "LBDY": 1,
        }
    ).convert_dtypes(convert_integer=False, convert_floating=False)
    big.loc[[11, 12], "USUBJID"] = "LDIL2SLE-101-0011"  # rows 11 and 12: not in an evenly spaced 4-row sample
    sample = qa_gx.deterministic_sample(big, 4)
    assert sample.index.tolist() == [0, 13, 26, 39]
    results = validate(big, tmp_path, full_rows_max=10, sample_rows=4)
    assert failed(results) == {("LB_PROFILE", "keys_unique", "2", True)}  # 2 rows share a key
    assert results.loc[results["DATASET"] == "LB", "SAMPLED"].all()
    assert (results["ROWS_IN_TABLE"] == n).all()


def test_text_columns_no_expectation_reads_go_to_gx_as_categorical_and_the_rest_unchanged():
    frame = lb()
    plan = qa_gx.plan_expectations(frame, SPEC, KEYS, CODELISTS, RANGES, {})
    table = qa_gx.TableToValidate("sdtm", "LB", frame, plan, len(frame))
    for_gx = qa_gx.frame_for_gx(table)
    assert list(for_gx.columns) == list(frame.columns)
    assert str(for_gx["DOMAIN"].dtype) == "category"  # read by no expectation
    # keys, the CT-checked SEX, the ISO date, the range result and the code in its row condition stay as they are
    for col in ("USUBJID", "SEX", "LBDTC", "LBSTRESN", "LBTESTCD"):
        assert for_gx[col].dtype == frame[col].dtype
    pd.testing.assert_frame_equal(for_gx.astype(object), frame.astype(object), check_dtype=False)


def test_batched_profiles_and_ranges_are_split_back_to_the_dataset_and_code_they_belong_to(tmp_path):
    """Two datasets validated in one run: the profiles and the per-code ranges are checked batched
    (one GX table each), and each failure comes back on the dataset and code it belongs to only."""
    clean = qa_gx.tables_to_validate("sdtm", "LB", lb(), SPEC, KEYS, CODELISTS, RANGES, {}, 1000, 1000)
    other = lb({("LBSTRESN", 0): -1.0, ("LBSTRESN", 3): 900.0, ("LBTESTCD", 1): None})  # ALT low, HGB high
    bad = qa_gx.tables_to_validate("sdtm", "XB", other, SPEC, KEYS, CODELISTS, RANGES, {}, 1000, 1000)
    row_level, batches = qa_gx.batch_for_gx(clean + bad)
    assert [b.name for b in batches] == ["PROFILES", "RESULT_RANGES"]
    assert not any(p.rule == "plausible_range" for t in row_level for p in t.plan)
    results = qa_gx.run_validations(
        clean + bad, tmp_path / "gx", "test", pd.Timestamp("2026-05-01T00:00:00Z")
    )
    assert results.attrs["gx_checkpoints"] == 4 and results.attrs["gx_expectations"] == 2 * 5 + 3 + 2
    assert failed(results) == {
        ("XB", "plausible_range", "LBSTRESN", False),
        ("XB_PROFILE", "required_present", "LBTESTCD", False),
    }
    ranges = results[results["RULE"].eq("plausible_range")].set_index(["DATASET", "CONDITION"])
    assert len(ranges) == 4  # ALT and HGB of each dataset, as if validated one by one
    assert ranges.loc[("XB", 'LBTESTCD=="ALT"'), "UNEXPECTED_SAMPLE"] == "-1.0"
    assert ranges.loc[("XB", 'LBTESTCD=="HGB"'), "UNEXPECTED_COUNT"] == 1
    assert ranges.loc[("XB", 'LBTESTCD=="HGB"'), "UNEXPECTED_PERCENT"] == 100.0  # the 1 HGB value left
    assert ranges.loc[("LB", 'LBTESTCD=="ALT"'), "UNEXPECTED_PERCENT"] == 0.0


def _site_bytes(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_data_docs_of_the_same_results_are_the_same_bytes_and_dated_with_the_given_time(tmp_path):
    """Issue 14: GX stamps pages with the clock (logo ``?d=``, validation time) and random UUIDs;
    two builds of the same validation must be byte-identical, dated with the run time given."""
    validate(lb({("LBSTRESN", 1): 800.0}), tmp_path / "a")
    time.sleep(0.01)
    validate(lb({("LBSTRESN", 1): 800.0}), tmp_path / "b")
    first, second = _site_bytes(tmp_path / "a" / "gx"), _site_bytes(tmp_path / "b" / "gx")
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    pages = b"".join(v for k, v in first.items() if k.endswith(".html"))
    stamps = set(re.findall(rb"\d{8}T\d{6}\.\d{6}Z", pages))
    assert stamps == {b"20260501T000000.000000Z"}
    assert any(name.startswith("validations/") and "20260501T000000.000000Z" in name for name in first)


def test_deterministic_page_numbers_uuids_in_order_and_keeps_pairs():
    page = (
        '<a href="#x-11111111-2222-3333-4444-555555555555">'
        "<div id=x-11111111-2222-3333-4444-555555555555>"
        "<div id=y-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee> ?d=20261202T013527.099955Z"
    )
    out = deterministic_page(page, "p.html", "20260301T020000.000000Z")
    first, second = stable_uuid("p.html", 0), stable_uuid("p.html", 1)
    assert out == (f'<a href="#x-{first}"><div id=x-{first}><div id=y-{second}> ?d=20260301T020000.000000Z')


def test_a_failed_build_keeps_the_previous_data_docs(tmp_path, monkeypatch):
    validate(lb(), tmp_path)
    before = _site_bytes(tmp_path / "gx")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while building the docs")

    monkeypatch.setattr(gx_run, "make_docs_deterministic", killed)
    with pytest.raises(KeyboardInterrupt):
        validate(lb(), tmp_path)
    assert _site_bytes(tmp_path / "gx") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gx"]
