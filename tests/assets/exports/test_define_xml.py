"""define.xml 2.1: structure, references, value-level metadata, codelists, methods; HTML rendering."""

import xml.etree.ElementTree as ET

import pandas as pd
import pyarrow as pa
import pytest

from assets.exports.build import build_define
from assets.exports.define_html import render_define_html
from assets.exports.define_xml import build_define as build_tree
from assets.exports.define_xml import collect_value_levels, d, define_problems, load_ct, o, write_define
from assets.exports.metadata import SPEC_DATASET_COLUMNS, SPEC_VARIABLE_COLUMNS, describe_table
from tests.assets.exports.builders import build_mode_root
from tests.define_xsd import assert_define_valid

NO_SPEC = pd.DataFrame(columns=SPEC_DATASET_COLUMNS), pd.DataFrame(columns=SPEC_VARIABLE_COLUMNS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = build_mode_root(tmp_path_factory.mktemp("wh") / "blinded")
    define_path, html_path, problems = build_define(root)
    return root, ET.parse(define_path), html_path, problems


def _by_oid(tree, tag):
    return {e.get("OID"): e for e in tree.getroot().iter(tag)}


def test_well_formed_and_every_reference_resolves(built):
    root, tree, _, problems = built
    assert problems == []
    assert_define_valid(root / "submission" / "define.xml")  # the Define-XML 2.1 schema
    assert tree.getroot().tag == o("ODM")
    mdv = tree.getroot().find(f"{o('Study')}/{o('MetaDataVersion')}")
    assert mdv.get(d("DefineVersion")) == "2.1.0"
    assert {s.get("Name") for s in mdv.iter(d("Standard"))} == {"SDTMIG", "ADaMIG", "CDISC/NCI"}
    assert set(_by_oid(tree, o("ItemGroupDef"))) == {"IG.DM", "IG.LB", "IG.ADSL", "IG.ADEFF"}


def test_checker_reports_broken_references():
    root = ET.fromstring(
        f'<ODM xmlns="{o("x")[1:-2]}" xmlns:def="{d("x")[1:-2]}"><Study><MetaDataVersion>'
        '<ItemGroupDef OID="IG.DM" Name="DM"><ItemRef ItemOID="IT.DM.X" MethodOID="MT.NONE"/></ItemGroupDef>'
        '<ItemDef OID="IT.DM.Y" Name="Y"><CodeListRef CodeListOID="CL.NONE"/></ItemDef>'
        "</MetaDataVersion></Study></ODM>"
    )
    problems = define_problems(ET.ElementTree(root), ["DM", "AE"])
    assert len(problems) == 4
    assert "dataset AE has no ItemGroupDef" in problems
    assert any("IT.DM.X" in p for p in problems) and any("CL.NONE" in p for p in problems)
    assert any("MT.NONE" in p for p in problems)


def test_item_refs_carry_order_mandatory_keys_and_methods(built):
    _, tree, _, _ = built
    dm = _by_oid(tree, o("ItemGroupDef"))["IG.DM"]
    assert dm.get("Purpose") == "Tabulation" and dm.find(d("Class")).get("Name") == "SPECIAL PURPOSE"
    refs = {r.get("ItemOID"): r for r in dm.findall(o("ItemRef"))}
    assert [r.get("OrderNumber") for r in dm.findall(o("ItemRef"))] == [str(i) for i in range(1, 9)]
    assert refs["IT.DM.USUBJID"].get("KeySequence") == "2"
    assert refs["IT.DM.SEX"].get("Mandatory") == "Yes"  # CORE Req
    assert refs["IT.DM.AGE"].get("Mandatory") == "No"  # CORE Exp
    method = _by_oid(tree, o("MethodDef"))[refs["IT.DM.AGE"].get("MethodOID")]
    assert method.get("Type") == "Computation"
    assert method.find(f"{o('Description')}/{o('TranslatedText')}").text  # the spec's METHOD text


def test_item_defs_types_lengths_origins_and_codelists(built):
    _, tree, _, _ = built
    items = _by_oid(tree, o("ItemDef"))
    assert (items["IT.DM.USUBJID"].get("DataType"), items["IT.DM.USUBJID"].get("Length")) == ("text", "17")
    assert items["IT.DM.SUBJID"].find(d("Origin")).get("Type") == "Collected"  # ORIGIN CRF
    assert items["IT.ADSL.TRTSDT"].get(d("DisplayFormat")) == "DATE9."
    sex = _by_oid(tree, o("CodeList"))[items["IT.DM.SEX"].find(o("CodeListRef")).get("CodeListOID")]
    terms = {e.get("CodedValue"): e.find(o("Alias")).get("Name") for e in sex.iter(o("EnumeratedItem"))}
    assert terms == {"F": "C16576", "M": "C20197"}  # only the terms the data uses, NCI codes from CT
    assert sex.find(o("Alias")).get("Name") == "C66731"


def test_value_level_metadata_per_test_code(built):
    _, tree, _, _ = built
    items = _by_oid(tree, o("ItemDef"))
    lborres = items["IT.LB.LBORRES"]
    vl = _by_oid(tree, d("ValueListDef"))[lborres.find(d("ValueListRef")).get("ValueListOID")]
    assert [r.get("ItemOID") for r in vl.findall(o("ItemRef"))] == ["IT.LB.LBORRES.ALT", "IT.LB.LBORRES.HCG"]
    assert items["IT.LB.LBORRES.ALT"].get("DataType") == "float"  # 31, 12.5
    assert items["IT.LB.LBORRES.HCG"].get("DataType") == "text"  # NEGATIVE
    wc = _by_oid(tree, d("WhereClauseDef"))["WC.LB.HCG"]
    check = wc.find(o("RangeCheck"))
    assert (check.get("Comparator"), check.get(d("ItemOID")), check.find(o("CheckValue")).text) == (
        "EQ",
        "IT.LB.LBTESTCD",
        "HCG",
    )
    assert "IT.LB.LBSTRESN.ALT" in items


def test_collect_value_levels_known_answer():
    table = pa.table(
        {"VSTESTCD": ["WEIGHT", "WEIGHT", "HEIGHT", None], "VSORRES": ["70.5", "71", "1680", "x"]}
    )
    spec_ds = pd.DataFrame(
        {"DATASET": ["VS"], "LABEL": ["Vital Signs"], "CLASS": ["Findings"], "STRUCTURE": [""], "KEYS": [""]}
    )
    spec_vars = pd.DataFrame(columns=["DATASET", "ORDER", "VARIABLE"])
    ds = describe_table(table, "sdtm", "vs", spec_ds, spec_vars)
    rows = [(v.testcd, v.define_type, v.length) for v in collect_value_levels(ds, table)]
    assert rows == [("HEIGHT", "float", 4), ("WEIGHT", "float", 4)]


def test_extended_term_flagged_and_unknown_codelist_listed_from_data():
    table = pa.table({"LBTESTCD": ["ALT", "DSDNA"], "XX": ["A", "B"]})
    spec_ds = pd.DataFrame(
        {"DATASET": ["LB"], "LABEL": ["Lab"], "CLASS": ["Findings"], "STRUCTURE": [""], "KEYS": [""]}
    )
    spec_vars = pd.DataFrame(
        {
            "DATASET": ["LB", "LB"],
            "ORDER": [1, 2],
            "VARIABLE": ["LBTESTCD", "XX"],
            "LABEL": ["Test", "X"],
            "CODELIST": ["C65047", "SPONSOR1"],
        }
    )
    ds = describe_table(table, "sdtm", "lb", spec_ds, spec_vars)
    used = {("LB", "LBTESTCD"): ["ALT", "DSDNA"], ("LB", "XX"): ["A", "B"]}
    tree = build_tree([ds], [], used, load_ct(codelists={"C65047"}), {"studyid": "S"}, "2026-01-01T00:00:00Z")
    lists = _by_oid(tree, o("CodeList"))
    items = {
        e.get("CodedValue"): e.get(d("ExtendedValue")) for e in lists["CL.C65047"].iter(o("EnumeratedItem"))
    }
    assert items == {"ALT": None, "DSDNA": "Yes"}
    assert [e.get("CodedValue") for e in lists["CL.SPONSOR1"].iter(o("EnumeratedItem"))] == ["A", "B"]
    assert define_problems(tree, ["LB"]) == []


def test_html_rendering_lists_datasets_codelists_methods_and_escapes(built, tmp_path):
    root, tree, html_path, _ = built
    html = html_path.read_text()
    assert html_path == root / "qa" / "define.html"
    for text in (
        "Demographics",
        "Laboratory Test Results",
        "LBORRES",
        "C66731",
        "Computation",
        "LBTESTCD EQ HCG",
    ):
        assert text in html
    # a label holding markup is shown as text
    label = tree.getroot().find(
        f".//{o('ItemDef')}[@OID='IT.DM.SEX']/{o('Description')}/{o('TranslatedText')}"
    )
    label.text = "Sex <b>bold</b>"
    tree.write(tmp_path / "define.xml", encoding="utf-8", xml_declaration=True)
    rendered = render_define_html(tmp_path / "define.xml")
    assert "Sex &lt;b&gt;bold&lt;/b&gt;" in rendered and "<b>bold</b>" not in rendered


def test_variable_on_two_codelists_gets_one_combined_codelist():
    table = pa.table({"DSDECOD": ["COMPLETED", "RANDOMIZED"]})
    spec_ds = pd.DataFrame(
        {"DATASET": ["DS"], "LABEL": ["Disposition"], "CLASS": ["Events"], "STRUCTURE": [""], "KEYS": [""]}
    )
    spec_vars = pd.DataFrame(
        {
            "DATASET": ["DS"],
            "ORDER": [1],
            "VARIABLE": ["DSDECOD"],
            "LABEL": ["Standardized Disposition Term"],
            "CODELIST": ["C66727 C114118"],
        }
    )
    ds = describe_table(table, "sdtm", "ds", spec_ds, spec_vars)
    ct = load_ct(codelists={"C66727", "C114118"})
    tree = build_tree(
        [ds],
        [],
        {("DS", "DSDECOD"): ["COMPLETED", "RANDOMIZED"]},
        ct,
        {"studyid": "S"},
        "2026-01-01T00:00:00Z",
    )
    (cl,) = tree.getroot().iter(o("CodeList"))
    assert cl.get("OID") == "CL.C66727_C114118"
    # a CodeList names at most one NCI codelist code: the combined list names none, its terms
    # keep their own codes
    assert cl.findall(o("Alias")) == []
    assert all(e.find(o("Alias")) is not None for e in cl.iter(o("EnumeratedItem")))  # both terms found in CT
    assert define_problems(tree, ["DS"]) == []


def test_define_names_the_code_version_that_wrote_it(built):
    from assets.common.version import code_version

    odm = built[1].getroot()
    assert (odm.get("SourceSystem"), odm.get("SourceSystemVersion")) == ("trialpipe", code_version())


def test_lb_value_level_metadata_per_test_code_and_specimen(tmp_path):
    # WBC in blood and in urine are two value-level rows (derivations.md v2); ALT (one specimen)
    # stays keyed on its code alone
    table = pa.table(
        {
            "LBTESTCD": ["WBC", "WBC", "WBC", "ALT"],
            "LBTEST": ["Leukocytes", "Leukocytes", "Leukocytes", "Alanine Aminotransferase"],
            "LBSPEC": ["BLOOD", "URINE", "BLOOD", "SERUM"],
            "LBORRES": ["6.1", "NEGATIVE", "5.9", "31"],
        }
    )
    ds = describe_table(table, "sdtm", "lb", *NO_SPEC)
    levels = collect_value_levels(ds, table)
    got = [(v.variable, v.key, v.define_type, v.length) for v in levels]
    assert got == [
        ("LBORRES", "ALT", "float", 2),
        ("LBORRES", "WBC.BLOOD", "float", 3),
        ("LBORRES", "WBC.URINE", "text", 8),
    ]
    tree = build_tree([ds], levels, {}, load_ct(codelists=set()), {"studyid": "S"}, "2026-01-01T00:00:00Z")
    assert define_problems(tree, ["LB"]) == []
    wc = _by_oid(tree, d("WhereClauseDef"))["WC.LB.WBC.URINE"]
    checks = [(c.get(d("ItemOID")), c.find(o("CheckValue")).text) for c in wc.findall(o("RangeCheck"))]
    assert checks == [("IT.LB.LBTESTCD", "WBC"), ("IT.LB.LBSPEC", "URINE")]
    assert [c.find(o("CheckValue")).text for c in _by_oid(tree, d("WhereClauseDef"))["WC.LB.ALT"]] == ["ALT"]
    path = tmp_path / "define.xml"
    write_define(tree, path)
    assert_define_valid(path)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2025-03-01", "2025-04-02"], "date"),
        (["2025-03", "2025-04-02"], "partialDate"),  # CMSTDTC / MHSTDTC: what the site knew
        (["2025", None], "partialDate"),
        (["2025-03-01T10:30:00"], "datetime"),
        (["2025-03-01T10:30", "2025-03-01T10:30:00"], "partialDatetime"),  # to the minute
        (["2025-03-01", "2025-03-01T10:30:00"], "partialDatetime"),  # dates beside datetimes
        ([None, ""], "date"),  # no value: nothing is partial
    ],
)
def test_dtc_data_type_says_partial_when_a_value_holds_less(values, expected):
    ds = describe_table(pa.table({"CMSTDTC": pa.array(values, pa.string())}), "sdtm", "cm", *NO_SPEC)
    assert ds.variable("CMSTDTC").define_type == expected
    assert ds.variable("CMSTDTC").json_type == ("datetime" if "time" in expected.lower() else "date")


