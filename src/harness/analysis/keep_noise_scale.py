"""The survey's "rescale the batch size when changing the momentum" (Smith & Le 2018): at each
momentum, test accuracy with the batch size rescaled to keep the SGD noise scale of the reference
(schedule.keep_noise_scale) vs left at the reference batch size."""

from __future__ import annotations

import numpy as np

from .. import stats
from .common import plt, save_figure, verdict_row

HIGH_M = 0.9  # the momenta at which the advice matters: g at a fixed B grows 10-20x there
CLAIM = "Rescaling B with the momentum keeps test accuracy"
PAPER = "B_opt proportional to 1/(1 - m) (Smith & Le 2018, Figure 7b); the survey: rescale B when changing m"


def keep_noise_scale(runs, out):
    done = [r for r in runs if r.summary.get("status") in ("completed", "diverged")]
    groups: dict = {}
    for r in done:
        key = (r.config["optimizer"]["momentum"], bool(r.config["schedule"]["keep_noise_scale"]))
        acc = r.summary["test_acc"] if r.summary.get("status") == "completed" else 0.1  # diverged: chance
        groups.setdefault(key, []).append((acc, r.summary.get("base_batch_size"), r.summary.get("noise_scale")))
    rows, comparisons = [], []
    for (m, rescaled), vals in sorted(groups.items()):
        c = stats.mean_ci([v[0] for v in vals])
        rows.append(
            {
                "momentum": m,
                "batch": "rescaled" if rescaled else "reference",
                "batch_size": vals[0][1],
                "noise_scale": vals[0][2],
                "runs": c["n"],
                "test_acc": c["mean"],
                "test_acc_ci95_low": c["low"],
                "test_acc_ci95_high": c["high"],
            }
        )
    for m in sorted({m for m, _ in groups}):
        if (m, True) in groups and (m, False) in groups and min(len(groups[m, True]), len(groups[m, False])) >= 2:
            d = stats.welch_diff_ci([v[0] for v in groups[m, True]], [v[0] for v in groups[m, False]])
            comparisons.append(
                {"momentum": m, "rescaled_minus_reference": d["diff"], "ci95_low": d["low"], "ci95_high": d["high"]}
            )
    figures = [_figure(rows, out)] if rows else []
    verdict = _verdict(
        comparisons, min((len(v) for v in groups.values()), default=0), figures[0].name if figures else ""
    )
    return {"keep_noise_scale": rows, "keep_noise_scale_differences": comparisons, "verdicts": [verdict]}, figures


def _verdict(comparisons, seeds, figure):
    """Criterion (fixed before the data), >= 3 seeds per cell: at every momentum >= HIGH_M (0.9), the
    Welch 95% CI of test accuracy (rescaled - reference batch) lies above 0 -> reproduced; at some of
    them -> partly; at none -> not reproduced; fewer seeds or no such momentum -> inconclusive."""
    criterion = f"Welch 95% CI of test acc (rescaled B - reference B) > 0 at every momentum >= {HIGH_M:g}; >= 3 seeds"
    high = [c for c in comparisons if c["momentum"] >= HIGH_M]
    if seeds < 3 or not high:
        return verdict_row(
            CLAIM, "inconclusive", criterion, f"{seeds} seeds, {len(high)} high momenta", paper=PAPER, seeds=seeds
        )
    better = [c["ci95_low"] > 0 for c in high]
    verdict = "reproduced" if all(better) else "partly" if any(better) else "not reproduced"
    measured = "; ".join(
        f"m = {c['momentum']:g}: {100 * c['rescaled_minus_reference']:+.2f} points "
        f"[{100 * c['ci95_low']:+.2f}, {100 * c['ci95_high']:+.2f}]"
        for c in comparisons
    )
    return verdict_row(CLAIM, verdict, criterion, measured, paper=PAPER, seeds=seeds, figure=figure)


def _figure(rows, out):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for batch, marker in (("rescaled", "o"), ("reference", "s")):
        sub = [r for r in rows if r["batch"] == batch]
        m = np.array([r["momentum"] for r in sub])
        acc = np.array([r["test_acc"] for r in sub])
        err = np.array(
            [[r["test_acc"] - r["test_acc_ci95_low"], r["test_acc_ci95_high"] - r["test_acc"]] for r in sub]
        ).T
        ax.errorbar(m, acc, yerr=np.nan_to_num(err), marker=marker, capsize=3, label=f"batch {batch}")
    ax.set(xlabel="momentum m", ylabel="test accuracy (mean, 95% CI)", title="keep the noise scale eps N / (B (1 - m))")
    ax.legend(fontsize=8)
    return save_figure(fig, out / "keep_noise_scale.png")
