"""A full run launched the way the Dagster UI launches it, timed against ``trialpipe run`` (issue 18, item 1).

``python -m benchmarks.ui_launch LANDING WAREHOUSE DAGSTER_HOME OUT.json`` registers the site
partitions, starts ``dagster dev`` (the webserver and the daemon that dequeues runs, as ``make dev``
does) on the code location of ``workspace.yaml`` (loopback, a free port), submits the ``full_refresh`` job over the whole site range through the webserver's
GraphQL API (what the UI's "Materialize all" does), and waits for the run to end. The time is from
submission to the run's end, so it includes the run worker's start-up and the code location's
import, as the UI user sees it; the webserver's own start-up is reported apart.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sites(landing: Path) -> list[str]:
    from assets.ingest.discovery import list_sites

    return sorted(list_sites(landing))


def _client_when_ready(port: int, server: subprocess.Popen, timeout_s: float):
    """A GraphQL client once the webserver answers and has loaded the code location."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)
    deadline = time.monotonic() + timeout_s
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {server.returncode}")
        try:
            data = client._execute(query)  # the client has no public call for the load status
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return client
        except Exception:  # not listening yet
            pass
        time.sleep(0.25)
    raise TimeoutError(f"dagster dev did not load the code location within {timeout_s:.0f} s")


def launch_full_refresh(landing: Path, warehouse: Path, home: Path, timeout_s: float = 1800) -> dict:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GX_ANALYTICS_ENABLED": "false",
        "TRIALPIPE_LANDING": str(landing.resolve()),
        "TRIALPIPE_WAREHOUSE": str(warehouse.resolve()),
    }
    for name in ("TRIALPIPE_MODE", "TRIALPIPE_RESTRICTED"):
        env.pop(name, None)
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(BIN / "trialpipe"), "register-sites", "--landing", str(landing)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    sites = _sites(landing)
    port = _free_port()
    log = open(home / "dagster_dev.log", "w")  # noqa: SIM115 - closed in finally
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = _client_when_ready(port, server, timeout_s=180)
        ready_s = time.perf_counter() - started
        submitted = time.perf_counter()
        run_id = client.submit_job_execution(
            "full_refresh", tags={RANGE_START_TAG: sites[0], RANGE_END_TAG: sites[-1]}
        )
        status = ""
        deadline = submitted + timeout_s
        while time.perf_counter() < deadline:
            status = client.get_run_status(run_id).value
            if status in TERMINAL:
                break
            time.sleep(0.25)
        run_s = time.perf_counter() - submitted
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    return {
        "success": status == "SUCCESS",
        "status": status,
        "run_id": run_id,
        "sites": len(sites),
        "webserver_ready_s": round(ready_s, 3),
        "wall_s": round(run_s, 3),
    }


def main() -> None:
    landing, warehouse, home, out = (Path(a) for a in sys.argv[1:5])
    report = launch_full_refresh(landing, warehouse, home)
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
