"""report.html: escaped site values, self-contained, and rendered by headless Chromium."""

import re
import shutil
import subprocess

import pandas as pd
import pytest

from assets.qa.queries import (
    derive_current_queries,
    derive_quarantine_listing,
    merge_query_history,
    summarize_open_queries,
)
from assets.qa.report import build_report_context, derive_sledai_completeness, render_report

SCRIPT = "<script>alert('x')</script>"
NOW = "2026-05-01T02:00:00Z"


def report_context():
    quarantine_in = pd.DataFrame(
        [
            {
                "SOURCE": "101",
                "SRC_EXPORT": "20260401T020000Z",
                "SRC_FILE": "sites/101/20260401T020000Z/AE.csv",
                "SRC_LINE": 3,
                "FORM": "AE",
                "RECID": "AE7",
                "SUBJID": "101-0001",
                "COLUMN": "AESTDAT",
                "RULE": "date_form",
                "VALUE": "31-FEB-2026",
                "MESSAGE": "not a date",
            },
            {
                "SOURCE": "102",
                "SRC_EXPORT": "20260402T020000Z",
                "SRC_FILE": "sites/102/20260402T020000Z/VS.csv",
                "SRC_LINE": 5,
                "FORM": "VS",
                "RECID": "VS1",
                "SUBJID": "102-0003",
                "COLUMN": "VSORRES",
                "RULE": "plausible_range",
                "VALUE": "800",
                "MESSAGE": "weight 800 kg",
            },
        ]
    )
    quarantine = derive_quarantine_listing(quarantine_in)
    findings = quarantine.assign(KIND="SCHEMA", SEVERITY="ERROR")
    sl = pd.DataFrame(
        [
            {
                "KIND": "SLTOTAL_MISMATCH",
                "SEVERITY": "WARNING",
                "SITEID": "101",
                "SUBJID": "101-0002",
                "FORM": "SLEDAI",
                "RECID": "SL1",
                "VISIT": "WEEK 4",
                "COLUMN": "SLTOTAL",
                "RULE": "sltotal_matches",
                "VALUE": "12",
                "MESSAGE": "site 12, recomputed 10",
            },
            {
                "KIND": "SCHEMA",
                "SEVERITY": "ERROR",
                "SITEID": "101",
                "SUBJID": "101-0002",
                "FORM": "AE",
                "RECID": "AE9",
                "COLUMN": "AETERM",
                "RULE": "length",
                "VALUE": SCRIPT,
                "MESSAGE": "term " + SCRIPT,
            },
        ]
    )
    queries = merge_query_history(derive_current_queries({"ingest": findings, "sledai": sl}), None, NOW)
    accounting = pd.DataFrame(
        [
            {
                "SOURCE": "101",
                "FORM": "AE",
                "SRC_EXPORT": "20260401T020000Z",
                "ROWS_READ": 10,
                "ROWS_PASSED": 9,
                "ROWS_QUARANTINED": 1,
                "BALANCED": True,
            },
            {
                "SOURCE": "102",
                "FORM": "VS",
                "SRC_EXPORT": "20260402T020000Z",
                "ROWS_READ": 20,
                "ROWS_PASSED": 19,
                "ROWS_QUARANTINED": 1,
                "BALANCED": True,
            },
        ]
    )
    inventory = pd.DataFrame(
        [
            {"SOURCE": "101", "EXPORT_ID": "20260401T020000Z", "COMPLETE": True, "REASON": ""},
            {"SOURCE": "102", "EXPORT_ID": "20260402T020000Z", "COMPLETE": True, "REASON": ""},
            {
                "SOURCE": "102",
                "EXPORT_ID": "20260420T020000Z",
                "COMPLETE": False,
                "REASON": "VS.csv: listed in MANIFEST.json but missing",
            },
        ]
    )
    from assets.qa.export_status import derive_export_status

    sledai = pd.DataFrame(
        {
            "VISIT": ["SCREENING", "SCREENING", "WEEK 4"],
            "VISITNUM": [1, 1, 4],
            "SLEDAI_TOTAL": pd.array([10, None, 6], dtype="Int64"),
        }
    )
    deviations = pd.DataFrame(
        [{"USUBJID": "LDIL2SLE-101-0002", "CRITERIA": "IN03", "REASON": "weight 82.0 kg > 80 kg " + SCRIPT}]
    )
    gx_results = pd.DataFrame(
        [
            {
                "STANDARD": "SDTM",
                "DATASET": "AE",
                "RULE": "iso8601",
                "EXPECTATION": "expect_column_values_to_match_regex",
                "COLUMN": "AESTDTC",
                "CONDITION": "",
                "STRUCTURAL": False,
                "SUCCESS": False,
                "ROWS_IN_TABLE": 9,
                "ROWS_VALIDATED": 9,
                "SAMPLED": False,
                "UNEXPECTED_COUNT": 1,
                "UNEXPECTED_PERCENT": 11.1,
                "UNEXPECTED_SAMPLE": SCRIPT,
            },
        ]
    )
    return build_report_context(
        run={"run_id": "r1", "as_of": NOW, "mode": "blinded", "title": "LDIL2SLE data-quality report"},
        accounting=accounting,
        quarantine=quarantine,
        queries=queries,
        open_by_site_kind=summarize_open_queries(queries),
        export_status=derive_export_status(inventory, NOW),
        inventory=inventory,
        deviations=deviations,
        eligibility=pd.DataFrame(),
        gx_results=gx_results,
        sledai_completeness=derive_sledai_completeness(sledai),
        outputs=pd.DataFrame([{"LAYER": "sdtm", "DATASET": "AE", "LABEL": "Adverse Events", "ROWS": 9}]),
        stale_days=7,
    )


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    html = render_report(report_context())
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_site_values_are_escaped_a_script_tag_shows_as_text(report_html):
    html = report_html.read_text(encoding="utf-8")
    assert SCRIPT not in html
    # one script: the page's own workspace script, which holds no site value
    assert html.lower().count("<script") == 1 and html.lower().count("</script") == 1
    own_script = html[html.lower().index("<script") : html.lower().index("</script")]
    assert "alert" not in own_script and "101-0002" not in own_script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_report_is_self_contained_and_links_the_data_docs_relatively(report_html):
    html = report_html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert 'href="gx/index.html"' in html
    # open queries by site and kind, SLEDAI-2K completeness, quarantine by rule, a trend per site (2)
    assert html.count("<svg") == 5
    assert 'href="sites/101/queries.xlsx"' in html  # each query links its site's listing


