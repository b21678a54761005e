"""Deterministic Data Docs: the same validation results give the same bytes in ``qa/gx/``.

What Great Expectations 1.x writes that is not a function of the results (seen by building the same
site twice): the validation folders and pages are named and dated by the checkpoint's run time
(fixed by the caller: the run name and the data cut, never the clock), every page links its logo
with a cache-buster ``?d=<now>``, a validation page shows the moment it was validated
(``YYYYMMDDTHHMMSS.ffffffZ``), and collapsible blocks carry a random UUID (``...-collapse-body-<uuid>``).
:func:`make_docs_deterministic` rewrites those in every HTML file of a built site: each clock stamp
becomes the run time, and the UUIDs of a page are numbered in their order of appearance (same
number for the same UUID, so an ``href`` still finds its ``id``).

Offline and safe (issue 17): GX's pages load jQuery, Bootstrap, bootstrap-table and Font Awesome
from public CDNs (the index page's list is drawn by bootstrap-table: blank offline) and write a
result's unexpected values unescaped. :func:`make_docs_offline` serves copies of those libraries from
the site (``static/vendor/``) and :func:`escape_validation_results` escapes every value of the
results before the pages are rendered.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from pathlib import Path
from typing import Any

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


# --- safe: every validated value escaped (issue 17) -----------------------------------------------


def escape_text(value: Any) -> Any:
    """``value`` with every text in it HTML-escaped (dicts and lists walked, keys too; numbers,
    booleans and missing values unchanged)."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escape_text(k) if isinstance(k, str) else k: escape_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_text(v) for v in value]
    return value


def escape_validation_results(ctx: Any) -> int:
    """Escape the values of every stored validation result before the Data Docs are rendered:
    GX 1.x writes a result's unexpected values (``partial_unexpected_list``, ``..._counts``,
    ``..._index_list``, the observed value) into the page as raw HTML, so a site value
    ``<img src=x onerror=...>`` that fails a value set ran as markup. Only the copies in the
    context's store are changed (the result rows of ``gx_results.parquet`` are taken before, from
    the values themselves). Returns the results stored again."""
    store = ctx.validation_results_store
    changed = 0
    for key in store.list_keys():
        suite_result = store.get(key)
        for result in suite_result.results:
            if result.result:
                result.result = escape_text(dict(result.result))
        store.set(key, suite_result)
        changed += 1
    return changed


# --- offline: the pages' scripts, styles and icons served from the site itself (issue 17) ---------

VENDOR = Path(__file__).resolve().parent / "vendor"
"""Copies of the libraries GX's pages load from public CDNs (npm packages, MIT / OFL; versions and
licences in ``vendor/README.md``), copied into ``<site>/static/vendor/``."""

VENDORED = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/js/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/css/bootstrap-datepicker.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark/bootstrap-prefers-dark.min.css"
    ),
}
"""CDN address in GX's pages -> the vendored copy (path under :data:`VENDOR`)."""

UNUSED_SCRIPTS = (
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
)
"""Chart libraries every page loads and none of this project's pages calls (no ``vegaEmbed``):
their tags are dropped, not vendored."""

SITE_STATIC = re.compile(r'\b(src|href)="(?:\./|(?:\.\./)+)static/')
"""A relative link into the site's ``static/`` folder (its depth is recomputed per page)."""

GX_WEB_ASSET = re.compile(
    r'"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/(logo-long\.png|short-logo\.png)(?:\?[^"]*)?"'
)
"""GX's images served from its web bucket that the site also has in ``static/images/``."""

GX_CSS_LOGO = re.compile(
    r"""url\(\s*['"]?https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/full_logo_dark\.png['"]?\s*\)"""
)
"""GX's dark logo, a CSS background from its web bucket (in the pages' inline styles and in
``static/styles/``); the site ships the same logo as ``static/images/logo-long.png``."""

REMOTE_CSS = re.compile(r"""url\(\s*['"]?(?:https?:)?//""", re.I)
"""A CSS ``url()`` that loads from another host."""

REMOTE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?(?:https?:)?//""",
    re.I,
)
"""A script, style, image or frame loaded from another host: what must not be left in an offline
page (plain links to GX's web site, ``<a href>``, load nothing and stay)."""


def offline_page(text: str, page: str) -> str:
    """One page with each CDN address of :data:`VENDORED` replaced by the relative path of its copy
    (``static/vendor/...`` from the page's folder), GX's logo from the site's ``static/images/``,
    GX's own links into ``static/`` at the page's depth,
    the tags of :data:`UNUSED_SCRIPTS` removed, and on the index page the tables unpaged (every
    validation listed, as the page shows it without scripts)."""
    if "vegaEmbed(" in text:
        raise ValueError(f"{page}: draws a vega chart; vendor vega before dropping its scripts")
    up = "../" * page.count("/")
    for url, local in VENDORED.items():
        text = text.replace(f'"{url}"', f'"{up}static/vendor/{local}"')
    # GX's own links into static/ are one level short on validation pages (favicon): set the depth
    text = SITE_STATIC.sub(lambda m: f'{m.group(1)}="{up}static/', text)
    # GX's logo from its web bucket (with a cache-buster): the copy GX ships in static/images/
    text = GX_WEB_ASSET.sub(lambda m: f'"{up}static/images/{m.group(1)}"', text)
    text = GX_CSS_LOGO.sub(f"url('{up}static/images/logo-long.png')", text)
    if page == "index.html":  # every validation on one page: bootstrap-table pages by 10 otherwise
        text = text.replace("'pagination': 'true'", "'pagination': false")
    for url in UNUSED_SCRIPTS:
        text = re.sub(rf'<script src="{re.escape(url)}"\s*>\s*</script>\s*', "", text)
    return text


def make_docs_offline(site: Path) -> int:
    """Copy :data:`VENDOR` into ``<site>/static/vendor/`` and rewrite every HTML page with
    :func:`offline_page`; refuse a page that still links another host (a GX upgrade that added a
    library must vendor it), and the same for the site's style sheets (GX's logo as a CSS
    background). Returns the pages and style sheets rewritten."""
    site = Path(site)
    target = site / "static" / "vendor"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR, target, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    changed = 0
    for path in sorted(site.glob("static/styles/*.css")):
        text = path.read_text(encoding="utf-8")
        fixed = GX_CSS_LOGO.sub("url('../images/logo-long.png')", text)
        remote = REMOTE_CSS.search(fixed)
        if remote:
            raise ValueError(
                f"{path.relative_to(site)}: still loads from another host: {fixed[remote.start() : remote.start() + 120]}"
            )
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
            changed += 1
    for path in sorted(site.rglob("*.html")):
        page = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        fixed = offline_page(text, page)
        remote = REMOTE.search(fixed) or REMOTE_CSS.search(fixed)
        if remote:
            line = fixed.count("\n", 0, remote.start()) + 1
            raise ValueError(
                f"{page}:{line}: still links another host after vendoring: {fixed[remote.start() : remote.start() + 120]}"
            )
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
            changed += 1
    return changed
