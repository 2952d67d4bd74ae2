"""Smith & Le 2018 (CLAIMS.md C7): the optimal batch size grows with the learning rate, the
training-set size and 1/(1 - momentum)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.ticker import NullFormatter

from .. import stats
from .common import plt, save_figure, verdict_row


def refine_optimum(log_b, acc) -> float:
    """log2 B at the maximum of acc(log2 B): the argmax, refined by the vertex of the parabola
    through it and its two neighbours (kept between them); the argmax itself at the grid's edge.
    The grid need not be regular: a missing (diverged) batch size is simply not in it."""
    i = int(np.argmax(acc))
    if i == 0 or i == len(acc) - 1:
        return float(log_b[i])
    a, b, _ = np.polyfit(log_b[i - 1 : i + 2], acc[i - 1 : i + 2], 2)
    if a >= 0:
        return float(log_b[i])
    return float(np.clip(-b / (2 * a), log_b[i - 1], log_b[i + 1]))


def b_opt_of(by_batch: dict[int, dict], seeds) -> tuple[float, bool] | None:
    """(B_opt, at the grid's edge) from {B: {seed: test accuracy}} using only `seeds` (a multiset:
    a bootstrap resample). Batch sizes with no run among those seeds (diverged, missing) are left
    out; None when fewer than 3 batch sizes remain."""
    batches, acc = [], []
    for b in sorted(by_batch):
        values = [by_batch[b][s] for s in seeds if s in by_batch[b]]
        if values:
            batches.append(b)
            acc.append(np.mean(values))
    if len(batches) < 3:
        return None
    i = int(np.argmax(acc))
    return float(2 ** refine_optimum(np.log2(batches), np.array(acc))), i in (0, len(acc) - 1)


def optimal_batch_size(by_batch: dict[int, dict], boots: int = 1000, seed: int = 0) -> dict:
    """B_opt of one setting with a percentile 95% interval from a bootstrap over seeds that keeps
    each seed's runs together across the batch sizes (a seed's whole row of the grid is resampled)."""
    seeds = sorted({s for runs in by_batch.values() for s in runs})
    point = b_opt_of(by_batch, seeds)
    if point is None:
        return {"b_opt": None, "at_grid_edge": None, "ci_low": None, "ci_high": None}
    ci = stats.cluster_bootstrap(
        lambda ss: (lambda o: o[0] if o else None)(b_opt_of(by_batch, ss)), seeds, n_boot=boots, seed=seed
    )
    return {"b_opt": point[0], "at_grid_edge": point[1], "ci_low": ci["low"], "ci_high": ci["high"]}


class Setting(NamedTuple):
    """What a B grid is swept at: learning rate, training-set size, momentum, epochs per run."""

    lr: float
    train_size: int
    momentum: float
    max_epochs: int | None

    def held(self, line: str) -> dict:
        """The values held fixed along a line of kind `line` (see LINES)."""
        fixed = {"lr": self.lr, "train_size": self.train_size, "momentum": self.momentum, "max_epochs": self.max_epochs}
        if line == "N at equal updates":
            # equal epochs x N = equal examples seen = equal updates at every B (None: budget unknown)
            examples = self.train_size * self.max_epochs if self.max_epochs is not None else None
            return {"lr": self.lr, "momentum": self.momentum, "examples": examples}
        return {k: v for k, v in fixed.items() if k != LINES[line][0]}


# the lines along which Smith & Le's law is tested: label -> (the variable, how it enters the law).
# "N" keeps the epochs fixed (the paper's protocol: a larger N also means more updates);
# "N at equal updates" keeps epochs x N fixed, the test of that confound (issue 12 item 6).
LINES = {
    "eps": ("lr", lambda s: s.lr),
    "N": ("train_size", lambda s: s.train_size),
    "1/(1-m)": ("momentum", lambda s: 1 / (1 - s.momentum)),
    "N at equal updates": ("train_size", lambda s: s.train_size),
}
CLAIMS = {
    "eps": "C7 B_opt ~ eps",
    "N": "C7 B_opt ~ N",
    "1/(1-m)": "C7 B_opt ~ 1/(1-m)",
    "N at equal updates": "C7 B_opt ~ N at equal updates",
}


def _lines(groups) -> dict:
    """For each line kind: {held values (sorted items): [settings along it]} with >= 3 values of its variable."""
    out = {}
    for label, (variable, _) in LINES.items():
        lines = defaultdict(list)
        for setting in groups:
            held = setting.held(label)
            if held.get("examples", 0) is None:
                continue  # a record without its epoch budget cannot be placed on an equal-updates line
            lines[tuple(sorted(held.items()))].append(setting)
        out[label] = {k: sorted(v) for k, v in lines.items() if len({getattr(s, variable) for s in v}) >= 3}
    return out


def loglog_slope_of(groups, settings, x_of, seeds):
    """Slope of log B_opt on log x over the settings whose optimum the grid brackets; None if < 3."""
    pts = []
    for s in settings:
        o = b_opt_of(groups[s], seeds)
        if o is not None and not o[1]:
            pts.append((x_of(s), o[0]))
    if len({x for x, _ in pts}) < 3:
        return None
    return stats.slope_ci(*zip(*pts), log=True)["slope"]


def slope_verdict(low, high, slope) -> str:
    """Criterion (fixed before the data) for "B_opt proportional to x": the 95% interval of the
    log-log slope contains 1 and excludes 0 -> reproduced; excludes 0 and 1 with a positive slope
    (grows, not proportionally) -> partly; contains 0 and 1 -> inconclusive; otherwise not reproduced."""
    if low is None or not np.isfinite(low) or not np.isfinite(high):
        return "inconclusive"
    has0, has1 = low <= 0 <= high, low <= 1 <= high
    if has1 and not has0:
        return "reproduced"
    if has1 and has0:
        return "inconclusive"
    if not has0 and slope > 0:
        return "partly"
    return "not reproduced"


def batch_lr_scaling(runs, out: Path):
    groups = defaultdict(lambda: defaultdict(dict))  # Setting -> B -> {seed: test acc}
    diverged = 0
    for r in runs:
        if r.summary.get("status") == "completed":
            groups[_setting(r)][r.config["trainer"]["batch_size"]][r.config["seed"]] = r.summary["test_acc"]
        diverged += r.summary.get("status") == "diverged"
    optima = {}  # Setting -> its row of b_opt.csv
    for setting, by_batch in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        o = optimal_batch_size(by_batch)
        if o["b_opt"] is None:
            continue
        best = max(by_batch, key=lambda b: np.mean(list(by_batch[b].values())))
        optima[setting] = {
            **setting._asdict(),
            "batch_sizes": len(by_batch),
            "seeds": min(len(v) for v in by_batch.values()),
            "b_opt": o["b_opt"],
            "b_opt_ci95_low": o["ci_low"],
            "b_opt_ci95_high": o["ci_high"],
            "b_argmax": best,
            "best_test_acc": float(np.mean(list(by_batch[best].values()))),
            # the maximum sits on the smallest/largest B tried: B_opt is only a bound there
            "at_grid_edge": o["at_grid_edge"],
        }
    seeds = sorted({r.config["seed"] for r in runs})
    fits = [
        _fit(label, dict(held), settings, groups, optima, seeds)
        for label, lines in _lines(groups).items()
        for held, settings in sorted(lines.items(), key=lambda kv: str(kv[0]))
    ]
    fits = [f for f in fits if f is not None]
    figures = [_heat_map(groups, out), _optimum_plots(optima, fits, out), _collapse(runs, out)]
    verdicts = []
    for label, claim in CLAIMS.items():
        line = max((f for f in fits if f["b_opt_vs"] == label), key=lambda f: f["points"], default=None)
        if line is None:
            verdicts.append(
                verdict_row(
                    claim,
                    "inconclusive",
                    _C7_CRITERION,
                    "fewer than 3 bracketed optima",
                    paper=_C7_PAPER,
                    seeds=len(seeds),
                )
            )
            continue
        verdicts.append(
            verdict_row(
                claim,
                line["verdict"],
                _C7_CRITERION,
                paper=_C7_PAPER,
                seeds=len(seeds),
                figure="b_opt_fits.png",
                measured=f"log-log slope {line['loglog_slope']:.2f} [{line['ci95_low']:.2f}, {line['ci95_high']:.2f}] "
                f"over {line['points']} settings ({diverged} diverged runs left out)",
            )
        )
    return {"b_opt": list(optima.values()), "b_opt_fits": fits, "verdicts": verdicts}, [
        f for f in figures if f is not None
    ]


def _fit(label, held, settings, groups, optima, seeds) -> dict | None:
    """The log-log slope of B_opt along one line, with the union of its OLS interval over the
    settings and a paired bootstrap over seeds; None with fewer than 3 bracketed optima."""
    x_of = LINES[label][1]
    bracketed = [s for s in settings if s in optima and not optima[s]["at_grid_edge"]]
    if len(bracketed) < 3:
        return None
    ols = stats.slope_ci([x_of(s) for s in bracketed], [optima[s]["b_opt"] for s in bracketed], log=True)
    boot = stats.cluster_bootstrap(lambda ss: loglog_slope_of(groups, settings, x_of, ss), seeds, n_boot=1000)
    low, high = min(ols["low"], boot["low"]), max(ols["high"], boot["high"])
    return {
        "b_opt_vs": label,
        **{k: held.get(k) for k in ("lr", "train_size", "momentum", "max_epochs", "examples")},
        "points": len(bracketed),
        "loglog_slope": ols["slope"],
        "ols_ci95_low": ols["low"],
        "ols_ci95_high": ols["high"],
        "seed_bootstrap_ci95_low": boot["low"],
        "seed_bootstrap_ci95_high": boot["high"],
        "ci95_low": low,
        "ci95_high": high,
        "r2_loglog": ols["r2"],
        "verdict": slope_verdict(low, high, ols["slope"]),
    }


_C7_PAPER = "linear B_opt trends (log-log slope 1; Figures 5b, 6b, 7b)"
_C7_CRITERION = (
    "95% interval of the log-log slope of B_opt (union of the OLS t-interval over settings and a "
    "paired bootstrap over seeds) contains 1 and excludes 0 -> reproduced; excludes both with slope > 0 "
    "-> partly; contains both -> inconclusive; else not reproduced; optima on the grid's edge left out"
)


def _setting(run) -> Setting:
    c = run.config
    epochs = c["trainer"].get("max_epochs")
    return Setting(c["optimizer"]["lr"], run.summary["data_train_size"], c["optimizer"]["momentum"], epochs)


def _order(setting: Setting):
    """Sort key that tolerates a missing epoch budget (old or fake records)."""
    return (setting.lr, setting.train_size, setting.momentum, setting.max_epochs or 0)


def _heat_map(groups, out):
    keys = list(groups)
    if not keys:
        return None
    rest = max((k[1:] for k in keys), key=lambda r: sum(k[1:] == r for k in keys))  # most common (N, m, epochs)
    lrs = sorted({k.lr for k in keys if k[1:] == rest})
    batches = sorted({b for k in keys if k[1:] == rest for b in groups[k]})
    grid = np.full((len(lrs), len(batches)), np.nan)
    for i, eps in enumerate(lrs):
        for j, b in enumerate(batches):
            if groups[Setting(eps, *rest)].get(b):
                grid[i, j] = np.mean(list(groups[Setting(eps, *rest)][b].values()))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(batches)), [str(b) for b in batches])
    ax.set_yticks(range(len(lrs)), [f"{e:g}" for e in lrs])
    ax.set(xlabel="batch size B", ylabel="learning rate eps", title=f"test accuracy (N={rest[0]}, m={rest[1]})")
    fig.colorbar(im)
    return save_figure(fig, out / "heatmap_test_acc.png")


# one panel per variable; both kinds of N line share the N panel
PANELS = (("eps", ("eps",)), ("N", ("N", "N at equal updates")), ("1/(1-m)", ("1/(1-m)",)))


def _optimum_plots(optima, fits, out):
    """B_opt (95% seed-bootstrap interval) against each variable, log-log, with the fitted slope
    and the proportional law through the first point for comparison."""
    if not optima:
        return None
    fig, axes = plt.subplots(1, len(PANELS), figsize=(12, 3.6))
    for ax, (xlabel, labels) in zip(axes, PANELS):
        for fit in (f for f in fits if f["b_opt_vs"] in labels):
            label, x_of = fit["b_opt_vs"], LINES[fit["b_opt_vs"]][1]
            on_line = [
                s
                for s, o in optima.items()
                if not o["at_grid_edge"] and all(fit[k] == v for k, v in s.held(label).items())
            ]
            xs = np.array([x_of(s) for s in on_line])
            ys = np.array([optima[s]["b_opt"] for s in on_line])
            err = np.array(
                [
                    [y - (optima[s]["b_opt_ci95_low"] or y) for y, s in zip(ys, on_line)],
                    [(optima[s]["b_opt_ci95_high"] or y) - y for y, s in zip(ys, on_line)],
                ]
            )
            bars = ax.errorbar(xs, ys, yerr=np.clip(err, 0, None), fmt="o", capsize=3)
            grid = np.geomspace(xs.min(), xs.max(), 20)
            c = np.exp(np.mean(np.log(ys) - fit["loglog_slope"] * np.log(xs)))
            kind = {"N at equal updates": "equal updates: ", "N": "equal epochs: "}.get(label, "")
            ax.plot(
                grid,
                c * grid ** fit["loglog_slope"],
                "--",
                color=bars[0].get_color(),
                label=f"{kind}slope {fit['loglog_slope']:.2f} [{fit['ci95_low']:.2f}, {fit['ci95_high']:.2f}]",
            )
            ax.plot(grid, ys[0] * grid / xs[0], ":", color="grey")
        if ax.get_legend_handles_labels()[0]:
            ax.plot([], [], ":", color="grey", label="proportional")
            ax.legend(fontsize=7)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="B_opt", title=f"B_opt vs {xlabel}")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log axis
    return save_figure(fig, out / "b_opt_fits.png")


def _collapse(runs, out):
    pts = [
        (r.summary["noise_scale"], r.summary["test_acc"])
        for r in runs
        if r.summary.get("status") == "completed" and r.summary.get("noise_scale")
    ]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(*zip(*pts), s=12)
    ax.set(
        xscale="log",
        xlabel="noise scale g = eps (N/B - 1) / (1 - m)",
        ylabel="test accuracy",
        title="test accuracy vs noise scale",
    )
    return save_figure(fig, out / "test_acc_vs_noise_scale.png")
