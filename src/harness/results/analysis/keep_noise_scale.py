"""The survey's "rescale the batch size when changing the momentum" (Smith & Le 2018): at each
momentum, test accuracy with the batch size rescaled to keep the SGD noise scale of the reference
(schedule.keep_noise_scale) vs the reference itself (m = 0, B = 32) and vs left at B = 32.

The verdict is an equivalence test against the reference, paired by seed, on the confirmatory seeds
alone (docs/confirmatory.md); the earlier seeds and the comparison with B left at 32 are exploratory
tables that decide nothing."""

from __future__ import annotations

import numpy as np

from ...names import CHANCE_ACC, S
from .. import stats
from ..claims import SMITH_LE, Claim
from .batch_lr_scaling import seeds_label
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
KEEP_NOISE_SCALE = Claim(
    "Rescaling B with the momentum keeps test accuracy",
    SMITH_LE + ", Figure 7b; the survey: rescale B when changing m",
    "B_opt proportional to 1/(1 - m): with B rescaled, test accuracy does not change with m",
    "rescaling the batch size by 1/(1 - m) when changing the momentum keeps test accuracy",
    "on the confirmatory seeds {confirm_seeds} only, at each momentum {momenta}: test acc of the run with B rescaled "
    "by 1/(1 - m) minus the reference run (m = 0, B = {reference_batch}) of the same seed; equivalent when the 90% "
    "t-interval of the mean difference lies inside +-{margin_points:g} points (TOST at 5%), different when it lies "
    "wholly outside. Equivalent at every momentum -> reproduced; different at any -> not reproduced; equivalent at "
    "some -> partly; else inconclusive. A run that did not complete leaves its momentum undecided; fewer than "
    "{min_pairs} pairs at a momentum, or no confirmatory seed in the records -> inconclusive",
    "within 1 point of the reference",
    "a seed (its runs at every momentum share the init)",
    "keep_noise_scale",
    {
        "confirm_seeds": (3, 4, 5, 6, 7),
        "momenta": (0.5, 0.9, 0.95),
        "reference_batch": 32,
        "margin_points": 1.0,
        "min_pairs": 3,
    },
    confirmatory="seeds 3-7; seeds 0-2 are exploratory",
)

CLAIMS = (KEEP_NOISE_SCALE,)
SWEEPS = (
    ("keep_noise_scale/cpu", "experiment=keep_noise_scale"),
    # the confirmatory set (docs/confirmatory.md): it alone decides the verdict
    ("keep_noise_scale/confirm", "experiment=keep_noise_scale seed=3,4,5,6,7"),
)
MINUTES = 35
ORDER = 13  # its place on the dashboard and in `make reproduce`


def keep_noise_scale(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) in ("completed", "diverged")]
    groups: dict = {}
    for r in done:
        key = (r.config["optimizer"]["momentum"], bool(r.config["schedule"]["keep_noise_scale"]))
        acc = r.summary[S.TEST_ACC] if r.summary.get(S.STATUS) == "completed" else CHANCE_ACC  # diverged: chance
        groups.setdefault(key, []).append((acc, r.summary.get(S.BASE_BATCH_SIZE), r.summary.get(S.NOISE_SCALE)))
    rows, comparisons = [], []
    for (m, rescaled), vals in sorted(groups.items()):
        c = stats.mean_ci([v[0] for v in vals])
        rows.append(
            {
                "momentum": m,
                "batch": "rescaled" if rescaled else "fixed",  # fixed: left at B = 32
                "batch_size": vals[0][1],
                "noise_scale": vals[0][2],
                "runs": c["n"],
                "test_acc": c["mean"],
                "test_acc_ci95_low": c["low"],
                "test_acc_ci95_high": c["high"],
            }
        )
    # exploratory: rescaled vs B left at 32 at the same momentum (at m = 0 they are the same run)
    for m in sorted({m for m, _ in groups if m != 0}):
        if (m, True) in groups and (m, False) in groups and min(len(groups[m, True]), len(groups[m, False])) >= 2:
            d = stats.welch_diff_ci([v[0] for v in groups[m, True]], [v[0] for v in groups[m, False]])
            comparisons.append(
                {"momentum": m, "rescaled_minus_fixed_b": d["diff"], "ci95_low": d["low"], "ci95_high": d["high"]}
            )
    seeds = {r.config["seed"] for r in runs}
    confirm = frozenset(KEEP_NOISE_SCALE.params["confirm_seeds"])
    paired = paired_differences(runs, seeds & confirm)
    explored = paired_differences(runs, seeds - confirm)
    figures = [_figure(rows, out)] if rows else []
    verdict = _verdict(paired, explored, seeds - confirm, figures[0].name if figures else "")
    basis = seeds_label(confirm)
    paired_rows = [{"basis": basis, **d} for d in paired] + [
        {"basis": f"{seeds_label(seeds - confirm)}, exploratory", **d} for d in explored
    ]
    tables = {"keep_noise_scale": rows, "keep_noise_scale_differences": comparisons}
    return {**tables, "keep_noise_scale_vs_reference": paired_rows, "verdicts": [verdict]}, figures


