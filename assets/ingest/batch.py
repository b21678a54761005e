"""Ingest several sources in one process, and share the sources out among worker processes.

Kept apart from the Dagster assets so that a worker process imports only the ingest code it runs
(a spawned worker imports the module of the function it is given; Dagster alone takes ~0.5 s).
"""

from __future__ import annotations

import heapq
import os
from datetime import datetime
from pathlib import Path

import pandas as pd

import study
from assets.common.parquet import write_parquet
from assets.ingest.discovery import (
    IWRS,
    LANDING,
    ExportCheck,
    complete_exports_newest_first,
    discover_exports,
    inventory_frame,
    landing_problems,
)
from assets.ingest.site_ingest import REJECTION_COLUMNS, SourceIngest, ingest_sources
from assets.ingest.store import source_files, write_files


def failed_source(source: str, checks: list[ExportCheck], exc: Exception) -> SourceIngest:
    """What is written for a source whose ingest failed in a way no rule foresaw: one rejection
    row that says so (its forms and other tables are not rewritten: its earlier data stays in
    force), so the run goes on with the other sources and QA sees it (site-export.md, Bad input)."""
    exports = complete_exports_newest_first(checks, source)
    export_id = exports[0].export_id if exports else None
    row = {
        "SOURCE": source,
        "FORM": "",
        "SRC_EXPORT": export_id or "",
        "SRC_FILE": "",
        "SRC_LINE": None,
        "REASON": f"ingest of this source failed ({type(exc).__name__}: {exc}); its earlier data is kept",
        "FALLBACK_EXPORT": "",
    }
    rejections = pd.DataFrame([row], columns=REJECTION_COLUMNS).astype({"SRC_LINE": "Int64"})
    return SourceIngest(source, export_id, rejections=rejections, failed=True)


def _ingest_guarded(sources: list[str], checks: list[ExportCheck], landing_root: Path) -> dict:
    """:func:`ingest_sources` of the batch; when it fails other than by an I/O error (the asset
    retries those), each source again on its own, so one source's failure is that source's."""
    try:
        return ingest_sources(sources, checks, landing_root)
    except OSError:
        raise
    except Exception:  # a fault no rule foresaw: find the source it belongs to
        results: dict[str, SourceIngest] = {}
        for source in sources:
            try:
                results.update(ingest_sources([source], checks, landing_root))
            except OSError:
                raise
            except Exception as exc:  # that source alone is reported; the others go on
                results[source] = failed_source(source, checks, exc)
        return results


def ingest_batch(
    sources: list[str], landing_root: Path, ingest_dir: Path, now: datetime | None = None
) -> list[dict]:
    """Verify, read, harmonize and validate several sources' exports and write their per-source files.

    The sources' forms are validated together (one pandera pass per form), which is several times
    faster than source by source; the files written are the same. A module-level function of paths
    so that worker processes can run it; returns counts only. ``now`` is the time of the run (an
    export id later than it is never in force); default the current time. Only an I/O error
    escapes (to be retried): a broken file or manifest is reported, never raised."""
    checks = discover_exports(landing_root, sources=sources, now=now)
    results = _ingest_guarded(sources, checks, landing_root)
    counts, files = [], []
    for source in sources:
        result = results[source]
        source_checks = [c for c in checks if c.source == source]
        forms = ("RAND",) if source == IWRS else study.FORMS
        if not result.failed:
            files += source_files(ingest_dir, result, forms)
        else:  # only the report is written, the earlier files stay
            path = ingest_dir / "qa" / "rejections" / f"{source}.parquet"
            files.append((result.rejections, path, ["SOURCE", "FORM", "SRC_EXPORT"]))
        inventory = ingest_dir / "qa" / "inventory" / f"{source}.parquet"
        files.append((inventory_frame(source_checks), inventory, ["SOURCE", "EXPORT_ID"]))
        acc = result.accounting
        counts.append(
            {
                "source": source,
                "export_id": result.export_id,
                "rows_read": int(acc["ROWS_READ"].sum()),
                "rows_passed": int(acc["ROWS_PASSED"].sum()),
                "rows_quarantined": int(acc["ROWS_QUARANTINED"].sum()),
                "exports_skipped": sum(1 for c in source_checks if not c.complete),
            }
        )
    write_files(files)
    return counts


def write_landing_problems(landing_root: Path, ingest_dir: Path) -> int:
    """Write what is wrong with the landing zone itself (:func:`landing_problems`: site folders
    that are not three digits, links) as the inventory of source ``LANDING``, so QA reports it with
    the export folders; removed when there is nothing to report. Returns the rows written."""
    path = Path(ingest_dir) / "qa" / "inventory" / f"{LANDING}.parquet"
    problems = landing_problems(landing_root)
    if not problems:
        path.unlink(missing_ok=True)
        return 0
    write_parquet(inventory_frame(problems), path, sort_by=["SOURCE", "EXPORT_ID"])
    return len(problems)


def landing_bytes(landing_root: Path, source: str) -> int:
    """Bytes of every file in the source's landing folder: the work of ingesting it (every file is
    hashed and counted, the newest export parsed) grows with them."""
    folder = Path(landing_root) / ("iwrs" if source == IWRS else f"sites/{source}")
    total = 0
    for root, _dirs, files in os.walk(folder):
        # lstat: a link is weighed as itself, never followed out of the landing zone
        total += sum(os.lstat(os.path.join(root, name)).st_size for name in files)
    return total


def balanced_batches(sources: list[str], landing_root: Path, n: int) -> list[list[str]]:
    """``sources`` in ``n`` batches of similar landing bytes (largest first, each to the lightest
    batch so far), each batch in the order of ``sources``. Sites differ in size up to tenfold, so
    batches of equal count can leave one worker waiting for the other."""
    weight = {s: landing_bytes(landing_root, s) for s in sources}
    # (bytes so far, sources so far, batch): ties go to the smaller batch, then the lower one
    heap = [(0, 0, i) for i in range(n)]
    members: list[set[str]] = [set() for _ in range(n)]
    for source in sorted(sources, key=lambda s: (-weight[s], s)):
        load, count, i = heapq.heappop(heap)
        members[i].add(source)
        heapq.heappush(heap, (load + weight[source], count + 1, i))
    return [[s for s in sources if s in batch] for batch in members if batch]
