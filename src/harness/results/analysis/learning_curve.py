"""Hestness et al. 2017 (claim C6): power-law learning curves eps(m) ~ a m^b (+ c)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ...names import M, S
from ...probes.bound import validation_bound
from .. import stats
from ..claims import Claim
from .common import mean_std, pct, plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C6 = Claim(
    "C6 power-law learning curve",
    "Hestness et al. (Baidu, 2017)",
    "image top-1 b = -0.309 (measured range -0.07 to -0.49; theory -0.5 or -1)",
    "test error falls as a power law a m^b of the training-set size, with b in the range the paper measured",
    "a size counts when every run completes and ends with train acc >= {fit:.0%} on its m images (other sizes are "
    "left out of every fit); per model, >= {min_sizes} counted sizes over >= 1 decade: the bootstrap 95% CI of b "
    "(a m^b fitted to the counted runs) inside [{b_low:g}, {b_high:g}] (the paper's -0.07 to -0.488, widened by "
    "0.03) and the power law fitted on the smaller counted sizes predicts the 2 largest at least as well as "
    "a + c ln m (held-out RMSE) -> reproduced; the CI wholly outside that range or holding 0, or the log form "
    "predicting better -> not reproduced; the CI straddling a range end, or too few sizes -> inconclusive. Over "
    "models: all reproduced -> reproduced; some but not all -> partly; none, and one not reproduced -> not "
    "reproduced; else inconclusive",
    "b in [-0.52, -0.04]",
    "a seed (its own init and order; the subsets are nested and shared)",
    "learning_curve",
    {"fit": 0.99, "min_sizes": 4, "b_low": -0.52, "b_high": -0.04},
)

CLAIMS = (C6,)
SWEEPS = (("learning_curve/mlp", "experiment=learning_curve"), ("learning_curve/cnn", "experiment=learning_curve_cnn"))
MINUTES = 120  # the MLP's 24 runs ~45 min; the CNN's 15 runs to 99% train accuracy 147 min summed, ~75 on 2 cores
ORDER = 11  # its place on the dashboard and in `make reproduce`

HESTNESS_IMAGE_TOP1 = -0.309  # the paper's image top-1 exponent, drawn for reference only
THEORY = (-0.5, -1.0)
N_HOLDOUT = 2  # the largest counted sizes the two forms must predict
PLAIN = ("a m^b", "test_err")  # the fit whose exponent is judged
DELTA = 0.05  # the bound's confidence: holds with probability >= 95%, as in report.validation_bound_table


def selected_epoch(metrics: list[dict]) -> dict | None:
    """Early stopping on the validation split: the evaluation with the highest val accuracy
    (the first of ties), among those of the run."""
    evals = [m for m in metrics if M.VAL_ACC in m and M.TEST_ACC in m]
    return max(evals, key=lambda m: (m[M.VAL_ACC], -m["step"])) if evals else None


def learning_curve(runs, out):
    rows, bound = [], []
    ends = defaultdict(list)  # (model, m) -> each run's train acc at the end of training (None: no result)
    for r in runs:
        model, m = r.config["model"]["name"], r.summary.get(S.TRAIN_SIZE)
        best = selected_epoch(r.metrics) if r.summary.get(S.STATUS) == "completed" else None
        if m is not None:
            ends[(model, m)].append(r.summary.get(S.TRAIN_ACC) if best is not None else None)
        if best is None:
            continue
        evaluated = sum(1 for x in r.metrics if M.VAL_ACC in x)
        m_val = r.summary[S.VAL_SIZE]
        slack = validation_bound(m_val, evaluated)  # the epoch was chosen among `evaluated` models
        rows.append(
            {
                "model": model,
                "m": m,
                "seed": r.config["seed"],
                "epoch": best["epoch"],
                "steps": best["step"],
                "train_acc_end": r.summary.get(S.TRAIN_ACC),
                "train_err": 1 - best[M.TRAIN_ACC],
                "val_err": 1 - best[M.VAL_ACC],
                "test_err": 1 - best[M.TEST_ACC],
                "gap_err": best[M.TRAIN_ACC] - best[M.TEST_ACC],
                "test_loss": best[M.TEST_LOSS],
                "epochs_evaluated": evaluated,
                "val_err_plus_bound": 1 - best[M.VAL_ACC] + slack,
                "bound_holds": 1 - best[M.TEST_ACC] <= 1 - best[M.VAL_ACC] + slack,
            }
        )
        # Kawaguchi's bound for what this analysis reports: the val-selected epoch of each run, chosen
        # among its `evaluated` epochs (|F_val|); every row is the model validation selected.
        bound.append(
            {
                "run": r.label,
                "m_val": m_val,
                "num_models": evaluated,
                "delta": DELTA,
                "val_error": 1 - best[M.VAL_ACC],
                "bound": slack,
                "val_error_plus_bound": 1 - best[M.VAL_ACC] + slack,
                "test_error": 1 - best[M.TEST_ACC],
                "holds": 1 - best[M.TEST_ACC] <= 1 - best[M.VAL_ACC] + slack,
                "selected": True,
            }
        )
    rows.sort(key=lambda x: (x["model"], x["m"], x["seed"]))
    tables = {"runs": rows, "validation_bound": bound}
    means, fits, heldout, figures = [], [], [], []
    for model in sorted({model for model, _ in ends}):
        model_means = _means(model, [x for x in rows if x["model"] == model], ends)
        means += model_means
        # sizes that did not fit their m images are left out of every fit: their error measures the
        # optimizer's budget, not the training-set size
        counted_means = [x for x in model_means if x["counted"]]
        counted_m = {x["m"] for x in counted_means}
        if len(counted_m) < 3:
            continue
        fits += _fits(model, [x for x in rows if x["model"] == model and x["m"] in counted_m], len(counted_m))
        if len(counted_m) >= N_HOLDOUT + 2:  # >= 2 sizes left to fit on
            m, err = [x["m"] for x in counted_means], [x["test_err"] for x in counted_means]
            h = stats.power_law_vs_log(m, err, n_holdout=N_HOLDOUT)
            heldout.append({"model": model, **h, "heldout_m": " ".join(f"{v:g}" for v in h["heldout_m"])})
    tables["learning_curve"] = means
    tables["power_law_fits"] = fits
    tables["heldout"] = heldout
    tables["residuals"] = _residuals(means, fits)
    if means:
        figures.append(_figure(means, fits, out))
    tables["verdicts"] = [_c6_verdict(means, fits, heldout, figures[0].name if figures else "")]
    return tables, figures


def left_out_because(end_accs: list, fit: float) -> str:
    """Why a size m does not count ("" when it does): a run that did not complete (or was never
    evaluated), or one that ended with train acc below `fit` on its m images (a model that has not
    fitted them is short of training, and its error says as much about the budget as about m)."""
    failed = sum(a is None for a in end_accs)
    if failed:
        return f"{failed} of {len(end_accs)} runs not completed or never evaluated"
    if min(end_accs) < fit:
        return f"train acc {pct(min(end_accs), 1)} < {fit:.0%}"
    return ""


def _means(model, sub, ends):
    """Per training-set size: mean over seeds with sd and t 95% CI (nan from one seed), and whether
    the size counts (every run fitted its m images)."""
    by_m = defaultdict(list)
    for x in sub:
        by_m[x["m"]].append(x)
    out = []
    for m in sorted(mm for mo, mm in ends if mo == model):
        te = stats.mean_ci([x["test_err"] for x in by_m[m]])
        ge = stats.mean_ci([x["gap_err"] for x in by_m[m]])
        why = left_out_because(ends[(model, m)], C6.params["fit"])
        out.append(
            {
                "model": model,
                "m": m,
                "runs": len(by_m[m]),
                "counted": not why,
                "left_out_because": why,
                "train_acc_end_min": min((a for a in ends[(model, m)] if a is not None), default=None),
                "test_err": te["mean"],
                "test_err_sd": te["sd"],
                "test_err_ci95_low": te["low"],
                "test_err_ci95_high": te["high"],
                "train_err": mean_std([x["train_err"] for x in by_m[m]])[0],
                "gap_err": ge["mean"],
                "gap_err_sd": ge["sd"],
                "gap_err_ci95_low": ge["low"],
                "gap_err_ci95_high": ge["high"],
                "epoch": mean_std([x["epoch"] for x in by_m[m]])[0],
            }
        )
    return out


def _note(f):
    """Say when the offset fit's floor c is imposed by its bounds rather than estimated."""
    if not f["c_at_bound"]:
        return ""
    if f["c"] <= 0.5 * f["c_max"]:
        return "c at bound: offset fit degenerates to the plain power law"
    return "c at bound: floor pinned at 0.999 x the smallest error, imposed rather than estimated"


