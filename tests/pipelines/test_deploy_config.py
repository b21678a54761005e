"""The production instance files load: PostgreSQL instance, Kubernetes instance, Helm values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CODE_ENV = {"TRIALPIPE_LANDING", "TRIALPIPE_WAREHOUSE", "TRIALPIPE_MODE"}
PG_ENV = {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}


@pytest.mark.parametrize("folder", ["postgres", "k8s"])
def test_instance_yaml_passes_dagsters_instance_schema(folder):
    config, custom_class = dagster_instance_config(str(DEPLOY / folder))
    assert custom_class is None
    db = config["storage"]["postgres"]["postgres_db"]
    assert {v["env"] for v in db.values() if isinstance(v, dict)} == PG_ENV  # credentials from the env
    assert db["scheme"] == "postgresql+psycopg2"  # the driver dagster-postgres installs
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = {lim["key"]: lim for lim in config["concurrency"]["runs"]["tag_concurrency_limits"]}
    assert limits["trialpipe/source"]["value"] == {"applyLimitPerUniqueValue": True}
    assert limits["trialpipe/source"]["limit"] == 1


def test_k8s_run_launcher_config_is_valid_for_dagster_k8s():
    dagster_k8s = pytest.importorskip(
        "dagster_k8s", reason="dagster-k8s not installed: only the instance schema above was checked"
    )
    from dagster._config import process_config

    config, _ = dagster_instance_config(str(DEPLOY / "k8s"))
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = process_config(dagster_k8s.K8sRunLauncher.config_type(), launcher["config"])
    assert result.success, [e.message for e in result.errors]


def test_helm_values_and_manifests_agree_on_names():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "pipelines.definitions"]
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "manifests.yaml").read_text()))
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert CODE_ENV <= set(by_kind[("ConfigMap", "trialpipe-env")]["data"])
    assert PG_ENV == set(by_kind[("Secret", "trialpipe-postgres")]["stringData"])
    claim = by_kind[("PersistentVolumeClaim", "trialpipe-data")]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert deployment["volumes"][0]["persistentVolumeClaim"]["claimName"] == "trialpipe-data"
