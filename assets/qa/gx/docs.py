"""Deterministic Data Docs: the same validation results give the same bytes in ``qa/gx/``.

What Great Expectations 1.x writes that is not a function of the results (seen by building the same
site twice): the validation folders and pages are named and dated by the checkpoint's run time
(fixed by the caller: the run name and the data cut, never the clock), every page links its logo
with a cache-buster ``?d=<now>``, a validation page shows the moment it was validated
(``YYYYMMDDTHHMMSS.ffffffZ``), and collapsible blocks carry a random UUID (``...-collapse-body-<uuid>``).
:func:`make_docs_deterministic` rewrites those in every HTML file of a built site: each clock stamp
becomes the run time, and the UUIDs of a page are numbered in their order of appearance (same
number for the same UUID, so an ``href`` still finds its ``id``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

GX_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")
"""GX's run-id time form (``20260301T020000.000000Z``): folder names, validation times, logo ``?d=``."""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def gx_stamp(run_time: pd.Timestamp) -> str:
    """A time in GX's run-id form, UTC."""
    stamp = run_time.tz_convert("UTC") if run_time.tzinfo else run_time
    return stamp.strftime("%Y%m%dT%H%M%S.%fZ")


def stable_uuid(page: str, n: int) -> str:
    """The ``n``-th UUID of ``page`` (a path relative to the site): a UUID-shaped SHA-256 prefix."""
    h = hashlib.sha256(f"{page}\x1f{n}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def deterministic_page(text: str, page: str, stamp: str) -> str:
    """One HTML page with clock stamps set to ``stamp`` and UUIDs numbered in order of appearance."""
    text = GX_STAMP.sub(stamp, text)
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), stable_uuid(page, len(numbers)))

    return UUID.sub(renumber, text)


def make_docs_deterministic(site: Path, run_time: pd.Timestamp) -> int:
    """Rewrite every HTML file under ``site`` (see the module docstring); returns the files changed.
    Run on the staging folder before it is swapped in, so no reader sees a half-rewritten site."""
    stamp = gx_stamp(run_time)
    changed = 0
    for path in sorted(Path(site).rglob("*.html")):
        page = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        fixed = deterministic_page(text, page, stamp)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
            changed += 1
    return changed
