"""Tables and plots for statisticians (issue 4, item 6; issue 16, item 4), from ADSL and ADEFF.

- SRI-4 response by visit (``WEEK 4`` ... ``WEEK 24``) and at the primary endpoint visit
  (study.yaml, ``WEEK 24``), full analysis set: subjects in the FAS, n evaluable (the
  denominator), responders, non-responders and (v2) visits not yet due at the data cut, which are
  reported apart and left out of the denominator (derivations.md, SRI-4); % responders with the
  exact 95% Clopper-Pearson interval. Responders + non-responders + not yet due = FAS at every
  visit when every FAS subject has an ``SRI4`` record there.
- Mean SLEDAI-2K change from baseline by visit (n, mean, SD, SE), FAS, ``ANL01FL = Y``.
- Plots (PNG): the SLEDAI-2K change and the SRI-4 response rate by visit, visits placed at their
  planned study week (study/visits.csv) and the n of each visit printed under the axis.

Blinded mode: one group, ``ALL SUBJECTS`` (pooled); nothing splits by arm, and no output holds a
treatment value. Unblinded: by planned treatment (``TRT01P``/``TRTP``, ordered by its number).
Column and dataset labels of the tables: study/stats_variables.csv and study/stats_datasets.csv.
"""

from __future__ import annotations

import io
import math
from functools import cache

import numpy as np
import pandas as pd

import study
from assets.adam.adeff import NOT_YET_DUE, sri4_visits
from assets.common.columns import require_columns
from study import facts

POOLED = "ALL SUBJECTS"
Z95 = 1.959963984540054
CI_METHOD = "CLOPPER-PEARSON"
SRI4_COLUMNS = [
    "GROUP",
    "GROUPN",
    "AVISIT",
    "AVISITN",
    "WEEK",
    "NFAS",
    "N",
    "RESPONDERS",
    "NONRESP",
    "NOTDUE",
    "PCT",
    "CI_LO_PCT",
    "CI_HI_PCT",
    "CI_METHOD",
]


# --- metadata of the tables ----------------------------------------------------------------------


@cache
def _stats_datasets() -> pd.DataFrame:
    return study.table("stats_datasets").set_index("DATASET")


def stats_file(dataset: str) -> str:
    """File name of a stats table under ``stats/`` (study/stats_datasets.csv)."""
    return str(_stats_datasets().loc[dataset, "FILE"])


def stats_dataset_label(dataset: str) -> str:
    return str(_stats_datasets().loc[dataset, "LABEL"])


def stats_keys(dataset: str) -> list[str]:
    """Sort keys of a stats table (its rows are unique by them)."""
    return str(_stats_datasets().loc[dataset, "KEYS"]).split()


def stats_labels(dataset: str) -> dict[str, str]:
    """Column -> label of one stats table, in the order of the file (study/stats_variables.csv)."""
    t = study.table("stats_variables")
    t = t[t["DATASET"] == dataset]
    if t.empty:
        raise KeyError(f"{dataset} is not in study/stats_variables.csv")
    return dict(zip(t["VARIABLE"], t["LABEL"], strict=True))


# --- intervals -----------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (NaN for n = 0)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion_interval(successes: int, n: int) -> tuple[float, float, str]:
    """Exact (Clopper-Pearson) 95% interval of ``successes / n``: (lo, hi, ``CLOPPER-PEARSON``);
    NaN bounds for n = 0, lo = 0 when there is no success and hi = 1 when all succeed.

    The bounds are beta quantiles, computed with ``scipy.special.betaincinv`` (the same values as
    ``scipy.stats.beta.ppf``, whose import alone takes about a second)."""
    from scipy.special import betaincinv

    if n == 0:
        return math.nan, math.nan, CI_METHOD
    lo = 0.0 if successes == 0 else float(betaincinv(successes, n - successes + 1, 0.025))
    hi = 1.0 if successes == n else float(betaincinv(successes + 1, n - successes, 0.975))
    return lo, hi, CI_METHOD


# --- groups and visits ---------------------------------------------------------------------------


def _groups(df: pd.DataFrame, blinded: bool, trt: str = "TRTP", trtn: str = "TRTPN") -> pd.DataFrame:
    """``GROUP``/``GROUPN``: ``ALL SUBJECTS``/0 when blinded, else the planned treatment and its number."""
    out = df.copy()
    if blinded:
        out["GROUP"], out["GROUPN"] = POOLED, 0.0
    else:
        out["GROUP"], out["GROUPN"] = out[trt].astype("string"), out[trtn].astype("float64")
    return out