def test_comments_for_expected_variables_without_value_or_absent_and_sponsor_test_codes(tmp_path):
    from assets.exports.build import absent_expected, expected_without_value

    table = pa.table(
        {
            "LBTESTCD": ["ALT", "XYZCD"],
            "LBORRES": ["31", "2"],
            "LBORNRLO": pa.array([None, ""], pa.string()),
        }
    )
    spec_ds = pd.DataFrame({"DATASET": ["LB"], "LABEL": ["Laboratory Test Results"], "CLASS": ["Findings"]})
    spec_vars = pd.DataFrame(
        {
            "DATASET": ["LB"] * 4,
            "ORDER": [1, 2, 3, 4],
            "VARIABLE": ["LBTESTCD", "LBORRES", "LBORNRLO", "LBLOBXFL"],
            "LABEL": ["Lab Test Short Name", "Result", "Reference Range Lower Limit", "Last Obs Flag"],
            "CODELIST": ["C65047", "", "", ""],
            "CORE": ["Req", "Exp", "Exp", "Exp"],
        }
    )
    ds = describe_table(table, "sdtm", "lb", spec_ds, spec_vars)
    assert expected_without_value(ds, table) == ["LBORNRLO"]  # LBORRES has values
    from unittest import mock

    with mock.patch("assets.exports.build.load_spec", return_value=(spec_ds, spec_vars)):
        absent = absent_expected([ds])
    assert absent == {"LB": ["LBLOBXFL"]}
    tree = build_tree(
        [ds],
        collect_value_levels(ds, table),
        {("LB", "LBTESTCD"): ["ALT", "XYZCD"]},
        load_ct(codelists={"C65047"}),
        {"studyid": "S"},
        "2026-01-01T00:00:00Z",
        empty_expected={("LB", "LBORNRLO")},
        absent_expected=absent,
    )
    assert define_problems(tree, ["LB"]) == []
    comments = {c.get("OID"): "".join(c.itertext()).strip() for c in tree.getroot().iter(d("CommentDef"))}
    assert set(comments) == {"COM.LB", "COM.LB.LBORNRLO", "COM.LB.TESTCD.XYZCD"}  # ALT is CDISC CT
    assert "LBLOBXFL" in comments["COM.LB"] and "without a value" in comments["COM.LB.LBORNRLO"]
    assert comments["COM.LB.TESTCD.XYZCD"].startswith("Sponsor-defined test code XYZCD")
    assert _by_oid(tree, d("WhereClauseDef"))["WC.LB.XYZCD"].get(d("CommentOID")) == "COM.LB.TESTCD.XYZCD"
    assert _by_oid(tree, d("WhereClauseDef"))["WC.LB.ALT"].get(d("CommentOID")) is None
    path = tmp_path / "define.xml"
    write_define(tree, path)
    assert_define_valid(path)


