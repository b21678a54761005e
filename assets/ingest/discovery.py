"""Find site and IWRS exports in the landing zone and decide which one is in force.

site-export.md (Landing zone layout): an export is complete when ``MANIFEST.json`` exists and
every file it lists is present with the listed SHA-256 and data-row count. The newest complete
export of a site supersedes all earlier ones; incomplete exports are skipped and reported.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from assets.ingest.reading import count_csv_rows

EXPORT_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")
SITE_ID_PATTERN = re.compile(r"^\d{3}$")
IWRS = "IWRS"


@dataclass(frozen=True)
class ExportCheck:
    """The verdict on one export folder."""

    source: str  # SITEID or "IWRS"
    export_id: str
    path: Path
    complete: bool
    reason: str = ""
    files: dict = field(default_factory=dict)  # file name -> {"sha256":..., "rows":...} from the manifest


def verify_export(path: Path, source: str) -> ExportCheck:
    """Check one export folder against its manifest; the reason names the first problem found."""
    path = Path(path)
    export_id = path.name
    manifest_path = path / "MANIFEST.json"

    def incomplete(reason: str, files: dict | None = None) -> ExportCheck:
        return ExportCheck(source, export_id, path, False, reason, files or {})

    if not EXPORT_ID_PATTERN.match(export_id):
        return incomplete(f"folder name {export_id!r} is not an export id YYYYMMDDTHHMMSSZ")
    if not manifest_path.is_file():
        return incomplete("MANIFEST.json missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8-sig"))
        files = manifest["files"]
        if not isinstance(files, dict) or not files:
            raise ValueError("'files' is empty")
    except (ValueError, KeyError, TypeError) as exc:
        return incomplete(f"MANIFEST.json unreadable: {exc}")
    if str(manifest.get("site", "")) != source:
        return incomplete(f"MANIFEST.json names site {manifest.get('site')!r}, folder is {source!r}")
    if str(manifest.get("export_id", export_id)) != export_id:
        return incomplete(
            f"MANIFEST.json names export {manifest.get('export_id')!r}, folder is {export_id!r}"
        )
    for name, entry in sorted(files.items()):
        file_path = path / name
        if not file_path.is_file():
            return incomplete(f"{name}: listed in MANIFEST.json but missing", files)
        data = file_path.read_bytes()  # read once, hashed and counted (export files are a few MB)
        digest = hashlib.sha256(data).hexdigest()
        if digest != str(entry.get("sha256", "")).lower():
            return incomplete(f"{name}: SHA-256 {digest[:12]}... does not match the manifest", files)
        rows = count_csv_rows(file_path, data)
        if rows != int(entry.get("rows", -1)):
            return incomplete(f"{name}: {rows} data rows, manifest says {entry.get('rows')}", files)
    return ExportCheck(source, export_id, path, True, "", files)


def list_export_dirs(landing: Path) -> list[tuple[str, Path]]:
    """(source, folder) for every export folder under ``sites/<SITEID>/`` and ``iwrs/``, sorted."""
    landing = Path(landing)
    found: list[tuple[str, Path]] = []
    sites = landing / "sites"
    if sites.is_dir():
        for site_dir in sorted(p for p in sites.iterdir() if p.is_dir() and SITE_ID_PATTERN.match(p.name)):
            found += [(site_dir.name, d) for d in sorted(site_dir.iterdir()) if d.is_dir()]
    iwrs = landing / "iwrs"
    if iwrs.is_dir():
        found += [(IWRS, d) for d in sorted(iwrs.iterdir()) if d.is_dir()]
    return found


def list_sites(landing: Path) -> list[str]:
    """Site ids with a folder in the landing zone (the ingest partitions)."""
    sites = Path(landing) / "sites"
    if not sites.is_dir():
        return []
    return sorted(p.name for p in sites.iterdir() if p.is_dir() and SITE_ID_PATTERN.match(p.name))


def discover_exports(landing: Path, sources: list[str] | None = None) -> list[ExportCheck]:
    """Verify every export folder (optionally only of ``sources``), newest first within a source."""
    checks = [
        verify_export(path, source)
        for source, path in list_export_dirs(landing)
        if sources is None or source in sources
    ]
    return sorted(checks, key=lambda c: (c.source, c.export_id), reverse=False)


def complete_exports_newest_first(checks: list[ExportCheck], source: str) -> list[ExportCheck]:
    return sorted(
        (c for c in checks if c.source == source and c.complete), key=lambda c: c.export_id, reverse=True
    )


def inventory_frame(checks: list[ExportCheck]) -> pd.DataFrame:
    """One row per export folder: source, export id, complete, in force, reason (for QA)."""
    in_force: dict[str, str] = {}
    for c in checks:
        if c.complete and c.export_id > in_force.get(c.source, ""):
            in_force[c.source] = c.export_id
    rows = [
        {
            "SOURCE": c.source,
            "EXPORT_ID": c.export_id,
            "COMPLETE": c.complete,
            "IN_FORCE": in_force.get(c.source) == c.export_id,
            "SUPERSEDED": c.complete and in_force.get(c.source) != c.export_id,
            "REASON": c.reason,
            "PATH": str(c.path),
        }
        for c in checks
    ]
    cols = ["SOURCE", "EXPORT_ID", "COMPLETE", "IN_FORCE", "SUPERSEDED", "REASON", "PATH"]
    return pd.DataFrame(rows, columns=cols)