def _batch(run) -> int:
    """The batch size the run trained with (keep_noise_scale sets it from the reference)."""
    return run.summary.get(S.BASE_BATCH_SIZE) or run.config["trainer"]["batch_size"]


def paired_differences(runs, seeds) -> list[dict]:
    """At each momentum of the claim: test accuracy of the rescaled run minus the reference run
    (m = 0, B = reference_batch) of the same seed, with the 90% t-interval of the mean difference
    and what it says: "equivalent" (inside +-margin: TOST at 5%), "different" (wholly outside),
    "undecided", "failed run" (a run of a pair did not complete: never evidence) or "too few pairs".
    No rows when none of `seeds` ran."""
    p = KEEP_NOISE_SCALE.params
    margin = p["margin_points"] / 100
    reference, rescaled = {}, {}  # seed -> run; (seed, momentum) -> run
    # the fixed-B runs first, so that at m = 0 the reference is the fixed run where both are recorded
    for r in sorted(runs, key=lambda r: bool(r.config["schedule"]["keep_noise_scale"])):
        seed, m = r.config["seed"], r.config["optimizer"]["momentum"]
        if seed not in seeds:
            continue
        if m == 0 and _batch(r) == p["reference_batch"]:
            reference.setdefault(seed, r)  # at m = 0 the rescaled and fixed runs are the same config
        elif r.config["schedule"]["keep_noise_scale"]:
            rescaled[seed, m] = r
    if not reference and not rescaled:
        return []
    out = []
    for m in p["momenta"]:
        pairs = [(reference[s], rescaled[s, m]) for s in sorted(seeds) if s in reference and (s, m) in rescaled]
        ok = [(a, b) for a, b in pairs if a.summary.get(S.STATUS) == b.summary.get(S.STATUS) == "completed"]
        c = stats.mean_ci([b.summary[S.TEST_ACC] - a.summary[S.TEST_ACC] for a, b in ok], level=0.90)
        if len(ok) < len(pairs):
            state = "failed run"
        elif len(ok) < p["min_pairs"]:
            state = "too few pairs"
        elif -margin < c["low"] and c["high"] < margin:
            state = "equivalent"
        elif c["high"] < -margin or c["low"] > margin:
            state = "different"
        else:
            state = "undecided"
        out.append(
            {
                "momentum": m,
                "rescaled_batch_size": _batch(pairs[0][1]) if pairs else None,
                "pairs": len(ok),
                "failed_runs": len(pairs) - len(ok),
                "rescaled_minus_reference": c["mean"],
                "ci90_low": c["low"],
                "ci90_high": c["high"],
                "state": state,
            }
        )
    return out


def _differences_text(diffs) -> str:
    return "; ".join(
        f"m = {d['momentum']:g}: {100 * d['rescaled_minus_reference']:+.2f} points, 90% CI "
        f"[{100 * d['ci90_low']:+.2f}, {100 * d['ci90_high']:+.2f}] over {d['pairs']} pairs: {d['state']}"
        for d in diffs
    )


def _verdict(paired, explored, explored_seeds, figure):
    """Equivalent to the reference at every momentum -> reproduced; different at any -> not reproduced;
    equivalent at some -> partly; else inconclusive. Decided by the confirmatory seeds alone: without
    them, or with fewer than min_pairs pairs at a momentum, inconclusive."""
    claim, basis = KEEP_NOISE_SCALE, seeds_label(KEEP_NOISE_SCALE.params["confirm_seeds"])
    aside = f"; {seeds_label(explored_seeds)}, exploratory: {_differences_text(explored)}" if explored else ""
    if not paired:
        measured = f"the confirmatory set ({basis}) is not in the records yet{aside}"
        return verdict_row(claim, "inconclusive", measured, replicates=0, figure=figure, basis=basis)
    states = [d["state"] for d in paired]
    if "too few pairs" in states:
        verdict = "inconclusive"
    elif "different" in states:
        verdict = "not reproduced"
    elif all(s == "equivalent" for s in states):
        verdict = "reproduced"
    else:
        verdict = "partly" if "equivalent" in states else "inconclusive"
    batches = ", ".join(str(d["rescaled_batch_size"]) for d in paired)
    varied = f"{len(paired)} momenta (B = {batches}) vs m = 0, B = {claim.params['reference_batch']}"
    return verdict_row(
        claim,
        verdict,
        _differences_text(paired) + aside,
        replicates=min(d["pairs"] for d in paired),
        varied=varied,
        figure=figure,
        basis=basis,
    )


def _figure(rows, out):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for batch, marker in (("rescaled", "o"), ("fixed", "s")):
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
