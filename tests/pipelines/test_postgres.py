"""The pipeline against a real PostgreSQL instance (deploy/postgres/dagster.yaml) on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from assets.common.partitions import registered_sites
from pipelines.run import run_pipeline
from tests.pipelines import pg
from tests.pipelines.conftest import SITES
from tests.pipelines.test_partitions import INGEST

pytestmark = pytest.mark.postgres
DEPLOY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "dagster.yaml"


@pytest.fixture(scope="module")
def server():
    srv, why = pg.start()
    if srv is None:
        pytest.skip(f"no PostgreSQL server could be started on loopback: {why}")
    yield srv
    pg.stop(srv)


@pytest.fixture
def pg_instance(server, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as inst:
        yield inst


def _rows(server, sql: str, *params) -> list[tuple]:
    """The rows of one query on the test server's database (what Dagster recorded there)."""
    with (
        psycopg2.connect(
            host=server.host, port=server.port, user=server.user, password=server.password, dbname=server.db
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(sql, params or None)
        return cur.fetchall()


def test_pipeline_runs_on_the_postgres_instance_and_records_there(server, pg_instance, pipeline_env):
    storages = {
        type(pg_instance.run_storage).__name__,
        type(pg_instance.event_log_storage).__name__,
        type(pg_instance.schedule_storage).__name__,
    }
    assert storages == {"PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"}
    assert type(pg_instance.run_coordinator).__name__ == "QueuedRunCoordinator"

    outcome = run_pipeline(instance=pg_instance, asset_selection=INGEST)
    assert outcome.success, outcome.message
    assert registered_sites(pg_instance) == list(SITES)
    assert set(pg_instance.get_materialized_partitions(dg.AssetKey("site_ingest"))) == set(SITES)

    assert _rows(server, "SELECT status FROM runs WHERE run_id = %s", outcome.run_id) == [("SUCCESS",)]
    partitions = _rows(server, "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'site'")
    assert sorted(r[0] for r in partitions) == list(SITES)


def test_whole_graph_runs_on_the_postgres_instance(server, pg_instance, tmp_path, monkeypatch):
    """A small generated trial through every layer (ingest, SDTM, ADaM, QA, exports) with the
    PostgreSQL instance recording the run, the materializations and the asset checks."""
    from synth.generate import generate_trial

    generate_trial(tmp_path / "landing", tmp_path / "restricted", sites=2, subjects=24, seed=11, defects=0.0)
    monkeypatch.setenv("TRIALPIPE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("TRIALPIPE_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.delenv("TRIALPIPE_RESTRICTED", raising=False)
    monkeypatch.setenv("TRIALPIPE_INGEST_WORKERS", "1")

    outcome = run_pipeline(instance=pg_instance)
    assert outcome.success, outcome.message

    blinded = tmp_path / "warehouse" / "blinded"
    for table in ("sdtm/dm.parquet", "sdtm/lb.parquet", "adam/adsl.parquet", "adam/adeff.parquet"):
        assert (blinded / table).is_file(), table
    for key in ("sdtm_dm", "adam_adsl", "qa_gx_validation", "export_xpt"):
        assert pg_instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
    assert _rows(server, "SELECT status FROM runs WHERE run_id = %s", outcome.run_id) == [("SUCCESS",)]
    checks = _rows(
        server,
        "SELECT COUNT(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_CHECK_EVALUATION'",
        outcome.run_id,
    )
    assert checks[0][0] > 0
