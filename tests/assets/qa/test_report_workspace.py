"""The report's QA workspace (issue 17): query list with filters, trends, counts that agree,
colours per kind; rendered and filtered in headless Chromium."""

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.request

import pandas as pd
import pytest

from assets.qa.queries import derive_current_queries, derive_quarantine_listing, merge_query_history
from assets.qa.report import (
    FAILURES,
    PALETTE,
    derive_query_trend,
    derive_query_workspace,
    failures_by,
    kind_colours,
    render_report,
)
from tests.assets.qa.test_report import report_context

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]
"""Remote hosts unreachable: every name resolves to nothing and any proxy use fails."""


def history(rows):
    cols = ["SITEID", "STATUS", "FIRST_SEEN", "LAST_SEEN", "RESOLVED_AT"]
    return pd.DataFrame(rows, columns=cols).astype("string")


def test_trend_counts_open_and_resolved_per_site_at_each_export_of_the_history():
    q = history(
        [
            ["101", "OPEN", "E1", "E3", None],  # open throughout
            ["101", "RESOLVED", "E1", "E1", "E2"],  # open at E1, resolved from E2 on
            ["101", "OPEN", "E3", "E3", None],  # new at E3
            ["102", "RESOLVED", "E2", "E2", "E4"],
        ]
    )
    expected = pd.DataFrame(
        {
            "SITEID": ["101", "101", "101", "102", "102"],
            "EXPORT": ["E1", "E2", "E3", "E2", "E4"],
            "OPEN": [2, 1, 2, 1, 0],
            "RESOLVED": [0, 1, 1, 0, 1],
        }
    ).astype({"SITEID": "string", "EXPORT": "string"})
    pd.testing.assert_frame_equal(derive_query_trend(q), expected)


def test_trend_of_a_history_without_queries_is_empty_with_its_columns():
    out = derive_query_trend(history([]))
    assert out.empty and list(out.columns) == ["SITEID", "EXPORT", "OPEN", "RESOLVED"]


def test_kind_colours_are_distinct_for_many_kinds_and_do_not_depend_on_order():
    kinds = [f"KIND_{i:02d}" for i in range(40)]
    colours = kind_colours(kinds)
    assert len(colours) == 40 and len(set(colours.values())) == 40
    assert colours == kind_colours(list(reversed(kinds)) + kinds[:3])  # order and repeats change nothing
    assert colours["KIND_00"] == PALETTE[0] and colours["KIND_09"] == PALETTE[9]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours.values())


def test_by_rule_counts_rule_failures_and_the_summary_names_rows_and_failures_apart():
    # one source row (AE line 3) breaks two rules: 1 row quarantined, 2 rule failures
    q = derive_quarantine_listing(
        pd.DataFrame(
            [
                {
                    "SOURCE": "101",
                    "SRC_EXPORT": "E1",
                    "SRC_FILE": "AE.csv",
                    "SRC_LINE": 3,
                    "FORM": "AE",
                    "RECID": "AE1",
                    "SUBJID": "101-0001",
                    "COLUMN": column,
                    "RULE": rule,
                    "VALUE": "x",
                    "MESSAGE": "m",
                }
                for column, rule in (("AESTDAT", "date_form"), ("AESEV", "valueset"))
            ]
        )
    )
    by_rule = failures_by(q, ["RULE"])
    assert by_rule.to_dict("list") == {"RULE": ["date_form", "valueset"], FAILURES: [1, 1]}
    ctx = report_context()
    summary = dict(ctx["summary"])
    assert summary["Rows quarantined (source rows; ingest row accounting)"] == "2"
    assert summary["Quarantined values (rule failures; a row can fail several rules)"] == "2"
    html = render_report(ctx)
    assert "Quarantine: rule failures by rule" in html and "RULE_FAILURES" in html


def test_workspace_lists_every_query_sorted_by_site_subject_and_visit_schedule():
    findings = pd.DataFrame(
        [
            {"KIND": "K", "SITEID": "101", "SUBJID": "101-0001", "FORM": "LB", "RECID": r, "VISIT": v}
            for r, v in (("LB3", "WEEK 10"), ("LB1", "WEEK 2"), ("LB2", None))
        ]
        + [{"KIND": "K", "SITEID": "100", "SUBJID": "100-0009", "FORM": "AE", "RECID": "AE1"}]
    )
    queries = merge_query_history(derive_current_queries({"p": findings}), None, "E1")
    ws = derive_query_workspace(queries, kind_colours(["K"]))
    assert [(r.site, r.values[ws.columns.index("RECID")]) for r in ws.rows] == [
        ("100", "AE1"),
        ("101", "LB1"),  # WEEK 2 before WEEK 10 (schedule order, not alphabetical)
        ("101", "LB3"),
        ("101", "LB2"),  # no visit last
    ]
    assert ws.sites == ["100", "101"] and ws.statuses == ["OPEN"] and ws.total_rows == 4
    assert ws.rows[0].listing == "sites/100/queries.xlsx"
    assert ws.rows[1].values[ws.columns.index("FIX_AT")] == "site 101, subject 101-0001, form LB, RECID LB1"


