"""``qa/report.html``: one self-contained static page for QA reviewers (issues 5 and 17).

No external scripts, fonts or styles (it must open offline): styles and one plain script are inline
in the template and charts are inline SVG drawn here. Every value is HTML-escaped by jinja2
autoescape, and the SVG text is escaped with :func:`markupsafe.escape`, so a ``<script>`` a site
typed into an AE term shows as text. The page's script reads no site value from script text: the
query workspace is an HTML table rendered here (escaped), whose rows carry their site, kind, status
and subject as ``data-`` attributes; the script only shows, hides and re-orders rows (filters by
site, kind, status and subject, a text search, sortable columns, a per-site view; the filter state
is in the URL fragment, e.g. ``report.html#site=101&status=OPEN``). The page links to the Great
Expectations Data Docs by a relative link (``gx/index.html``) and each query to its site's listing
(``sites/<SITEID>/queries.xlsx``).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from assets.common.columns import require_columns
from assets.qa.listings import derive_var_fix_at, derive_var_visitnum

TEMPLATES = Path(__file__).resolve().parent / "templates"
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def kind_colours(kinds) -> dict[str, str]:
    """One distinct colour per query kind, in the sorted order of ``kinds`` (issue 17): the first
    ten from :data:`PALETTE`, then hues spread by the golden angle at alternating lightness, so any
    number of kinds get colours that differ, and the same kinds always get the same colours."""
    out = {}
    for i, kind in enumerate(sorted({str(k) for k in kinds})):
        if i < len(PALETTE):
            out[kind] = PALETTE[i]
        else:
            hue = ((i - len(PALETTE)) * 137.508 + 20.0) % 360.0 / 360.0
            light = (0.38, 0.55, 0.7)[i % 3]
            r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
            out[kind] = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
    return out


@dataclass
class Table:
    """A frame ready for the template: column names and rows of display text."""

    columns: list[str]
    rows: list[list[str]]
    total_rows: int
    numeric: list[bool] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


def as_table(df: pd.DataFrame | None, max_rows: int = 200) -> Table:
    """Display text of at most ``max_rows`` rows; missing values show as empty cells."""
    if df is None or df.empty:
        cols = list(df.columns) if df is not None else []
        return Table(cols, [], 0, [False] * len(cols))
    head = df.head(max_rows)
    numeric = [
        pd.api.types.is_numeric_dtype(head[c]) and not pd.api.types.is_bool_dtype(head[c])
        for c in head.columns
    ]
    text = head.astype(object).where(head.notna(), "")
    rows = [[str(v) for v in row] for row in text.itertuples(index=False)]
    return Table([str(c) for c in head.columns], rows, len(df), numeric)


def svg_stacked_bars(
    categories: list[str],
    series: dict[str, list[float]],
    title: str,
    value_format: str = "{:g}",
    max_value: float | None = None,
    end_labels: list[str] | None = None,
    colours: dict[str, str] | None = None,
) -> Markup:
    """Horizontal stacked bar chart as inline SVG: one bar per category, one colour per series
    (``colours`` by series name, else :data:`PALETTE` in series order)."""

    def colour(j: int, name: str) -> str:
        return (colours or {}).get(name) or PALETTE[j % len(PALETTE)]

    bar_h, gap, left, right, top = 22, 8, 120, 40, 34
    width = 900
    legend_h = 22 * ((len(series) + 3) // 4)
    height = top + len(categories) * (bar_h + gap) + legend_h + 20
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(categories))]
    scale_max = max_value if max_value is not None else max(totals + [1])
    plot_w = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for i, cat in enumerate(categories):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{escape(cat)}</text>')
        x = float(left)
        for j, (name, vals) in enumerate(series.items()):
            w = plot_w * (vals[i] / scale_max) if scale_max else 0
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour(j, name)}">'
                    f"<title>{escape(cat)} {escape(name)}: {escape(value_format.format(vals[i]))}</title></rect>"
                )
            x += w
        label = end_labels[i] if end_labels is not None else value_format.format(totals[i])
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{escape(label)}</text>')
    ly = top + len(categories) * (bar_h + gap) + 10
    for j, name in enumerate(series):
        lx = left + (j % 4) * 190
        yy = ly + (j // 4) * 22
        parts.append(f'<rect x="{lx}" y="{yy}" width="12" height="12" fill="{colour(j, name)}"/>')
        parts.append(f'<text x="{lx + 16}" y="{yy + 11}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def chart_open_queries(
    open_by_site_kind: pd.DataFrame, colours: dict[str, str] | None = None
) -> Markup | None:
    """Open queries by site (bars) and kind (colours: :func:`kind_colours`)."""
    if open_by_site_kind.empty:
        return None
    series = {str(k): open_by_site_kind[k].astype(float).tolist() for k in open_by_site_kind.columns}
    return svg_stacked_bars(
        [str(s) for s in open_by_site_kind.index],
        series,
        "Open queries by site and kind",
        colours=colours or kind_colours(series),
    )


def derive_query_trend(queries: pd.DataFrame) -> pd.DataFrame:
    """Open and resolved queries per site at each export of the query history (issue 17).

    The exports of a site are the export ids its queries name (FIRST_SEEN, LAST_SEEN, RESOLVED_AT:
    export ids, so they sort as times). At export ``E`` a query is open when first seen at or
    before ``E`` and not resolved at or before ``E``; resolved when resolved at or before ``E``.
    Columns SITEID, EXPORT, OPEN, RESOLVED, sorted by site and export."""
    require_columns(queries, ["SITEID", "FIRST_SEEN", "LAST_SEEN", "RESOLVED_AT"], "derive_query_trend")
    rows = []
    q = queries.astype({c: "string" for c in ("SITEID", "FIRST_SEEN", "LAST_SEEN", "RESOLVED_AT")})
    for site, group in q.groupby("SITEID", sort=True):
        first = group["FIRST_SEEN"].fillna("")
        resolved = group["RESOLVED_AT"]
        points = sorted(
            set(group["FIRST_SEEN"].dropna()) | set(group["LAST_SEEN"].dropna()) | set(resolved.dropna())
        )
        for export in points:
            done = resolved.notna() & resolved.le(export).fillna(False)
            is_open = first.ne("") & first.le(export) & ~done
            rows.append((str(site), str(export), int(is_open.sum()), int(done.sum())))
    out = pd.DataFrame(rows, columns=["SITEID", "EXPORT", "OPEN", "RESOLVED"])
    return out.astype({"SITEID": "string", "EXPORT": "string", "OPEN": "int64", "RESOLVED": "int64"})


TREND_COLOURS = {"open": "#e15759", "resolved": "#59a14f"}


def svg_trend(site: str, trend: pd.DataFrame) -> Markup:
    """One site's open (red) and resolved (green) queries per export as an inline SVG line chart."""
    width, height, left, right, top, bottom = 420, 190, 40, 16, 30, 46
    n = len(trend)
    top_value = max([1, *trend["OPEN"].tolist(), *trend["RESOLVED"].tolist()])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    title = f"Site {site}: open and resolved queries per export"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{top_value}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for name, column in (("open", "OPEN"), ("resolved", "RESOLVED")):
        values = trend[column].tolist()
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{TREND_COLOURS[name]}" stroke-width="2" points="{points}"/>'
        )
        for i, v in enumerate(values):
            export = trend["EXPORT"].iloc[i]
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{TREND_COLOURS[name]}">'
                f"<title>{escape(export)} {name}: {v}</title></circle>"
            )
    for i, export in enumerate(trend["EXPORT"].tolist()):
        if n <= 6 or i in (0, n - 1):
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(str(export)[:8])}</text>'
            )
    ly = height - 12
    for j, name in enumerate(TREND_COLOURS):
        parts.append(
            f'<rect x="{left + j * 110}" y="{ly - 10}" width="12" height="12" fill="{TREND_COLOURS[name]}"/>'
        )
        parts.append(f'<text x="{left + j * 110 + 16}" y="{ly}">{name}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def chart_query_trends(trend: pd.DataFrame) -> list[Markup]:
    """:func:`svg_trend` of every site of ``trend``, in site order."""
    return [
        svg_trend(str(site), group.reset_index(drop=True))
        for site, group in trend.groupby("SITEID", sort=True)
    ]


def derive_sledai_completeness(sledai_scored: pd.DataFrame) -> pd.DataFrame:
    """Per visit: SLEDAI-2K assessments, how many have every item answered (a total), and the
    share in percent (derivations.md: one missing item makes the total missing)."""
    require_columns(sledai_scored, ["VISIT", "VISITNUM", "SLEDAI_TOTAL"], "derive_sledai_completeness")
    if sledai_scored.empty:
        return pd.DataFrame(columns=["VISITNUM", "VISIT", "ASSESSMENTS", "COMPLETE", "PCT_COMPLETE"])
    g = sledai_scored.assign(COMPLETE=sledai_scored["SLEDAI_TOTAL"].notna()).groupby(
        ["VISITNUM", "VISIT"], dropna=False
    )
    out = g.agg(ASSESSMENTS=("COMPLETE", "size"), COMPLETE=("COMPLETE", "sum")).reset_index()
    out["PCT_COMPLETE"] = (100.0 * out["COMPLETE"] / out["ASSESSMENTS"]).round(1)
    return out.sort_values("VISITNUM", kind="stable").reset_index(drop=True)


def chart_sledai_completeness(completeness: pd.DataFrame) -> Markup | None:
    if completeness.empty:
        return None
    pct = completeness["PCT_COMPLETE"].astype(float).tolist()
    return svg_stacked_bars(
        completeness["VISIT"].astype(str).tolist(),
        {"complete (%)": pct, "items missing (%)": [100.0 - p for p in pct]},
        "SLEDAI-2K completeness by visit (% of assessments with every item answered)",
        value_format="{:.0f}",
        max_value=100.0,
        end_labels=[f"{p:.0f}% of {n}" for p, n in zip(pct, completeness["ASSESSMENTS"].tolist())],
    )


def chart_quarantine_by_rule(by_rule: pd.DataFrame) -> Markup | None:
    """Rule failures by rule (a quarantined row can fail several rules, so these add up to the
    quarantined values, not the quarantined rows)."""
    if by_rule.empty:
        return None
    top = by_rule.head(15)
    return svg_stacked_bars(
        top["RULE"].astype(str).tolist(),
        {"rule failures (quarantined values)": top[FAILURES].astype(float).tolist()},
        "Quarantine: rule failures by rule (one row can fail several rules)",
    )


def render_report(context: dict) -> str:
    """Render ``templates/report.html.j2`` with autoescape on (every value escaped)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def derive_site_summary(
    export_status: pd.DataFrame, accounting: pd.DataFrame, open_by_site_kind: pd.DataFrame, stale_days: int
) -> pd.DataFrame:
    """Per site: last export, rows in, rows quarantined, open queries (total and by kind), freshness
    (``STALE`` when the newest complete export is older than ``stale_days``, ``NONE`` without one)."""
    sites = sorted(
        set(export_status.get("SITEID", pd.Series(dtype=str)).astype(str))
        | set(accounting.get("SOURCE", pd.Series(dtype=str)).astype(str))
        | set(open_by_site_kind.index.astype(str))
    )
    out = pd.DataFrame({"SITEID": sites})
    if not export_status.empty:
        es = export_status.set_index(export_status["SITEID"].astype(str))
        out["LAST_EXPORT"] = out["SITEID"].map(es["LAST_EXPORT"])
        out["AGE_DAYS"] = out["SITEID"].map(es["AGE_DAYS"]).astype("Int64")
        out["INCOMPLETE_EXPORTS"] = out["SITEID"].map(es["EXPORTS_INCOMPLETE"]).fillna(0).astype("Int64")
    else:
        out["LAST_EXPORT"], out["AGE_DAYS"], out["INCOMPLETE_EXPORTS"] = pd.NA, pd.Series(dtype="Int64"), 0
    if not accounting.empty:
        acc = accounting.groupby(accounting["SOURCE"].astype(str))[["ROWS_READ", "ROWS_QUARANTINED"]].sum()
        out["ROWS_IN"] = out["SITEID"].map(acc["ROWS_READ"]).fillna(0).astype("Int64")
        out["QUARANTINED"] = out["SITEID"].map(acc["ROWS_QUARANTINED"]).fillna(0).astype("Int64")
    else:
        out["ROWS_IN"], out["QUARANTINED"] = 0, 0
    kinds = list(open_by_site_kind.columns)
    by_kind = open_by_site_kind.copy()
    by_kind.index = by_kind.index.astype(str)
    out["OPEN_QUERIES"] = out["SITEID"].map(by_kind.sum(axis=1)).fillna(0).astype("Int64") if kinds else 0
    for kind in kinds:
        out[str(kind)] = out["SITEID"].map(by_kind[kind]).fillna(0).astype("Int64")
    age = pd.to_numeric(out["AGE_DAYS"], errors="coerce")
    out["FRESHNESS"] = "OK"
    out.loc[age > stale_days, "FRESHNESS"] = f"STALE (> {stale_days} d)"
    out.loc[age.isna(), "FRESHNESS"] = "NO COMPLETE EXPORT"
    return out


FAILURES = "RULE_FAILURES"
"""Count column of :func:`failures_by`: quarantine rows (rule failures), not source rows."""


def failures_by(quarantine: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rule failures (quarantine listing rows: one per failed rule of a source row) counted by
    ``columns`` (e.g. rule, or form and field), most frequent first; column :data:`FAILURES`."""
    if quarantine.empty:
        return pd.DataFrame(columns=[*columns, FAILURES])
    out = quarantine.groupby(columns, dropna=False).size().rename(FAILURES).reset_index()
    return out.sort_values(
        [FAILURES, *columns], ascending=[False, *[True] * len(columns)], kind="stable"
    ).reset_index(drop=True)


def gx_summary(gx_results: pd.DataFrame) -> pd.DataFrame:
    """Per validated dataset: expectations, failed, structural failed, rows validated."""
    if gx_results.empty:
        return pd.DataFrame(
            columns=[
                "STANDARD",
                "DATASET",
                "EXPECTATIONS",
                "FAILED",
                "STRUCTURAL_FAILED",
                "ROWS_IN_TABLE",
                "ROWS_VALIDATED",
                "SAMPLED",
            ]
        )
    r = gx_results.assign(
        FAILED=~gx_results["SUCCESS"], STRUCTURAL_FAILED=~gx_results["SUCCESS"] & gx_results["STRUCTURAL"]
    )
    return (
        r.groupby(["STANDARD", "DATASET"])
        .agg(
            EXPECTATIONS=("SUCCESS", "size"),
            FAILED=("FAILED", "sum"),
            STRUCTURAL_FAILED=("STRUCTURAL_FAILED", "sum"),
            ROWS_IN_TABLE=("ROWS_IN_TABLE", "max"),
            ROWS_VALIDATED=("ROWS_VALIDATED", "max"),
            SAMPLED=("SAMPLED", "max"),
        )
        .reset_index()
    )


WORKSPACE_COLUMNS = [
    "QUERY_ID",
    "STATUS",
    "KIND",
    "SITEID",
    "SUBJID",
    "VISIT",
    "DATE",
    "FORM",
    "RECID",
    "COLUMN",
    "TESTCD",
    "VALUE",
    "UNIT",
    "RULE",
    "MESSAGE",
    "FIRST_SEEN",
    "LAST_SEEN",
    "RESOLVED_AT",
    "FIX_AT",
]
"""The columns of the report's query workspace (issue 17), ``FIX_AT`` derived by
:func:`assets.qa.listings.derive_var_fix_at`."""
WORKSPACE_MAX_ROWS = 5000


@dataclass
class QueryRow:
    """One row of the query workspace: display values and what the filters read."""

    values: list[str]
    site: str
    kind: str
    status: str
    subject: str
    listing: str


@dataclass
class Workspace:
    """The query workspace: rows, the filters' choices, one colour per kind."""

    columns: list[str]
    rows: list[QueryRow]
    total_rows: int
    sites: list[str]
    kinds: list[str]
    statuses: list[str]
    subjects: list[str]
    colours: dict[str, str]

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


def listing_link(site: str) -> str:
    """The relative link of a site's listing beside the report (``sites/<SITEID>/queries.xlsx``)."""
    return f"sites/{quote(site, safe='')}/queries.xlsx" if site else ""


def derive_query_workspace(
    queries: pd.DataFrame, colours: dict[str, str], max_rows: int = WORKSPACE_MAX_ROWS
) -> Workspace:
    """Every query (open and resolved) sorted by site, subject, visit (schedule order), form, RECID
    and kind, at most ``max_rows`` rows (open queries first when cut), with what the filters need."""
    columns = list(WORKSPACE_COLUMNS)
    if queries.empty:
        return Workspace(columns, [], 0, [], [], [], [], colours)
    q = queries.copy()
    for col in WORKSPACE_COLUMNS:
        if col not in q.columns and col != "FIX_AT":
            q[col] = pd.NA
    q = q.assign(
        VISITNUM=derive_var_visitnum(q), FIX_AT=derive_var_fix_at(q), OPEN_FIRST=q["STATUS"].ne("OPEN")
    )
    q = q.sort_values(
        ["OPEN_FIRST", "SITEID", "SUBJID", "VISITNUM", "VISIT", "FORM", "RECID", "KIND", "QUERY_ID"],
        kind="stable",
        na_position="last",
    ).head(max_rows)
    q = q.sort_values(
        ["SITEID", "SUBJID", "VISITNUM", "VISIT", "FORM", "RECID", "KIND", "QUERY_ID"],
        kind="stable",
        na_position="last",
    )
    text = q[columns].astype("string").fillna("")
    rows = [
        QueryRow(
            list(values),
            site=values[3],
            kind=values[2],
            status=values[1],
            subject=values[4],
            listing=listing_link(values[3]),
        )
        for values in text.itertuples(index=False)
    ]

    def distinct(col: str) -> list[str]:
        return sorted(set(queries[col].dropna().astype(str)))

    return Workspace(
        columns,
        rows,
        len(queries),
        distinct("SITEID"),
        distinct("KIND"),
        distinct("STATUS"),
        distinct("SUBJID"),
        colours,
    )


def build_report_context(
    run: dict,
    accounting: pd.DataFrame,
    quarantine: pd.DataFrame,
    queries: pd.DataFrame,
    open_by_site_kind: pd.DataFrame,
    export_status: pd.DataFrame,
    inventory: pd.DataFrame,
    deviations: pd.DataFrame,
    eligibility: pd.DataFrame,
    gx_results: pd.DataFrame,
    sledai_completeness: pd.DataFrame,
    outputs: pd.DataFrame,
    stale_days: int,
    gx_docs_link: str = "gx/index.html",
) -> dict:
    """Everything the template shows, as display tables and inline SVG charts."""
    rows_read = int(accounting["ROWS_READ"].sum()) if not accounting.empty else 0
    rows_passed = int(accounting["ROWS_PASSED"].sum()) if not accounting.empty else 0
    rows_quarantined = int(accounting["ROWS_QUARANTINED"].sum()) if not accounting.empty else 0
    balanced = bool(accounting["BALANCED"].astype(bool).all()) if not accounting.empty else False
    open_q = queries[queries["STATUS"].eq("OPEN").fillna(False)] if not queries.empty else queries
    resolved_n = int(queries["STATUS"].eq("RESOLVED").sum()) if not queries.empty else 0
    incomplete = (
        inventory.loc[~inventory["COMPLETE"].astype(bool), ["SOURCE", "EXPORT_ID", "REASON"]]
        if not inventory.empty
        else pd.DataFrame(columns=["SOURCE", "EXPORT_ID", "REASON"])
    )
    gx_sum = gx_summary(gx_results)
    trend = (
        derive_query_trend(queries)
        if not queries.empty
        else pd.DataFrame(columns=["SITEID", "EXPORT", "OPEN", "RESOLVED"])
    )
    gx_failed = gx_results[~gx_results["SUCCESS"]] if not gx_results.empty else gx_results
    colours = kind_colours(queries["KIND"].dropna()) if not queries.empty else {}
    summary = [
        ("Data cut (UTC; newest export in force)", run.get("data_cut", "")),
        ("Mode", run.get("mode", "")),
        ("Steps", run.get("steps", "")),
        ("Sources (sites + IWRS)", str(export_status.shape[0])),
        ("Export folders found / incomplete", f"{len(inventory)} / {len(incomplete)}"),
        ("Rows read", f"{rows_read:,}"),
        ("Rows passed", f"{rows_passed:,}"),
        ("Rows quarantined (source rows; ingest row accounting)", f"{rows_quarantined:,}"),
        ("Quarantined values (rule failures; a row can fail several rules)", f"{len(quarantine):,}"),
        ("Row accounting", "balanced (read = passed + quarantined)" if balanced else "NOT BALANCED"),
        ("Open queries / resolved", f"{len(open_q):,} / {resolved_n:,}"),
        (
            "GX expectations failed (structural)",
            f"{len(gx_failed)} ({int(gx_failed['STRUCTURAL'].sum()) if not gx_failed.empty else 0})",
        ),
    ]
    return {
        "title": run.get("title", "Data-quality report"),
        "run": run,
        "summary": summary,
        "balanced": balanced,
        "sites": as_table(derive_site_summary(export_status, accounting, open_by_site_kind, stale_days)),
        "chart_open_queries": chart_open_queries(open_by_site_kind, colours),
        "trend_charts": chart_query_trends(trend),
        "trend": as_table(trend, max_rows=500),
        "workspace": derive_query_workspace(queries, colours),
        "chart_sledai": chart_sledai_completeness(sledai_completeness),
        "chart_rules": chart_quarantine_by_rule(failures_by(quarantine, ["RULE"])),
        "by_rule": as_table(failures_by(quarantine, ["RULE"])),
        "by_field": as_table(failures_by(quarantine, ["FORM", "COLUMN"])),
        "sledai": as_table(sledai_completeness),
        "incomplete": as_table(incomplete),
        "deviations": as_table(deviations),
        "eligibility": as_table(eligibility, max_rows=50),
        "quarantine": as_table(quarantine, max_rows=300),
        "gx_summary": as_table(gx_sum),
        "gx_failed": as_table(
            gx_failed[
                [
                    "STANDARD",
                    "DATASET",
                    "RULE",
                    "COLUMN",
                    "CONDITION",
                    "STRUCTURAL",
                    "UNEXPECTED_COUNT",
                    "UNEXPECTED_SAMPLE",
                ]
            ]
            if not gx_failed.empty
            else gx_failed
        ),
        "gx_docs_link": gx_docs_link,
        "outputs": as_table(outputs),
        "stale_days": stale_days,
    }
