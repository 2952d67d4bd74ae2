"""Kuzborskij & Lampert 2018 (CLAIMS.md C5): curvature at initialization and the generalization gap."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from matplotlib.ticker import NullFormatter

from .. import stats
from ..names import S
from .common import mean_std, plt, save_figure, verdict_row

MEASURES = ("top_eig", "trace", "init_risk")  # at init, columns of the init_curvature table
GAPS = ("gap_loss", "gap_err")  # test - train loss; test - train error (summary: gen_gap_*)


def init_curvature(runs, out):
    done = [r for r in runs if r.summary.get("status") == "completed"]
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
                "train_loss": r.summary["train_loss"],
                "test_loss": r.summary["test_loss"],
                "gap_loss": r.summary[S.GAP_LOSS],
                "train_err": 1 - r.summary["train_acc"],
                "test_err": 1 - r.summary["test_acc"],
                "gap_err": r.summary[S.GAP_ERR],
            }
            for r in k_runs
        ]
        tables["init_curvature"] = rows
        groups = [("all", rows)] + [
            (f"init_gain={g}", [r for r in rows if r["init_gain"] == g]) for g in sorted({r["init_gain"] for r in rows})
        ]
        tables["spearman"] = _spearman_table(groups)
        tables["precision"] = _precision_table(rows)
        gain = _main_gain(rows)
        # Pre-screening over all inits, and within one init gain (where the gain cannot do the work)
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
        tables["prescreening"] = screen
        figures.append(_scatter(rows, out))
    fits = []
    if m_runs:
        tables["gap_vs_m"], fits = _gap_vs_m_tables(m_runs)
        tables["gap_vs_m_fit"] = fits
        figures.append(_gap_vs_m(tables["gap_vs_m"], fits, out))
    by_name = {f.stem: f.name for f in figures}
    tables["verdicts"] = [
        _c5_curvature_verdict(
            tables.get("spearman", []),
            tables.get("precision", []),
            gain,
            len(rows),
            by_name.get("curvature_vs_gap", ""),
        ),
        _c5_m_verdict(
            fits, min((r["runs"] for r in tables.get("gap_vs_m", [])), default=0), by_name.get("gap_vs_m", "")
        ),
    ]
    return tables, figures


def _spearman_table(groups):
    """Spearman rho with bootstrap CI for every measure x gap in every group of >= 5 inits. Each
    group's 6 tests are one family: p_holm is its Holm-adjusted p (the verdict rests on any of them)."""
    corr = []
    for group, sub in groups:
        if len(sub) < 5:
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
        corr += [{**c, "p_holm": p} for c, p in zip(family, adjusted)]
    return corr


RESOLVED = 0.5  # "well below the spread": the estimator's se at most half the between-init sd


def _precision_table(rows):
    """Per init gain: is the trace estimate precise enough to rank inits? The estimator's standard
    error (median over inits; 0 for the exact Gauss-Newton trace of a ReLU net) against the spread of
    the trace between inits (sd); se/sd <= RESOLVED: resolved. For the exact trace, also the standard
    error over the sample's examples (how far the 2,048-image sample's trace may be from the whole
    training set's; the same images for every init, so it shifts all inits alike)."""
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
                "resolved": bool(ratio <= RESOLVED),
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


ALPHA = 0.05


def _c5_curvature_verdict(spearman, precision, gain, n_runs, figure):
    """Kuzborskij & Lampert. Criterion (fixed before the data): within the most populated init gain
    (so that the gain, which moves curvature and gap together, cannot make the correlation), Spearman
    rho of trace or top eigenvalue at init vs the gap (loss or error) is positive with Holm-adjusted
    p < 0.05 over the 6 tests (3 measures x 2 gaps), for a measure whose estimate is resolved (trace:
    median estimator se <= RESOLVED x between-init sd; top eigenvalue: Lanczos to tolerance, no se, taken as
    resolved) -> reproduced; significant only pooled over gains -> partly; otherwise, trace
    unresolved -> inconclusive; else not reproduced. Needs >= 5 inits in that gain."""
    criterion = (
        "within the most populated init gain: rho(trace or top eig, gap) > 0 with Holm-adjusted p < 0.05 "
        "(6 tests), estimate resolved (median trace se <= 0.5 x sd of trace); only pooled -> partly"
    )
    name = f"init_gain={gain}"
    within = [c for c in spearman if c["runs"] == name and c["measure"] in ("trace", "top_eig")]
    if not within:
        return verdict_row(
            _C5,
            "inconclusive",
            criterion,
            f"needs >= 5 inits in one gain ({n_runs} runs)",
            paper=_C5_PAPER,
            seeds=n_runs,
            figure=figure,
        )
    prec = next((p for p in precision if p["init_gain"] == gain), {})
    resolved = {"trace": prec.get("resolved", False), "top_eig": True}
    significant = lambda c: c["p_holm"] < ALPHA and c["rho"] > 0  # noqa: E731
    pooled = [c for c in spearman if c["runs"] == "all" and c["measure"] in ("trace", "top_eig")]
    if any(significant(c) and resolved[c["measure"]] for c in within):
        verdict = "reproduced"
    elif any(significant(c) for c in pooled):
        verdict = "partly"
    else:
        verdict = "inconclusive" if not resolved["trace"] else "not reproduced"
    best = lambda cs: min(cs, key=lambda c: c["p_holm"])  # noqa: E731
    w = best(within)
    measured = (
        f"{name} ({w['n']} inits): strongest {w['measure']} vs {w['gap']} rho {w['rho']:.2f} "
        f"[{w['ci_low']:.2f}, {w['ci_high']:.2f}], Holm p {w['p_holm']:.3g}; trace se/sd "
        f"{prec.get('se_over_sd', float('nan')):.2f} ({'resolved' if resolved['trace'] else 'unresolved'})"
    )
    if pooled:
        p = best(pooled)
        measured += (
            f"; pooled over gains ({p['n']}): {p['measure']} vs {p['gap']} rho {p['rho']:.2f} "
            f"[{p['ci_low']:.2f}, {p['ci_high']:.2f}], Holm p {p['p_holm']:.3g}"
        )
    return verdict_row(_C5, verdict, criterion, measured, paper=_C5_PAPER, seeds=w["n"], figure=figure)


