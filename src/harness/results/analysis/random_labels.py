"""Zhang et al. 2017 (C1): a network memorizes CIFAR-10 with completely random labels."""

from __future__ import annotations

from pathlib import Path

from ...names import CHANCE_ACC, M, S
from .. import stats
from ..claims import CHANCE, CHANCE_TEST, ZHANG, Claim
from .common import pct, plt, save_figure, tost_chance, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C1_MEMORIZED = Claim(
    "C1 random labels memorized",
    ZHANG,
    "MLP 1x512: train 99.34%, test 10.61% (lr x0.95 per epoch)",
    "a network fits completely random labels of CIFAR-10 (train acc ~100%) while its test accuracy stays at chance",
    CHANCE_TEST + ". Zhang's schedule (lr x0.95 per epoch) memorizes at chance -> reproduced; only this project's "
    "step schedule (x0.1 at epoch 100) does -> partly; a leak, or no schedule memorizes -> not reproduced; "
    ">= {min_replicates} replicates per schedule, else inconclusive",
    "train acc >= 99%; test acc within 1 point of 10%",
    "a seed with its own init, batch order and label draw",
    "random_labels",
    {**CHANCE, "lo": 0.09, "hi": 0.11, "min_replicates": 3},
    confirmatory="seeds 0-2, label draw = seed, Zhang's and the step schedule",
)

CLAIMS = (C1_MEMORIZED,)
CLAIM = C1_MEMORIZED
SWEEPS = (
    ("random_labels/cpu", "experiment=random_labels"),  # seeds 0-2, the step schedule (x0.1 at epoch 100)
    # Zhang et al.'s own schedule, lr x0.95 per epoch (docs/confirmatory.md)
    (
        "random_labels/zhang_schedule",
        "experiment=random_labels schedule=exponential schedule.gamma=0.95 trainer.max_epochs=100",
    ),
)
MINUTES = 60
ORDER = 1  # its place on the dashboard and in `make reproduce`

MEMORIZED = CLAIM.params["memorized"]  # full-train-set accuracy in eval mode, as Zhang et al. measure it
ZHANG_SCHEDULE = "Zhang's x0.95 per epoch"


def schedule_of(config: dict) -> str:
    """Zhang et al.'s own schedule (lr x0.95 per epoch) or the one this project adds."""
    s = config.get("schedule", {})
    if s.get("lr") == "exponential" and s.get("gamma") == 0.95:
        return ZHANG_SCHEDULE
    if s.get("lr") == "step":
        return f"step x{s.get('gamma'):g} at epochs {', '.join(map(str, s.get('milestones', [])))}"
    return str(s.get("name", "?"))


def replicates(runs):
    """One run per label draw: runs that share a draw (`data.randomization_seed`) are one replicate,
    represented by the run of the lowest seed; the others are reported but not counted."""
    kept: dict = {}
    for r in sorted(runs, key=lambda r: r.config.get("seed", 0)):
        kept.setdefault(r.config.get("data", {}).get("randomization_seed", 0), r)
    return list(kept.values())


def random_labels(runs, out: Path):
    """C1, the headline: memorization at chance, per schedule, at the replicate level (CLAIMS above)."""
    rows = [_row(r) for r in sorted(runs, key=lambda r: (schedule_of(r.config), r.config["seed"]))]
    groups = {}
    for name in dict.fromkeys(row["schedule"] for row in rows):
        sub = [r for r in runs if schedule_of(r.config) == name]
        counted = replicates(sub)
        for row in rows:
            if row["schedule"] == name:
                row["counted"] = any(r.config["seed"] == row["seed"] for r in counted)
        groups[name] = _group(name, counted)
    figure = _figure(runs, out)
    return {"random_labels": rows, "schedules": list(groups.values()), "verdicts": [_verdict(groups, figure)]}, [figure]


