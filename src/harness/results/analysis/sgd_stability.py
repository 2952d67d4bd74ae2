"""C10: SGD's replace-one stability (harness/probes/stability.py): against m, along the steps, against the
generalization gap (an identity in expectation), and against the curvature at init."""

from __future__ import annotations

from collections import defaultdict
from functools import partial

import numpy as np

from ...names import M, S
from .. import stats
from ..claims import KL, Claim
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
STABILITY_SRC = "Hardt, Recht & Singer (ICML 2016); Kuzborskij & Lampert (ICML 2018)"

C10_M = Claim(
    "C10 replace-one stability shrinks with m",
    STABILITY_SRC,
    "on-average stability O(1/m) for a full pass (convex and smooth); data-dependent in the non-convex case",
    "replacing one training example changes what SGD returns less the larger the training set",
    "the mean over pairs of the replace-one loss difference l(w'_T; z_i) - l(w_T; z_i) at each m; the OLS slope of "
    "its log against log m, 95% t-interval over the sizes (>= {min_sizes} sizes with a positive mean): below 0 -> "
    "reproduced (the slope is reported beside -1); holding 0 or above it -> not reproduced",
    "a negative slope (the O(1/m) bound: -1)",
    "a seed (its S and init; its pairs share them)",
    "sgd_stability",
    {"min_sizes": 4},
    confirmatory="declared with the experiment, before its runs",
)

C10_T = Claim(
    "C10 instability grows with the steps taken",
    STABILITY_SRC,
    "the stability bound grows with the number of steps T",
    "after SGD has visited the replaced example, the two runs drift further apart as training goes on",
    "per pair, the OLS slope of log ||w_t - w'_t|| against log t over the snapshot steps after the visit (>= 2 of "
    "them); the mean over pairs with a 95% interval from a bootstrap over seeds: above 0 -> reproduced; below 0, or "
    "inside +-{flat:g} (no growth) -> not reproduced; else inconclusive",
    "a positive slope",
    "a seed",
    "sgd_stability",
    {"flat": 0.05},
    confirmatory="declared with the experiment, before its runs",
)

C10_GAP = Claim(
    "C10 the expected gap equals the expected replace-one stability",
    "Shalev-Shwartz, Shamir, Srebro & Sridharan (JMLR 2010), Lemma 11: an identity in expectation",
    "E[test loss - train loss] = E[l(A(S^(i)); z_i) - l(A(S); z_i)]",
    "the generalization gap of the runs on S and the mean replace-one loss difference of their pairs agree (a check "
    "of the whole measurement)",
    "pooled over m: the mean of (stability - gap) / gap over the sizes, 95% interval from a bootstrap over "
    "seeds (a seed's gap and its pairs resampled together): holds 0 and lies within +-{tolerance:g} -> reproduced; "
    "excludes 0 -> not reproduced; else inconclusive",
    "agreement within 50% of the gap",
    "a seed",
    "sgd_stability",
    {"tolerance": 0.5},
    confirmatory="declared with the experiment, before its runs",
)

C10_CURVATURE = Claim(
    "C10 inits with lower curvature are more stable",
    KL,
    "the curvature of the risk at the initialization point governs the stability (and the gap)",
    "of several inits at one init gain, the less curved ones give a more stable SGD",
    "at m = {m} with >= {min_inits} inits (one init gain): Spearman rho(trace or top eigenvalue at init, the init's "
    "mean replace-one loss difference or distance) > 0 with Holm-adjusted p < {alpha:g} over the 4 tests -> "
    "reproduced; < 0 so -> not reproduced (wrong direction); else not reproduced",
    "a positive rank correlation",
    "an init (a seed, with its pairs)",
    "sgd_stability",
    {"m": 2000, "min_inits": 8, "alpha": 0.05},
    confirmatory="declared with the experiment, before its runs",
)

