"""Zhang et al. 2017 (CLAIMS.md C1), Figure 1a: the randomizations (labels, pixels) are fitted."""

from __future__ import annotations

from pathlib import Path

from .common import plt, save_figure, steps_to_fit, verdict_row


def randomizations(runs, out: Path):
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for r in runs:
        kind = r.config.get("row") or r.config["data"]["input_randomization"]
        curve = [(m["step"], m["train/epoch_loss"]) for m in r.metrics if "train/epoch_loss" in m]
        ax.plot(*zip(*curve), label=kind)
        threshold = r.config["trainer"]["target_train_acc"]
        rows.append(
            {
                "randomization": kind,
                "steps_to_fit": steps_to_fit(r.metrics, threshold),
                "threshold": threshold,
                "train_acc": r.summary["train_acc"],
                "test_acc": r.summary["test_acc"],
                "epochs": r.summary["epochs"],
                "stop_reason": r.summary["stop_reason"],
            }
        )
    ax.set(xlabel="steps", ylabel="training loss (epoch mean)", title="Figure 1a: fitting randomized CIFAR-10")
    ax.legend()
    figure = save_figure(fig, out / "figure1a_loss_vs_steps.png")
    return {"randomizations": rows, "verdicts": [_figure1a_verdict(rows, figure.name)]}, [figure]


def _figure1a_verdict(rows, figure):
    """Zhang et al., Figure 1a: every randomization is fitted. Criterion (fixed before the data):
    all five conditions reach the fitting threshold within the budget -> reproduced; true and
    random labels fit but an input randomization does not -> partly; otherwise not reproduced."""
    fitted = {r["randomization"]: r["steps_to_fit"] is not None for r in rows}
    if rows and all(fitted.values()) and len(fitted) >= 5:
        verdict = "reproduced"
    elif fitted.get("true_labels") and fitted.get("random_labels"):
        verdict = "partly"
    else:
        verdict = "not reproduced"
    base = next((r["steps_to_fit"] for r in rows if r["randomization"] == "true_labels"), None)
    measured = ", ".join(
        f"{r['randomization']} {r['steps_to_fit'] if r['steps_to_fit'] else 'not fitted'}"
        + (f" ({r['steps_to_fit'] / base:.1f}x)" if base and r["steps_to_fit"] else "")
        for r in rows
    )
    return verdict_row(
        "C1 Figure 1a: randomizations fitted",
        verdict,
        paper="all five fitted (loss -> 0)",
        measured="steps to fit: " + measured,
        seeds=1,
        figure=figure,
        criterion=f"all five conditions reach train acc >= {rows[0]['threshold'] if rows else '?'} "
        "within the budget (1 seed: no interval; this is an existence claim)",
    )
