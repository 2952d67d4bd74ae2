"""C9: complexity-based bounds (VC, norm-based, spectral) against depth, on true and random labels,
beside the measured gap and the validation bound (Kawaguchi et al., C4). The bounds themselves are
computed at the end of each run (harness/probes/complexity.py)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ...names import S
from .. import stats
from ..claims import Claim
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
SURVEY_C9 = "the survey; Bartlett et al. 2017, Neyshabur et al. 2015 and 2017, Golowich et al. 2018"

_C9_FIT = "runs that do not reach train acc >= {fit:.0%} make their depth inconclusive"

C9_VACUOUS = Claim(
    "C9 complexity bounds are vacuous, the validation bound is not",
    SURVEY_C9,
    "VC and norm-based bounds of deep nets exceed 1; validation gives a usable guarantee (Kawaguchi et al.)",
    "bounds from the VC dimension, the weights' norms or their spectral complexity say nothing about the test "
    "error of a trained net, while the validation bound does",
    "for every true-label run at every depth: each of the VC, Neyshabur-Tomioka-Srebro, Golowich-Rakhlin-Shamir "
    "and Bartlett-Foster-Telgarsky bounds > {vacuous:g} (vacuous on the 0-1 error scale, taken in their most "
    "favourable form), and the run's validation bound (val error + sqrt(ln(1/{delta:g}) / (2 m_val))) < "
    "{chance_err:g} -> reproduced; a complexity bound <= {vacuous:g}, or a validation bound >= {chance_err:g}, -> not "
    "reproduced; " + _C9_FIT,
    "every complexity bound > 1; the validation bound below the error of chance",
    "a seed (its own init and order)",
    "complexity_bounds",
    {"vacuous": 1.0, "chance_err": 0.9, "delta": 0.05, "fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)

C9_DEPTH = Claim(
    "C9 norm-based bounds grow with depth, training error does not",
    SURVEY_C9,
    "the 2^L and product-of-norms factors make norm-based bounds grow with depth, while deeper nets fit as well",
    "norm-based bounds grow exponentially with depth although deeper networks fit the training data at least as well",
    "true-label runs: the OLS slope of log10 bound against depth, 95% t-interval over every run (each its own "
    "seed), > 0 for both norm-based bounds (Neyshabur-Tomioka-Srebro, Golowich-Rakhlin-Shamir), and every depth "
    "fits (train acc >= {fit:.0%}) -> reproduced; for one of the two -> partly; for neither -> not reproduced; "
    + _C9_FIT,
    "a positive slope of log bound in depth; every depth fitted",
    "a seed",
    "complexity_bounds",
    {"fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)

C9_LABELS = Claim(
    "C9 the spectral bound tells random labels from true ones, parameter counts cannot",
    "this project, after Bartlett et al. 2017 (Figure 1) and Neyshabur et al. 2017",
    "Bartlett et al.: the spectrally-normalised margin bound is larger on random labels",
    "the same network has the same parameter count on true and random labels, but its spectral complexity (over the "
    "margin) is larger when it memorized random labels",
    "pairs of a true-label and a random-label run of the same depth and seed (same init, same size: equal VC "
    "dimension, checked): the 95% paired t-interval of ln(BFT bound random / true) above ln {min_ratio:g} (at least "
    "{min_ratio:g}x larger on random labels) -> reproduced; below ln {min_ratio:g} (a smaller difference than a bound "
    "could use, none, or the wrong direction) -> not reproduced; else inconclusive; >= {min_pairs} pairs, both runs "
    "of a pair fitted (train acc >= {fit:.0%})",
    "a bound at least 1.5x larger on random labels",
    "a (depth, seed) pair sharing its init",
    "complexity_bounds",
    {"min_ratio": 1.5, "min_pairs": 3, "fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)

CLAIMS = (
    C9_VACUOUS,
    C9_DEPTH,
    C9_LABELS,
)
SWEEPS = (("complexity_bounds/cpu", "experiment=complexity_bounds"),)
MINUTES = 40  # 36 MLP runs on 5,000 images, each to 99% train accuracy (1-2 min each)
ORDER = 15  # its place on the dashboard and in `make reproduce`

BOUNDS = {"vc_bound": "VC", "nts_bound": "Neyshabur et al. 2015", "grs_bound": "Golowich et al. 2018",
          "bft_bound": "Bartlett et al. 2017"}  # fmt: skip
NORM_BASED = ("nts_bound", "grs_bound")


def validation_bound(val_acc: float, m_val: int, delta: float) -> float:
    """Kawaguchi et al. for the one trained model: val error + sqrt(ln(1/delta) / (2 m_val))."""
    return 1 - val_acc + math.sqrt(math.log(1 / delta) / (2 * m_val))


def _bound(summary, key) -> float:
    """A bound from the summary; a VC bound stored as null (d >= m) is infinite: vacuous."""
    v = summary.get(S.complexity(key))
    return math.inf if v is None else float(v)


def complexity_bounds(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) == "completed" and S.complexity("params") in r.summary]
    fit = C9_VACUOUS.params["fit"]
    rows = []
    for r in sorted(
        done, key=lambda r: (r.config["data"]["corruption_prob"], r.config["model"]["depth"], r.config["seed"])
    ):
        s = r.summary
        rows.append(
            {
                "labels": "random" if r.config["data"]["corruption_prob"] > 0 else "true",
                "depth": r.config["model"]["depth"],
                "seed": r.config["seed"],
                "params": s[S.complexity("params")],
                "vc_dim": s[S.complexity("vc_dim")],
                "train_acc": s[S.TRAIN_ACC],
                "fitted": s[S.TRAIN_ACC] >= fit,
                "test_err": 1 - s[S.TEST_ACC],
                "gap_err": s[S.TRAIN_ACC] - s[S.TEST_ACC],
                "validation_bound": validation_bound(s[S.VAL_ACC], s[S.VAL_SIZE], C9_VACUOUS.params["delta"]),
                **{k: _bound(s, k) for k in BOUNDS},
                "gamma": s[S.complexity("gamma")],
                "spectral_complexity": s[S.complexity("spectral_complexity")],
            }
        )
    figures = [_figure(rows, out)] if rows else []
    figure = figures[0].name if figures else ""
    true = [r for r in rows if r["labels"] == "true"]
    verdicts = [_vacuous(true, figure), _depth(true, figure), _labels(rows, figure)]
    return {"complexity_bounds": rows, "verdicts": verdicts}, figures


def _depths(rows) -> str:
    return f"{len({r['depth'] for r in rows})} depths ({', '.join(str(d) for d in sorted({r['depth'] for r in rows}))})"


def _seeds(rows) -> int:
    by_depth = defaultdict(set)
    for r in rows:
        by_depth[r["depth"]].add(r["seed"])
    return min((len(v) for v in by_depth.values()), default=0)


def _unfitted(rows) -> list:
    return sorted({r["depth"] for r in rows if not r["fitted"]})


def _vacuous(true, figure):
    p = C9_VACUOUS.params
    if not true or _unfitted(true):
        why = "no true-label run" if not true else f"depth(s) {_unfitted(true)} did not fit"
        return verdict_row(C9_VACUOUS, "inconclusive", why, replicates=_seeds(true), figure=figure)
    smallest = {k: min(r[k] for r in true) for k in BOUNDS}
    worst_val = max(r["validation_bound"] for r in true)
    ok = all(v > p["vacuous"] for v in smallest.values()) and worst_val < p["chance_err"]
    measured = "; ".join(f"{BOUNDS[k]} >= {v:.3g}" for k, v in smallest.items())
    measured += f" (the smallest over {len(true)} true-label runs); validation bound <= {worst_val:.3f}"
    return verdict_row(
        C9_VACUOUS, "reproduced" if ok else "not reproduced", measured, replicates=_seeds(true),
        varied=_depths(true), figure=figure,
    )  # fmt: skip


def _depth(true, figure):
    if len({r["depth"] for r in true}) < 3 or _unfitted(true):
        why = "needs >= 3 depths" if len({r["depth"] for r in true}) < 3 else f"depth(s) {_unfitted(true)} did not fit"
        return verdict_row(C9_DEPTH, "inconclusive", why, replicates=_seeds(true), figure=figure)
    fits = {k: stats.slope_ci([r["depth"] for r in true], [math.log10(r[k]) for r in true]) for k in NORM_BASED}
    grows = [f["low"] > 0 for f in fits.values()]
    verdict = "reproduced" if all(grows) else "partly" if any(grows) else "not reproduced"
    measured = (
        "; ".join(
            f"{BOUNDS[k]}: log10 bound per layer {f['slope']:+.3f} [{f['low']:+.3f}, {f['high']:+.3f}]"
            for k, f in fits.items()
        )
        + f"; every depth fits (train acc >= {min(r['train_acc'] for r in true):.2%})"
    )
    return verdict_row(C9_DEPTH, verdict, measured, replicates=_seeds(true), varied=_depths(true), figure=figure)


def _labels(rows, figure):
    p = C9_LABELS.params
    by_key = {(r["labels"], r["depth"], r["seed"]): r for r in rows}
    pairs = [
        (by_key[("true", d, s)], r) for (lab, d, s), r in by_key.items() if lab == "random" and ("true", d, s) in by_key
    ]
    pairs = [(t, r) for t, r in pairs if t["fitted"] and r["fitted"]]
    if len(pairs) < p["min_pairs"]:
        return verdict_row(
            C9_LABELS, "inconclusive", f"{len(pairs)} fitted pairs", replicates=len(pairs), figure=figure
        )
    if any(t["vc_dim"] != r["vc_dim"] for t, r in pairs):
        return verdict_row(C9_LABELS, "inconclusive", "a pair differs in size", replicates=len(pairs), figure=figure)
    d = stats.mean_ci([math.log(r["bft_bound"] / t["bft_bound"]) for t, r in pairs])
    margin = math.log(p["min_ratio"])
    verdict = "reproduced" if d["low"] > margin else "not reproduced" if d["high"] < margin else "inconclusive"
    measured = (
        f"Bartlett et al. bound random / true {math.exp(d['mean']):.3g}x, 95% CI [{math.exp(d['low']):.3g}, "
        f"{math.exp(d['high']):.3g}] over {len(pairs)} pairs; parameter counts equal in every pair"
    )
    return verdict_row(C9_LABELS, verdict, measured, replicates=len(pairs), varied=_depths([t for t, _ in pairs]),
                       figure=figure)  # fmt: skip


def _figure(rows, out):
    """Each bound and the measured gap against depth, log scale, true (solid) vs random labels (dashed)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (key, label) in enumerate(
        {**BOUNDS, "gap_err": "measured gap", "validation_bound": "validation bound"}.items()
    ):
        for labels, style in (("true", "-"), ("random", "--")):
            sub = [r for r in rows if r["labels"] == labels and np.isfinite(r[key]) and r[key] > 0]
            depths = sorted({r["depth"] for r in sub})
            if depths:
                ys = [np.exp(np.mean([np.log(r[key]) for r in sub if r["depth"] == d])) for d in depths]
                ax.plot(depths, ys, style, color=f"C{i}", marker="o", label=f"{label} ({labels} labels)")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set(yscale="log", xlabel="hidden layers", ylabel="bound on the test error (0-1 scale)")
    ax.set_title("complexity bounds vs depth (the VC bound is infinite where d >= m)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, out / "bounds_vs_depth.png")
