"""Build small hand-made site exports for tests (known answers, one defect at a time)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import study

STUDYID = "LDIL2SLE"


def csv_bytes(rows: list[dict], columns: list[str], bom: bool = False, crlf: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=columns, lineterminator="\r\n" if crlf else "\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def form_header(form: str) -> list[str]:
    return study.required_columns(form)


def write_export(
    landing: Path,
    site: str,
    export_id: str,
    forms: dict[str, list[dict]],
    raw_files: dict[str, bytes] | None = None,
    manifest_override: dict | None = None,
    write_manifest: bool = True,
    all_forms: bool = True,
) -> Path:
    """Write ``sites/<site>/<export_id>/`` with every form (empty ones too when ``all_forms``)
    and a correct MANIFEST.json; ``raw_files`` replaces a file's bytes (manifest still matches),
    ``manifest_override`` patches manifest entries after the fact (to break it)."""
    folder = Path(landing) / ("iwrs" if site == "IWRS" else f"sites/{site}") / export_id
    folder.mkdir(parents=True, exist_ok=True)
    names = list(study.FORMS) if (all_forms and site != "IWRS") else []
    names += [f for f in forms if f not in names]
    entries = {}
    for form in names:
        rows = forms.get(form, [])
        base = {"STUDYID": STUDYID, "SITEID": site}
        data = csv_bytes([{**base, **r} for r in rows], form_header(form))
        if raw_files and f"{form}.csv" in raw_files:
            data = raw_files[f"{form}.csv"]
        (folder / f"{form}.csv").write_bytes(data)
        n = max(len(list(csv.reader(io.StringIO(data.decode("utf-8", "replace").lstrip("\ufeff"))))) - 1, 0)
        entries[f"{form}.csv"] = {"sha256": hashlib.sha256(data).hexdigest(), "rows": n}
    for name, patch in (manifest_override or {}).items():
        entries[name] = {**entries.get(name, {}), **patch}
    if write_manifest:
        manifest = {"study": STUDYID, "site": site, "export_id": export_id, "files": entries}
        (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    return folder
