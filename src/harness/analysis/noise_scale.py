"""Smith & Le 2018 and Smith et al. 2018 (CLAIMS.md C7, C8): the optimal batch size grows with the
learning rate, the training-set size and 1/(1 - momentum); increasing the batch size can replace
decaying the learning rate."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .common import mean_std, plt, save_figure


def refine_optimum(log_b, acc) -> float:
    """log2 B at the maximum of acc(log2 B): the argmax, refined by the vertex of the parabola
    through it and its two neighbours (kept between them); the argmax itself at the grid's edge."""
    i = int(np.argmax(acc))
    if i == 0 or i == len(acc) - 1:
        return float(log_b[i])
    a, b, _ = np.polyfit(log_b[i - 1 : i + 2], acc[i - 1 : i + 2], 2)
    if a >= 0:
        return float(log_b[i])
    return float(np.clip(-b / (2 * a), log_b[i - 1], log_b[i + 1]))


def optimal_batch_size(by_batch: dict[int, list[float]], boots: int = 200, seed: int = 0):
    """(B_opt, bootstrap std of B_opt) from {B: [test accuracy of each seed]}.

    The bootstrap resamples the seeds of every B independently; with one seed per B the spread is 0.
    """
    batches = sorted(by_batch)
    log_b = np.log2(batches)
    mean_acc = np.array([np.mean(by_batch[b]) for b in batches])
    b_opt = 2 ** refine_optimum(log_b, mean_acc)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(boots):
        acc = np.array([np.mean(rng.choice(by_batch[b], size=len(by_batch[b]))) for b in batches])
        samples.append(2 ** refine_optimum(log_b, acc))
    return float(b_opt), round(float(np.std(samples)), 9)  # (float noise would print as 1e-14)


