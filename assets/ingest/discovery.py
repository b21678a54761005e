"""Find site and IWRS exports in the landing zone and decide which one is in force.

site-export.md (Landing zone layout): an export is complete when ``MANIFEST.json`` exists and
every file it lists is present with the listed SHA-256 and data-row count. The newest complete
export of a site supersedes all earlier ones; incomplete exports are skipped and reported.

Version 2 (site-export.md, Bad input): an export id that is not a real UTC time or is later than
the run is never in force; a malformed manifest entry (row count not an integer, entry not an
object, a name that is a path) makes the export incomplete; only regular files directly inside an
export folder are opened, never through a link (``O_NOFOLLOW``), and a link where an export or site
folder should be is reported, never followed; a site folder whose name is not three digits is
reported (:func:`landing_problems`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from assets.ingest.reading import NotARegularFile, count_csv_rows, read_regular_file

EXPORT_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")
EXPORT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
SITE_ID_PATTERN = re.compile(r"^\d{3}$")
IWRS = "IWRS"
LANDING = "LANDING"
"""The inventory's source for what is wrong with the landing zone itself rather than with one
site's export: a site folder that is not three digits, a link where a folder should be."""


@dataclass(frozen=True)
class ExportCheck:
    """The verdict on one export folder."""

    source: str  # SITEID or "IWRS"
    export_id: str
    path: Path
    complete: bool
    reason: str = ""
    files: dict = field(default_factory=dict)  # file name -> {"sha256":..., "rows":...} from the manifest