def test_per_site_table_counts_and_freshness():
    sites = report_context()["sites"]
    rows = {r[0]: dict(zip(sites.columns, r)) for r in sites.rows}
    assert (
        rows["101"]["OPEN_QUERIES"] == "3"
        and rows["101"]["SLTOTAL_MISMATCH"] == "1"
        and rows["101"]["ROWS_IN"] == "10"
    )
    assert rows["102"]["AGE_DAYS"] == "29" and rows["102"]["INCOMPLETE_EXPORTS"] == "1"
    assert rows["101"]["FRESHNESS"].startswith("STALE")  # 30 days > 7


def test_sledai_completeness_by_visit():
    df = pd.DataFrame(
        {
            "VISIT": ["SCREENING", "SCREENING", "WEEK 4"],
            "VISITNUM": [1, 1, 4],
            "SLEDAI_TOTAL": pd.array([10, None, 6], dtype="Int64"),
        }
    )
    out = derive_sledai_completeness(df)
    assert out[["VISIT", "ASSESSMENTS", "COMPLETE", "PCT_COMPLETE"]].values.tolist() == [
        ["SCREENING", 2, 1, 50.0],
        ["WEEK 4", 1, 1, 100.0],
    ]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(args, profile):
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=90)


@pytest.mark.chromium
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian package `chromium`; .ci/run installs it)",
)
def test_report_renders_in_headless_chromium_with_summary_table_and_charts(report_html, tmp_path):
    png = tmp_path / "report.png"
    shot = _chromium(
        [f"--screenshot={png}", "--window-size=1280,2000", report_html.as_uri()], tmp_path / "profile1"
    )
    assert png.is_file() and png.stat().st_size > 10_000, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = _chromium(["--dump-dom", report_html.as_uri()], tmp_path / "profile2").stdout
    assert 'id="summary-table"' in dom and "Rows quarantined" in dom
    assert 'id="site-table"' in dom
    assert dom.count("<svg") == 5 and 'id="chart-open-queries"' in dom and "<rect" in dom
    assert "&lt;script&gt;" in dom  # the script a site typed is text in the rendered page
