"""Operator details (issue 18, item 7).

1. ``make dev`` runs ``dg dev -w workspace.yaml``: the command Dagster 1.13 recommends instead of
   ``dagster dev`` (which says so), with the landing zone, warehouse and DAGSTER_HOME set, after
   ``trialpipe register-sites``; ``dg`` loads the same definitions.
2. A plain ``trialpipe run`` (DAGSTER_HOME without a ``dagster.yaml``, or unset) does not print
   Dagster's warning of a missing ``dagster.yaml``: such a folder is given a minimal one first.
3. The README says the sensor and the schedule start stopped and how to switch them on, naming
   each one the definitions hold, with commands the installed ``dagster`` CLI accepts.
4. ``trialpipe --version`` prints the installed version.
5. ``trialpipe run --restricted DIR`` without ``--unblinded`` is a usage error; the restricted
   folder given by ``TRIALPIPE_RESTRICTED`` in the environment is not, and a blinded run ignores it.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

import pipelines.instance
import pipelines.run
from assets.common.version import code_version
from pipelines.cli import main
from pipelines.definitions import defs
from pipelines.instance import default_instance_yaml, ensure_instance_config
from pipelines.run import RunOutcome
from pipelines.settings import ENV_AUTOMATION_DEFAULT, AutomationSettings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
README = ROOT / "README.md"

# dagster/_core/instance/config.py, dagster_instance_config(): logged when DAGSTER_HOME is set and
# holds no dagster.yaml.
MISSING_YAML_WARNING = "No dagster instance configuration file"
# dagster/_core/telemetry.py: the notice printed when telemetry is on and the instance is new.
TELEMETRY_NOTICE = "we collect usage statistics"


# --- 1. make dev --------------------------------------------------------------------------------


def _stub(path: Path, log: Path) -> None:
    """An executable that records its name, arguments, working folder and environment, then exits 0."""
    path.write_text(
        "#!/bin/sh\n"
        f'printf \'%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n\' "$(basename "$0")" "$PWD" "$DAGSTER_HOME" '
        f'"$TRIALPIPE_LANDING" "$TRIALPIPE_WAREHOUSE" "$*" >> {shlex.quote(str(log))}\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_make_dev_runs_dg_dev_on_the_workspace_after_registering_the_sites(tmp_path):
    """The real ``dev`` recipe, with the venv's ``trialpipe`` and ``dg`` replaced by recorders."""
    venv, log = tmp_path / "venv", tmp_path / "calls.tsv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()  # newer than pyproject.toml: the `venv` prerequisite is up to date
    for name in ("trialpipe", "dg", "dagster"):
        _stub(venv / "bin" / name, log)
    landing, warehouse, home = tmp_path / "landing", tmp_path / "warehouse", tmp_path / "home"
    (landing / "sites").mkdir(parents=True)  # present: `make dev` does not generate one
    proc = subprocess.run(
        ["make", "-C", str(ROOT), "dev", f"VENV={venv}", f"LANDING={landing}", f"WAREHOUSE={warehouse}"]
        + [f"DAGSTER_HOME={home}", "DEV_ARGS=--port 3901"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dagster dev" not in proc.stdout
    calls = [line.split("\t") for line in log.read_text().splitlines()]
    assert [c[0] for c in calls] == ["trialpipe", "dg"], calls
    (_, _, reg_home, _, _, reg_args), (_, cwd, dev_home, dev_landing, dev_warehouse, dev_args) = calls
    assert reg_args == f"register-sites --landing {landing}" and reg_home == str(home)
    assert dev_args.split() == ["dev", "-w", "workspace.yaml", "--port", "3901"]
    assert Path(cwd) == ROOT and (ROOT / "workspace.yaml").is_file()
    assert (dev_home, dev_landing, dev_warehouse) == (str(home), str(landing), str(warehouse))
    assert home.is_dir()


def test_dg_dev_is_what_dagster_recommends_and_takes_the_workspace_and_port(monkeypatch):
    import dagster._cli.dev
    from dagster_dg_cli.cli.dev import dev_command

    # `dagster dev` is superseded (a warning at every start) in favour of `dg dev`.
    assert "Use 'dg dev' instead." in inspect.getsource(dagster._cli.dev)
    monkeypatch.chdir(ROOT)  # -w must name an existing file
    ctx = dev_command.make_context("dev", ["-w", "workspace.yaml", "--port", "3901"])
    assert ctx.params["workspace"] == ("workspace.yaml",) and ctx.params["port"] == 3901


def _dg_env(tmp_path: Path) -> dict:
    return {
        **os.environ,
        "TRIALPIPE_LANDING": str(tmp_path / "landing"),
        "TRIALPIPE_WAREHOUSE": str(tmp_path / "warehouse"),
        "VIRTUAL_ENV": str(BIN.parent),  # dg warns when the project's venv is not the active one
        "DAGSTER_HOME": str(tmp_path),
        "GX_ANALYTICS_ENABLED": "false",
    }


@pytest.mark.e2e  # runs a subprocess (about 3 s): slow tier
def test_dg_lists_the_definitions_of_the_code_location(tmp_path):
    if not (BIN / "dg").exists():
        pytest.skip("dg (dagster-dg-cli) is not installed in this environment")
    proc = subprocess.run(
        [str(BIN / "dg"), "list", "defs", "--json"],
        cwd=ROOT,
        env=_dg_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(proc.stdout)
    assert sorted(s["name"] for s in listed["sensors"]) == sorted(s.name for s in defs.sensors)
    assert sorted(s["name"] for s in listed["schedules"]) == sorted(s.name for s in defs.schedules)
    assert sorted(j["name"] for j in listed["jobs"]) == sorted(
        j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")
    )
    graph_keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {a["asset_key"] for a in listed["assets"]} == graph_keys


# --- 2. no missing-dagster.yaml warning ---------------------------------------------------------


@pytest.fixture
def dagster_log():
    """Records of the ``dagster`` logger (where Dagster logs the missing-dagster.yaml warning)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("dagster")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _warned(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if MISSING_YAML_WARNING in r.getMessage()]


def test_a_home_without_dagster_yaml_is_given_a_minimal_one(tmp_path):
    written = ensure_instance_config(tmp_path)
    assert written == tmp_path / "dagster.yaml"
    assert written.read_text(encoding="utf-8") == default_instance_yaml(tmp_path)
    assert yaml.safe_load(written.read_text(encoding="utf-8")) == {
        "telemetry": {"enabled": False},
        "event_log_storage": {
            "module": "pipelines.event_storage",
            "class": "PooledSqliteEventLogStorage",
            "config": {"base_dir": str(tmp_path.resolve() / "history" / "runs")},
        },
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dagster.yaml"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask
    assert ensure_instance_config(tmp_path) is None  # once there, left alone


def test_an_existing_dagster_yaml_is_never_replaced(tmp_path):
    mine = "run_coordinator:\n  module: dagster.core.run_coordinator\n"
    (tmp_path / "dagster.yaml").write_text(mine)
    assert ensure_instance_config(tmp_path) is None
    assert (tmp_path / "dagster.yaml").read_text() == mine


@pytest.mark.parametrize("error", [FileExistsError, PermissionError])
def test_a_file_that_appears_meanwhile_or_a_folder_that_cannot_take_it_is_no_error(
    tmp_path, monkeypatch, error
):
    def link(src, dst):
        raise error(dst)

    monkeypatch.setattr(pipelines.instance.os, "link", link)
    assert ensure_instance_config(tmp_path) is None
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed


def test_the_run_instance_opens_an_empty_home_without_the_warning(tmp_path, monkeypatch, dagster_log):
    home, control = tmp_path / "home", tmp_path / "control"
    home.mkdir()
    control.mkdir()
    # Positive control: Dagster's own way of opening an empty DAGSTER_HOME does log the warning.
    monkeypatch.setenv("DAGSTER_HOME", str(control))
    with dg.DagsterInstance.get():
        pass
    assert _warned(dagster_log), "the handler does not see Dagster's warning: the test proves nothing"
    dagster_log.clear()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pipelines.run._instance() as instance:
        assert not instance.is_ephemeral and not instance.telemetry_enabled
    assert _warned(dagster_log) == []
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == default_instance_yaml(home)


def test_register_sites_opens_an_empty_home_without_the_warning(landing, tmp_path, monkeypatch, dagster_log):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    result = CliRunner().invoke(main, ["register-sites", "--landing", str(landing)])
    assert result.exit_code == 0, result.output
    assert "site partitions: 3 (3 new)" in result.output
    assert MISSING_YAML_WARNING not in result.output and _warned(dagster_log) == []
    assert (home / "dagster.yaml").is_file()


@pytest.fixture(scope="module")
def tiny_trial(tmp_path_factory) -> Path:
    """``trialpipe generate --sites 2 --subjects 8 --seed 1``: landing/ and restricted/."""
    from synth.generate import generate_trial

    base = tmp_path_factory.mktemp("operator")
    generate_trial(base / "landing", base / "restricted", sites=2, subjects=8, seed=1, defects=0.0)
    return base


def _run_cli(base: Path, warehouse: Path, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "TRIALPIPE_RESTRICTED")}
    return subprocess.run(
        [str(BIN / "trialpipe"), "run", "--landing", str(base / "landing"), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env={**clean, "GX_ANALYTICS_ENABLED": "false", "TRIALPIPE_INGEST_WORKERS": "1", **env},
        timeout=600,
    )


@pytest.fixture(scope="module")
def run_with_empty_home(tiny_trial):
    home = tiny_trial / "home"
    home.mkdir()
    return _run_cli(tiny_trial, tiny_trial / "wh_home", {"DAGSTER_HOME": str(home)}), home


@pytest.fixture(scope="module")
def run_without_home(tiny_trial):
    """DAGSTER_HOME unset; TRIALPIPE_RESTRICTED exported, as an operator might for every run."""
    env = {"TRIALPIPE_RESTRICTED": str(tiny_trial / "restricted")}
    return _run_cli(tiny_trial, tiny_trial / "wh_nohome", env), tiny_trial / "wh_nohome"


@pytest.mark.e2e  # runs the pipeline on a tiny trial
def test_a_plain_run_into_an_empty_dagster_home_prints_no_missing_yaml_warning(run_with_empty_home):
    proc, home = run_with_empty_home
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Wrote " in proc.stdout
    for text in (proc.stdout, proc.stderr):
        assert MISSING_YAML_WARNING not in text and TELEMETRY_NOTICE not in text
    logged = [p for p in home.rglob("*") if p.is_file() and MISSING_YAML_WARNING.encode() in p.read_bytes()]
    assert logged == []  # nor in the instance's event log or compute logs
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == default_instance_yaml(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # the run was recorded there
        assert len(instance.get_runs()) == 1


@pytest.mark.e2e  # runs the pipeline on a tiny trial
def test_a_plain_run_without_dagster_home_prints_no_missing_yaml_warning(run_without_home):
    proc, _ = run_without_home
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in (proc.stdout, proc.stderr):
        assert MISSING_YAML_WARNING not in text and TELEMETRY_NOTICE not in text


# --- 3. the README on the sensor and the schedule -----------------------------------------------


def _readme_commands(kind: str) -> list[list[str]]:
    """The ``dagster <kind> start ...`` lines of the README's code blocks, as argument lists."""
    lines = re.findall(
        rf"^(?:\.venv/bin/)?dagster {kind} start .*$", README.read_text(encoding="utf-8"), re.M
    )
    return [shlex.split(line)[3:] for line in lines]


def test_the_readme_says_the_sensor_and_schedule_start_stopped_and_how_to_start_them(monkeypatch):
    from dagster._cli import cli as dagster_cli

    if os.environ.get(ENV_AUTOMATION_DEFAULT, "").strip().lower() == "running":
        pytest.skip(f"{ENV_AUTOMATION_DEFAULT}=running here: the definitions start running, as documented")
    monkeypatch.delenv(ENV_AUTOMATION_DEFAULT, raising=False)
    assert AutomationSettings.from_env().running_by_default is False
    readme = README.read_text(encoding="utf-8")
    assert "### The sensor and the schedule start stopped" in readme
    assert "**Automation**" in readme and ENV_AUTOMATION_DEFAULT in readme
    monkeypatch.chdir(ROOT)  # -w workspace.yaml must exist
    instigators = [("sensor", s.name, s.default_status) for s in defs.sensors]
    instigators += [("schedule", s.name, s.default_status) for s in defs.schedules]
    assert {kind for kind, _, _ in instigators} == {"sensor", "schedule"}
    for kind, name, status in instigators:
        assert status.value == "STOPPED", (name, status)
        assert f"`{name}`" in readme, name
        commands = [args for args in _readme_commands(kind) if name in args]
        assert commands == [["-w", "workspace.yaml", name]], (name, _readme_commands(kind))
        # The installed dagster CLI accepts the README's command as written.
        start = dagster_cli.commands[kind].commands["start"]
        ctx = start.make_context("start", list(commands[0]))
        assert ctx.params[f"{kind}_name"] == name and ctx.params["workspace"] == ("workspace.yaml",)


# --- 4. --version -------------------------------------------------------------------------------


def test_version_prints_the_installed_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert code_version() != "0+unknown"
    assert result.output == f"trialpipe, version {code_version()}\n"


# --- 5. --restricted without --unblinded ---------------------------------------------------------


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """``trialpipe run`` up to the pipeline: the resources it would run with, recorded, no run."""
    calls: list[dict] = []

    def run_pipeline(resources=None, **_kw):
        calls.append(resources)
        return RunOutcome(True, "ok", "fake")

    monkeypatch.setattr(pipelines.run, "run_pipeline", run_pipeline)
    monkeypatch.setattr(pipelines.run, "summarize", lambda root: f"Wrote {root}")
    monkeypatch.delenv("TRIALPIPE_RESTRICTED", raising=False)
    monkeypatch.delenv("TRIALPIPE_LANDING", raising=False)
    monkeypatch.delenv("TRIALPIPE_WAREHOUSE", raising=False)
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "RANDLIST.csv").write_text("RANDNO,ARMCD\n1001,PBO\n")
    return calls, restricted


def _invoke(landing: Path, warehouse: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(
        main, ["run", "--landing", str(landing), "--warehouse", str(warehouse), *args], env=env
    )


def test_restricted_on_the_command_line_without_unblinded_is_a_usage_error(landing, tmp_path, fake_run):
    calls, restricted = fake_run
    warehouse = tmp_path / "warehouse"
    result = _invoke(landing, warehouse, "--restricted", str(restricted))
    assert result.exit_code == 2, result.output
    message = result.output.split("Error:", 1)[-1]
    assert "--restricted" in message and "--unblinded" in message, result.output
    assert calls == [] and not warehouse.exists()


def test_restricted_from_the_environment_alone_runs_blinded_without_it(landing, tmp_path, fake_run):
    calls, restricted = fake_run
    result = _invoke(landing, tmp_path / "warehouse", env={"TRIALPIPE_RESTRICTED": str(restricted)})
    assert result.exit_code == 0, result.output
    (resources,) = calls
    assert resources["warehouse"].mode == "blinded"
    assert resources["restricted"].path == ""  # the blinded run is not even given the folder


@pytest.mark.parametrize("source", ["command line", "environment"])
def test_an_unblinded_run_takes_the_restricted_folder_from_either(landing, tmp_path, fake_run, source):
    calls, restricted = fake_run
    if source == "command line":
        result = _invoke(landing, tmp_path / "warehouse", "--unblinded", "--restricted", str(restricted))
    else:
        result = _invoke(
            landing, tmp_path / "warehouse", "--unblinded", env={"TRIALPIPE_RESTRICTED": str(restricted)}
        )
    assert result.exit_code == 0, result.output
    (resources,) = calls
    assert resources["warehouse"].mode == "unblinded"
    assert resources["restricted"].path == str(restricted.resolve())


def test_unblinded_without_a_restricted_folder_is_still_a_usage_error(landing, tmp_path, fake_run):
    calls, _ = fake_run
    result = _invoke(landing, tmp_path / "warehouse", "--unblinded")
    assert result.exit_code == 2 and "--restricted" in result.output and calls == []


@pytest.mark.e2e  # runs the pipeline on a tiny trial (the run of part 2, with the variable exported)
def test_a_blinded_run_with_the_variable_exported_writes_only_blinded_outputs(run_without_home):
    proc, warehouse = run_without_home
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (warehouse / "unblinded").exists()
    adsl = pq.read_table(warehouse / "blinded" / "adam" / "adsl.parquet").to_pandas()
    randomized = adsl[adsl["RANDFL"] == "Y"]
    assert len(randomized) and (randomized["TRT01P"] == "BLINDED").all()
