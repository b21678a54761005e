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


def test_xpt_check_fails_blocking_on_a_non_ascii_value(tmp_path):
    from assets.common.parquet import write_parquet
    from tests.assets.exports.builders import ADSL, ADSL_LABELS

    root = build_mode_root(tmp_path / "wh" / "blinded")
    adsl = ADSL.copy()
    adsl.loc[2, "TRT01P"] = "IL-2 1 MIU – high"
    write_parquet(
        adsl,
        root / "adam" / "adsl.parquet",
        labels=ADSL_LABELS,
        dataset_label="Subject-Level Analysis Dataset",
    )
    result = dg.materialize(
        [EXPORTS_ASSETS[0], EXPORTS_CHECKS[0]],
        resources={"warehouse": Warehouse(path=str(tmp_path / "wh"))},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["problems"].value == 1
    assert evaluation.metadata["first_problems"].value == ["ADSL.TRT01P row 3: xpt_ascii IL-2 1 MIU – high"]
