"""Zhang et al. 2017 (CLAIMS.md C1): a network memorizes CIFAR-10 with completely random labels."""

from __future__ import annotations

from pathlib import Path

from .. import stats
from .common import chance_interval, pct, plt, save_figure, verdict_row

MEMORIZED = 0.99  # "fits the training set": full-train-set accuracy in eval mode, as Zhang et al. measure it


def random_labels(runs, out: Path):
    """C1, the headline: an MLP reaches >= 99% train accuracy on random labels with test accuracy at chance.

    Criterion (fixed before the data): every run memorizes (train acc >= 0.99) and its test
    accuracy lies inside the 95% binomial interval of chance (10%) for its test-set size ->
    reproduced; every run >= 0.95 train acc, or test acc outside that interval -> partly;
    otherwise not reproduced."""
    rows = []
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for r in runs:
        n_test = r.summary["data_test_size"]
        lo, hi = chance_interval(n_test)
        test_lo, test_hi = stats.binomial_ci(round(r.summary["test_acc"] * n_test), n_test)
        rows.append(
            {
                "seed": r.config["seed"],
                "model": r.config["model"]["name"],
                "train_size": r.summary["data_train_size"],
                "realised_corruption": r.summary["data_realised_corruption"],
                "train_acc": r.summary["train_acc"],
                "test_acc": r.summary["test_acc"],
                "test_acc_ci95_low": test_lo,
                "test_acc_ci95_high": test_hi,
                "test_size": n_test,
                "chance_low": lo,
                "chance_high": hi,
                "memorized": r.summary["train_acc"] >= MEMORIZED,
                "test_at_chance": lo <= r.summary["test_acc"] <= hi,
                "epochs": r.summary["epochs"],
                "steps": r.summary["steps"],
                "stop_reason": r.summary["stop_reason"],
                "wall_time_s": round(r.summary["wall_time_s"], 1),
            }
        )
        evals = [m for m in r.metrics if "test/acc" in m]
        ax.plot([m["epoch"] for m in evals], [m["train/acc"] for m in evals], label=f"train (seed {r.config['seed']})")
        ax.plot(
            [m["epoch"] for m in evals], [m["test/acc"] for m in evals], "--", label=f"test (seed {r.config['seed']})"
        )
    ax.axhline(0.1, color="k", lw=0.6)
    ax.set(xlabel="epoch", ylabel="accuracy (eval mode)", ylim=(0, 1.02), title="random CIFAR-10 labels")
    ax.legend(fontsize=7)
    figure = save_figure(fig, out / "random_labels_accuracy.png")
    if all(r["memorized"] and r["test_at_chance"] for r in rows):
        verdict = "reproduced"
    elif all(r["train_acc"] >= 0.95 for r in rows):
        verdict = "partly"
    else:
        verdict = "not reproduced"
    measured = "; ".join(
        f"train {pct(r['train_acc'])}, test {pct(r['test_acc'])} "
        f"[{pct(r['test_acc_ci95_low'])}, {pct(r['test_acc_ci95_high'])}]"
        for r in rows
    )
    row = verdict_row(
        "C1 random labels memorized",
        verdict,
        paper="MLP 1x512: train 99.34%, test 10.61%",
        measured=measured,
        seeds=len(rows),
        figure=figure.name,
        criterion="every run: train acc >= 99% and test acc inside the 95% binomial interval of 10% "
        f"(n = {rows[0]['test_size'] if rows else '?'}: "
        f"{pct(rows[0]['chance_low']) if rows else ''}-{pct(rows[0]['chance_high']) if rows else ''})",
    )
    return {"random_labels": rows, "verdicts": [row]}, [figure]
