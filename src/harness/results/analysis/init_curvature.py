"""Kuzborskij & Lampert 2018 (docs/claims.md, C5): curvature at initialization and the generalization gap."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
from matplotlib.ticker import NullFormatter

from ...names import NUM_CLASSES, S
from .. import stats
from ..claims import KL, Claim
from .common import mean_std, plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C5_CURVATURE = Claim(
    "C5 curvature at init predicts the gap",
    KL,
    "less curved, low-risk inits generalize better (no effect size given)",
    "the curvature of the risk at the initialization point governs the generalization gap",
    "within the most populated init gain, >= {min_inits} inits (pooled over gains is shown, never counted: the gain "
    "moves curvature and gap together): Spearman rho(trace or top eig at init, loss or error gap), Holm-adjusted "
    "p < {alpha:g} over the 6 tests (3 measures x 2 gaps), for a resolved measure (trace: median se <= "
    "{resolved:g} x its sd between inits) -> counts; counting rho > 0 -> reproduced; counting rho < 0 only (wrong "
    "direction) -> not reproduced; both signs -> inconclusive; none counts -> not reproduced (trace unresolved, or "
    "fewer inits -> inconclusive); the dashboard row also needs the prospective pre-screen test",
    "a positive rank correlation within a gain",
    "an init (its own seed), trained once",
    "init_curvature",
    {"alpha": 0.05, "resolved": 0.5, "min_inits": 5},
    needs="Pre-screened inits generalize better",
)

C5_M = Claim(
    "C5 gap ~ 1/m",
    KL,
    "gap bound O(1/m) with a full pass (slope -1 on log-log)",
    "with one pass over m examples, the generalization gap shrinks like 1/m",
    "a size counts when every run ends with train loss <= {fit:g} x ln 10 (others are shown, left out); OLS "
    "log-log slope of the mean loss gap over every counted size (>= {min_sizes}), 95% t-interval: holds -1 and "
    "excludes 0 -> reproduced; below 0 and excludes -1 -> partly; holds both -> inconclusive; else (holds 0 only, "
    "or above 0) -> not reproduced; fewer counted sizes, or a mean gap <= 0 at one (no log) -> inconclusive",
    "slope -1",
    "a seed (its own init and sample order)",
    "init_curvature",
    {"fit": 0.9, "min_sizes": 3},
    confirmatory="plain SGD, one pass, m = 500-32,000, seeds 0-9",
)

CLAIMS = (
    C5_CURVATURE,
    C5_M,
)
SWEEPS = (
    ("init_curvature/gains", "experiment=init_curvature"),
    ("init_curvature/gain1", "experiment=init_curvature model.init_gain=1.0 seed=range(8,48)"),
    ("init_curvature/m", "experiment=init_curvature_m"),
)
MINUTES = 20
ORDER = 8  # its place on the dashboard and in `make reproduce`

MEASURES = ("top_eig", "trace", "init_risk")  # at init, columns of the init_curvature table
CURVATURES = ("trace", "top_eig")  # the measures the claim names: only these decide
GAPS = ("gap_loss", "gap_err")  # test - train loss; test - train error (summary: gen_gap_*)
GAP_WORDS = {"gap_loss": "loss gap", "gap_err": "error gap"}


def init_curvature(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) == "completed"]
    k_runs = [r for r in done if "gap_vs_m" not in r.config["tags"] and S.INIT_TOP_EIG in r.summary]
    m_runs = [r for r in done if "gap_vs_m" in r.config["tags"]]
    tables, figures = {}, []
    rows, gain = [], None
    if k_runs:
        rows = [
            {
                "run": r.label,
                "init_gain": r.config["model"]["init_gain"],
                "seed": r.config["seed"],
                "top_eig": r.summary[S.INIT_TOP_EIG],
                "trace": r.summary.get(S.INIT_TRACE),
                "trace_se": r.summary.get(S.INIT_TRACE_SE),
                "trace_se_examples": r.summary.get(S.INIT_TRACE_SE_EXAMPLES),
                "init_risk": r.summary[S.INIT_RISK],
                "train_loss": r.summary[S.TRAIN_LOSS],
                "test_loss": r.summary[S.TEST_LOSS],
                "gap_loss": r.summary[S.GAP_LOSS],
                "train_err": 1 - r.summary[S.TRAIN_ACC],
                "test_err": 1 - r.summary[S.TEST_ACC],
                "gap_err": r.summary[S.GAP_ERR],
            }
            for r in k_runs
        ]
        tables["init_curvature"] = rows
        gain = _main_gain(rows)
        groups = [("all", rows)] + [
            (_group(g), [r for r in rows if r["init_gain"] == g]) for g in sorted({r["init_gain"] for r in rows})
        ]
        tables["spearman"] = _spearman_table(groups, decides=_group(gain))
        tables["precision"] = _precision_table(rows)
        tables["prescreening"] = _prescreening_table(groups)
        figures.append(_scatter(rows, out))
    size_rows, fits = [], []
    if m_runs:
        size_rows, fits = _gap_vs_m_tables(m_runs)
        tables["gap_vs_m"], tables["gap_vs_m_fit"] = size_rows, fits
        figures.append(_gap_vs_m(size_rows, fits, out))
    by_name = {f.stem: f.name for f in figures}
    tables["verdicts"] = [
        _c5_curvature_verdict(
            tables.get("spearman", []), tables.get("precision", []), rows, gain, by_name.get("curvature_vs_gap", "")
        ),
        _c5_m_verdict(size_rows, fits, by_name.get("gap_vs_m", "")),
    ]
    return tables, figures


def _group(gain) -> str:
    return f"init_gain={gain}"


def _spearman_table(groups, decides: str):
    """Spearman rho with bootstrap CI for every measure x gap in every group of >= min_inits inits. Each
    group's 6 tests are one family: p_holm is its Holm-adjusted p. `decides`: the one group whose
    curvature rows can decide the verdict; pooled over gains they cannot (the gain moves both)."""
    corr = []
    for group, sub in groups:
        if len(sub) < C5_CURVATURE.params["min_inits"]:
            continue
        family = [
            {
                "runs": group,
                "measure": measure,
                "gap": gap,
                **stats.spearman_ci([r[measure] for r in sub], [r[gap] for r in sub]),
            }
            for measure in MEASURES
            for gap in GAPS
        ]
        # a constant column has no p-value (nan): count it as no evidence (p = 1)
        adjusted = stats.holm([1.0 if np.isnan(c["p_value"]) else c["p_value"] for c in family])["adjusted"]
        corr += [
            {**c, "p_holm": p, "decides": group == decides and c["measure"] in CURVATURES}
            for c, p in zip(family, adjusted)
        ]
    return corr


def _prescreening_table(groups):
    """Pre-screening over all inits, and within one init gain (where the gain cannot do the work)."""
    screen = []
    for group, sub in groups:
        for measure in MEASURES:
            for n in (2, 4, 8, 16):
                if n < len(sub) and len(sub) >= 8:
                    for gap in GAPS:
                        res = stats.prescreening([r[measure] for r in sub], [r[gap] for r in sub], n)
                        ci = _prescreening_ci(sub, measure, gap, n)
                        screen.append(
                            {
                                "runs": group,
                                "score": measure,
                                "gap": gap,
                                **res,
                                "difference_ci95_low": ci["low"],
                                "difference_ci95_high": ci["high"],
                            }
                        )
    return screen


def _precision_table(rows):
    """Per init gain: is the trace estimate precise enough to rank inits? The estimator's standard
    error (median over inits; 0 for the exact Gauss-Newton trace of a ReLU net) against the spread of
    the trace between inits (sd); se/sd <= the claim's `resolved` (0.5: the se well below the spread):
    resolved. For the exact trace, also the standard error over the sample's examples (how far the
    2,048-image sample's trace may be from the whole training set's; the same images for every init,
    so it shifts all inits alike)."""
    out = []
    for g in sorted({r["init_gain"] for r in rows}):
        sub = [r for r in rows if r["init_gain"] == g and r["trace"] is not None]
        se = [r["trace_se"] for r in sub if r["trace_se"] is not None]
        spread = stats.mean_ci([r["trace"] for r in sub])
        ratio = (
            (float(np.median(se)) / spread["sd"] if spread["sd"] > 0 else float("inf"))
            if se and len(sub) > 1
            else float("nan")
        )
        out.append(
            {
                "init_gain": g,
                "runs": len(sub),
                "trace_mean": spread["mean"],
                "trace_sd": spread["sd"],
                "trace_se_median": float(np.median(se)) if se else None,
                "se_over_sd": ratio,
                "resolved": bool(ratio <= C5_CURVATURE.params["resolved"]),
                "trace_se_examples_median": (
                    float(np.median(ex))
                    if (ex := [r["trace_se_examples"] for r in sub if r.get("trace_se_examples")])
                    else None
                ),
            }
        )  # nan (no se, or one init) compares False: unresolved
    return out


def _main_gain(rows):
    """The most populated init gain (ties: the one nearest the default 1.0), where the test is run."""
    counts = Counter(r["init_gain"] for r in rows)
    return max(counts, key=lambda g: (counts[g], -abs(g - 1.0)))


def _c5_curvature_verdict(spearman, precision, rows, gain, figure):
    """C5_CURVATURE's test, within the most populated init gain only: the init gain moves curvature and
    gap together, so pooled over gains a correlation says nothing about curvature (it is shown, never
    counted). A test counts when its Holm-adjusted p < alpha and its measure is resolved (trace: median
    estimator se <= `resolved` x between-init sd; top eigenvalue: Lanczos to tolerance, no se, taken as
    resolved). Counting tests all rho > 0 -> reproduced; all rho < 0 (the wrong direction) -> not
    reproduced; both signs -> inconclusive (they contradict each other); none: trace unresolved ->
    inconclusive, else not reproduced. Fewer than min_inits inits in the gain -> inconclusive."""
    p = C5_CURVATURE.params
    gains = sorted({r["init_gain"] for r in rows})
    at_gain = sum(r["init_gain"] == gain for r in rows)
    varied = (
        f"init gains {gains[0]}-{gains[-1]} (only gain {gain} decides)"
        if len(gains) > 1
        else (f"init gain {gain}" if gains else "")
    )
    within = [c for c in spearman if c["decides"]]
    if not within:
        return verdict_row(
            C5_CURVATURE,
            "inconclusive",
            f"{at_gain} inits at the most populated init gain (< {p['min_inits']}; {len(rows)} inits in all)",
            replicates=at_gain,
            varied=varied,
            figure=figure,
        )
    prec = next((q for q in precision if q["init_gain"] == gain), {})
    resolved = {"trace": prec.get("resolved", False), "top_eig": True}
    counting = [c for c in within if c["p_holm"] < p["alpha"] and resolved[c["measure"]]]
    up, down = any(c["rho"] > 0 for c in counting), any(c["rho"] < 0 for c in counting)
    if up and down:
        verdict = "inconclusive"
    elif up:
        verdict = "reproduced"
    elif down:
        verdict = "not reproduced"  # significant, the wrong direction: less curved inits generalize worse
    else:
        verdict = "not reproduced" if resolved["trace"] else "inconclusive"
    measured = (
        f"init gain {gain} ({at_gain} inits): {_both_gaps(within)}; trace se/sd "
        f"{prec.get('se_over_sd', float('nan')):.2f} ({'resolved' if resolved['trace'] else 'unresolved'})"
    )
    pooled = [c for c in spearman if c["runs"] == "all" and c["measure"] in CURVATURES]
    if pooled and len(gains) > 1:
        measured += f"; pooled over {pooled[0]['n']} inits of all gains (the gain moves both: not counted): "
        measured += _both_gaps(pooled)
    return verdict_row(C5_CURVATURE, verdict, measured, replicates=at_gain, varied=varied, figure=figure)


def _both_gaps(family) -> str:
    """The strongest measure (lowest Holm p) against the loss gap and the error gap: a correlation with
    one gap alone can hide that the other shows none."""
    measure = min(family, key=lambda c: c["p_holm"])["measure"]
    words = (
        f"vs {GAP_WORDS[c['gap']]} rho {c['rho']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}], Holm p {c['p_holm']:.3g}"
        for c in family
        if c["measure"] == measure
    )
    return f"{measure} " + "; ".join(words)


def _gap_vs_m_tables(m_runs):
    """Mean gap per training-set size (sd, t 95% CI over seeds), whether the size counts (every run
    trained: train loss <= fit x ln 10; a size whose runs did not train has a small gap because both
    losses are high, which is no evidence for 1/m), and log-log slope fits over the counted sizes."""
    fitted = C5_M.params["fit"] * math.log(NUM_CLASSES)  # x the loss of chance
    by_m = defaultdict(list)
    for r in m_runs:
        by_m[r.summary[S.TRAIN_SIZE]].append(r.summary)
    rows = []
    for m in sorted(by_m):
        ss = by_m[m]
        untrained = sum(s["train_loss"] > fitted for s in ss)
        worst = max(s["train_loss"] for s in ss)
        row = {
            "m": m,
            "runs": len(ss),
            "counted": untrained == 0,
            "why": (
                f"every run trained (train loss <= {fitted:.3f})"
                if untrained == 0
                else f"{untrained} of {len(ss)} runs did not train (train loss up to {worst:.3f} > {fitted:.3f})"
            ),
        }
        for key, field in (("gap_loss", S.GAP_LOSS), ("gap_err", S.GAP_ERR)):
            c = stats.mean_ci([s[field] for s in ss])
            row.update(
                {key: c["mean"], f"{key}_sd": c["sd"], f"{key}_ci95_low": c["low"], f"{key}_ci95_high": c["high"]}
            )
        row.update(
            {
                "train_loss": mean_std([s["train_loss"] for s in ss])[0],
                "train_loss_max": worst,
                "test_loss": mean_std([s["test_loss"] for s in ss])[0],
                "test_err": 1 - mean_std([s[S.TEST_ACC] for s in ss])[0],
            }
        )
        rows.append(row)
    counted = [r for r in rows if r["counted"]]
    span = f"m = {counted[0]['m']:,}-{counted[-1]['m']:,}" if counted else "none"
    fits = []
    for gap in GAPS:
        # every counted size, no selection; one row per gap even without a fit, saying why
        row = {"gap": gap, "points": f"{len(counted)} counted sizes ({span})", "m_points": len(counted), "no_fit": ""}
        row.update(dict.fromkeys(("slope", "slope_se", "slope_ci95_low", "slope_ci95_high", "r2")), theory_slope=-1.0)
        if len(counted) < C5_M.params["min_sizes"]:
            row["no_fit"] = f"fewer than {C5_M.params['min_sizes']} counted sizes"
        elif any(r[gap] <= 0 for r in counted):
            row["no_fit"] = f"a counted size has a mean {GAP_WORDS[gap]} <= 0 (no log)"
        else:
            f = stats.slope_ci([r["m"] for r in counted], [r[gap] for r in counted], log=True)
            row.update(slope=f["slope"], slope_se=f["se"], r2=f["r2"])
            row.update(slope_ci95_low=f["low"], slope_ci95_high=f["high"])
        fits.append(row)
    return rows, fits


def _c5_m_verdict(rows, fits, figure):
    """C5_M's test (docs/confirmatory.md): the log-log slope of the mean loss gap over every counted size,
    95% t-interval of the OLS slope: holds -1 and excludes 0 -> reproduced; below 0 and excludes -1 ->
    partly; holds both -> inconclusive; else (holds 0 only, or above 0) -> not reproduced. Fewer than
    min_sizes counted sizes, or a counted size with a mean loss gap <= 0 (no log) -> inconclusive."""
    counted = [r for r in rows if r["counted"]]
    left_out = [r for r in rows if not r["counted"]]
    replicates = min((r["runs"] for r in counted or rows), default=None)
    varied = f"{len(counted)} sizes m" + (f" ({len(left_out)} more left out: did not train)" if left_out else "")
    sizes = ", ".join(f"{r['m']:,}" for r in left_out)
    note = f"; left out (did not train): m = {sizes}" if left_out else ""
    fit = next((f for f in fits if f["gap"] == "gap_loss"), {"no_fit": "no runs"})
    if fit["no_fit"]:
        measured = f"no log-log slope: {fit['no_fit']} ({len(counted)} counted sizes)"
        return verdict_row(C5_M, "inconclusive", measured + note, replicates=replicates, varied=varied, figure=figure)
    lo, hi = fit["slope_ci95_low"], fit["slope_ci95_high"]
    holds_1, holds_0 = lo <= -1 <= hi, lo <= 0 <= hi
    if holds_1 and holds_0:
        verdict = "inconclusive"
    elif holds_1:
        verdict = "reproduced"
    elif hi < 0:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    measured = f"slope {fit['slope']:.3f}, 95% CI [{lo:.3f}, {hi:.3f}] over {fit['points']}, R^2 {fit['r2']:.2f}{note}"
    return verdict_row(C5_M, verdict, measured, replicates=replicates, varied=varied, figure=figure)


def _prescreening_ci(sub, measure, gap, n):
    """95% interval of the pre-screened minus random gap over the inits themselves: the K inits are
    resampled with replacement (the draws' own Monte Carlo error, difference_se, is far smaller and
    says nothing about another set of inits)."""

    def diff(inits):
        if len({id(r) for r in inits}) <= n:  # too few distinct inits to draw n candidates
            return None
        return stats.prescreening([r[measure] for r in inits], [r[gap] for r in inits], n, draws=1000)["difference"]

    return stats.cluster_bootstrap(diff, sub, n_boot=200)


def _scatter(rows, out):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    gains = sorted({r["init_gain"] for r in rows})
    for ax, measure, label in zip(
        axes, MEASURES, ["top Hessian eigenvalue at init", "Hessian trace at init", "risk at init"]
    ):
        for g in gains:
            sub = [r for r in rows if r["init_gain"] == g]
            ax.scatter([r[measure] for r in sub], [r["gap_loss"] for r in sub], s=16, label=f"gain {g}")
        c = stats.spearman_ci([r[measure] for r in rows], [r["gap_loss"] for r in rows])
        ax.set(
            xlabel=label,
            ylabel="gap: test loss - train loss",
            title=f"Spearman {c['rho']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}] (pooled)",
        )
        if measure != "init_risk":
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log axis
    axes[0].legend(fontsize=7)
    return save_figure(fig, out / "curvature_vs_gap.png")


def _gap_vs_m(rows, fits, out):
    """Both gaps against m; sizes left out of the fit (their runs did not train) as open markers."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    m = np.array([r["m"] for r in rows], float)
    left_out = np.array([not r["counted"] for r in rows])
    for gap, label in (("gap_loss", "test - train loss"), ("gap_err", "test - train error")):
        v = np.array([r[gap] if r[gap] and r[gap] > 0 else np.nan for r in rows], float)
        fit = [f for f in fits if f["gap"] == gap and not f["no_fit"]]
        slopes = "; slope " + ", ".join(f"{f['slope']:.2f} ({f['points']})" for f in fit) if fit else ""
        (line,) = ax.plot(m, v, "o-", label=label + slopes)
        if left_out.any():
            ax.plot(m[left_out], v[left_out], "o", mfc="white", mec=line.get_color())
    if left_out.any():
        ax.plot([], [], "o", mfc="white", mec="gray", label="left out: runs did not train")
    anchor = next((r for r in rows if r["counted"] and r["gap_loss"] > 0), rows[0])
    ax.plot(m, anchor["gap_loss"] * anchor["m"] / m, "k--", lw=0.8, label="theory: 1/m")
    ax.set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="generalization gap")
    ax.legend(fontsize=7)
    return save_figure(fig, out / "gap_vs_m.png")