def _origin_problems(tree) -> list[str]:
    """Items whose origin lacks what Define-XML 2.1 asks for it: a Derived item without a MethodDef
    holding text, an Assigned one without a description of the value, a Predecessor one without
    the variable it comes from."""
    root = tree.getroot()
    items = _by_oid(tree, o("ItemDef"))
    methods = _by_oid(tree, o("MethodDef"))
    problems = []
    for ig in root.iter(o("ItemGroupDef")):
        for ref in ig.findall(o("ItemRef")):
            oid = ref.get("ItemOID")
            origin = items[oid].find(d("Origin"))
            kind = origin.get("Type")
            text = "".join(origin.itertext()).strip()
            method = methods.get(ref.get("MethodOID"))
            if kind == "Derived" and (method is None or not "".join(method.itertext()).strip()):
                problems.append(f"{oid}: Derived without a method")
            elif kind == "Assigned" and not text:
                problems.append(f"{oid}: Assigned without a description")
            elif kind == "Predecessor" and "." not in text:
                problems.append(f"{oid}: Predecessor without its source variable")
    return problems


def _empty_table(spec_vars: pd.DataFrame, dataset: str) -> pa.Table:
    rows = spec_vars[spec_vars["DATASET"] == dataset]
    return pa.table(
        {
            v: pa.array([], pa.float64() if t == "Num" else pa.string())
            for v, t in zip(rows["VARIABLE"], rows["TYPE"], strict=True)
        }
    )


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_every_derived_or_assigned_spec_item_has_a_method_or_is_predecessor(standard):
    # the whole study spec (every dataset, every variable): define.xml gives each Derived item a
    # MethodDef with the spec's METHOD text, each Assigned item its value's description, and each
    # Predecessor item its source variable (issue 15: a method for each derived item)
    from assets.exports.metadata import load_spec

    spec_ds, spec_vars = load_spec(standard)
    datasets = [
        describe_table(_empty_table(spec_vars, name), standard, name.lower(), spec_ds, spec_vars)
        for name in spec_ds["DATASET"]
    ]
    assert sum(len(ds.variables) for ds in datasets) == len(spec_vars)
    tree = build_tree(datasets, [], {}, load_ct(codelists=set()), {"studyid": "S"}, "2026-01-01T00:00:00Z")
    assert define_problems(tree, list(spec_ds["DATASET"])) == []
    assert _origin_problems(tree) == []
    origins = {e.find(d("Origin")).get("Type") for e in _by_oid(tree, o("ItemDef")).values()}
    assert "Derived" in origins


