"""``qa/report.html``: one self-contained static page for QA reviewers (issue 5).

No external scripts, fonts or styles (it must open offline): styles are inline in the template and
charts are inline SVG drawn here. Every value is HTML-escaped by jinja2 autoescape, and the SVG
text is escaped with :func:`markupsafe.escape`, so a ``<script>`` a site typed into an AE term shows
as text. The page links to the Great Expectations Data Docs by a relative link (``gx/index.html``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from assets.common.columns import require_columns

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
) -> Markup:
    """Horizontal stacked bar chart as inline SVG: one bar per category, one colour per series."""
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
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[j % len(PALETTE)]}">'
                    f"<title>{escape(cat)} {escape(name)}: {escape(value_format.format(vals[i]))}</title></rect>"
                )
            x += w
        label = end_labels[i] if end_labels is not None else value_format.format(totals[i])
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{escape(label)}</text>')
    ly = top + len(categories) * (bar_h + gap) + 10
    for j, name in enumerate(series):
        lx = left + (j % 4) * 190
        yy = ly + (j // 4) * 22
        parts.append(f'<rect x="{lx}" y="{yy}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 16}" y="{yy + 11}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def chart_open_queries(open_by_site_kind: pd.DataFrame) -> Markup | None:
    """Open queries by site (bars) and kind (colours)."""
    if open_by_site_kind.empty:
        return None
    series = {str(k): open_by_site_kind[k].astype(float).tolist() for k in open_by_site_kind.columns}
    return svg_stacked_bars(
        [str(s) for s in open_by_site_kind.index], series, "Open queries by site and kind"
    )


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
    if by_rule.empty:
        return None
    top = by_rule.head(15)
    return svg_stacked_bars(
        top["RULE"].astype(str).tolist(),
        {"rows": top["ROWS"].astype(float).tolist()},
        "Quarantined values by rule",
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


def failures_by(quarantine: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Quarantined rows counted by ``columns`` (e.g. rule, or form and field), most frequent first."""
    if quarantine.empty:
        return pd.DataFrame(columns=[*columns, "ROWS"])
    out = quarantine.groupby(columns, dropna=False).size().rename("ROWS").reset_index()
    return out.sort_values(
        ["ROWS", *columns], ascending=[False, *[True] * len(columns)], kind="stable"
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
    gx_failed = gx_results[~gx_results["SUCCESS"]] if not gx_results.empty else gx_results
    summary = [
        ("Data cut (UTC; newest export in force)", run.get("data_cut", "")),
        ("Mode", run.get("mode", "")),
        ("Steps", run.get("steps", "")),
        ("Sources (sites + IWRS)", str(export_status.shape[0])),
        ("Export folders found / incomplete", f"{len(inventory)} / {len(incomplete)}"),
        ("Rows read", f"{rows_read:,}"),
        ("Rows passed", f"{rows_passed:,}"),
        ("Rows quarantined", f"{rows_quarantined:,}"),
        ("Row accounting", "balanced (read = passed + quarantined)" if balanced else "NOT BALANCED"),
        ("Open queries / resolved", f"{len(open_q):,} / {resolved_n:,}"),
        (
            "GX expectations failed (structural)",
            f"{len(gx_failed)} ({int(gx_failed['STRUCTURAL'].sum()) if not gx_failed.empty else 0})",
        ),
    ]
    listing_cols = [
        "QUERY_ID",
        "SITEID",
        "SUBJID",
        "KIND",
        "FORM",
        "VISIT",
        "RECID",
        "COLUMN",
        "RULE",
        "VALUE",
        "MESSAGE",
        "FIRST_SEEN",
    ]
    return {
        "title": run.get("title", "Data-quality report"),
        "run": run,
        "summary": summary,
        "balanced": balanced,
        "sites": as_table(derive_site_summary(export_status, accounting, open_by_site_kind, stale_days)),
        "chart_open_queries": chart_open_queries(open_by_site_kind),
        "chart_sledai": chart_sledai_completeness(sledai_completeness),
        "chart_rules": chart_quarantine_by_rule(failures_by(quarantine, ["RULE"])),
        "by_rule": as_table(failures_by(quarantine, ["RULE"])),
        "by_field": as_table(failures_by(quarantine, ["FORM", "COLUMN"])),
        "sledai": as_table(sledai_completeness),
        "incomplete": as_table(incomplete),
        "deviations": as_table(deviations),
        "eligibility": as_table(eligibility, max_rows=50),
        "open_queries": as_table(
            open_q[[c for c in listing_cols if c in open_q.columns]] if not open_q.empty else open_q,
            max_rows=500,
        ),
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
