"""Ingest several sources in one process, and share the sources out among worker processes.

Kept apart from the Dagster assets so that a worker process imports only the ingest code it runs
(a spawned worker imports the module of the function it is given; Dagster alone takes ~0.5 s).
"""

from __future__ import annotations

import heapq
import os
from pathlib import Path

import study
from assets.ingest.discovery import IWRS, discover_exports, inventory_frame
from assets.ingest.site_ingest import ingest_sources
from assets.ingest.store import source_files, write_files


def ingest_batch(sources: list[str], landing_root: Path, ingest_dir: Path) -> list[dict]:
    """Verify, read, harmonize and validate several sources' exports and write their per-source files.

    The sources' forms are validated together (one pandera pass per form), which is several times
    faster than source by source; the files written are the same. A module-level function of paths
    so that worker processes can run it; returns counts only."""
    checks = discover_exports(landing_root, sources=sources)
    results = ingest_sources(sources, checks, landing_root)
    counts, files = [], []
    for source in sources:
        result = results[source]
        source_checks = [c for c in checks if c.source == source]
        forms = ("RAND",) if source == IWRS else study.FORMS
        files += source_files(ingest_dir, result, forms)
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


def landing_bytes(landing_root: Path, source: str) -> int:
    """Bytes of every file in the source's landing folder: the work of ingesting it (every file is
    hashed and counted, the newest export parsed) grows with them."""
    folder = Path(landing_root) / ("iwrs" if source == IWRS else f"sites/{source}")
    total = 0
    for root, _dirs, files in os.walk(folder):
        total += sum(os.stat(os.path.join(root, name)).st_size for name in files)
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