def test_origin_check_finds_a_derived_item_without_method_and_a_predecessor_without_source():
    table = pa.table({"AVISIT": ["WEEK 2"], "A1LO": [1.0], "ASEV": ["MILD"], "PARAMN": [1.0]})
    spec_ds = pd.DataFrame(
        {
            "DATASET": ["ADLB"],
            "LABEL": ["Lab"],
            "CLASS": ["BASIC DATA STRUCTURE"],
            "STRUCTURE": [""],
            "KEYS": [""],
        }
    )
    spec_vars = pd.DataFrame(
        {
            "DATASET": ["ADLB"] * 4,
            "ORDER": [1, 2, 3, 4],
            "VARIABLE": ["AVISIT", "A1LO", "ASEV", "PARAMN"],
            "LABEL": ["Analysis Visit", "Analysis Range 1 Lower Limit", "Analysis Severity", "Parameter (N)"],
            "ORIGIN": ["Predecessor", "Derived", "Predecessor", "Assigned"],
            "SOURCE": ["LB.VISIT", "LB.LBSTNRLO", "", "study/adlb_parameters.csv"],
            "METHOD": ["", "", "", ""],
        }
    )
    ds = describe_table(table, "adam", "adlb", spec_ds, spec_vars)
    tree = build_tree([ds], [], {}, load_ct(codelists=set()), {"studyid": "S"}, "2026-01-01T00:00:00Z")
    assert _origin_problems(tree) == [
        "IT.ADLB.A1LO: Derived without a method",
        "IT.ADLB.ASEV: Predecessor without its source variable",
        "IT.ADLB.PARAMN: Assigned without a description",
    ]
    # a Predecessor item names its source in def:Origin and gets no method
    avisit = _by_oid(tree, o("ItemDef"))["IT.ADLB.AVISIT"].find(d("Origin"))
    assert (avisit.get("Type"), "".join(avisit.itertext()).strip()) == ("Predecessor", "LB.VISIT")
    assert _by_oid(tree, o("MethodDef")) == {}


