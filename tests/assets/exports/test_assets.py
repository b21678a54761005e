"""The exports assets and checks, materialized on a hand-built warehouse."""

import json

import dagster as dg

from assets.common import keys
from assets.common.resources import LandingZone, RestrictedRandomization, Warehouse
from assets.common.version import code_version
from assets.exports.assets import EXPORTS_ASSETS, EXPORTS_CHECKS
from tests.assets.exports.builders import build_mode_root


def test_assets_materialize_and_checks_pass(tmp_path):
    root = build_mode_root(tmp_path / "wh" / "blinded")
    result = dg.materialize(
        [*EXPORTS_ASSETS, *EXPORTS_CHECKS],
        resources={
            "warehouse": Warehouse(path=str(tmp_path / "wh")),
            "landing": LandingZone(path=str(tmp_path)),
            "restricted": RestrictedRandomization(),
        },
    )
    assert result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    from tests.define_xsd import assert_define_valid

    assert_define_valid(root / "submission" / "define.xml")
    assert evaluations == {
        "xpt_values_fit_v5": True,
        "dataset_json_records_match_parquet": True,
        "define_xml_references_resolve": True,
        "duckdb_views_match_parquet_rows": True,
    }
    assert (root / "submission" / "define.xml").is_file()
    # every Dataset-JSON file names the code that wrote it (the contract version is in the Parquet)
    header = json.loads((root / "submission" / "sdtm" / "dm.json").read_text(encoding="utf-8"))
    assert header["sourceSystem"] == {"name": "trialpipe", "version": code_version()}
    assert {a.key.to_user_string() for a in EXPORTS_ASSETS} == {
        "export_xpt",
        "export_dataset_json",
        "export_define_xml",
        "export_duckdb",
    }
    assert all(a.group_names_by_key[a.key] == "exports" for a in EXPORTS_ASSETS)


def test_each_format_waits_for_every_table_and_the_catalog_for_qa_too():
    deps = {a.key.to_user_string(): set(a.asset_deps[a.key]) for a in EXPORTS_ASSETS}
    tables = set(keys.EXPORTED_TABLES)
    assert {"sdtm_dm", "sdtm_suppex", "eligibility", "sledai_findings", "adam_adsl", "adam_stats"} <= {
        k.to_user_string() for k in tables
    }
    assert deps["export_xpt"] == deps["export_dataset_json"] == deps["export_define_xml"] == tables
    assert deps["export_duckdb"] == tables | set(keys.QA_ASSETS)


def test_non_ascii_value_warns_and_only_that_xpt_is_missing_said_in_define_and_summary(tmp_path):
    import xml.etree.ElementTree as ET

    from assets.common.parquet import write_parquet
    from assets.exports.define_xml import d, o
    from pipelines.run import summarize
    from tests.assets.exports.builders import ADSL, ADSL_LABELS
    from tests.define_xsd import assert_define_valid

    root = build_mode_root(tmp_path / "wh" / "blinded")
    (root / "submission" / "adam").mkdir(parents=True)
    (root / "submission" / "adam" / "adsl.xpt").write_bytes(b"an earlier run's file")
    adsl = ADSL.copy()
    adsl.loc[2, "TRT01P"] = "IL-2 1 MIU – high"
    write_parquet(
        adsl,
        root / "adam" / "adsl.parquet",
        labels=ADSL_LABELS,
        dataset_label="Subject-Level Analysis Dataset",
    )
    result = dg.materialize(
        [*EXPORTS_ASSETS, *EXPORTS_CHECKS],
        resources={
            "warehouse": Warehouse(path=str(tmp_path / "wh")),
            "landing": LandingZone(path=str(tmp_path)),
            "restricted": RestrictedRandomization(),
        },
        raise_on_error=False,
    )
    assert result.success  # a value XPT cannot hold never fails the run
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "xpt_values_fit_v5")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["problems"].value == 1
    assert evaluation.metadata["values_not_ascii"].value == 1
    assert evaluation.metadata["datasets_not_written"].value == 1
    assert evaluation.metadata["by_dataset"].value == {"ADSL": 1}
    assert evaluation.metadata["first_problems"].value == ["ADSL.TRT01P row 3: xpt_ascii IL-2 1 MIU – high"]
    # only adsl.xpt is missing (no stale file); every other file is written, the text kept exactly
    submission = root / "submission"
    assert not (submission / "adam" / "adsl.xpt").exists()
    assert (submission / "adam" / "adeff.xpt").is_file() and (submission / "sdtm" / "dm.xpt").is_file()
    adsl_json = json.loads((submission / "adam" / "adsl.json").read_text(encoding="utf-8"))
    assert ["IL-2 1 MIU – high" in row for row in adsl_json["rows"]].count(True) == 1
    # define.xml: ADSL points at its Dataset-JSON file and a comment says why the XPT is missing
    define = root / "submission" / "define.xml"
    assert_define_valid(define)
    tree = ET.parse(define).getroot()
    ig = next(e for e in tree.iter(o("ItemGroupDef")) if e.get("Name") == "ADSL")
    assert ig.find(d("leaf")).get("{http://www.w3.org/1999/xlink}href") == "adam/adsl.json"
    comment = next(c for c in tree.iter(d("CommentDef")) if c.get("OID") == ig.get(d("CommentOID")))
    text = "".join(comment.itertext())
    assert "adam/adsl.xpt is not written" in text and "TRT01P 1" in text and "not ASCII" in text
    html = (root / "qa" / "define.html").read_text(encoding="utf-8")
    assert "adam/adsl.xpt is not written" in html  # the rendering shows the dataset's comment
    dm = next(e for e in tree.iter(o("ItemGroupDef")) if e.get("Name") == "DM")
    assert dm.find(d("leaf")).get("{http://www.w3.org/1999/xlink}href") == "sdtm/dm.xpt"
    # the run summary names the missing file and the reason
    summary = summarize(root)
    assert "submission files not written (1;" in summary
    assert (
        "adam/adsl.xpt" in summary and "1 value not ASCII (English translation needed): TRT01P 1" in summary
    )
