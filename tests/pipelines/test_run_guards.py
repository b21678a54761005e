"""What ``trialpipe run`` checks before it does any work (issue 14, items 10 and 8).

- An unblinded run whose randomization list is missing (no restricted folder, no RANDLIST.csv in
  it, or a RANDLIST.csv that is not a regular file) stops at once with one paragraph naming the
  file, a non-zero exit code, and nothing written: no ``<warehouse>/unblinded/`` folder, nothing in
  the Dagster instance.
- One run at a time per warehouse and mode: while another process holds ``<warehouse>/<mode>.lock``
  (fcntl.flock), a run exits at once naming the lock and the holder's pid, and writes nothing.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from assets.common.resources import BLINDED, UNBLINDED, Warehouse, WarehouseBusy
from pipelines.cli import main
from pipelines.resources import resources_for
from pipelines.run import run_pipeline


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """An empty DAGSTER_HOME: a refused run must leave it empty."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("TRIALPIPE_INGEST_WORKERS", "1")
    return home


def _restricted(tmp_path: Path, case: str) -> tuple[Path, Path]:
    """(restricted folder to pass, the RANDLIST.csv the message must name) for each broken case."""
    folder = tmp_path / "restricted"
    if case == "folder_missing":
        pass
    elif case == "file_missing":
        folder.mkdir()
        (folder / "randlist.txt").write_text("not the list\n")
    elif case == "not_a_regular_file":
        (folder / "RANDLIST.csv").mkdir(parents=True)
    return folder, folder / "RANDLIST.csv"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("case", ["folder_missing", "file_missing", "not_a_regular_file"])
def test_unblinded_run_without_the_randomization_list_stops_before_any_work(landing, tmp_path, home, case):
    restricted, randlist = _restricted(tmp_path, case)
    warehouse = tmp_path / "warehouse"
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--unblinded"]
        + ["--restricted", str(restricted)],
    )
    elapsed = time.monotonic() - started
    assert result.exit_code != 0
    text = result.output.strip()
    assert str(randlist) in text
    assert "\n" not in text and "Traceback" not in text, text  # one paragraph, no stack trace
    assert "nothing was written" in text
    assert not warehouse.exists(), _files(warehouse)  # no unblinded/ folder, no lock, nothing
    assert _files(home) == []  # nor anything in the Dagster instance
    assert elapsed < 10, f"took {elapsed:.1f}s: the check must come before any work"


def test_run_pipeline_checks_the_randomization_list_of_unblinded_resources(landing, tmp_path, home):
    warehouse = tmp_path / "warehouse"
    missing = tmp_path / "nowhere"
    resources = resources_for(str(landing), str(warehouse), unblinded=True, restricted=str(missing))
    outcome = run_pipeline(resources=resources)
    assert not outcome.success
    assert str(missing / "RANDLIST.csv") in outcome.message and "\n" not in outcome.message
    assert not warehouse.exists() and _files(home) == []


def _hold(lock: Path):
    """Take the lock as another run would: exclusive flock, the holder's pid in the file."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def test_a_second_run_on_a_locked_warehouse_exits_at_once_and_writes_nothing(landing, tmp_path, home):
    warehouse = tmp_path / "warehouse"
    lock = warehouse / "blinded.lock"
    fd = _hold(lock)
    try:
        started = time.monotonic()
        result = CliRunner().invoke(main, ["run", "--landing", str(landing), "--warehouse", str(warehouse)])
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert result.exit_code != 0
    text = result.output.strip()
    assert str(lock) in text and f"pid {os.getpid()}" in text, text
    assert "\n" not in text and "Traceback" not in text, text
    assert _files(warehouse) == ["blinded.lock"]  # nothing but the lock the holder made
    assert _files(home) == []
    assert elapsed < 10, f"took {elapsed:.1f}s: a locked warehouse must be refused at once"


def test_the_lock_is_per_warehouse_and_mode_and_released_after_the_run(tmp_path):
    blinded = Warehouse(path=str(tmp_path / "wh"), mode=BLINDED)
    unblinded = Warehouse(path=str(tmp_path / "wh"), mode=UNBLINDED)
    other = Warehouse(path=str(tmp_path / "other"), mode=BLINDED)
    with blinded.run_lock() as lock:
        assert lock == (tmp_path / "wh" / "blinded.lock").resolve()
        assert lock.read_text().strip() == str(os.getpid())
        with unblinded.run_lock(), other.run_lock():  # another mode or warehouse: not blocked
            pass
    fd = _hold(lock)  # released when the first run ended: another process can take it
    os.close(fd)


def test_the_lock_is_reentrant_within_the_process_that_holds_it(tmp_path):
    """`trialpipe run` holds the lock when Dagster initializes the run's warehouse resource, which
    takes it again: that must not block, and the lock stays held until the outer holder ends."""
    warehouse = Warehouse(path=str(tmp_path / "wh"), mode=BLINDED)
    with warehouse.run_lock() as lock:
        with warehouse.run_lock():
            pass
        probe = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)


def test_a_held_lock_is_refused_at_once_or_after_the_wait(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "wh"), mode=BLINDED)
    fd = _hold(warehouse.lock_path)
    try:
        with pytest.raises(WarehouseBusy, match=rf"{warehouse.lock_path}.*pid {os.getpid()}\)[:]"):
            with warehouse.run_lock():
                pass
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match=r"after waiting 1 s"):
            with warehouse.run_lock(wait_seconds=1):
                pass
        assert time.monotonic() - started >= 1
    finally:
        os.close(fd)


def test_a_waiting_run_goes_on_when_the_holder_finishes(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "wh"), mode=BLINDED)
    fd = _hold(warehouse.lock_path)
    threading.Timer(1.0, os.close, args=(fd,)).start()
    with warehouse.run_lock(wait_seconds=30) as lock:
        assert lock.read_text().strip() == str(os.getpid())


@dg.asset
def _lock_probe(warehouse: Warehouse) -> str:
    """Reports whether another process could take the run's lock while the run is going on."""
    probe = os.open(warehouse.lock_path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return "free"
    except BlockingIOError:
        return "held"
    finally:
        os.close(probe)


def test_every_dagster_run_holds_the_lock_of_its_warehouse_and_mode(tmp_path):
    """A run launched from the UI, the sensor or the schedule (not through `trialpipe run`) takes
    the lock when its warehouse resource is initialized, and a second run is refused while it is held."""
    warehouse = Warehouse(path=str(tmp_path / "wh"), mode=BLINDED)
    result = dg.materialize([_lock_probe], resources={"warehouse": warehouse})
    assert result.success and result.output_for_node("_lock_probe") == "held"
    fd = _hold(warehouse.lock_path)
    try:
        refused = dg.materialize([_lock_probe], resources={"warehouse": warehouse}, raise_on_error=False)
    finally:
        os.close(fd)
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_failure)
    assert "holds the lock" in str(failure.event_specific_data)