def test_sponsor_defined_criterion_and_parameter_codes_are_commented(tmp_path):
    # IETESTCD draws on no CDISC CT codelist: each criterion code (a where clause of IEORRES) is
    # sponsor defined; TSPARMCD draws on C66738: only the codes it lacks are (one comment on the item)
    ie = pa.table({"IETESTCD": ["IN02", "EX03", "IN02"], "IETEST": ["SLEDAI >= 8", "ALT", "SLEDAI >= 8"]})
    ie = ie.append_column("IEORRES", pa.array(["N", "Y", "N"]))
    ts = pa.table({"TSPARMCD": ["AGEMAX", "XYZPARM", "DOSFRQ"], "TSVAL": ["75", "1", "Q2W"]})
    spec_ds = pd.DataFrame(
        {
            "DATASET": ["IE", "TS"],
            "LABEL": ["Inclusion/Exclusion Criteria Not Met", "Trial Summary"],
            "CLASS": ["Findings", "Trial Design"],
        }
    )
    spec_vars = pd.DataFrame(
        {
            "DATASET": ["IE", "IE", "IE", "TS", "TS"],
            "ORDER": [1, 2, 3, 1, 2],
            "VARIABLE": ["IETESTCD", "IETEST", "IEORRES", "TSPARMCD", "TSVAL"],
            "LABEL": ["Criterion Short Name", "Criterion", "Result", "Parameter Short Name", "Value"],
            "CODELIST": ["", "", "", "C66738", ""],
            "CORE": ["Req"] * 5,
        }
    )
    datasets = [
        describe_table(ie, "sdtm", "ie", spec_ds, spec_vars),
        describe_table(ts, "sdtm", "ts", spec_ds, spec_vars),
    ]
    tree = build_tree(
        datasets,
        collect_value_levels(datasets[0], ie),
        {("TS", "TSPARMCD"): ["AGEMAX", "DOSFRQ", "XYZPARM"]},
        load_ct(codelists={"C66738"}),
        {"studyid": "S"},
        "2026-01-01T00:00:00Z",
    )
    assert define_problems(tree, ["IE", "TS"]) == []
    comments = {c.get("OID"): "".join(c.itertext()).strip() for c in tree.getroot().iter(d("CommentDef"))}
    assert set(comments) == {"COM.IE.TESTCD.EX03", "COM.IE.TESTCD.IN02", "COM.TS.TSPARMCD"}
    assert comments["COM.IE.TESTCD.IN02"] == (
        "Sponsor-defined test code IN02 (SLEDAI >= 8): IETESTCD draws on no CDISC CT codelist "
        "(CDISC CT 2025-03-28 has none for these codes)."
    )
    assert _by_oid(tree, d("WhereClauseDef"))["WC.IE.EX03"].get(d("CommentOID")) == "COM.IE.TESTCD.EX03"
    # AGEMAX and DOSFRQ are CDISC CT terms: only XYZPARM is named
    assert comments["COM.TS.TSPARMCD"] == (
        "Sponsor-defined parameter codes, not terms of CDISC CT Trial Summary Parameter Test Code "
        "(2025-03-28): XYZPARM."
    )
    assert _by_oid(tree, o("ItemDef"))["IT.TS.TSPARMCD"].get(d("CommentOID")) == "COM.TS.TSPARMCD"
    assert _by_oid(tree, o("ItemDef"))["IT.TS.TSVAL"].get(d("CommentOID")) is None
    path = tmp_path / "define.xml"
    write_define(tree, path)
    assert_define_valid(path)


def test_parameter_codes_all_in_ct_get_no_comment():
    ts = pa.table({"TSPARMCD": ["AGEMAX"]})
    spec_vars = pd.DataFrame(
        {"DATASET": ["TS"], "ORDER": [1], "VARIABLE": ["TSPARMCD"], "LABEL": ["P"], "CODELIST": ["C66738"]}
    )
    ds = describe_table(ts, "sdtm", "ts", pd.DataFrame(columns=SPEC_DATASET_COLUMNS), spec_vars)
    tree = build_tree(
        [ds], [], {("TS", "TSPARMCD"): ["AGEMAX"]}, load_ct(codelists={"C66738"}), {"studyid": "S"}, "2026"
    )
    assert list(tree.getroot().iter(d("CommentDef"))) == []
