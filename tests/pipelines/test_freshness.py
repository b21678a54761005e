"""Freshness: a site whose newest complete export is older than N days (or missing) is stale."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from assets.common.resources import RunSettings
from pipelines.checks import site_export_ages, stale_sites
from pipelines.resources import resources_from_env
from pipelines.run import run_pipeline
from tests.pipelines.test_partitions import INGEST

NOW = datetime(2026, 3, 8, 2, 0, 0, tzinfo=UTC)


def inventory(rows):
    return pd.DataFrame(rows, columns=["SOURCE", "EXPORT_ID", "COMPLETE"])


def test_age_is_from_the_newest_complete_export_id_in_utc():
    inv = inventory(
        [
            ("101", "20260301T020000Z", True),  # exactly 7 days before NOW
            ("101", "20260307T020000Z", False),  # newer but incomplete: does not count
            ("102", "20260301T015959Z", True),  # 7 days and 1 second
            ("103", "20260305T020000Z", False),  # never a complete export
            ("IWRS", "20200101T000000Z", True),  # not a site
        ]
    )
    ages = site_export_ages(inv, ["101", "102", "103", "104"], NOW).set_index("SITEID")
    assert ages.loc["101", "NEWEST_EXPORT"] == "20260301T020000Z"
    assert ages.loc["101", "AGE_DAYS"] == 7.0
    assert abs(ages.loc["102", "AGE_DAYS"] - (7 + 1 / 86400)) < 1e-9
    assert pd.isna(ages.loc["103", "AGE_DAYS"]) and pd.isna(ages.loc["104", "NEWEST_EXPORT"])
    assert "IWRS" not in ages.index
    assert stale_sites(ages.reset_index(), 7.0)["SITEID"].tolist() == ["102", "103", "104"]
    assert stale_sites(ages.reset_index(), 8.0)["SITEID"].tolist() == ["103", "104"]


def test_no_inventory_at_all_makes_every_site_stale():
    ages = site_export_ages(pd.DataFrame(), ["101"], NOW)
    assert stale_sites(ages, 7.0)["SITEID"].tolist() == ["101"]


def settings_resolved() -> RunSettings:
    """The settings resource of the code location as a run would see it (EnvVar resolved now)."""
    return resources_from_env()["settings"].process_config_and_initialize()


def test_threshold_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("TRIALPIPE_FRESHNESS_DAYS", raising=False)
    assert settings_resolved().freshness_days == 7
    monkeypatch.setenv("TRIALPIPE_FRESHNESS_DAYS", "30")
    assert settings_resolved().freshness_days == 30


@pytest.mark.e2e  # runs a subprocess or the pipeline: slow tier
def test_check_fails_as_a_warning_for_old_exports_and_passes_with_a_wide_window(
    pipeline_env, instance, monkeypatch
):
    results = []
    monkeypatch.setenv("TRIALPIPE_FRESHNESS_DAYS", "7")
    assert run_pipeline(instance=instance, asset_selection=INGEST, on_result=results.append).success
    monkeypatch.setenv("TRIALPIPE_FRESHNESS_DAYS", "100000")
    assert run_pipeline(instance=instance, asset_selection=INGEST, on_result=results.append).success
    verdicts = [
        e
        for r in results
        for e in r.get_asset_check_evaluations()
        if e.check_name == "sites_exported_within_freshness_window"
    ]
    assert [e.passed for e in verdicts] == [False, True]  # the exports are from March 2026
    assert verdicts[0].severity.value == "WARN"
    assert verdicts[0].metadata["threshold_days"].value == 7
    assert verdicts[0].metadata["stale_sites"].value == 3
