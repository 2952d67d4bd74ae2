"""Hestness et al. 2017 (CLAIMS.md C6): power-law learning curves eps(m) ~ a m^b (+ c)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import stats
from ..bound import validation_bound
from .common import mean_std, plt, save_figure

PAPER = {"image top-1": -0.309, "image top-5": -0.488, "range low": -0.07, "range high": -0.35}
THEORY = (-0.5, -1.0)


def selected_epoch(metrics: list[dict]) -> dict | None:
    """Early stopping on the validation split: the evaluation with the highest val accuracy
    (the first of ties), among those of the run."""
    evals = [m for m in metrics if "val/acc" in m and "test/acc" in m]
    return max(evals, key=lambda m: (m["val/acc"], -m["step"])) if evals else None


def learning_curve(runs, out):
    rows = []
    for r in runs:
        if r.summary.get("status") != "completed":
            continue
        best = selected_epoch(r.metrics)
        if best is None:
            continue
        evaluated = sum(1 for m in r.metrics if "val/acc" in m)
        m_val = r.summary["data_val_size"]
        slack = validation_bound(m_val, evaluated)  # the epoch was chosen among `evaluated` models
        rows.append({"model": r.config["model"]["name"], "m": r.summary["data_train_size"], "seed": r.config["seed"],
                     "epoch": best["epoch"], "steps": best["step"], "train_err": 1 - best["train/acc"],
                     "val_err": 1 - best["val/acc"], "test_err": 1 - best["test/acc"],
                     "gap_err": best["train/acc"] - best["test/acc"], "test_loss": best["test/loss"],
                     "epochs_evaluated": evaluated, "val_err_plus_bound": 1 - best["val/acc"] + slack,
                     "bound_holds": 1 - best["test/acc"] <= 1 - best["val/acc"] + slack})
    rows.sort(key=lambda x: (x["model"], x["m"], x["seed"]))
    tables = {"runs": rows}
    means, fits, figures = [], [], []
    for model in sorted({x["model"] for x in rows}):
        sub = [x for x in rows if x["model"] == model]
        by_m = defaultdict(list)
        for x in sub:
            by_m[x["m"]].append(x)
        for m in sorted(by_m):
            te, te_sd = mean_std([x["test_err"] for x in by_m[m]])
            ge, ge_sd = mean_std([x["gap_err"] for x in by_m[m]])
            means.append({"model": model, "m": m, "runs": len(by_m[m]), "test_err": te, "test_err_std": te_sd,
                          "train_err": mean_std([x["train_err"] for x in by_m[m]])[0], "gap_err": ge,
                          "gap_err_std": ge_sd, "epoch": mean_std([x["epoch"] for x in by_m[m]])[0]})
        if len(by_m) < 3:
            continue
        m_all, e_all = [x["m"] for x in sub], [x["test_err"] for x in sub]
        for offset in (False, True):
            f = stats.bootstrap_exponent(m_all, e_all, offset=offset)
            fits.append({"model": model, "quantity": "test_err", "form": "a m^b + c" if offset else "a m^b",
                         "b": f["b"], "b_low": f["b_low"], "b_high": f["b_high"], "a": f["a"], "c": f["c"],
                         "rmse_log": f["rmse_log"], "runs": len(sub), "m_values": len(by_m)})
        gaps = [(x["m"], x["gap_err"]) for x in sub if x["gap_err"] > 0]
        if len({m for m, _ in gaps}) >= 3:
            f = stats.bootstrap_exponent(*zip(*gaps))
            fits.append({"model": model, "quantity": "gap_err", "form": "a m^b", "b": f["b"], "b_low": f["b_low"],
                         "b_high": f["b_high"], "a": f["a"], "c": 0.0, "rmse_log": f["rmse_log"], "runs": len(gaps),
                         "m_values": len({m for m, _ in gaps})})
    tables["learning_curve"] = means
    tables["power_law_fits"] = fits
    tables["residuals"] = _residuals(means, fits)
    if fits:
        figures.append(_figure(means, fits, out))
    return tables, figures


def _predict(fit, m):
    return fit["a"] * np.asarray(m, float) ** fit["b"] + fit["c"]


def _residuals(means, fits):
    rows = []
    for f in fits:
        if f["quantity"] != "test_err":
            continue
        for x in means:
            if x["model"] == f["model"]:
                pred = float(_predict(f, x["m"]))
                rows.append({"model": f["model"], "form": f["form"], "m": x["m"], "test_err": x["test_err"],
                             "fit": pred, "log_residual": float(np.log(x["test_err"] / pred))})
    return rows


def _figure(means, fits, out):
    models = sorted({x["model"] for x in means})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, model in enumerate(models):
        color = f"C{i}"
        sub = [x for x in means if x["model"] == model]
        m = np.array([x["m"] for x in sub], float)
        for ax, key in ((axes[0], "test_err"), (axes[1], "gap_err")):
            ax.errorbar(m, [x[key] for x in sub], yerr=[x[f"{key}_std"] for x in sub], fmt="o", color=color,
                        label=model, ms=4)
        grid = np.geomspace(m.min(), m.max(), 50)
        for f in fits:
            if f["model"] != model:
                continue
            ax = axes[0] if f["quantity"] == "test_err" else axes[1]
            style = "-" if f["form"] == "a m^b" else "--"
            ax.plot(grid, _predict(f, grid), style, color=color, lw=1,
                    label=f"{f['form']}: b = {f['b']:.3f} [{f['b_low']:.3f}, {f['b_high']:.3f}]")
        # reference slopes anchored at this model's smallest m
        e0 = sub[0]["test_err"]
        if i == 0:
            for b, name, ls in ((PAPER["image top-1"], "Hestness image top-1 (-0.309)", (0, (1, 1))),
                                (PAPER["range low"], "Hestness range (-0.07, -0.35)", (0, (3, 3))),
                                (PAPER["range high"], None, (0, (3, 3))),
                                (THEORY[0], "theory -0.5", (0, (5, 2, 1, 2))), (THEORY[1], "theory -1", (0, (8, 3)))):
                axes[0].plot(grid, e0 * (grid / grid[0]) ** b, color="gray", ls=ls, lw=0.8, label=name)
    axes[0].set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="test error (val-selected epoch)")
    axes[1].set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="test error - train error")
    for ax in axes:
        ax.legend(fontsize=6)
    return save_figure(fig, out / "learning_curve.png")
