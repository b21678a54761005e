"""A small hand-built landing zone (3 sites + IWRS) and the environment the code location reads."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.exports import write_export

SITES = ("101", "102", "103")
FIRST = "20260301T020000Z"
IWRS_FIRST = "20260301T040000Z"


def dm_row(site: str, n: int = 1, **kw) -> dict:
    row = dict(
        SUBJID=f"{site}-{n:04d}",
        RECID=str(n),
        BRTHDAT="01-JAN-1980",
        SEX="F",
        RACE="ASIAN",
        ETHNIC="NOT REPORTED",
        ICDAT="01-FEB-2026",
    )
    return {**row, **kw}


def write_site_export(landing: Path, site: str, export_id: str, **kw) -> Path:
    return write_export(landing, site, export_id, {"DM": [dm_row(site)]}, **kw)


def write_iwrs_export(landing: Path, export_id: str, **kw) -> Path:
    rand = dict(SITEID="101", SUBJID="101-0001", RANDNO="1001", RANDDAT="05-FEB-2026", STRATUM="SLEDAI<10")
    return write_export(landing, "IWRS", export_id, {"RAND": [rand]}, **kw)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    for site in SITES:
        write_site_export(root, site, FIRST)
    write_iwrs_export(root, IWRS_FIRST)
    return root


@pytest.fixture
def pipeline_env(landing: Path, tmp_path: Path, monkeypatch) -> Path:
    """Point the code location at the landing zone and a fresh warehouse; returns the warehouse."""
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("TRIALPIPE_LANDING", str(landing))
    monkeypatch.setenv("TRIALPIPE_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("TRIALPIPE_RESTRICTED", raising=False)
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    # Worker processes cost a second of imports each; one test below runs the parallel path.
    monkeypatch.setenv("TRIALPIPE_INGEST_WORKERS", "1")
    return warehouse


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst
