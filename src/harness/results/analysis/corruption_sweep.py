"""Zhang et al. 2017 (C1), Figure 1b-c: time to fit and test error vs label corruption."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...names import CHANCE_ACC, S
from .. import stats
from ..claims import ZHANG, Claim
from .common import mean_std, pct, plt, save_figure, steps_to_fit, tost_chance, verdict_row
from .random_labels import replicates

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C1_FIG1B = Claim(
    "C1 Figure 1b: time to fit vs p",
    ZHANG,
    "a small constant factor slower at p = 1",
    "fitting random labels takes longer than true labels, by a small constant factor",
    "every run fits, the Welch 95% CI of steps(p=1) - steps(p=0) > 0 and the ratio <= {small_factor:g} (our "
    "threshold for 'small') -> reproduced; not measurably slower -> partly; a run that does not fit, or slower by "
    "more than {small_factor:g}x -> not reproduced",
    "ratio of fitting times between 1 and 10",
    "a seed with its own init, batch order and label draw",
    "corruption_sweep",
    {"small_factor": 10.0},
)

C1_FIG1C = Claim(
    "C1 Figure 1c: test error vs p",
    ZHANG,
    "rises smoothly to 90% at p = 1",
    "test error grows with the label corruption p, to chance at p = 1",
    "Spearman rho(p, test error) bootstrap 95% CI > 0 and at p = 1 the replicates at chance (the 90% t-interval of "
    "their mean test acc inside [{lo:.0%}, {hi:.0%}]) -> reproduced; rising but not shown at chance -> partly; "
    "a leak at p = 1 (95% t-interval above {hi:.0%}) or not rising -> not reproduced",
    "monotone rise; p = 1 within 1 point of 10%",
    "a seed with its own init, batch order and label draw",
    "corruption_sweep",
    {"lo": 0.09, "hi": 0.11},
)

CLAIMS = (
    C1_FIG1B,
    C1_FIG1C,
)
SWEEPS = (("corruption_sweep/cpu", "experiment=corruption_sweep"),)
MINUTES = 10
ORDER = 4  # its place on the dashboard and in `make reproduce`

# Zhang et al.: random labels take "a small constant factor" longer; no number given. We call up to
# 10x small (their Figure 1b shows a few x); a larger slowdown fails the claim.
SMALL_FACTOR = C1_FIG1B.params["small_factor"]


def corruption_sweep(runs, out: Path):
    by_p = defaultdict(list)
    for r in runs:
        by_p[float(r.config["data"]["corruption_prob"])].append(r)
    fit_of = lambda r: steps_to_fit(r.metrics, r.config["trainer"]["target_train_acc"])
    base, _ = mean_std([fit_of(r) for r in by_p.get(0.0, [])])
    rows = []
    for p in sorted(by_p):
        group = by_p[p]
        fits = [fit_of(r) for r in group]
        steps = stats.mean_ci(fits)
        ratio = stats.mean_ci([f / base for f in fits if f is not None] if base else [])
        err = stats.mean_ci([1 - r.summary[S.TEST_ACC] for r in group])
        rows.append(
            {
                "corruption_prob": p,
                "seeds": len(group),
                "fitted": sum(f is not None for f in fits),
                "realised_corruption": statistics.fmean(r.summary[S.REALISED_CORRUPTION] for r in group),
                "steps_to_fit_mean": steps["mean"],
                "steps_to_fit_sd": steps["sd"],
                "steps_to_fit_ci95_low": steps["low"],
                "steps_to_fit_ci95_high": steps["high"],
                "time_to_fit_vs_p0_mean": ratio["mean"],
                "time_to_fit_vs_p0_sd": ratio["sd"],
                "time_to_fit_vs_p0_ci95_low": ratio["low"],
                "time_to_fit_vs_p0_ci95_high": ratio["high"],
                "test_error_mean": err["mean"],
                "test_error_sd": err["sd"],
                "test_error_ci95_low": err["low"],
                "test_error_ci95_high": err["high"],
            }
        )
    figures = []
    for key, ylabel, title, name in [
        ("time_to_fit_vs_p0", "time to fit / time at p = 0", "Figure 1b: convergence slowdown", "figure1b_time_to_fit"),
        ("test_error", "test error after fitting", "Figure 1c: generalization error growth", "figure1c_test_error"),
    ]:
        pts = [
            (row["corruption_prob"], row[f"{key}_mean"], row[f"{key}_ci95_low"], row[f"{key}_ci95_high"])
            for row in rows
            if row[f"{key}_mean"] is not None
        ]
        fig, ax = plt.subplots(figsize=(5, 3.6))
        if pts:
            p, mean, lo, hi = (np.array(v, float) for v in zip(*pts))
            err = np.nan_to_num(np.array([mean - lo, hi - mean]))
            ax.errorbar(p, mean, yerr=np.clip(err, 0, None), marker="o", capsize=3)
        ax.set(xlabel="label corruption p", ylabel=ylabel, title=f"{title}\n(mean and t 95% CI over seeds)")
        figures.append(save_figure(fig, out / f"{name}.png"))
    return {"corruption_sweep": rows, "verdicts": _figure1bc_verdicts(by_p, fit_of, figures)}, figures


def _figure1bc_verdicts(by_p, fit_of, figures):
    """The declared rules (claims.C1_FIG1B, C1_FIG1C).
    1b: every run at every p fits; the time to fit at p = 1 exceeds that at p = 0 (Welch 95% CI of
        the difference in steps above 0) by at most SMALL_FACTOR -> reproduced; fits, but not
        measurably slower -> partly; a run that does not fit, or a larger factor -> not reproduced.
    1c: test error rises with p (Spearman rho over runs, bootstrap 95% CI above 0) and at p = 1 the
        replicates (one per label draw) are at chance by a two-sided equivalence test -> reproduced;
        rises but chance undecided -> partly; a leak at p = 1, or not rising -> not reproduced."""
    ps = sorted(by_p)
    fits = {p: [fit_of(r) for r in by_p[p]] for p in ps}
    all_fit = all(f is not None for p in ps for f in fits[p])
    replicates_ = min(len(v) for v in by_p.values())
    varied = f"{len(ps)} corruption levels p"
    if 0.0 in by_p and 1.0 in by_p and all_fit and len(fits[0.0]) >= 2 and len(fits[1.0]) >= 2:
        d = stats.welch_diff_ci(fits[1.0], fits[0.0])
        factor = np.mean(fits[1.0]) / np.mean(fits[0.0])
        slower = d["low"] > 0
        v1b = "reproduced" if slower and factor <= SMALL_FACTOR else "partly" if not slower else "not reproduced"
        m1b = (
            f"p = 1 vs p = 0: {factor:.2f}x the steps; difference {d['diff']:.0f} steps, Welch 95% CI "
            f"[{d['low']:.0f}, {d['high']:.0f}] ({len(fits[1.0])} + {len(fits[0.0])} seeds)"
        )
    else:
        v1b = "not reproduced" if not all_fit else "inconclusive"
        m1b = "some runs did not fit" if not all_fit else "needs >= 2 seeds at p = 0 and p = 1"
    verdicts = [verdict_row(C1_FIG1B, v1b, m1b, replicates=replicates_, varied=varied, figure=figures[0].name)]
    runs = [r for p in ps for r in by_p[p]]
    rho = (
        stats.spearman_ci(
            [float(r.config["data"]["corruption_prob"]) for r in runs], [1 - r.summary[S.TEST_ACC] for r in runs]
        )
        if len(runs) >= 4
        else None
    )
    top = replicates(by_p.get(1.0, []))
    if rho is None or not top:
        v1c, m1c = "inconclusive", "needs >= 4 runs and p = 1"
    else:
        c = C1_FIG1C.params
        chance = tost_chance([r.summary[S.TEST_ACC] for r in top], CHANCE_ACC, c["lo"], c["hi"])
        rises = rho["ci_low"] > 0
        if chance["state"] in ("leak", "below") or not rises:
            v1c = "not reproduced"
        else:
            v1c = "reproduced" if chance["state"] == "at chance" else "partly"
        m1c = (
            f"Spearman(p, test error) {rho['rho']:.2f} [{rho['ci_low']:.2f}, {rho['ci_high']:.2f}]; "
            f"test acc at p = 1: {pct(chance['mean'])} [{pct(chance['ci90_low'])}, {pct(chance['ci90_high'])}] "
            f"(90% CI over {chance['n']} label draws): {chance['state']}"
        )
    verdicts.append(verdict_row(C1_FIG1C, v1c, m1c, replicates=replicates_, varied=varied, figure=figures[1].name))
    return verdicts