CLAIMS = (
    C10_M,
    C10_T,
    C10_GAP,
    C10_CURVATURE,
)
SWEEPS = (
    ("sgd_stability/refs", "experiment=sgd_stability"),  # the runs on S (their sweep subdirs: m<m>_s<seed>)
    ("sgd_stability/refs", "experiment=sgd_stability data.subset=2000 seed=range(10,26)"),  # inits for (d)
    ("sgd_stability/pairs", "experiment=sgd_stability_pairs"),  # the runs on S^(i)
    (
        "sgd_stability/pairs_inits",
        "experiment=sgd_stability_pairs data.subset=2000 seed=range(10,26) data.replace_index=range(0,500,50)",
    ),
)
MINUTES = 40  # 680 one-pass MLP runs of a few seconds each
ORDER = 16  # its place on the dashboard and in `make reproduce`

MEASURES = {"loss_diff": S.STABILITY_LOSS_DIFF, "distance": S.STABILITY_DISTANCE}
CURVATURES = {"trace": S.INIT_TRACE, "top_eig": S.INIT_TOP_EIG}


def sgd_stability(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) == "completed"]
    refs = {_key(r): r for r in done if r.config["data"].get("replace_index") is None}
    pairs = [r for r in done if r.config["data"].get("replace_index") is not None and _key(r) in refs]
    rows = [_pair_row(r, refs[_key(r)]) for r in pairs]
    by_m = _by_m(rows, refs)
    figures = [_figure(by_m, pairs, out)] if rows else []
    figure = figures[0].name if figures else ""
    curvature = _curvature_rows(rows, refs)
    verdicts = [_shrinks(by_m, figure), _grows(rows, figure), _identity(rows, refs, figure), _curvature(curvature)]
    return {"stability_pairs": rows, "stability_vs_m": by_m, "stability_vs_curvature": curvature,
            "verdicts": verdicts}, figures  # fmt: skip


def _key(r) -> tuple:
    return r.config["data"]["subset"], r.config["seed"]


def _pair_row(r, ref) -> dict:
    history = [m for m in r.metrics if M.STABILITY_DISTANCE in m]
    after = [(m["step"], m[M.STABILITY_DISTANCE]) for m in history if m[M.STABILITY_DISTANCE] > 0]
    slope = stats.slope_ci(*zip(*after), log=True)["slope"] if len(after) >= 2 else None
    return {
        "m": r.config["data"]["subset"],
        "seed": r.config["seed"],
        "replaced": r.config["data"]["replace_index"],
        "loss_diff": r.summary[S.STABILITY_LOSS_DIFF],
        "distance": r.summary[S.STABILITY_DISTANCE],
        "distance_slope_after_visit": slope,
        "ref_gap_loss": ref.summary[S.GAP_LOSS],
    }


def _by_m(rows, refs) -> list[dict]:
    """Per m: the mean replace-one loss difference over the pairs (bootstrap 95% interval over seeds,
    a seed's pairs together) and the mean gap of the runs on S."""
    out = []
    for m in sorted({r["m"] for r in rows}):
        sub = [r for r in rows if r["m"] == m]
        seeds = sorted({r["seed"] for r in sub})
        ci = stats.cluster_bootstrap(
            partial(_unit_mean, _sums(sub, "loss_diff", lambda r: r["seed"])), seeds, n_boot=1000
        )
        gaps = [refs[(m, s)].summary[S.GAP_LOSS] for s in seeds]
        out.append(
            {
                "m": m,
                "seeds": len(seeds),
                "pairs": len(sub),
                "stability": float(np.mean([r["loss_diff"] for r in sub])),
                "stability_ci95_low": ci["low"],
                "stability_ci95_high": ci["high"],
                "distance": float(np.mean([r["distance"] for r in sub])),
                "gap": float(np.mean(gaps)),
            }
        )
    return out


def _sums(rows, key, unit) -> dict:
    """{unit: (sum of key, count)} over the rows: a bootstrap over units then costs O(units) a draw."""
    sums = defaultdict(lambda: [0.0, 0])
    for r in rows:
        sums[unit(r)][0] += r[key]
        sums[unit(r)][1] += 1
    return sums


