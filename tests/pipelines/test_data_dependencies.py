"""Every file an asset writes that another asset reads is a declared dependency.

The QA layer's ``qa_queries`` reads every ``qa/findings/<name>.parquet``; each producer must be
upstream of it, or whether a run's findings reach the queries would depend on step order and on
what an earlier run left behind.
"""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from assets.common import keys
from pipelines.definitions import defs


def upstream_of(key: dg.AssetKey) -> set[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return set(dg.AssetSelection.assets(key).upstream().resolve(graph)) - {key}


def test_every_declared_findings_producer_is_upstream_of_qa_queries():
    upstream = upstream_of(keys.QA_QUERIES)
    missing = {name: k.to_user_string() for name, k in keys.FINDING_PRODUCERS.items() if k not in upstream}
    assert not missing, f"findings producers not upstream of qa_queries: {missing}"


def test_the_xpt_findings_reach_the_queries_of_the_same_run():
    assert keys.EXPORT_XPT in upstream_of(keys.QA_QUERIES)


def test_every_asset_key_of_the_graph_is_in_the_keys_module():
    graph_keys = set(defs.resolve_asset_graph().get_all_asset_keys())
    declared = {v for v in vars(keys).values() if isinstance(v, dg.AssetKey)}
    declared |= {*keys.SDTM_TABLES, *keys.ADAM_TABLES}
    assert graph_keys == declared


@pytest.mark.e2e
def test_every_findings_file_of_a_run_has_a_producer_upstream_of_qa_queries(tmp_path):
    trialpipe = [sys.executable, "-m", "pipelines.cli"]
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    subprocess.run(
        [*trialpipe, "generate", "--out", str(landing), "--sites", "2", "--subjects", "12", "--seed", "5"]
        + ["--defects", "0.05"],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [*trialpipe, "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    written = sorted(p.stem for p in (warehouse / "blinded" / "qa" / "findings").glob("*.parquet"))
    assert written, "the run wrote no findings file"
    upstream = upstream_of(keys.QA_QUERIES)
    assert set(written) <= set(keys.FINDING_PRODUCERS), set(written) - set(keys.FINDING_PRODUCERS)
    assert all(keys.FINDING_PRODUCERS[name] in upstream for name in written)
