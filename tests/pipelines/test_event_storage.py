"""The event log storage of trialpipe's default instance (issue 18, item 3: event storage).

``PooledSqliteEventLogStorage`` writes Dagster's own SQLite files through engines kept open: what it
writes, Dagster's own ``SqliteEventLogStorage`` reads back the same; it keeps a bounded number of
databases open; it still wipes; the default ``dagster.yaml`` names it; a
``dagster.yaml`` written by trialpipe 0.6.0, or for a home since moved, is brought up to date; any
other is left alone.
"""

from __future__ import annotations

import dagster as dg
import pytest
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage

import pipelines.event_storage
from pipelines.event_storage import MAX_OPEN_DATABASES, PooledSqliteEventLogStorage
from pipelines.instance import EARLIER_DEFAULT_INSTANCE_YAMLS, default_instance_yaml, ensure_instance_config


@dg.asset
def numbers() -> int:
    return 3


@dg.asset_check(asset=numbers)
def numbers_are_positive(numbers: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=numbers > 0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A DAGSTER_HOME given trialpipe's default dagster.yaml."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert ensure_instance_config(tmp_path) == tmp_path / "dagster.yaml"
    return tmp_path


def _event_types(storage, run_id: str) -> list[str]:
    records = storage.get_records_for_run(run_id, limit=10_000).records
    return [r.event_log_entry.dagster_event_type.name for r in records if r.event_log_entry.is_dagster_event]


def test_the_default_instance_writes_through_the_pooled_storage_and_dagsters_own_reads_it(home):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage) is PooledSqliteEventLogStorage
        result = dg.materialize([numbers, numbers_are_positive], instance=instance)
        assert result.success
        written = _event_types(instance.event_log_storage, result.run_id)
    # The files are Dagster's own: its own storage class, in a fresh process state, reads the same.
    plain = SqliteEventLogStorage(str(home / "history" / "runs"))
    assert _event_types(plain, result.run_id) == written
    assert {"ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "RUN_SUCCESS"} <= set(written)
    latest = plain.get_latest_materialization_events([dg.AssetKey("numbers")])[dg.AssetKey("numbers")]
    assert latest is not None and latest.run_id == result.run_id
    (check,) = plain.get_asset_check_execution_history(numbers_are_positive.check_key, limit=1)
    assert check.run_id == result.run_id and check.status.value == "SUCCEEDED"


def test_a_second_run_is_read_by_the_first_instance_and_both_runs_are_kept(home):
    with dg.DagsterInstance.get() as first, dg.DagsterInstance.get() as second:
        one = dg.materialize([numbers], instance=first)
        two = dg.materialize([numbers], instance=second)
        # Each instance keeps its engines open; what the other wrote meanwhile is seen.
        latest = first.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert latest is not None and latest.run_id == two.run_id
        assert {r.dagster_run.run_id for r in first.get_run_records()} == {one.run_id, two.run_id}


def test_at_most_max_open_databases_are_kept_open_the_index_always(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    runs = [f"run{i:02d}" for i in range(MAX_OPEN_DATABASES + 5)]
    for run_id in runs:
        with storage.run_connection(run_id):
            pass
    with storage.index_connection():
        pass
    assert len(storage._engines) == MAX_OPEN_DATABASES
    assert INDEX_SHARD_NAME in storage._engines
    assert [s for s in storage._engines if s != INDEX_SHARD_NAME] == runs[-(MAX_OPEN_DATABASES - 1) :]
    # A run whose engine was closed opens again, its database as it was.
    assert storage.get_records_for_run(runs[0]).records == []
    storage.dispose()
    assert storage._engines == {}


def test_wipe_removes_the_run_databases_and_the_storage_goes_on(home):
    with dg.DagsterInstance.get() as instance:
        first = dg.materialize([numbers], instance=instance)
        assert (home / "history" / "runs" / f"{first.run_id}.db").exists()
        instance.event_log_storage.wipe()
        assert not (home / "history" / "runs" / f"{first.run_id}.db").exists()
        assert instance.get_latest_materialization_event(dg.AssetKey("numbers")) is None
        again = dg.materialize([numbers], instance=instance)
        latest = instance.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert latest is not None and latest.run_id == again.run_id


def test_the_default_yaml_names_the_storage_and_follows_a_moved_home(home, monkeypatch):
    config = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert config["event_log_storage"] == {
        "module": pipelines.event_storage.__name__,
        "class": PooledSqliteEventLogStorage.__name__,
        "config": {"base_dir": str(home.resolve() / "history" / "runs")},
    }
    with dg.DagsterInstance.from_config(str(home)) as instance:  # as Dagster opens it, no env needed
        assert instance.event_log_storage._base_dir == str(home.resolve() / "history" / "runs")
    moved = home.parent / "moved home"
    home.rename(moved)
    # trialpipe's own file, for the folder before it moved: brought up to date for the new one.
    assert ensure_instance_config(moved) == moved / "dagster.yaml"
    assert (moved / "dagster.yaml").read_text(encoding="utf-8") == default_instance_yaml(moved)
    monkeypatch.setenv("DAGSTER_HOME", str(moved))
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage._base_dir == str(moved.resolve() / "history" / "runs")


def test_a_dagster_yaml_of_trialpipe_060_is_brought_up_to_date(tmp_path):
    (tmp_path / "dagster.yaml").write_text(EARLIER_DEFAULT_INSTANCE_YAMLS[0], encoding="utf-8")
    assert ensure_instance_config(tmp_path) == tmp_path / "dagster.yaml"
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == default_instance_yaml(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dagster.yaml"]  # no temporary file left
    assert ensure_instance_config(tmp_path) is None  # up to date: left alone


def test_an_edited_earlier_default_is_left_alone(tmp_path):
    for earlier in (EARLIER_DEFAULT_INSTANCE_YAMLS[0], default_instance_yaml(tmp_path / "before")):
        edited = earlier + "run_monitoring:\n  enabled: true\n"
        (tmp_path / "dagster.yaml").write_text(edited, encoding="utf-8")
        assert ensure_instance_config(tmp_path) is None
        assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == edited


def test_a_linked_dagster_yaml_is_left_alone_even_if_it_is_a_trialpipe_default(tmp_path):
    elsewhere = tmp_path / "shared.yaml"
    elsewhere.write_text(EARLIER_DEFAULT_INSTANCE_YAMLS[0], encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(elsewhere)
    assert ensure_instance_config(home) is None
    assert (home / "dagster.yaml").is_symlink()
    assert elsewhere.read_text(encoding="utf-8") == EARLIER_DEFAULT_INSTANCE_YAMLS[0]
