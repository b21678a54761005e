"""The data cut from the ingest inventory (site-export.md, Landing zone layout): known answers."""

import pandas as pd

from assets.common.data_cut import export_id_iso, source_data_cuts, study_data_cut


def inventory():
    return pd.DataFrame(
        {
            "SOURCE": ["101", "101", "101", "102", "IWRS", "103"],
            "EXPORT_ID": [
                "20260301T020000Z",
                "20260401T020000Z",
                "20260501T020000Z",
                "20260315T020000Z",
                "20260402T000000Z",
                "20261301T000000Z",
            ],
            "COMPLETE": [True, True, False, True, True, True],
            "IN_FORCE": [False, True, False, True, True, True],
        }
    )


def test_the_data_cut_of_a_source_is_its_export_in_force_and_the_studys_the_newest():
    # 101's newer export is incomplete; 103's id is not a real time (month 13): not a data cut
    assert source_data_cuts(inventory()) == {
        "101": "20260401T020000Z",
        "102": "20260315T020000Z",
        "IWRS": "20260402T000000Z",
    }
    assert study_data_cut(inventory()) == "20260402T000000Z"
    without_in_force = inventory().drop(columns="IN_FORCE")
    assert source_data_cuts(without_in_force)["101"] == "20260401T020000Z"


def test_no_inventory_no_data_cut_and_export_ids_as_iso():
    assert study_data_cut(pd.DataFrame()) == "" and source_data_cuts(pd.DataFrame()) == {}
    assert export_id_iso("20260301T020000Z") == "2026-03-01T02:00:00Z"
    assert export_id_iso("not-an-id") == ""