def visit_weeks() -> pd.DataFrame:
    """``AVISIT``, ``AVISITN`` and ``WEEK`` (planned study week: (planned day - 1) / 7, so
    ``DAY 1`` is week 0 and ``WEEK 24`` week 24) of every scheduled visit with a planned day."""
    v = study.visits()
    v = v[v["PLANNED_DAY"].notna()]
    return pd.DataFrame(
        {
            "AVISIT": v["VISIT"].astype("string").to_numpy(),
            "AVISITN": v["VISITNUM"].astype("float64").to_numpy(),
            "WEEK": ((v["PLANNED_DAY"] - 1) / 7).astype("float64").to_numpy(),
        }
    )


# --- SRI-4 ---------------------------------------------------------------------------------------


def sri4_by_visit_table(adeff: pd.DataFrame, adsl: pd.DataFrame, blinded: bool) -> pd.DataFrame:
    """SRI-4 per group and post-baseline SLEDAI visit of the schedule, FAS (derivations.md, SRI-4):
    ``NFAS`` subjects with ``FASFL = Y`` in ADSL; from their ADEFF ``SRI4`` records ``RESPONDERS``
    (``AVALC = Y``), ``NONRESP`` (``AVALC = N``) and ``NOTDUE`` (``NRREAS = NOT YET DUE``, no
    ``AVALC``); ``N`` = responders + non-responders (evaluable, the denominator); ``PCT`` =
    100 x responders / N with the Clopper-Pearson interval. Every group of the FAS appears at every
    visit (zero counts included)."""
    require_columns(
        adeff,
        ["USUBJID", "PARAMCD", "AVISIT", "FASFL", "AVALC", "NRREAS", "TRTP", "TRTPN"],
        "sri4_by_visit_table",
    )
    require_columns(adsl, ["USUBJID", "FASFL", "TRT01P", "TRT01PN"], "sri4_by_visit_table")
    fas = _groups(adsl[adsl["FASFL"].eq("Y").fillna(False)], blinded, "TRT01P", "TRT01PN")
    groups = fas.groupby(["GROUP", "GROUPN"], dropna=False, sort=False).size().rename("NFAS").reset_index()
    visits = sri4_visits()[["VISIT"]].rename(columns={"VISIT": "AVISIT"}).merge(visit_weeks(), on="AVISIT")
    grid = groups.merge(visits, how="cross")
    s = adeff[adeff["PARAMCD"].eq("SRI4").fillna(False) & adeff["FASFL"].eq("Y").fillna(False)]
    s = _groups(s, blinded)
    s = s.assign(
        RESPONDERS=s["AVALC"].eq("Y").fillna(False).astype(int),
        NONRESP=s["AVALC"].eq("N").fillna(False).astype(int),
        NOTDUE=(s["AVALC"].isna() & s["NRREAS"].eq(NOT_YET_DUE).fillna(False)).astype(int),
    )
    counts = (
        s.groupby(["GROUP", "GROUPN", "AVISIT"], dropna=False, sort=False)[
            ["RESPONDERS", "NONRESP", "NOTDUE"]
        ]
        .sum()
        .reset_index()
    )
    out = grid.merge(counts, on=["GROUP", "GROUPN", "AVISIT"], how="left")
    for c in ("RESPONDERS", "NONRESP", "NOTDUE"):
        out[c] = out[c].fillna(0).astype("int64")
    out["NFAS"] = out["NFAS"].astype("int64")
    out["N"] = out["RESPONDERS"] + out["NONRESP"]
    ci = [proportion_interval(int(r), int(n)) for r, n in zip(out["RESPONDERS"], out["N"], strict=True)]
    out["PCT"] = np.where(out["N"] > 0, 100.0 * out["RESPONDERS"] / out["N"].where(out["N"] > 0), np.nan)
    out["CI_LO_PCT"] = [100.0 * lo for lo, _, _ in ci]
    out["CI_HI_PCT"] = [100.0 * hi for _, hi, _ in ci]
    out["CI_METHOD"] = CI_METHOD
    out["GROUP"] = out["GROUP"].astype("string")
    out["AVISIT"] = out["AVISIT"].astype("string")
    out = out[SRI4_COLUMNS]
    return out.sort_values(["GROUPN", "GROUP", "AVISITN"], kind="stable").reset_index(drop=True)


def sri4_response_table(
    adeff: pd.DataFrame, adsl: pd.DataFrame, blinded: bool, visit: str | None = None
) -> pd.DataFrame:
    """:func:`sri4_by_visit_table` at one visit, by default the primary endpoint visit (study.yaml)."""
    visit = facts.primary_endpoint_visit() if visit is None else visit
    t = sri4_by_visit_table(adeff, adsl, blinded)
    return t[t["AVISIT"] == visit].reset_index(drop=True)


def sri4_summary_mismatches(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of an SRI-4 table where responders + non-responders + not yet due differ from the FAS."""
    require_columns(table, ["NFAS", "RESPONDERS", "NONRESP", "NOTDUE"], "sri4_summary_mismatches")
    return table[table["RESPONDERS"] + table["NONRESP"] + table["NOTDUE"] != table["NFAS"]]


# --- SLEDAI-2K change ----------------------------------------------------------------------------


def sledai_change_table(adeff: pd.DataFrame, blinded: bool) -> pd.DataFrame:
    """Mean SLEDAI-2K change from baseline by scheduled post-baseline visit and group (FAS,
    ``ANL01FL = Y``): ``N``, ``MEAN``, ``SD``, ``SE`` and the visit's planned study ``WEEK``."""
    require_columns(
        adeff,
        ["PARAMCD", "FASFL", "ANL01FL", "CHG", "AVISIT", "AVISITN", "TRTP", "TRTPN"],
        "sledai_change_table",
    )
    s = adeff[
        (adeff["PARAMCD"] == "SLEDAI")
        & (adeff["FASFL"] == "Y")
        & (adeff["ANL01FL"] == "Y")
        & adeff["CHG"].notna()
    ]
    s = _groups(s, blinded)
    g = s.groupby(["GROUP", "GROUPN", "AVISITN", "AVISIT"], dropna=False, sort=True)["CHG"]
    out = g.agg(N="count", MEAN="mean", SD="std").reset_index()
    out["SE"] = out["SD"] / np.sqrt(out["N"])
    out["N"] = out["N"].astype("int64")
    out["GROUP"] = out["GROUP"].astype("string")
    out["AVISIT"] = out["AVISIT"].astype("string")
    for c in ("MEAN", "SD", "SE"):
        out[c] = out[c].astype("float64")
    weeks = visit_weeks().set_index("AVISIT")["WEEK"]
    out["WEEK"] = out["AVISIT"].map(weeks).astype("float64")
    out = out[["GROUP", "GROUPN", "AVISIT", "AVISITN", "WEEK", "N", "MEAN", "SD", "SE"]]
    return out.sort_values(["GROUPN", "GROUP", "AVISITN"], kind="stable").reset_index(drop=True)


# --- plots ---------------------------------------------------------------------------------------


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


ROW_PT = 12.0
"""Height of one line of counts under the axis, in points."""
FIRST_ROW_PT = 44.0
"""Where the counts start under the axis (below the tick labels and the axis label), in points."""


def _n_rows_under_axis(ax, table: pd.DataFrame, count: str, caption: str, first_row: int = 0) -> int:
    """Under the x axis, a caption line then one line per group: the ``count`` of each visit at
    its week; starts ``first_row`` lines down and returns the number of lines written."""
    from matplotlib.transforms import blended_transform_factory

    at_week = blended_transform_factory(ax.transData, ax.transAxes)

    def line(x, row: int, text: str, coords, **kw) -> None:
        offset = (0.0, -FIRST_ROW_PT - ROW_PT * row)
        ax.annotate(
            text,
            (x, 0.0),
            xycoords=coords,
            xytext=offset,
            textcoords="offset points",
            va="top",
            fontsize=8,
            **kw,
        )

    line(0.0, first_row, f"{caption} ", ax.transAxes, ha="right", style="italic")
    groups = list(table.groupby(["GROUPN", "GROUP"], sort=True))
    for i, ((_, group), g) in enumerate(groups, start=1):
        line(0.0, first_row + i, f"{group} ", ax.transAxes, ha="right")
        for week, n in zip(g["WEEK"].astype(float), g[count].astype(int), strict=True):
            line(week, first_row + i, str(n), at_week, ha="center")
    return len(groups) + 1


def _layout(fig, lines: int) -> None:
    """Room under the axes for ``lines`` lines of counts (the figure grows, the axes keep their size)."""
    axes_in, top_in, below_in = 4.2, 0.45, (FIRST_ROW_PT + ROW_PT * lines + 6) / 72
    height = axes_in + top_in + below_in
    fig.set_size_inches(8.0, height)
    fig.subplots_adjust(left=0.2, right=0.97, top=1 - top_in / height, bottom=below_in / height)


def _week_axis(ax, table: pd.DataFrame) -> None:
    ticks = table.drop_duplicates("AVISIT").sort_values("WEEK")
    ax.set_xticks(ticks["WEEK"].astype(float), ticks["AVISIT"].astype(str), fontsize=8)
    ax.set_xlabel("Planned study week")
    if len(ticks):
        ax.set_xlim(float(ticks["WEEK"].min()) - 1.5, float(ticks["WEEK"].max()) + 1.5)


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _offsets(table: pd.DataFrame) -> dict:
    """A small shift in weeks per group, so that the error bars of groups do not overlap."""
    keys = list(table.groupby(["GROUPN", "GROUP"], sort=True).groups)  # in group order
    k = len(keys)
    return {key: 0.25 * (i - (k - 1) / 2) for i, key in enumerate(keys)}


def sledai_change_plot(change: pd.DataFrame, blinded: bool) -> bytes:
    """PNG bytes: mean SLEDAI-2K change (+/- SE) by visit at its planned study week, one line per
    group, the n of each visit under the axis (Agg backend, no timestamps: the same bytes on a rerun)."""
    require_columns(change, ["GROUP", "GROUPN", "AVISIT", "WEEK", "N", "MEAN", "SE"], "sledai_change_plot")
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    offsets = _offsets(change)
    for key, g in change.groupby(["GROUPN", "GROUP"], sort=True):
        g = g.sort_values("WEEK")
        ax.errorbar(
            g["WEEK"].astype(float) + offsets[key],
            g["MEAN"].astype(float),
            yerr=g["SE"].astype(float).fillna(0),
            marker="o",
            capsize=3,
            label=str(key[1]),
        )
    _week_axis(ax, change)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("Mean change from baseline in SLEDAI-2K (+/- SE)")
    ax.set_title(
        "SLEDAI-2K change from baseline, full analysis set" + (" (pooled, blinded)" if blinded else "")
    )
    lines = 0
    if len(change):
        ax.legend(loc="best", fontsize=8)
        lines = _n_rows_under_axis(ax, change, "N", "n")
    _layout(fig, lines)
    return _png(fig, plt)


def sri4_response_plot(by_visit: pd.DataFrame, blinded: bool) -> bytes:
    """PNG bytes: SRI-4 responders in % of the evaluable subjects (exact 95% CI) by visit at its
    planned study week, one line per group; under the axis the n evaluable and the n not yet due
    of each visit (not yet due: out of the denominator)."""
    require_columns(
        by_visit,
        ["GROUP", "GROUPN", "AVISIT", "WEEK", "N", "NOTDUE", "PCT", "CI_LO_PCT", "CI_HI_PCT"],
        "sri4_response_plot",
    )
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    offsets = _offsets(by_visit)
    for key, g in by_visit.groupby(["GROUPN", "GROUP"], sort=True):
        g = g.sort_values("WEEK")
        pct = g["PCT"].astype(float)
        err = np.vstack([pct - g["CI_LO_PCT"].astype(float), g["CI_HI_PCT"].astype(float) - pct])
        ax.errorbar(
            g["WEEK"].astype(float) + offsets[key],
            pct,
            yerr=np.nan_to_num(err),
            marker="o",
            capsize=3,
            label=str(key[1]),
        )
    _week_axis(ax, by_visit)
    ax.set_ylim(0, 100)
    ax.set_ylabel("SRI-4 responders, % of evaluable (exact 95% CI)")
    ax.set_title("SRI-4 response by visit, full analysis set" + (" (pooled, blinded)" if blinded else ""))
    lines = 0
    if len(by_visit):
        ax.legend(loc="best", fontsize=8)
        lines = _n_rows_under_axis(ax, by_visit, "N", "n evaluable")
        lines += _n_rows_under_axis(ax, by_visit, "NOTDUE", "n not yet due", first_row=lines)
    _layout(fig, lines)
    return _png(fig, plt)