def _unit_mean(sums, units):
    total, n = sum(sums[u][0] for u in units), sum(sums[u][1] for u in units)
    return total / n if n else None


def _shrinks(by_m, figure):
    p = C10_M.params
    pts = [(r["m"], r["stability"]) for r in by_m if r["stability"] > 0]
    if len(pts) < p["min_sizes"]:
        return verdict_row(C10_M, "inconclusive", f"{len(pts)} sizes with a positive mean stability",
                           replicates=min((r["seeds"] for r in by_m), default=0), figure=figure)  # fmt: skip
    f = stats.slope_ci(*zip(*pts), log=True)
    verdict = "reproduced" if f["high"] < 0 else "not reproduced"
    measured = (
        f"log-log slope {f['slope']:.3f}, 95% CI [{f['low']:.3f}, {f['high']:.3f}] over {len(pts)} sizes "
        f"(m = {pts[0][0]}-{pts[-1][0]}; the full-pass bound's rate: -1)"
    )
    return verdict_row(C10_M, verdict, measured, replicates=min(r["seeds"] for r in by_m),
                       varied=f"{len(by_m)} sizes m x {by_m[0]['pairs'] // by_m[0]['seeds']} replaced examples",
                       figure=figure)  # fmt: skip


def _grows(rows, figure):
    slopes = [r for r in rows if r["distance_slope_after_visit"] is not None]
    seeds = sorted({(r["m"], r["seed"]) for r in slopes})
    if len(seeds) < 3:
        return verdict_row(C10_T, "inconclusive", f"{len(slopes)} pairs with 2 snapshots after the visit",
                           replicates=len(seeds), figure=figure)  # fmt: skip
    sums = _sums(slopes, "distance_slope_after_visit", lambda r: (r["m"], r["seed"]))
    ci = stats.cluster_bootstrap(partial(_unit_mean, sums), seeds, n_boot=1000)
    flat = C10_T.params["flat"]
    if ci["low"] > 0:
        verdict = "reproduced"
    elif ci["high"] < 0 or (-flat < ci["low"] and ci["high"] < flat):
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    measured = (
        f"log ||w_t - w'_t|| per log step after the visit {ci['estimate']:+.3f}, 95% CI [{ci['low']:+.3f}, "
        f"{ci['high']:+.3f}] over {len(slopes)} pairs"
    )
    return verdict_row(C10_T, verdict, measured, replicates=len(seeds), varied="pairs over sizes m", figure=figure)


def _identity(rows, refs, figure):
    tol = C10_GAP.params["tolerance"]
    clusters = sorted({(r["m"], r["seed"]) for r in rows})
    sizes = sorted({m for m, _ in clusters})
    if len(clusters) < 3:
        return verdict_row(C10_GAP, "inconclusive", f"{len(clusters)} runs on S with pairs", replicates=len(clusters))

    stab = _sums(rows, "loss_diff", lambda r: (r["m"], r["seed"]))

    def relative(keys):
        per_m = []
        for m in sizes:
            ks = [k for k in keys if k[0] == m]
            if ks:
                gap = np.mean([refs[k].summary[S.GAP_LOSS] for k in ks])
                per_m.append((_unit_mean(stab, ks) - gap) / gap)
        return float(np.mean(per_m)) if per_m else None

    ci = stats.cluster_bootstrap(relative, clusters, n_boot=1000)
    if ci["low"] <= 0 <= ci["high"] and -tol <= ci["low"] and ci["high"] <= tol:
        verdict = "reproduced"
    elif ci["low"] > 0 or ci["high"] < 0:
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    measured = (
        f"(stability - gap) / gap {ci['estimate']:+.3f}, 95% CI [{ci['low']:+.3f}, {ci['high']:+.3f}] over "
        f"{len(sizes)} sizes"
    )
    return verdict_row(C10_GAP, verdict, measured, replicates=len(clusters), varied=f"{len(sizes)} sizes m",
                       figure=figure)  # fmt: skip


