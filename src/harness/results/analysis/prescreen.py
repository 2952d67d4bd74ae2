"""Initialization pre-screening (the survey's advice from Kuzborskij & Lampert 2018, docs/claims.md, C5):
pre-screened vs plain runs on the same budget, paired by seed (same data order, same candidate 0)."""

from __future__ import annotations

import numpy as np

from ...names import S
from .. import stats
from ..claims import KL, Claim
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C5_PRESCREEN = Claim(
    "Pre-screened inits generalize better",
    KL + ": the survey's advice",
    "pick an init in a less curved region with low risk (no effect size given)",
    "starting from the least curved of several low-risk inits improves generalization",
    "paired 95% t-interval over seeds (>= {min_pairs} pairs, else inconclusive) of test acc (screened - plain) > 0 "
    "-> reproduced; < 0 (screened worse) -> not reproduced; gap (loss) interval < 0 only -> partly; test acc "
    "interval within +-{equivalent_points:g} points (our margin) and the gap not lower -> not reproduced; else "
    "inconclusive",
    "any improvement",
    "a seed (its pre-screened and plain runs are a pair: same data order, same candidate 0)",
    "prescreen",
    {"min_pairs": 10, "equivalent_points": 0.5},
)

CLAIMS = (C5_PRESCREEN,)
SWEEPS = (("prescreen/cpu", "experiment=prescreen"),)
MINUTES = 15
ORDER = 9  # its place on the dashboard and in `make reproduce`


def prescreen(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) == "completed"]
    by_seed: dict = {}
    for r in done:
        by_seed.setdefault(r.config["seed"], {})["screened" if r.config["init"]["prescreen"] else "plain"] = r
    pairs = [(seed, d["plain"], d["screened"]) for seed, d in sorted(by_seed.items()) if len(d) == 2]
    rows = [
        {
            "seed": seed,
            "candidates": s.summary.get(S.PRESCREEN_CANDIDATES),
            "own_trace": s.summary.get(S.PRESCREEN_OWN_TRACE),
            "chosen_trace": s.summary.get(S.PRESCREEN_CHOSEN_TRACE),
            **{f"{k}_{tag}": x.summary[k] for tag, x in (("plain", p), ("screened", s)) for k in KEYS},
        }
        for seed, p, s in pairs
    ]
    diffs = []
    for key, label in ((S.TEST_ACC, "test accuracy"), (S.GAP_LOSS, "gap (loss)"), (S.GAP_ERR, "gap (error)")):
        a, b = [r[f"{key}_screened"] for r in rows], [r[f"{key}_plain"] for r in rows]
        d = stats.mean_ci(np.subtract(a, b)) if rows else {"mean": np.nan, "low": np.nan, "high": np.nan, "n": 0}
        diffs.append(
            {
                "measure": label,
                "screened_minus_plain": d["mean"],
                "ci95_low": d["low"],
                "ci95_high": d["high"],
                "pairs": d["n"],
            }
        )
    figures = [_figure(rows, out)] if rows else []
    tables = {"prescreen_runs": rows, "prescreen_differences": diffs}
    tables["verdicts"] = [_verdict(diffs, rows, figures[0].name if figures else "")]
    return tables, figures


KEYS = (S.TEST_ACC, S.TRAIN_ACC, S.GAP_LOSS, S.GAP_ERR)


def _verdict(diffs, rows, figure):
    """C5_PRESCREEN's test, paired t 95% CIs over seeds of screened - plain, >= min_pairs pairs: test
    accuracy higher (CI > 0) -> reproduced; lower (CI < 0: screening hurts) -> not reproduced; the loss
    gap lower (CI < 0) but test accuracy not told apart -> partly; the test accuracy CI inside
    +-equivalent_points and the gap not lower -> not reproduced (any effect is smaller than that; our
    margin, the survey gives no size); otherwise inconclusive (too wide to tell)."""
    p = C5_PRESCREEN.params
    pairs, margin = len(rows), p["equivalent_points"] / 100
    candidates = sorted({r["candidates"] for r in rows if r["candidates"]})
    varied = f"{'/'.join(map(str, candidates))} candidates" if candidates else ""
    if pairs < p["min_pairs"]:
        measured = f"{pairs} pairs (< {p['min_pairs']})"
        return verdict_row(C5_PRESCREEN, "inconclusive", measured, replicates=pairs, varied=varied, figure=figure)
    acc, gap = diffs[0], diffs[1]
    if acc["ci95_low"] > 0:
        verdict = "reproduced"
    elif acc["ci95_high"] < 0:
        verdict = "not reproduced"  # the wrong direction: screened inits generalize worse
    elif gap["ci95_high"] < 0:
        verdict = "partly"
    elif -margin < acc["ci95_low"] and acc["ci95_high"] < margin:
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    measured = (
        f"test acc {100 * acc['screened_minus_plain']:+.2f} points [{100 * acc['ci95_low']:+.2f}, "
        f"{100 * acc['ci95_high']:+.2f}]; gap (loss) {gap['screened_minus_plain']:+.3f} [{gap['ci95_low']:+.3f}, "
        f"{gap['ci95_high']:+.3f}] over {pairs} seeds"
    )
    return verdict_row(C5_PRESCREEN, verdict, measured, replicates=pairs, varied=varied, figure=figure)


def _figure(rows, out):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, label in ((axes[0], S.TEST_ACC, "test accuracy"), (axes[1], S.GAP_LOSS, "gap (loss)")):
        plain, screened = [r[f"{key}_plain"] for r in rows], [r[f"{key}_screened"] for r in rows]
        ax.scatter(plain, screened, s=14)
        lo, hi = min(plain + screened), max(plain + screened)
        ax.plot([lo, hi], [lo, hi], "k:", lw=1)
        ax.set(xlabel=f"plain init: {label}", ylabel=f"pre-screened: {label}", title="one point per seed")
    return save_figure(fig, out / "prescreen_pairs.png")
