"""Great Expectations Data Docs offline and safe (issue 17): the pages' libraries served from the
site, every validated value escaped; checked in headless Chromium with remote hosts unreachable."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from assets.qa.gx.docs import (
    REMOTE,
    REMOTE_CSS,
    VENDOR,
    VENDORED,
    escape_text,
    offline_page,
)
from tests.assets.qa.test_gx import lb, validate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def test_escape_text_escapes_every_text_in_nested_results_and_keeps_numbers():
    result = {
        "partial_unexpected_list": [HOSTILE, 3],
        "partial_unexpected_counts": [{"value": "<b>", "count": 2}],
        "observed_value": 1.5,
        "missing": None,
        "flag": True,
    }
    assert escape_text(result) == {
        "partial_unexpected_list": [
            "&lt;img src=x onerror=&quot;document.body.setAttribute(&#x27;data-pwned&#x27;,&#x27;1&#x27;)&quot;&gt;",
            3,
        ],
        "partial_unexpected_counts": [{"value": "&lt;b&gt;", "count": 2}],
        "observed_value": 1.5,
        "missing": None,
        "flag": True,
    }


def test_offline_page_points_cdn_links_at_the_vendored_copies_relative_to_the_page():
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css">\n'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1">\n'
        "<style>.navbar-brand a { background: url('https://great-expectations-web-assets.s3.us-east-2"
        ".amazonaws.com/full_logo_dark.png') 0 0 no-repeat; }</style>\n"
        '<a href="https://greatexpectations.io">GX</a>'
    )
    assert offline_page(page, "validations/sdtm_lb/run/20260501T000000.000000Z/page.html") == (
        '<link rel="stylesheet" href="../../../../static/vendor/bootstrap/css/bootstrap.min.css">\n'
        '<script src="../../../../static/vendor/jquery/jquery.min.js"></script>\n'
        '<img src="../../../../static/images/logo-long.png">\n'
        "<style>.navbar-brand a { background: url('../../../../static/images/logo-long.png') 0 0 no-repeat; }</style>\n"
        '<a href="https://greatexpectations.io">GX</a>'
    )
    assert offline_page(page, "index.html").startswith(
        '<link rel="stylesheet" href="static/vendor/bootstrap/'
    )
    assert not REMOTE.search(offline_page(page, "index.html"))  # a plain link loads nothing: allowed
    assert REMOTE.search('<script src="https://example.org/x.js">')
    assert REMOTE_CSS.search("background: url('//example.org/x.png')")


def test_offline_page_unpages_only_the_index_and_refuses_a_page_that_draws_a_vega_chart():
    table = "{'search': 'true', 'pagination': 'true'}"
    assert offline_page(table, "index.html") == "{'search': 'true', 'pagination': false}"
    assert offline_page(table, "expectations/sdtm_lb.html") == table
    with pytest.raises(ValueError, match="vega"):
        offline_page("<script>vegaEmbed('#c', spec)</script>", "validations/x.html")


def test_every_vendored_file_exists():
    assert all((VENDOR / local).is_file() for local in VENDORED.values())


@pytest.fixture(scope="module")
def hostile_docs(tmp_path_factory):
    """Data Docs of an LB table whose SEX a site set to an HTML tag (fails the CT value set)."""
    tmp = tmp_path_factory.mktemp("gx_offline")
    results = validate(lb({("SEX", 0): HOSTILE}), tmp)
    return tmp / "gx", results


def _local_resources(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="(?!https?:|#|data:)([^"?]+)', text)


def test_no_page_loads_anything_from_another_host_and_every_local_resource_exists(hostile_docs):
    site, results = hostile_docs
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not REMOTE.search(text) and not REMOTE_CSS.search(text), page
        for ref in _local_resources(page):
            assert (page.parent / ref).resolve().is_file(), (page, ref)
    for sheet in sorted(site.glob("static/**/*.css")):
        assert not REMOTE_CSS.search(sheet.read_text(encoding="utf-8")), sheet
    # the results themselves keep the value as the site sent it (escaping is for the pages only)
    failed = results[~results["SUCCESS"] & results["RULE"].eq("ct_value_set")]
    assert failed["UNEXPECTED_SAMPLE"].tolist() == [HOSTILE]


def _chromium_dom(url: str, profile: Path) -> str:
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=5000",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout


chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian package `chromium`; .ci/run installs it)",
)


@pytest.mark.chromium
@chromium
def test_offline_index_lists_every_validation_in_chromium(hostile_docs, tmp_path):
    site, _ = hostile_docs
    validations = sorted(p.relative_to(site).as_posix() for p in (site / "validations").rglob("*.html"))
    dom = _chromium_dom((site / "index.html").as_uri(), tmp_path / "p")
    listed = sorted(set(re.findall(r'<tr[^>]*data-href="(validations/[^"]+)"', dom)))
    assert len(validations) == 3 and listed == validations
    assert 'class="fas fa-times' in dom  # the status icons (Font Awesome, served from the site)


@pytest.mark.chromium
@chromium
def test_a_hostile_value_shows_as_text_on_its_validation_page(hostile_docs, tmp_path):
    site, _ = hostile_docs
    page = next(p for p in (site / "validations").rglob("*.html") if "sdtm_lb" in p.as_posix())
    dom = _chromium_dom(page.as_uri(), tmp_path / "p")
    assert "&lt;img src=x onerror=" in dom  # shown as text
    assert "data-pwned" not in dom.split("&lt;img", 1)[0] and '<img src="x"' not in dom
    assert not re.search(r"<body[^>]*data-pwned", dom)


def test_rerun_gives_the_same_vendored_site_bytes(hostile_docs, tmp_path):
    site, _ = hostile_docs
    again = tmp_path / "again"
    validate(lb({("SEX", 0): HOSTILE}), again)
    files = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again / "gx") for p in (again / "gx").rglob("*") if p.is_file())
    assert all((site / f).read_bytes() == (again / "gx" / f).read_bytes() for f in files)
    vendored = sorted(
        f.relative_to(site / "static" / "vendor")
        for f in (site / "static" / "vendor").rglob("*")
        if f.is_file()
    )
    assert vendored == sorted(
        f.relative_to(VENDOR) for f in VENDOR.rglob("*") if f.is_file() and f.name != "README.md"
    )