def export_id_problem(export_id: str, now: datetime) -> str:
    """Why ``export_id`` cannot be a data cut at ``now``, or "" (site-export.md, Landing zone
    layout): not ``YYYYMMDDTHHMMSSZ``, not a real UTC time, or later than the run."""
    if not EXPORT_ID_PATTERN.match(export_id):
        return f"folder name {export_id!r} is not an export id YYYYMMDDTHHMMSSZ"
    try:
        cut = datetime.strptime(export_id, EXPORT_ID_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return f"folder name {export_id!r} is not a real UTC time"
    if cut > now:
        return f"export id {export_id} is later than the run ({now:%Y%m%dT%H%M%SZ}): never in force"
    return ""


def plain_file_name(name: object) -> bool:
    """A manifest entry names a file directly inside the export folder: no path, no parent."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in ("/", "\\", "\x00"))
        and len(name.encode("utf-8", "surrogatepass")) <= 255
    )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def entry_problem(name: str, entry: object) -> str:
    """Why a manifest entry is malformed (site-export.md, Bad input), or ""."""
    if not plain_file_name(name):
        return f"manifest entry {name!r} is not a plain file name inside the export folder"
    if not isinstance(entry, dict):
        return f"{name}: manifest entry is not an object"
    if not isinstance(entry.get("sha256"), str):
        return f"{name}: manifest sha256 is not text"
    rows = entry.get("rows")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        return f"{name}: manifest row count {rows!r} is not a non-negative integer"
    return ""


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def verify_export(path: Path, source: str, now: datetime | None = None) -> ExportCheck:
    """Check one export folder against its manifest; the reason names the first problem found.

    Only regular files directly inside the folder are opened, never through a symbolic link; the
    folder itself must be a folder, not a link to one (site-export.md, Landing zone layout). An
    export id that is not a real UTC time, or later than ``now`` (default: the current time), is
    never complete."""
    path = Path(path)
    export_id = path.name
    manifest_path = path / "MANIFEST.json"

    def incomplete(reason: str, files: dict | None = None) -> ExportCheck:
        return ExportCheck(source, export_id, path, False, reason, files or {})

    problem = export_id_problem(export_id, _now(now))
    if problem:
        return incomplete(problem)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return incomplete("export folder is a symbolic link, not followed")
    if not stat.S_ISDIR(mode):
        return incomplete("not a folder")
    try:
        raw = read_regular_file(manifest_path)
    except FileNotFoundError:
        return incomplete("MANIFEST.json missing")
    except (NotARegularFile, PermissionError) as exc:
        return incomplete(f"MANIFEST.json {exc}")
    try:
        manifest = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        files = manifest["files"]
        if not isinstance(files, dict) or not files:
            raise ValueError("'files' is empty")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return incomplete(f"MANIFEST.json unreadable: {exc}")
    if str(manifest.get("site", "")) != source:
        return incomplete(f"MANIFEST.json names site {manifest.get('site')!r}, folder is {source!r}")
    if str(manifest.get("export_id", export_id)) != export_id:
        return incomplete(
            f"MANIFEST.json names export {manifest.get('export_id')!r}, folder is {export_id!r}"
        )
    for name, entry in sorted(files.items()):  # every entry checked before any file is opened
        problem = entry_problem(name, entry)
        if problem:
            return incomplete(problem, files)
    for name, entry in sorted(files.items()):
        try:
            data = read_regular_file(path / name)  # read once, hashed and counted
        except FileNotFoundError:
            return incomplete(f"{name}: listed in MANIFEST.json but missing", files)
        except (NotARegularFile, PermissionError) as exc:
            return incomplete(f"{name}: {exc}", files)
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"].lower():
            return incomplete(f"{name}: SHA-256 {digest[:12]}... does not match the manifest", files)
        rows = count_csv_rows(path / name, data)
        # None: not CSV that can be counted; the checksum says it is the file sent, and reading
        # rejects that form with its line (site-export.md, Bad input).
        if rows is not None and rows != entry["rows"]:
            return incomplete(f"{name}: {rows} data rows, manifest says {entry['rows']}", files)
    return ExportCheck(source, export_id, path, True, "", files)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (NotADirectoryError, PermissionError):
        return []


def _is_real_dir(path: Path) -> bool:
    """A folder, not a symbolic link to one."""
    return not path.is_symlink() and path.is_dir()


def list_export_dirs(landing: Path) -> list[tuple[str, Path]]:
    """(source, folder) for every export folder under ``sites/<SITEID>/`` and ``iwrs/``, sorted.

    A symbolic link among the export folders is listed too (``verify_export`` reports it and never
    follows it); a site folder that is a link, or whose name is not three digits, is not a source
    (see :func:`landing_problems`)."""
    landing = Path(landing)
    found: list[tuple[str, Path]] = []
    for site in list_sites(landing):
        found += [(site, d) for d in _entries(landing / "sites" / site) if d.is_symlink() or d.is_dir()]
    iwrs = landing / "iwrs"
    if iwrs.is_dir():
        found += [(IWRS, d) for d in _entries(iwrs) if d.is_symlink() or d.is_dir()]
    return found


def landing_problems(landing: Path) -> list[ExportCheck]:
    """What under ``sites/`` cannot be a site: a folder whose name is not three digits, a symbolic
    link (never followed), anything not a folder (site-export.md, Landing zone layout: reported,
    never silently passed over). ``sites/`` and ``iwrs/`` themselves belong to the landing root the
    operator configures, and may be links. Source :data:`LANDING`; the export id is the entry's path in the
    landing zone, so each problem is a row (and a query) of its own."""
    sites = Path(landing) / "sites"
    problems = []
    for entry in _entries(sites):
        name = entry.name
        if entry.is_symlink():
            reason = f"site folder {name!r} is a symbolic link, not followed: not ingested"
        elif not entry.is_dir():
            reason = f"{name!r} in sites/ is not a folder: not ingested"
        elif not SITE_ID_PATTERN.match(name):
            reason = f"site folder name {name!r} is not three digits: not ingested"
        else:
            continue
        problems.append(ExportCheck(LANDING, f"sites/{name}", entry, False, reason))
    return problems


def list_sites(landing: Path) -> list[str]:
    """Site ids with a folder in the landing zone (the ingest partitions)."""
    sites = Path(landing) / "sites"
    if not sites.is_dir():
        return []
    return sorted(p.name for p in _entries(sites) if SITE_ID_PATTERN.match(p.name) and _is_real_dir(p))


def discover_exports(
    landing: Path, sources: list[str] | None = None, now: datetime | None = None
) -> list[ExportCheck]:
    """Verify every export folder (optionally only of ``sources``) at ``now`` (default: the
    current time), sorted by source and export id."""
    now = _now(now)
    checks = [
        _verify_guarded(path, source, now)
        for source, path in list_export_dirs(landing)
        if sources is None or source in sources
    ]
    return sorted(checks, key=lambda c: (c.source, c.export_id), reverse=False)


def _verify_guarded(path: Path, source: str, now: datetime) -> ExportCheck:
    """:func:`verify_export`, with a failure other than an I/O error (retried by the asset) making
    that one export incomplete with the reason: one folder never stops the others."""
    try:
        return verify_export(path, source, now)
    except OSError:
        raise
    except Exception as exc:  # any fault of one export folder is that export's
        reason = f"could not be verified: {type(exc).__name__}: {exc}"
        return ExportCheck(source, Path(path).name, Path(path), False, reason)


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
