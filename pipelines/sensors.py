"""The landing zone sensor: a new complete export requests the ingest of its site, once.

Per source (a site, or the IWRS) the cursor holds the newest export id a run was requested for.
Each tick looks only at export folders newer than that, newest first, and verifies them against
their manifest (``verify_export``): the first complete one is requested with run key
``<source>:<export_id>`` and becomes the cursor. An export still arriving (manifest missing, a file
missing or with the wrong hash or row count) is not requested and, being newer than the cursor,
is verified again at the next tick until it is complete. Older complete exports that are
superseded in the same tick get no run of their own: the requested run ingests the newest, which
supersedes them (site-export.md). A site folder seen for the first time becomes a partition.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.common.partitions import SITE_PARTITIONS, registered_sites
from assets.common.resources import LandingZone
from assets.ingest.discovery import EXPORT_ID_PATTERN, IWRS, list_sites, verify_export
from pipelines.jobs import iwrs_ingest_job, site_ingest_job
from pipelines.settings import AutomationSettings

AUTOMATION = AutomationSettings.from_env()


def automation_default_status() -> dg.DefaultSensorStatus:
    """Sensor and schedule start stopped unless ``TRIALPIPE_AUTOMATION_DEFAULT=running`` (production)."""
    return dg.DefaultSensorStatus.RUNNING if AUTOMATION.running_by_default else dg.DefaultSensorStatus.STOPPED


@dataclass(frozen=True)
class ExportRequest:
    """A complete export to ingest: ``source`` is a SITEID or ``IWRS``."""

    source: str
    export_id: str

    @property
    def run_key(self) -> str:
        return f"{self.source}:{self.export_id}"


@dataclass
class LandingScan:
    requests: list[ExportRequest] = field(default_factory=list)
    waiting: dict[str, list[str]] = field(default_factory=dict)  # source -> incomplete export ids
    cursor: dict[str, str] = field(default_factory=dict)


def export_folders(landing: Path, source: str) -> list[Path]:
    """The export folders of a source whose names are export ids, newest first."""
    base = Path(landing) / ("iwrs" if source == IWRS else f"sites/{source}")
    if not base.is_dir():
        return []
    return sorted(
        (p for p in base.iterdir() if p.is_dir() and EXPORT_ID_PATTERN.match(p.name)),
        key=lambda p: p.name,
        reverse=True,
    )


def scan_landing(landing: Path, cursor: dict[str, str]) -> LandingScan:
    """New complete exports since ``cursor`` (source -> newest export id already requested)."""
    scan = LandingScan(cursor=dict(cursor))
    sources = list_sites(landing) + ([IWRS] if (Path(landing) / "iwrs").is_dir() else [])
    for source in sources:
        seen = cursor.get(source, "")
        for folder in export_folders(landing, source):
            if folder.name <= seen:
                break
            check = verify_export(folder, source)
            if check.complete:
                scan.requests.append(ExportRequest(source, check.export_id))
                scan.cursor[source] = check.export_id
                break
            scan.waiting.setdefault(source, []).append(f"{check.export_id} ({check.reason})")
    return scan


def _load_cursor(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


@dg.sensor(
    name="landing_zone_sensor",
    jobs=[site_ingest_job, iwrs_ingest_job],
    minimum_interval_seconds=AUTOMATION.sensor_interval_seconds,
    default_status=automation_default_status(),
    description=(
        "Requests the ingest of a site's partition (or of the IWRS) for each new complete export, "
        "once per export (run key <source>:<export_id>); incomplete exports wait until complete."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    scan = scan_landing(landing.root, _load_cursor(context.cursor))
    known = set(registered_sites(context.instance))
    new_sites = sorted(set(list_sites(landing.root)) - known)
    runs = []
    for req in scan.requests:
        tags = {"trialpipe/source": req.source, "trialpipe/export_id": req.export_id}
        if req.source == IWRS:
            runs.append(dg.RunRequest(run_key=req.run_key, job_name=iwrs_ingest_job.name, tags=tags))
        else:
            runs.append(
                dg.RunRequest(
                    run_key=req.run_key, job_name=site_ingest_job.name, partition_key=req.source, tags=tags
                )
            )
    for source, ids in scan.waiting.items():
        context.log.info(f"{source}: waiting for incomplete export(s) {', '.join(ids)}")
    partition_requests = [SITE_PARTITIONS.build_add_request(new_sites)] if new_sites else []
    if not runs and not partition_requests:
        return dg.SensorResult(
            skip_reason="no new complete export" + (" (some still arriving)" if scan.waiting else ""),
            cursor=json.dumps(scan.cursor, sort_keys=True),
        )
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=partition_requests,
        cursor=json.dumps(scan.cursor, sort_keys=True),
    )
