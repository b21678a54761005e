"""The Dagster instance is inside the blinding boundary (derivations.md, (v2) Blinding covers the
Dagster instance): every run is tagged with its mode, and an unblinded run records no subject rows
and no arm-level results in its materialization metadata. The end-to-end scan of a whole
DAGSTER_HOME after a blinded and an unblinded run is ``tests/e2e/test_instance_blinding.py``.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from assets.common.asset_metadata import NOT_RECORDED_UNBLINDED, subject_level, table_metadata
from assets.common.resources import BLINDED, MODE_TAG, UNBLINDED, Warehouse

ADSL_ROWS = pd.DataFrame(
    {"USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002"], "ARMCD": ["IL2M", "PBO"], "TRT01PN": [0.5, 0.0]}
)


def test_unblinded_table_metadata_has_the_schema_and_count_but_no_rows():
    meta = table_metadata(ADSL_ROWS, {"ARMCD": "Planned Arm Code"}, unblinded=True)
    assert meta["dagster/row_count"] == 2
    assert [c.name for c in meta["dagster/column_schema"].columns] == ["USUBJID", "ARMCD", "TRT01PN"]
    assert meta["dagster/column_schema"].columns[1].description == "Planned Arm Code"
    assert meta["preview"] == dg.MetadataValue.text(NOT_RECORDED_UNBLINDED)
    text = repr(meta)
    assert "IL2M" not in text and "PBO" not in text and "101-0001" not in text


def test_blinded_table_metadata_keeps_its_preview():
    meta = table_metadata(ADSL_ROWS.assign(ARMCD="BLINDED"))
    assert "LDIL2SLE-101-0001" in meta["preview"].value and "BLINDED" in meta["preview"].value


def test_subject_level_values_are_kept_only_when_blinded():
    value = dg.MetadataValue.json(["LDIL2SLE-101-0001"])
    assert subject_level(value, unblinded=False) == value
    assert subject_level(value, unblinded=True) == dg.MetadataValue.text(NOT_RECORDED_UNBLINDED)


def _materialize(tmp_path, mode: str, instance, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    @dg.asset
    def touches_the_warehouse(warehouse: Warehouse) -> None:
        warehouse.layer("qa")

    return dg.materialize(
        [touches_the_warehouse],
        resources={"warehouse": Warehouse(path=str(tmp_path / "wh"), mode=mode)},
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )


@pytest.mark.parametrize("mode", [BLINDED, UNBLINDED])
def test_every_run_using_the_warehouse_is_tagged_with_its_mode(tmp_path, instance, mode):
    # however the run was launched (the UI, a sensor, the schedule): the warehouse resource tags it
    result = _materialize(tmp_path, mode, instance)
    assert result.success
    assert instance.get_run_by_id(result.run_id).tags[MODE_TAG] == mode


def test_a_run_tagged_with_the_other_mode_is_refused(tmp_path, instance):
    result = _materialize(tmp_path, UNBLINDED, instance, tags={MODE_TAG: BLINDED})
    assert not result.success
    assert not (tmp_path / "wh" / "unblinded").exists()
