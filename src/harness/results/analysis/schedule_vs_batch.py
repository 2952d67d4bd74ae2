"""Smith et al. 2018 (C8): increasing the batch size can replace decaying the learning rate."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats as sps

from ...names import M, S
from .. import stats
from ..claims import Claim
from .common import mean_std, plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C8 = Claim(
    "C8 increase the batch size instead of decaying the lr",
    "Smith, Kindermans, Ying, Le (ICLR 2018)",
    "WRN-16-4: decay lr 94.3% (~80k updates), increase B 94.4% (~29k)",
    "multiplying B by k where the lr would be divided by k gives the same test accuracy with fewer updates",
    "test acc of increase_batch minus decay_lr, paired by seed (the schedules share the init): equivalent when the "
    "1 - 2 x {alpha:g} t-interval lies inside +-{margin_points:g} points (TOST at {alpha:g}: the 5% level halved, the "
    "data were looked at after 3 and after 6 seeds), different when it lies wholly outside. Fewer updates in every "
    "pair, equivalent, and the constant-lr control different from decay_lr (by the same rule) -> reproduced; "
    "equivalent but the control not shown different -> partly; different, or not fewer updates -> not reproduced; "
    "else inconclusive; fewer than {min_pairs} pairs, or a run of these three schedules not completed -> inconclusive",
    "within 0.5 points, fewer updates",
    "a seed (its runs under every schedule share the init)",
    "schedule_vs_batch",
    {"margin_points": 0.5, "alpha": 0.025, "min_pairs": 3},
)

CLAIMS = (C8,)
CLAIM = C8
SWEEPS = (("schedule_vs_batch/cpu", "experiment=schedule_vs_batch"),)
MINUTES = 70  # 24 runs (6 seeds)
ORDER = 14  # its place on the dashboard and in `make reproduce`

MARGIN = CLAIM.params["margin_points"] / 100  # equivalence margin in accuracy (the paper's curves differ by ~0.1)
ALPHA = CLAIM.params["alpha"]  # each one-sided test; the interval that decides is the 1 - 2 alpha t-interval
COMPARED = ("decay_lr", "increase_batch", "constant")  # the claim, its reference and the control


def schedule_vs_batch(runs, out: Path):
    by_schedule, not_completed = defaultdict(list), defaultdict(list)
    for r in runs:
        name = r.config["schedule"]["name"]
        (by_schedule if r.summary.get(S.STATUS) == "completed" else not_completed)[name].append(r)
    rows = []
    for name, group in sorted(by_schedule.items()):
        acc = stats.mean_ci([r.summary[S.TEST_ACC] for r in group])
        steps_mean, _ = mean_std([r.summary[S.STEPS] for r in group])
        rows.append(
            {
                "schedule": name,
                "seeds": len(group),
                "test_acc_mean": acc["mean"],
                "test_acc_sd": acc["sd"],
                "test_acc_ci95_low": acc["low"],
                "test_acc_ci95_high": acc["high"],
                "updates_mean": steps_mean,
                "final_batch_size": group[0].metrics[-1][M.BATCH_SIZE] if group[0].metrics else None,
            }
        )
    base = next((r for r in rows if r["schedule"] == "decay_lr"), None)
    for r in rows:
        r["fewer_updates_than_decay_lr"] = (base["updates_mean"] / r["updates_mean"]) if base else None
    comparisons = [
        _paired(by_schedule, other) for other in ("increase_batch", "hybrid", "constant") if other in by_schedule
    ]
    comparisons = [c for c in comparisons if c is not None]
    figure = _schedule_curves(by_schedule, out)
    verdict = _c8_verdict(by_schedule, not_completed, comparisons, figure.name)
    return {"schedules": rows, "comparisons": comparisons, "verdicts": [verdict]}, [figure]


def _paired(by_schedule, other):
    """`other` minus decay_lr, paired by seed (runs of one seed share the init, and decay_lr and
    increase_batch also their first epochs): the 1 - 2 alpha t-interval of the mean difference inside
    +-MARGIN -> equivalent (TOST at alpha), wholly outside it -> different (by more than the margin);
    with the TOST p-value and the fewer-updates check of every pair. None with < 2 pairs."""
    mine = {r.config["seed"]: r.summary for r in by_schedule[other]}
    ref = {r.config["seed"]: r.summary for r in by_schedule.get("decay_lr", [])}
    seeds = sorted(mine.keys() & ref.keys())
    if len(seeds) < 2:
        return None
    d = np.array([mine[s][S.TEST_ACC] - ref[s][S.TEST_ACC] for s in seeds])
    mean, se, df = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), len(d) - 1
    if se > 0:
        half = sps.t.ppf(1 - ALPHA, df) * se
        p = max(sps.t.sf((mean + MARGIN) / se, df), sps.t.cdf((mean - MARGIN) / se, df))
    else:  # every pair the same difference: exact
        half, p = 0.0, 0.0 if abs(mean) < MARGIN else 1.0
    low, high = mean - half, mean + half
    return {
        "schedule": other,
        "vs": "decay_lr",
        "pairs": len(seeds),
        "diff": round(mean, 12),  # equal means print as 0, not as float noise
        "ci_level": 1 - 2 * ALPHA,
        "ci_low": low,
        "ci_high": high,
        "tost_p": float(p),
        "margin": MARGIN,
        "equivalent": bool(p < ALPHA),
        "different": bool(low > MARGIN or high < -MARGIN),
        "fewer_updates_every_pair": all(mine[s][S.STEPS] < ref[s][S.STEPS] for s in seeds),
    }


def _c8_verdict(by_schedule, not_completed, comparisons, figure):
    """C8 by its declared test (CLAIMS above): increase_batch vs decay_lr paired by seed. Not fewer updates
    in every pair, or different by more than the margin -> not reproduced; equivalent (TOST) with the
    constant-lr control different from decay_lr by more than the margin -> reproduced; equivalent but
    the control not shown different (the schedule may not matter here, so equality says little) ->
    partly; else (too noisy) -> inconclusive. Fewer than min_pairs pairs, or a run of the compared
    schedules that did not complete (never evidence) -> inconclusive."""
    c = {x["schedule"]: x for x in comparisons}
    inc, ctl = c.get("increase_batch"), c.get("constant")
    pairs = inc["pairs"] if inc else 0
    varied = f"{len(by_schedule)} schedules: {', '.join(sorted(by_schedule))}"
    failed = {name: len(not_completed[name]) for name in COMPARED if not_completed.get(name)}
    if pairs < CLAIM.params["min_pairs"] or failed:
        measured = f"{pairs} seeds with both decay_lr and increase_batch (needs >= {CLAIM.params['min_pairs']})"
        if failed:
            measured = "runs that did not complete: " + ", ".join(f"{k} {v}" for k, v in failed.items())
        return verdict_row(CLAIM, "inconclusive", measured, replicates=pairs, varied=varied, figure=figure)
    control = ctl is not None and ctl["different"]
    if not inc["fewer_updates_every_pair"] or inc["different"]:
        verdict = "not reproduced"
    elif inc["equivalent"]:
        verdict = "reproduced" if control else "partly"
    else:
        verdict = "inconclusive"
    updates = {k: np.mean([r.summary[S.STEPS] for r in by_schedule[k]]) for k in ("increase_batch", "decay_lr")}
    measured = (
        f"increase_batch - decay_lr, paired over {pairs} seeds: {_points(inc)} (TOST p {inc['tost_p']:.3f}); updates "
        f"{updates['increase_batch']:.0f} vs {updates['decay_lr']:.0f}"
        + ("" if inc["fewer_updates_every_pair"] else " (not fewer in every pair)")
        + (f"; control constant - decay_lr: {_points(ctl)}" if ctl else "; no constant-lr control")
    )
    return verdict_row(CLAIM, verdict, measured, replicates=pairs, varied=varied, figure=figure)


def _points(c):
    return (
        f"{100 * c['diff']:+.2f} points, {c['ci_level']:.0%} CI [{100 * c['ci_low']:+.2f}, {100 * c['ci_high']:+.2f}]"
    )


def _schedule_curves(by_schedule, out):
    """Test accuracy vs epochs and vs parameter updates: mean over seeds, band +-1 sd."""
    fig, (ax_e, ax_u) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, group in sorted(by_schedule.items()):
        curves = [[m for m in r.metrics if M.TEST_ACC in m] for r in group]
        n = min(len(c) for c in curves)
        acc = np.array([[m[M.TEST_ACC] for m in c[:n]] for c in curves])
        mean, sd = acc.mean(0), acc.std(0, ddof=1) if len(group) > 1 else np.zeros(n)
        for ax, key in ((ax_e, M.EPOCH), (ax_u, M.STEP)):
            x = np.array([m[key] for m in curves[0][:n]])
            (line,) = ax.plot(x, mean, label=f"{name} ({len(group)} seeds)")
            ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0)
    ax_e.set(xlabel="epochs", ylabel="test accuracy (mean, band +-1 sd over seeds)", title="vs epochs")
    ax_u.set(xlabel="parameter updates", ylabel="test accuracy", title="vs parameter updates")
    ax_e.legend(fontsize=7)
    return save_figure(fig, out / "test_acc_vs_epochs_and_updates.png")