def _fits(model, sub, m_values):
    """Power-law fits over the runs of the counted sizes (each run one point), exponent with a
    bootstrap 95% CI."""
    fits = []
    m_all, e_all = [x["m"] for x in sub], [x["test_err"] for x in sub]
    for offset in (False, True):
        # the offset fit is a nonlinear least squares per resample: 200 resamples keep the report fast
        f = stats.bootstrap_exponent(m_all, e_all, offset=offset, n_boot=200 if offset else 1000)
        f["c_max"] = 0.999 * min(e_all)  # the upper bound fit_power_law puts on c
        fits.append(
            {
                "model": model,
                "quantity": "test_err",
                "form": "a m^b + c" if offset else "a m^b",
                "b": f["b"],
                "b_low": f["b_low"],
                "b_high": f["b_high"],
                "a": f["a"],
                "c": f["c"],
                "c_at_bound": f["c_at_bound"],
                "note": _note(f),
                "rmse_log": f["rmse_log"],
                "runs": len(sub),
                "m_values": m_values,
            }
        )
    gaps = [(x["m"], x["gap_err"]) for x in sub if x["gap_err"] > 0]
    if len({m for m, _ in gaps}) >= 3:
        f = stats.bootstrap_exponent(*zip(*gaps))
        fits.append(
            {
                "model": model,
                "quantity": "gap_err",
                "form": "a m^b",
                "b": f["b"],
                "b_low": f["b_low"],
                "b_high": f["b_high"],
                "a": f["a"],
                "c": 0.0,
                "c_at_bound": False,
                "note": "",
                "rmse_log": f["rmse_log"],
                "runs": len(gaps),
                "m_values": len({m for m, _ in gaps}),
            }
        )
    return fits


