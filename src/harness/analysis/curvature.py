"""Analyses of the curvature experiments: init_curvature (C5) and sharp_minima (C3)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from matplotlib.ticker import NullFormatter

from .. import stats
from .common import mean_std, plt, save_figure

MEASURES = ("top_eig", "trace", "init_risk")  # at init, columns of the init_curvature table
GAPS = ("gap_loss", "gap_err")  # test - train loss; test - train error (summary: gen_gap_*)


def init_curvature(runs, out):
    done = [r for r in runs if r.summary.get("status") == "completed"]
    k_runs = [r for r in done if "gap_vs_m" not in r.config["tags"] and "init_hessian_top_eig" in r.summary]
    m_runs = [r for r in done if "gap_vs_m" in r.config["tags"]]
    tables, figures = {}, []
    if k_runs:
        rows = [{"run": r.label, "init_gain": r.config["model"]["init_gain"], "seed": r.config["seed"],
                 "top_eig": r.summary["init_hessian_top_eig"], "trace": r.summary.get("init_hessian_trace"),
                 "trace_se": r.summary.get("init_hessian_trace_se"), "init_risk": r.summary["init_hessian_loss"],
                 "train_loss": r.summary["train_loss"], "test_loss": r.summary["test_loss"],
                 "gap_loss": r.summary["gen_gap_loss"], "train_err": 1 - r.summary["train_acc"],
                 "test_err": 1 - r.summary["test_acc"], "gap_err": r.summary["gen_gap_err"]} for r in k_runs]
        tables["init_curvature"] = rows
        corr = []
        groups = [("all", rows)] + [(f"init_gain={g}", [r for r in rows if r["init_gain"] == g])
                                    for g in sorted({r["init_gain"] for r in rows})]
        for group, sub in groups:
            if len(sub) < 5:
                continue
            for measure in MEASURES:
                for gap in GAPS:
                    c = stats.spearman_ci([r[measure] for r in sub], [r[gap] for r in sub])
                    corr.append({"runs": group, "measure": measure, "gap": gap, **c})
        tables["spearman"] = corr
        # Pre-screening over all inits, and within one init gain (where the gain cannot do the work)
        screen = []
        for group, sub in groups:
            for measure in MEASURES:
                for n in (2, 4, 8, 16):
                    if n < len(sub) and len(sub) >= 8:
                        for gap in GAPS:
                            res = stats.prescreening([r[measure] for r in sub], [r[gap] for r in sub], n)
                            screen.append({"runs": group, "score": measure, "gap": gap, **res})
        tables["prescreening"] = screen
        figures.append(_scatter(rows, out))
    if m_runs:
        by_m = defaultdict(list)
        for r in m_runs:
            by_m[r.summary["data_train_size"]].append(r.summary)
        rows = []
        for m in sorted(by_m):
            ss = by_m[m]
            gl, gl_sd = mean_std([s["gen_gap_loss"] for s in ss])
            ge, ge_sd = mean_std([s["gen_gap_err"] for s in ss])
            rows.append({"m": m, "runs": len(ss), "gap_loss": gl, "gap_loss_std": gl_sd, "gap_err": ge,
                         "gap_err_std": ge_sd, "train_loss": mean_std([s["train_loss"] for s in ss])[0],
                         "test_loss": mean_std([s["test_loss"] for s in ss])[0],
                         "test_err": 1 - mean_std([s["test_acc"] for s in ss])[0]})
        tables["gap_vs_m"] = rows
        # all m, and from the largest gap on (at small m a fixed number of passes is too few steps
        # to fit the data, so the gap first rises; the theory's regime is the falling part)
        fits = []
        for gap in GAPS:
            pts = [(r["m"], r[gap]) for r in rows if r[gap] and r[gap] > 0]
            peak = max(range(len(pts)), key=lambda i: pts[i][1]) if pts else 0
            for part, sub in (("all m", pts), (f"m >= {pts[peak][0] if pts else ''}", pts[peak:])):
                if len(sub) >= 3:
                    f = stats.loglog_slope(*zip(*sub))
                    fits.append({"gap": gap, "points": part, "slope": f["slope"], "slope_se": f["slope_se"],
                                 "r2": f["r2"], "m_points": len(sub), "theory_slope": -1.0})
        tables["gap_vs_m_fit"] = fits
        figures.append(_gap_vs_m(rows, fits, out))
    return tables, figures


def _scatter(rows, out):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    gains = sorted({r["init_gain"] for r in rows})
    for ax, measure, label in zip(axes, MEASURES, ["top Hessian eigenvalue at init", "Hessian trace at init",
                                                    "risk at init"]):
        for g in gains:
            sub = [r for r in rows if r["init_gain"] == g]
            ax.scatter([r[measure] for r in sub], [r["gap_loss"] for r in sub], s=16, label=f"gain {g}")
        c = stats.spearman_ci([r[measure] for r in rows], [r["gap_loss"] for r in rows])
        ax.set(xlabel=label, ylabel="gap: test loss - train loss",
               title=f"Spearman {c['rho']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]")
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
KESKAR = {"small": {"test_acc": 0.8004, "eps_sharpness": 28.58}, "large": {"test_acc": 0.7726, "eps_sharpness": 707.23}}


def sharp_minima(runs, out):
    done = [r for r in runs if r.summary.get("status") == "completed"]
    tables, figures = {}, []
    for r in done:
        if r.summary.get("reparameterization"):
            rows = r.files[r.summary["reparameterization"]]
            tables["reparameterization"] = [
                {"variant": x["variant"], "alpha": x["alpha"], "max_abs_output_change": x["max_abs_output_change"],
                 "test_acc": x["test_acc"], "top_eig": x["top_eig"], "trace": x.get("trace"),
                 "trace_se": x.get("trace_se"), "eps_sharpness": x.get("eps_sharpness"), "hvps": x["hvps"]}
                for x in rows]
            figures.append(_reparam_figure(tables["reparameterization"], out))
    keskar = [r for r in done if "keskar" in r.config["tags"]]
    if keskar:
        rows = [{"batch_size": r.config["trainer"]["batch_size"], "seed": r.config["seed"],
                 "epochs": r.summary["epochs"], "train_acc": r.summary["train_acc"], "test_acc": r.summary["test_acc"],
                 "top_eig": r.summary.get("hessian_top_eig"), "trace": r.summary.get("hessian_trace"),
                 "eps_sharpness": r.summary.get("hessian_eps_sharpness")} for r in keskar]
        tables["keskar_runs"] = rows
        sizes = sorted({r["batch_size"] for r in rows})
        summary = []
        for b in sizes:
            sub = [r for r in rows if r["batch_size"] == b]
            paper = KESKAR["small" if b == sizes[0] else "large"]
            row = {"batch_size": b, "runs": len(sub)}
            for key in ("train_acc", "test_acc", "top_eig", "trace", "eps_sharpness", "epochs"):
                row[key], row[f"{key}_std"] = mean_std([r[key] for r in sub])
            row["paper_test_acc"], row["paper_eps_sharpness"] = paper["test_acc"], paper["eps_sharpness"]
            summary.append(row)
        tables["keskar"] = summary
    return tables, figures


def _reparam_figure(rows, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for variant, marker in (("two_layer", "o"), ("multi_layer", "s")):
        sub = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["alpha"])
        if not sub:
            continue
        a = [r["alpha"] for r in sub]
        axes[0].plot(a, [r["top_eig"] for r in sub], marker + "-", label=f"{variant}: top eigenvalue")
        if sub[0].get("trace") is not None:
            axes[0].plot(a, [r["trace"] for r in sub], marker + ":", label=f"{variant}: trace")
        axes[1].plot(a, [r["test_acc"] for r in sub], marker + "-", label=variant)
    axes[0].set(xscale="log", yscale="log", xlabel="alpha", ylabel="curvature",
                title="same function, different sharpness")
    axes[1].set(xscale="log", xlabel="alpha", ylabel="test accuracy", title="test accuracy unchanged")
    for ax in axes:
        ax.legend(fontsize=7)
    return save_figure(fig, out / "sharpness_vs_alpha.png")