def _row(r) -> dict:
    n_test = r.summary[S.TEST_SIZE]
    test_lo, test_hi = stats.binomial_ci(round(r.summary[S.TEST_ACC] * n_test), n_test)
    return {
        "schedule": schedule_of(r.config),
        "seed": r.config["seed"],
        "label_draw": r.config.get("data", {}).get("randomization_seed", 0),
        "model": r.config["model"]["name"],
        "train_size": r.summary[S.TRAIN_SIZE],
        "realised_corruption": r.summary[S.REALISED_CORRUPTION],
        "train_acc": r.summary[S.TRAIN_ACC],
        "test_acc": r.summary[S.TEST_ACC],
        "test_acc_ci95_low": test_lo,
        "test_acc_ci95_high": test_hi,
        "test_size": n_test,
        "memorized": r.summary[S.TRAIN_ACC] >= MEMORIZED,
        "epochs": r.summary[S.EPOCHS],
        "steps": r.summary[S.STEPS],
        "stop_reason": r.summary[S.STOP_REASON],
        "wall_time_s": round(r.summary[S.WALL_TIME], 1),
    }


def _group(name: str, counted) -> dict:
    """A schedule's replicates: memorized in every one, and their test accuracy at chance (TOST)."""
    p = CLAIM.params
    chance = tost_chance([r.summary[S.TEST_ACC] for r in counted], p["chance"], p["lo"], p["hi"])
    memorized = bool(counted) and all(r.summary[S.TRAIN_ACC] >= MEMORIZED for r in counted)
    if len(counted) < p["min_replicates"]:
        state = "too few replicates"
    elif chance["state"] in ("leak", "below"):
        state = chance["state"]
    elif not memorized:
        state = "not memorized"
    else:
        state = "memorized at chance" if chance["state"] == "at chance" else "chance undecided"
    return {
        "schedule": name,
        "replicates": len(counted),
        "train_acc_min": min((r.summary[S.TRAIN_ACC] for r in counted), default=None),
        "test_acc_mean": chance["mean"],
        "test_acc_ci90_low": chance["ci90_low"],
        "test_acc_ci90_high": chance["ci90_high"],
        "state": state,
    }


def _verdict(groups: dict, figure) -> dict:
    """The declared rule (claims.C1_MEMORIZED): a leak (or below chance) anywhere -> not reproduced;
    Zhang's schedule memorizes at chance -> reproduced; another schedule does -> partly; every
    schedule with enough replicates fails to memorize -> not reproduced; else inconclusive."""
    states = {g["state"] for g in groups.values()}
    decided = [g for g in groups.values() if g["state"] != "too few replicates"]
    if states & {"leak", "below"}:
        verdict = "not reproduced"
    elif groups.get(ZHANG_SCHEDULE, {}).get("state") == "memorized at chance":
        verdict = "reproduced"
    elif "memorized at chance" in states:
        verdict = "partly"
    elif decided and all(g["state"] == "not memorized" for g in decided):
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    measured = "; ".join(
        f"{g['schedule']} ({g['replicates']} replicates): train >= {pct(g['train_acc_min'])}, test "
        f"{pct(g['test_acc_mean'])} [{pct(g['test_acc_ci90_low'])}, {pct(g['test_acc_ci90_high'])}] (90% CI): "
        f"{g['state']}"
        for g in groups.values()
    )
    return verdict_row(
        CLAIM,
        verdict,
        measured,
        replicates=min((g["replicates"] for g in groups.values()), default=0),
        varied=f"{len(groups)} lr schedules",
        figure=figure.name,
    )


def _figure(runs, out: Path):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for r in sorted(runs, key=lambda r: (schedule_of(r.config), r.config["seed"])):
        evals = [m for m in r.metrics if M.TEST_ACC in m]
        label = f"{schedule_of(r.config)}, seed {r.config['seed']}"
        line = ax.plot([m["epoch"] for m in evals], [m[M.TRAIN_ACC] for m in evals], label=label)
        ax.plot([m["epoch"] for m in evals], [m[M.TEST_ACC] for m in evals], "--", color=line[0].get_color())
    ax.axhline(CHANCE_ACC, color="k", lw=0.6)
    ax.axhline(MEMORIZED, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="epoch", ylabel="accuracy (eval mode; test dashed)", ylim=(0, 1.02), title="random CIFAR-10 labels")
    ax.legend(fontsize=6)
    return save_figure(fig, out / "random_labels_accuracy.png")