def judge_model(counted_m: list, fit: dict | None, heldout: dict | None) -> tuple[str, str]:
    """(verdict, why) for one model under C6's rule (numbers from C6.params): too few counted sizes or
    less than a decade -> inconclusive; the exponent's CI holding 0 (flat), wholly outside the claimed
    range, or a + c ln m predicting the held-out sizes better (wrong functional form) -> not reproduced;
    the CI inside the range with the power law predicting at least as well -> reproduced; the CI
    straddling a range end -> inconclusive."""
    p = C6.params
    if len(counted_m) < p["min_sizes"] or max(counted_m) < 10 * min(counted_m):
        return "inconclusive", f"needs >= {p['min_sizes']} counted sizes over >= 1 decade"
    lo, hi = fit["b_low"], fit["b_high"]
    if lo <= 0 <= hi:
        return "not reproduced", "the CI of b holds 0: flat"
    if hi < p["b_low"] or lo > p["b_high"]:
        return "not reproduced", f"the CI of b outside [{p['b_low']:g}, {p['b_high']:g}]"
    if heldout["better"] == "log":
        return "not reproduced", "a + c ln m predicts the largest sizes better: not a power law"
    if p["b_low"] <= lo and hi <= p["b_high"]:
        return "reproduced", f"the CI of b inside [{p['b_low']:g}, {p['b_high']:g}], the power law predicts better"
    return "inconclusive", f"the CI of b straddles an end of [{p['b_low']:g}, {p['b_high']:g}]"


def over_models(judged: list[str]) -> str:
    """All reproduced -> reproduced; some -> partly (the claim holds for some model families only);
    none but one not reproduced -> not reproduced; all inconclusive (or no model) -> inconclusive."""
    if judged and all(v == "reproduced" for v in judged):
        return "reproduced"
    if "reproduced" in judged:
        return "partly"
    return "not reproduced" if "not reproduced" in judged else "inconclusive"


def _sizes(ms) -> str:
    return f"{min(ms):g}-{max(ms):g} ({len(ms)} sizes)" if ms else "none"


def _c6_verdict(means, fits, heldout, figure):
    """C6 (CLAIMS above): each model judged on its counted sizes only, then combined over models."""
    judged, parts, n_sizes = [], [], []
    for model in sorted({x["model"] for x in means}):
        sub = [x for x in means if x["model"] == model]
        counted_m = [x["m"] for x in sub if x["counted"]]
        fit = next((f for f in fits if f["model"] == model and (f["form"], f["quantity"]) == PLAIN), None)
        h = next((h for h in heldout if h["model"] == model), None)
        verdict, why = judge_model(counted_m, fit, h)
        judged.append(verdict)
        n_sizes.append((len(counted_m), len(sub)))
        text = f"{model} {verdict} ({why}): counted m {_sizes(counted_m)}"
        left_out = [f"{x['m']:g} ({x['left_out_because']})" for x in sub if not x["counted"]]
        if left_out:
            text += "; left out " + ", ".join(left_out)
        if fit is not None:
            text += f"; b {fit['b']:.3f} [{fit['b_low']:.3f}, {fit['b_high']:.3f}]"
        if h is not None:
            text += (
                f"; held-out RMSE at m = {h['heldout_m']}: power law {h['power_rmse_heldout']:.4f} "
                f"vs log {h['log_rmse_heldout']:.4f}"
            )
        parts.append(text)
    counted_cells = [x["runs"] for x in means if x["counted"]]
    counted, shown = (" + ".join(str(n[i]) for n in n_sizes) for i in (0, 1))
    varied = f"{len(n_sizes)} model{'s' * (len(n_sizes) != 1)}; {counted} counted sizes m (of {shown})"
    return verdict_row(
        C6,
        over_models(judged),
        "; ".join(parts) if parts else "no runs",
        replicates=min(counted_cells, default=None),
        varied=varied,
        figure=figure,
    )