def _curvature_rows(rows, refs) -> list[dict]:
    """Per init at m = C10_CURVATURE's m: its curvature at init and its pairs' mean stability."""
    m = C10_CURVATURE.params["m"]
    out = []
    for seed in sorted({r["seed"] for r in rows if r["m"] == m}):
        ref = refs[(m, seed)].summary
        sub = [r for r in rows if r["m"] == m and r["seed"] == seed]
        out.append(
            {
                "seed": seed,
                "pairs": len(sub),
                **{k: ref.get(v) for k, v in CURVATURES.items()},
                **{k: float(np.mean([r[k] for r in sub])) for k in MEASURES},
            }
        )
    return out


def _curvature(rows):
    p = C10_CURVATURE.params
    usable = [r for r in rows if all(r[k] is not None for k in CURVATURES)]
    if len(usable) < p["min_inits"]:
        return verdict_row(
            C10_CURVATURE, "inconclusive", f"{len(usable)} inits at m = {p['m']}", replicates=len(usable)
        )
    tests = [
        (c, s, stats.spearman_ci([r[c] for r in usable], [r[s] for r in usable])) for c in CURVATURES for s in MEASURES
    ]
    holm = stats.holm([1.0 if np.isnan(t["p_value"]) else t["p_value"] for _, _, t in tests])["adjusted"]
    significant = [(c, s, t, q) for (c, s, t), q in zip(tests, holm) if q < p["alpha"]]
    if any(t["rho"] > 0 for _, _, t, _ in significant):
        verdict = "reproduced"
    else:
        verdict = "not reproduced"  # no effect, or the wrong direction
    best = min(zip(tests, holm), key=lambda x: x[1])
    (c, s, t), q = best
    measured = (
        f"{len(usable)} inits at m = {p['m']}: strongest {c} vs {s} rho {t['rho']:.2f} "
        f"[{t['ci_low']:.2f}, {t['ci_high']:.2f}], Holm p {q:.3g}"
    )
    return verdict_row(C10_CURVATURE, verdict, measured, replicates=len(usable), varied="2 curvatures x 2 measures")


def _figure(by_m, pairs, out):
    """Left: the mean replace-one stability and the gap against m (log-log). Right: the mean distance
    ||w_t - w'_t|| over the pairs against the step t, one line per m."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    m = [r["m"] for r in by_m]
    err = [
        [r["stability"] - r["stability_ci95_low"] for r in by_m],
        [r["stability_ci95_high"] - r["stability"] for r in by_m],
    ]
    axes[0].errorbar(m, [r["stability"] for r in by_m], yerr=np.clip(err, 0, None), marker="o", capsize=3,
                     label="replace-one stability (pairs)")  # fmt: skip
    axes[0].plot(m, [r["gap"] for r in by_m], "s--", label="generalization gap (runs on S)")
    if m and by_m[0]["stability"] > 0:
        axes[0].plot(m, [by_m[0]["stability"] * m[0] / x for x in m], "k:", lw=0.8, label="1/m")
    axes[0].set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="test - train loss")
    axes[0].legend(fontsize=7)
    curves = defaultdict(lambda: defaultdict(list))
    for r in pairs:
        for rec in r.metrics:
            if M.STABILITY_DISTANCE in rec:
                curves[r.config["data"]["subset"]][rec["step"]].append(rec[M.STABILITY_DISTANCE])
    for size in sorted(curves):
        steps = sorted(curves[size])
        axes[1].plot(steps, [np.mean(curves[size][t]) for t in steps], "o-", ms=3, label=f"m = {size}")
    axes[1].set(xscale="log", xlabel="step t", ylabel="||w_t - w'_t|| (mean over pairs)")
    axes[1].legend(fontsize=7)
    return save_figure(fig, out / "stability_vs_m.png")