def _gap_vs_m_tables(m_runs):
    """Mean gap per training-set size (sd, t 95% CI over seeds) and log-log slope fits with 95% CIs."""
    by_m = defaultdict(list)
    for r in m_runs:
        by_m[r.summary["data_train_size"]].append(r.summary)
    rows = []
    for m in sorted(by_m):
        ss = by_m[m]
        row = {"m": m, "runs": len(ss)}
        for key, field in (("gap_loss", S.GAP_LOSS), ("gap_err", S.GAP_ERR)):
            c = stats.mean_ci([s[field] for s in ss])
            row.update(
                {key: c["mean"], f"{key}_sd": c["sd"], f"{key}_ci95_low": c["low"], f"{key}_ci95_high": c["high"]}
            )
        row.update(
            {
                "train_loss": mean_std([s["train_loss"] for s in ss])[0],
                "test_loss": mean_std([s["test_loss"] for s in ss])[0],
                "test_err": 1 - mean_std([s["test_acc"] for s in ss])[0],
            }
        )
        rows.append(row)
    # all m, and from the largest gap on (at small m a fixed number of passes is too few steps
    # to fit the data, so the gap first rises; the theory's regime is the falling part)
    fits = []
    for gap in GAPS:
        pts = [(r["m"], r[gap]) for r in rows if r[gap] and r[gap] > 0]
        peak = max(range(len(pts)), key=lambda i: pts[i][1]) if pts else 0
        for part, sub in (("all m", pts), (f"m >= {pts[peak][0] if pts else ''}", pts[peak:])):
            if len(sub) >= 3:
                f = stats.slope_ci(*zip(*sub), log=True)
                fits.append(
                    {
                        "gap": gap,
                        "points": part,
                        "slope": f["slope"],
                        "slope_se": f["se"],
                        "slope_ci95_low": f["low"],
                        "slope_ci95_high": f["high"],
                        "r2": f["r2"],
                        "m_points": len(sub),
                        "theory_slope": -1.0,
                    }
                )
    return rows, fits


def _c5_m_verdict(fits, seeds, figure):
    """Criterion (fixed before the data): the log-log slope of the mean gap (test - train loss) vs m,
    over the points from the largest gap on (the falling part, the theory's regime), has a 95% CI
    (t interval of the OLS slope) containing -1 -> reproduced; excluding -1 but below 0 -> partly;
    containing both -1 and 0 (too wide to tell) or fewer than 3 points -> inconclusive; otherwise
    (not falling) -> not reproduced."""
    criterion = "95% CI of the log-log slope of gap_loss vs m (from the peak on) contains -1; below 0 only -> partly"
    fit = next((f for f in fits if f["gap"] == "gap_loss" and f["points"].startswith("m >=")), None)
    if fit is None:
        return verdict_row(
            _C5M,
            "inconclusive",
            criterion,
            "needs >= 3 sizes m from the peak gap on",
            paper=_C5M_PAPER,
            seeds=seeds,
            figure=figure,
        )
    lo, hi = fit["slope_ci95_low"], fit["slope_ci95_high"]
    if lo <= -1 <= hi and lo <= 0 <= hi:
        verdict = "inconclusive"
    elif lo <= -1 <= hi:
        verdict = "reproduced"
    elif hi < 0:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    measured = (
        f"slope {fit['slope']:.3f}, 95% CI [{lo:.3f}, {hi:.3f}] over {fit['m_points']} sizes ({fit['points']}), "
        f"R^2 {fit['r2']:.2f}"
    )
    return verdict_row(_C5M, verdict, criterion, measured, paper=_C5M_PAPER, seeds=seeds, figure=figure)


_C5 = "C5 curvature at init predicts the gap"
_C5_PAPER = "less curved, low-risk inits generalize better (no effect size given)"
_C5M = "C5 gap ~ 1/m"
_C5M_PAPER = "gap bound O(1/m) with a full pass (slope -1 on log-log)"


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
            title=f"Spearman {c['rho']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]",
        )
        if measure != "init_risk":
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log axis
    axes[0].legend(fontsize=7)
    return save_figure(fig, out / "curvature_vs_gap.png")


def _gap_vs_m(rows, fits, out):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    m = np.array([r["m"] for r in rows], float)
    for gap, label in (("gap_loss", "test - train loss"), ("gap_err", "test - train error")):
        v = np.array([r[gap] or np.nan for r in rows], float)
        fit = [f for f in fits if f["gap"] == gap]
        slopes = "; slope " + ", ".join(f"{f['slope']:.2f} ({f['points']})" for f in fit) if fit else ""
        ax.plot(m, v, "o-", label=label + slopes)
    ax.plot(m, rows[0]["gap_loss"] * m[0] / m, "k--", lw=0.8, label="theory: 1/m")
    ax.set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="generalization gap")
    ax.legend(fontsize=7)
    return save_figure(fig, out / "gap_vs_m.png")


# Keskar et al. 2017, CIFAR-10 network C1 (a conv net), Table 2 and 3: small batch vs large batch.