def _predict(fit, m):
    return fit["a"] * np.asarray(m, float) ** fit["b"] + fit["c"]


def _residuals(means, fits):
    rows = []
    for f in fits:
        if f["quantity"] != "test_err" or f["b"] is None:  # None: a fit that failed has no curve
            continue
        for x in means:
            if x["model"] == f["model"] and np.isfinite(x["test_err"]):
                pred = float(_predict(f, x["m"]))
                rows.append(
                    {
                        "model": f["model"],
                        "form": f["form"],
                        "m": x["m"],
                        "counted": x["counted"],
                        "test_err": x["test_err"],
                        "fit": pred,
                        "log_residual": float(np.log(x["test_err"] / pred)),
                    }
                )
    return rows


def _figure(means, fits, out):
    """Test error and gap vs m per model; sizes left out of the fits (not fitted) drawn hollow."""
    models = sorted({x["model"] for x in means})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    anchored = False  # the reference slopes, drawn once at the first model with a counted size
    for i, model in enumerate(models):
        color = f"C{i}"
        sub = [x for x in means if x["model"] == model]
        for counted in (True, False):
            pts = [x for x in sub if x["counted"] == counted]
            if not pts:
                continue
            m = np.array([x["m"] for x in pts], float)
            for ax, key in ((axes[0], "test_err"), (axes[1], "gap_err")):
                # error bars: sd over seeds (none drawn from one seed)
                ax.errorbar(
                    m,
                    [x[key] for x in pts],
                    yerr=np.nan_to_num([x[f"{key}_sd"] for x in pts]),
                    fmt="o",
                    color=color,
                    mfc=color if counted else "none",
                    label=model if counted else f"{model}: left out (not fitted)",
                    ms=4,
                )
        counted_m = np.array([x["m"] for x in sub if x["counted"]], float)
        if len(counted_m) < 2:
            continue
        grid = np.geomspace(counted_m.min(), counted_m.max(), 50)
        for f in fits:
            if f["model"] != model or f["b"] is None:
                continue
            ax = axes[0] if f["quantity"] == "test_err" else axes[1]
            style = "-" if f["form"] == "a m^b" else "--"
            ax.plot(
                grid,
                _predict(f, grid),
                style,
                color=color,
                lw=1,
                label=f"{f['form']}: b = {f['b']:.3f} [{f['b_low']:.3f}, {f['b_high']:.3f}]",
            )
        if not anchored:  # reference slopes anchored at this model's smallest counted m
            anchored = True
            e0 = next(x["test_err"] for x in sub if x["counted"])
            p = C6.params
            for b, name, ls in (
                (HESTNESS_IMAGE_TOP1, f"Hestness image top-1 ({HESTNESS_IMAGE_TOP1})", (0, (1, 1))),
                (p["b_low"], f"claimed range [{p['b_low']:g}, {p['b_high']:g}]", (0, (3, 3))),
                (p["b_high"], None, (0, (3, 3))),
                (THEORY[0], "theory -0.5", (0, (5, 2, 1, 2))),
                (THEORY[1], "theory -1", (0, (8, 3))),
            ):
                axes[0].plot(grid, e0 * (grid / grid[0]) ** b, color="gray", ls=ls, lw=0.8, label=name)
    axes[0].set(
        xscale="log", yscale="log", xlabel="training-set size m", ylabel="test error (val-selected epoch), bars: sd"
    )
    axes[1].set(xscale="log", yscale="log", xlabel="training-set size m", ylabel="test error - train error")
    for ax in axes:
        ax.legend(fontsize=6)
    return save_figure(fig, out / "learning_curve.png")
