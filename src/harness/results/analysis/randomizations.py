"""Zhang et al. 2017 (C1), Figure 1a: the randomizations (labels, pixels) are fitted."""

from __future__ import annotations

from pathlib import Path

from ...names import M, S
from ..claims import ZHANG, Claim
from .common import plt, save_figure, steps_to_fit, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C1_FIG1A = Claim(
    "C1 Figure 1a: randomizations fitted",
    ZHANG,
    "all five fitted (loss -> 0)",
    "true labels, random labels, shuffled pixels, random pixels and Gaussian inputs are all fitted",
    "a condition is fitted when its run completed (a run that diverged or never trained is not fitted) having "
    "reached train acc >= {fit:.0%} within the budget. All five fitted -> reproduced; true and random labels only -> "
    "partly; else not reproduced; a condition without a run (and true and random labels not failed) -> "
    "inconclusive (an existence claim: one seed each, no interval)",
    "train acc >= 99% in each condition",
    "a seed (one per condition)",
    "randomizations",
    {"fit": 0.99},
)

CLAIMS = (C1_FIG1A,)
CLAIM = C1_FIG1A
SWEEPS = (("randomizations/cpu", "experiment=randomizations"),)
MINUTES = 3
ORDER = 3  # its place on the dashboard and in `make reproduce`

FIT = CLAIM.params["fit"]
CONDITIONS = ("true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")  # Figure 1a's five


def randomizations(runs, out: Path):
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for r in runs:
        kind = r.config.get("row") or r.config["data"]["input_randomization"]
        curve = [(m[M.STEP], m[M.EPOCH_LOSS]) for m in r.metrics if M.EPOCH_LOSS in m]
        if curve:
            ax.plot(*zip(*curve), label=kind)
        completed = r.summary.get(S.STATUS) == "completed"
        steps = steps_to_fit(r.metrics, FIT)
        rows.append(
            {
                "randomization": kind,
                "steps_to_fit": steps,
                "threshold": FIT,
                "train_acc": r.summary.get(S.TRAIN_ACC),
                "test_acc": r.summary.get(S.TEST_ACC),
                "epochs": r.summary.get(S.EPOCHS),
                "stop_reason": r.summary.get(S.STOP_REASON),
                "status": r.summary.get(S.STATUS),
                # a run that diverged (or failed) is not fitted, whatever accuracy it passed on the way
                "fitted": completed and steps is not None,
            }
        )
    ax.set(xlabel="steps", ylabel="training loss (epoch mean)", title="Figure 1a: fitting randomized CIFAR-10")
    ax.legend()
    figure = save_figure(fig, out / "figure1a_loss_vs_steps.png")
    return {"randomizations": rows, "verdicts": [_figure1a_verdict(rows, figure.name)]}, [figure]


def _figure1a_verdict(rows, figure):
    """Figure 1a by its declared test (CLAIMS above), an existence claim with one seed per condition: a
    condition is fitted when each of its runs completed and reached train acc >= FIT. All five ->
    reproduced; true and random labels but an input randomization not -> partly; true or random labels
    not fitted -> not reproduced; else (a condition without runs) -> inconclusive."""
    fitted = {c: [r["fitted"] for r in rows if r["randomization"] == c] for c in CONDITIONS}
    fits = {c: bool(f) and all(f) for c, f in fitted.items()}
    missing = [c for c, f in fitted.items() if not f]
    if any(fitted[c] and not fits[c] for c in ("true_labels", "random_labels")):
        verdict = "not reproduced"
    elif missing:
        verdict = "inconclusive"
    else:
        verdict = "reproduced" if all(fits.values()) else "partly"
    base = next((r["steps_to_fit"] for r in rows if r["randomization"] == "true_labels" and r["fitted"]), None)
    measured = "steps to fit: " + ", ".join(
        f"{r['randomization']} {r['steps_to_fit']}" + (f" ({r['steps_to_fit'] / base:.1f}x)" if base else "")
        if r["fitted"]
        else f"{r['randomization']} not fitted ({r['status']}, train acc {r['train_acc']})"
        for r in rows
    )
    if missing:
        measured += f"; no run of {', '.join(missing)}"
    return verdict_row(
        CLAIM,
        verdict,
        measured,
        replicates=min((len(f) for f in fitted.values() if f), default=0),
        varied=f"{len(CONDITIONS)} input/label randomizations",
        figure=figure,
    )
