"""Zhang et al. 2017 (CLAIMS.md C1): Table 1, Figure 1a (randomizations), Figure 1b-c (corruption)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from .common import mean_std, plt, save_figure, steps_to_fit

# Zhang et al. 2017, Table 1: (train %, test %); None where the paper has no cell.
PAPER_TABLE1 = {
    "inception_small": {"crop_wd": (100, 89.05), "crop": (100, 89.31), "wd": (100, 86.03), "none": (100, 85.75),
                        "random_labels": (100, 9.78)},
    "inception_no_bn": {"wd": (100, 83.00), "none": (100, 82.00), "random_labels": (100, 10.12)},
    "alexnet_small": {"crop_wd": (99.90, 81.22), "crop": (99.82, 79.66), "wd": (100, 77.36), "none": (100, 76.07),
                      "random_labels": (99.82, 9.86)},
    "mlp_3x512": {"wd": (100, 53.35), "none": (100, 52.39), "random_labels": (100, 10.48)},
    "mlp_1x512": {"wd": (99.80, 50.39), "none": (100, 50.51), "random_labels": (99.34, 10.61)},
}
TABLE1_COLUMNS = ["crop_wd", "crop", "wd", "none", "random_labels"]


def zhang_table1(runs, out: Path):
    rows = []
    for r in runs:
        model, column = r.config["model"]["name"], r.config.get("table1_row")
        paper = PAPER_TABLE1.get(model, {}).get(column, (None, None))
        rows.append({"model": model, "column": column, "paper_train_pct": paper[0], "paper_test_pct": paper[1],
                     "train_pct": round(100 * r.summary["train_acc"], 2), "test_pct": round(100 * r.summary["test_acc"], 2),
                     "val_pct": round(100 * r.summary["val_acc"], 2) if "val_acc" in r.summary else None,
                     "train_size": r.summary["data_train_size"], "epochs": r.summary["epochs"],
                     "stop_reason": r.summary["stop_reason"], "wall_time_s": round(r.summary["wall_time_s"]),
                     "status": r.summary["status"]})
    order = {m: i for i, m in enumerate(PAPER_TABLE1)}
    rows.sort(key=lambda row: (order.get(row["model"], 99), TABLE1_COLUMNS.index(row["column"])
                               if row["column"] in TABLE1_COLUMNS else 99))
    return {"table1": rows}, []


def randomizations(runs, out: Path):
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for r in runs:
        kind = r.config.get("randomization", r.config["data"]["input_randomization"])
        curve = [(m["step"], m["train/epoch_loss"]) for m in r.metrics if "train/epoch_loss" in m]
        ax.plot(*zip(*curve), label=kind)
        threshold = r.config["trainer"]["target_train_acc"]
        rows.append({"randomization": kind, "steps_to_fit": steps_to_fit(r.metrics, threshold),
                     "threshold": threshold, "train_acc": r.summary["train_acc"], "test_acc": r.summary["test_acc"],
                     "epochs": r.summary["epochs"], "stop_reason": r.summary["stop_reason"]})
    ax.set(xlabel="steps", ylabel="training loss (epoch mean)",
           title="Figure 1a: fitting randomized CIFAR-10")
    ax.legend()
    return {"randomizations": rows}, [save_figure(fig, out / "figure1a_loss_vs_steps.png")]


def corruption_sweep(runs, out: Path):
    by_p = defaultdict(list)
    for r in runs:
        by_p[float(r.config["data"]["corruption_prob"])].append(r)
    base, _ = mean_std([steps_to_fit(r.metrics, r.config["trainer"]["target_train_acc"]) for r in by_p.get(0.0, [])])
    rows = []
    for p in sorted(by_p):
        group = by_p[p]
        fits = [steps_to_fit(r.metrics, r.config["trainer"]["target_train_acc"]) for r in group]
        ratios = [f / base for f in fits if f is not None] if base else []
        steps_mean, steps_std = mean_std(fits)
        ratio_mean, ratio_std = mean_std(ratios)
        err_mean, err_std = mean_std([1 - r.summary["test_acc"] for r in group])
        rows.append({"corruption_prob": p, "seeds": len(group), "fitted": sum(f is not None for f in fits),
                     "realised_corruption": statistics.fmean(r.summary["data_realised_corruption"] for r in group),
                     "steps_to_fit_mean": steps_mean, "steps_to_fit_std": steps_std,
                     "time_to_fit_vs_p0_mean": ratio_mean, "time_to_fit_vs_p0_std": ratio_std,
                     "test_error_mean": err_mean, "test_error_std": err_std})
    figures = []
    for key, ylabel, title, name in [
        ("time_to_fit_vs_p0", "time to fit / time at p = 0", "Figure 1b: convergence slowdown", "figure1b_time_to_fit"),
        ("test_error", "test error after fitting", "Figure 1c: generalization error growth", "figure1c_test_error"),
    ]:
        pts = [(row["corruption_prob"], row[f"{key}_mean"], row[f"{key}_std"]) for row in rows if row[f"{key}_mean"] is not None]
        fig, ax = plt.subplots(figsize=(5, 3.6))
        if pts:
            ax.errorbar(*zip(*pts), marker="o", capsize=3)
        ax.set(xlabel="label corruption p", ylabel=ylabel, title=title)
        figures.append(save_figure(fig, out / f"{name}.png"))
    return {"corruption_sweep": rows}, figures
