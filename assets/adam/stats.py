"""Tables and a plot for statisticians (issue 4, item 6), from ADSL/ADEFF.

- SRI-4 response at the primary endpoint visit (study.yaml, ``WEEK 24``) in the full analysis
  set, by arm: n, responders, %, and a 95% confidence interval: Clopper-Pearson (exact, via scipy's
  beta quantiles) when scipy is importable, else Wilson score; the table's ``CI_METHOD`` names it.
- Mean SLEDAI-2K change from baseline by visit and arm (n, mean, SD, SE), FAS, ``ANL01FL = Y``.

Blinded mode: the group is ``ALL SUBJECTS`` (pooled); nothing splits by arm, because arm values
are ``BLINDED`` there anyway. Unblinded: by ``TRT01P`` (ordered by ``TRT01PN``).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from study import facts

POOLED = "ALL SUBJECTS"
Z95 = 1.959963984540054


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
    """95% CI: Clopper-Pearson when scipy is available, else Wilson; returns (lo, hi, method).

    The bounds are beta quantiles, computed with ``scipy.special.betaincinv`` (the same values as
    ``scipy.stats.beta.ppf``, whose import alone takes about a second)."""
    try:
        from scipy.special import betaincinv
    except ImportError:  # pragma: no cover - depends on the environment
        lo, hi = wilson_interval(successes, n)
        return lo, hi, "WILSON"
    if n == 0:
        return math.nan, math.nan, "CLOPPER-PEARSON"
    lo = 0.0 if successes == 0 else float(betaincinv(successes, n - successes + 1, 0.025))
    hi = 1.0 if successes == n else float(betaincinv(successes + 1, n - successes, 0.975))
    return lo, hi, "CLOPPER-PEARSON"


def _groups(df: pd.DataFrame, blinded: bool) -> pd.DataFrame:
    out = df.copy()
    if blinded:
        out["GROUP"], out["GROUPN"] = POOLED, 0.0
    else:
        out["GROUP"], out["GROUPN"] = out["TRTP"].astype("string"), out["TRTPN"].astype("float64")
    return out


def sri4_response_table(adeff: pd.DataFrame, blinded: bool, visit: str | None = None) -> pd.DataFrame:
    """SRI-4 responders at ``visit`` (default the primary endpoint visit, study.yaml) among FAS
    subjects, by group."""
    visit = facts.primary_endpoint_visit() if visit is None else visit
    s = adeff[(adeff["PARAMCD"] == "SRI4") & (adeff["AVISIT"] == visit) & (adeff["FASFL"] == "Y")]
    s = _groups(s, blinded)
    rows = []
    for (group, groupn), g in s.groupby(["GROUP", "GROUPN"], dropna=False, sort=True):
        n, r = len(g), int((g["AVALC"] == "Y").sum())
        lo, hi, method = proportion_interval(r, n)
        rows.append(
            {
                "GROUP": group,
                "GROUPN": groupn,
                "AVISIT": visit,
                "N": n,
                "RESPONDERS": r,
                "PCT": 100.0 * r / n if n else math.nan,
                "CI_LO_PCT": 100.0 * lo,
                "CI_HI_PCT": 100.0 * hi,
                "CI_METHOD": method,
            }
        )
    cols = ["GROUP", "GROUPN", "AVISIT", "N", "RESPONDERS", "PCT", "CI_LO_PCT", "CI_HI_PCT", "CI_METHOD"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["GROUPN", "GROUP"], kind="stable").reset_index(drop=True)


def sledai_change_table(adeff: pd.DataFrame, blinded: bool) -> pd.DataFrame:
    """Mean SLEDAI-2K change from baseline by scheduled post-baseline visit and group (FAS)."""
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
    return out.sort_values(["GROUPN", "GROUP", "AVISITN"], kind="stable").reset_index(drop=True)


def sledai_change_plot(change: pd.DataFrame, blinded: bool) -> bytes:
    """PNG bytes: mean change (+/- SE) by visit, one line per group (Agg backend, no timestamps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for (group, _), g in change.groupby(["GROUP", "GROUPN"], sort=True):
        g = g.sort_values("AVISITN")
        ax.errorbar(
            g["AVISITN"].astype(float),
            g["MEAN"].astype(float),
            yerr=g["SE"].astype(float).fillna(0),
            marker="o",
            capsize=3,
            label=str(group),
        )
    if len(change):
        ticks = change.drop_duplicates("AVISITN").sort_values("AVISITN")
        ax.set_xticks(ticks["AVISITN"].astype(float), ticks["AVISIT"].astype(str), rotation=30)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("Mean change from baseline in SLEDAI-2K (+/- SE)")
    ax.set_title(
        "SLEDAI-2K change from baseline, full analysis set" + (" (pooled, blinded)" if blinded else "")
    )
    ax.legend(loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