def linear_fit(x, y) -> dict:
    """y = slope x + intercept by least squares, its R^2, and the log-log slope (1 if y ~ x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1 - np.sum(residual**2) / total if total > 0 else float("nan")
    loglog = np.polyfit(np.log(x), np.log(y), 1)[0] if np.all(x > 0) and np.all(y > 0) else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "r2": float(r2), "loglog_slope": float(loglog)}


def _setting(run):
    c = run.config
    return (c["optimizer"]["lr"], run.summary["data_train_size"], c["optimizer"]["momentum"])


def batch_lr_scaling(runs, out: Path):
    groups = defaultdict(lambda: defaultdict(list))  # (eps, N, m) -> B -> [test acc per seed]
    for r in runs:
        if r.summary.get("status") == "completed":
            groups[_setting(r)][r.config["trainer"]["batch_size"]].append(r.summary["test_acc"])
    optima = []
    for (eps, n, m), by_batch in sorted(groups.items()):
        if len(by_batch) < 3:
            continue
        b_opt, spread = optimal_batch_size(by_batch)
        best = max(by_batch, key=lambda b: np.mean(by_batch[b]))
        optima.append({"lr": eps, "train_size": n, "momentum": m, "batch_sizes": len(by_batch),
                       "seeds": min(map(len, by_batch.values())), "b_opt": b_opt, "b_opt_bootstrap_std": spread,
                       "b_argmax": best, "best_test_acc": float(np.mean(by_batch[best])),
                       # the maximum sits on the smallest/largest B tried: B_opt is only a bound there
                       "at_grid_edge": best in (min(by_batch), max(by_batch))})
    fits = []
    for variable, x_of, label in [("lr", lambda o: o["lr"], "eps"), ("train_size", lambda o: o["train_size"], "N"),
                                  ("momentum", lambda o: 1 / (1 - o["momentum"]), "1/(1-m)")]:
        others = [k for k in ("lr", "train_size", "momentum") if k != variable]
        lines = defaultdict(list)
        for o in optima:
            if not o["at_grid_edge"]:  # fit only optima that the grid brackets
                lines[tuple(o[k] for k in others)].append(o)
        for fixed, points in sorted(lines.items()):
            if len({o[variable] for o in points}) >= 3:
                fit = linear_fit([x_of(o) for o in points], [o["b_opt"] for o in points])
                held = {"lr": None, "train_size": None, "momentum": None, **dict(zip(others, fixed))}
                fits.append({"b_opt_vs": label, **held, "points": len(points), **fit})
    figures = [_heat_map(groups, out), _optimum_plots(optima, fits, out), _collapse(runs, out)]
    return {"b_opt": optima, "b_opt_fits": fits}, [f for f in figures if f is not None]


def _heat_map(groups, out):
    keys = [k for k in groups]
    if not keys:
        return None
    n, m = max(((k[1], k[2]) for k in keys), key=lambda nm: sum(k[1:] == nm for k in keys))  # most common (N, m)
    lrs = sorted({k[0] for k in keys if k[1:] == (n, m)})
    batches = sorted({b for k in keys if k[1:] == (n, m) for b in groups[k]})
    grid = np.full((len(lrs), len(batches)), np.nan)
    for i, eps in enumerate(lrs):
        for j, b in enumerate(batches):
            if groups[(eps, n, m)].get(b):
                grid[i, j] = np.mean(groups[(eps, n, m)][b])
    fig, ax = plt.subplots(figsize=(6, 3.8))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(batches)), [str(b) for b in batches])
    ax.set_yticks(range(len(lrs)), [f"{e:g}" for e in lrs])
    ax.set(xlabel="batch size B", ylabel="learning rate eps", title=f"test accuracy (N={n}, m={m})")
    fig.colorbar(im)
    return save_figure(fig, out / "heatmap_test_acc.png")


def _optimum_plots(optima, fits, out):
    if not optima:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (variable, label, x_of) in zip(axes, [("lr", "eps", lambda o: o["lr"]),
                                                  ("train_size", "N", lambda o: o["train_size"]),
                                                  ("momentum", "1/(1-m)", lambda o: 1 / (1 - o["momentum"]))]):
        for fit in (f for f in fits if f["b_opt_vs"] == label):
            others = {k: fit[k] for k in ("lr", "train_size", "momentum") if k != variable}
            points = [o for o in optima if all(o[k] == v for k, v in others.items()) and not o["at_grid_edge"]]
            xs = np.array([x_of(o) for o in points])
            ax.errorbar(xs, [o["b_opt"] for o in points], yerr=[o["b_opt_bootstrap_std"] for o in points],
                        fmt="o", capsize=3)
            grid = np.linspace(0, xs.max() * 1.05, 50)
            ax.plot(grid, fit["slope"] * grid + fit["intercept"], "--",
                    label=f"slope {fit['slope']:.3g}, R2 {fit['r2']:.2f}")
        ax.set(xlabel=label, ylabel="B_opt", title=f"B_opt vs {label}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return save_figure(fig, out / "b_opt_fits.png")


def _collapse(runs, out):
    pts = [(r.summary["noise_scale"], r.summary["test_acc"]) for r in runs
           if r.summary.get("status") == "completed" and r.summary.get("noise_scale")]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(*zip(*pts), s=12)
    ax.set(xscale="log", xlabel="noise scale g = eps (N/B - 1) / (1 - m)", ylabel="test accuracy",
           title="test accuracy vs noise scale")
    return save_figure(fig, out / "test_acc_vs_noise_scale.png")


def schedule_vs_batch(runs, out: Path):
    by_schedule = defaultdict(list)
    for r in runs:
        by_schedule[r.config["schedule"]["name"]].append(r)
    rows = []
    fig, (ax_e, ax_u) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, group in sorted(by_schedule.items()):
        acc_mean, acc_std = mean_std([r.summary["test_acc"] for r in group])
        steps_mean, _ = mean_std([r.summary["steps"] for r in group])
        rows.append({"schedule": name, "seeds": len(group), "test_acc_mean": acc_mean, "test_acc_std": acc_std,
                     "updates_mean": steps_mean, "final_batch_size": group[0].metrics[-1]["batch_size"]
                     if group[0].metrics else None})
        first = group[0].metrics
        ax_e.plot([m["epoch"] for m in first], [m["test/acc"] for m in first], label=name)
        ax_u.plot([m["step"] for m in first], [m["test/acc"] for m in first], label=name)
    ax_e.set(xlabel="epochs", ylabel="test accuracy", title="vs epochs")
    ax_u.set(xlabel="parameter updates", ylabel="test accuracy", title="vs parameter updates")
    ax_e.legend()
    path = save_figure(fig, out / "test_acc_vs_epochs_and_updates.png")
    base = next((r for r in rows if r["schedule"] == "decay_lr"), None)
    for r in rows:
        r["fewer_updates_than_decay_lr"] = (base["updates_mean"] / r["updates_mean"]) if base else None
    return {"schedules": rows}, [path]