def test_workspace_cut_keeps_open_queries_first_and_says_so():
    findings = pd.DataFrame(
        [{"KIND": "K", "SITEID": "101", "SUBJID": "S", "FORM": "AE", "RECID": f"AE{i}"} for i in range(3)]
    )
    previous = merge_query_history(derive_current_queries({"p": findings}), None, "E1")
    queries = merge_query_history(derive_current_queries({"p": findings.iloc[:1]}), previous, "E2")
    ws = derive_query_workspace(queries, {}, max_rows=1)
    assert ws.truncated and [r.status for r in ws.rows] == ["OPEN"]


# --- headless Chromium ------------------------------------------------------------------------


def _chromium(args, profile):
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        *OFFLINE,
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=90)


def _visible_query_rows(dom: str) -> list[tuple[str, bool]]:
    """(site, shown) of every row of the query table in a dumped DOM."""
    body = dom[dom.index('id="queries-table"') :]
    return [
        (m.group(1), "hidden" not in (m.group(0)))
        for m in re.finditer(r'<tr data-site="([^"]*)"[^>]*>', body)
    ]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("workspace") / "report.html"
    path.write_text(render_report(report_context()), encoding="utf-8")
    return path


chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian package `chromium`; .ci/run installs it)",
)


@pytest.mark.chromium
@chromium
def test_filter_by_site_in_the_url_shows_only_that_sites_queries(report_file, tmp_path):
    everything = _visible_query_rows(_chromium(["--dump-dom", report_file.as_uri()], tmp_path / "p0").stdout)
    assert sorted(s for s, shown in everything if shown) == ["101", "101", "101", "102"]
    dom = _chromium(["--dump-dom", report_file.as_uri() + "#site=102"], tmp_path / "p1").stdout
    rows = _visible_query_rows(dom)
    assert [s for s, shown in rows if shown] == ["102"] and len(rows) == 4
    assert "1 of 4 queries shown" in dom
    assert re.search(r'<div id="site-view">\s*<strong>Site 102: </strong>', dom)  # the per-site view
    # site, kind and status at once; an unknown value in the URL falls back to "all"
    dom = _chromium(
        ["--dump-dom", report_file.as_uri() + "#site=101&kind=SCHEMA&status=NOPE"], tmp_path / "p2"
    ).stdout
    assert [s for s, shown in _visible_query_rows(dom) if shown] == ["101", "101"]


@pytest.mark.chromium
@chromium
def test_text_search_in_the_url_matches_cell_text_and_a_hostile_value_is_text(report_file, tmp_path):
    dom = _chromium(["--dump-dom", report_file.as_uri() + "#q=alert"], tmp_path / "p")
    rows = _visible_query_rows(dom.stdout)
    assert [s for s, shown in rows if shown] == ["101"]  # the AE term a site typed a script into
    assert "&lt;script&gt;alert" in dom.stdout


@pytest.mark.chromium
@chromium
def test_selecting_a_site_in_the_filter_over_devtools_hides_the_other_sites(report_file, tmp_path):
    """A real selection: the site filter's value set and its ``change`` event fired in the page over
    the DevTools protocol, then the rows shown read from the live DOM."""
    websockets = pytest.importorskip("websockets.asyncio.client")
    profile = tmp_path / "cdp"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            *OFFLINE,
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            report_file.as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):  # up to 30 s for the browser to start (a wait, not a timing assertion)
            if port_file.is_file() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        page = None
        for _ in range(300):  # the report's page target (the first target may still be blank)
            targets = json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30).read()
            )
            page = next((t for t in targets if t["type"] == "page" and t["url"].startswith("file:")), None)
            if page:
                break
            time.sleep(0.1)
        assert page, targets

        async def run(expressions):
            async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
                out, n = [], 0
                for expression in expressions:
                    for _attempt in range(50):  # the page may still be navigating from about:blank
                        n += 1
                        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
                        await ws.send(json.dumps({"id": n, "method": "Runtime.evaluate", "params": params}))
                        msg = json.loads(await ws.recv())
                        while msg.get("id") != n:
                            msg = json.loads(await ws.recv())
                        if "error" not in msg:
                            break
                        await asyncio.sleep(0.1)
                    assert "result" in msg and "exceptionDetails" not in msg["result"], msg
                    out.append(msg["result"]["result"].get("value"))
                return out

        shown = (
            "Array.from(document.querySelectorAll('#queries-table tbody tr'))"
            ".filter(tr => getComputedStyle(tr).display !== 'none').map(tr => tr.dataset.site)"
        )
        ready = (
            "new Promise(r => { const f = () => document.readyState === 'complete'"
            " && document.getElementById('queries-table') ? r(true) : setTimeout(f, 50); f(); })"
        )
        select = (
            "(() => { const s = document.getElementById('f-site'); s.value = '101';"
            " s.dispatchEvent(new Event('change')); return s.value; })()"
        )
        loaded, before, selected, after = asyncio.run(run([ready, shown, select, shown]))
        assert loaded is True and sorted(before) == ["101", "101", "101", "102"]
        assert selected == "101" and after == ["101", "101", "101"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
