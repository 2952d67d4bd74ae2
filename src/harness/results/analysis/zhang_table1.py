"""Zhang et al. 2017 (C1), Table 1: train and test accuracy with and without explicit
regularization, and on random labels."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ...names import CHANCE_ACC, M, S
from .. import stats
from ..claims import CHANCE, CHANCE_TEST, ZHANG, Claim
from .common import pct, plt, save_figure, tost_chance, verdict_row
from .random_labels import MEMORIZED, replicates

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C1_TABLE1 = Claim(
    "C1 Table 1",
    ZHANG,
    "train 99.34-100% everywhere; random labels test 9.78-10.61%",
    "explicit regularization is not needed to fit: every cell of Table 1 fits its training set, random labels at "
    "chance",
    "every random-label cell: " + CHANCE_TEST + "; every true-label cell fits (train acc >= {memorized:.0%} in every "
    "replicate) -> reproduced; a leak or a random-label cell not memorized -> not reproduced; else partly "
    "(runs that share a label draw count once)",
    "train acc >= 99% in every cell; random-label test acc within 1 point of 10%",
    "a seed with its own init and batch order; for random labels also its own label draw",
    "zhang_table1",
    {**CHANCE, "lo": 0.09, "hi": 0.11},
    confirmatory="random-label cells with label draw = seed (seeds 1, 2 re-run)",
)

C1_TABLE1_CNN = Claim(
    "C1 Table 1: a CNN on a subset",
    ZHANG,
    "small AlexNet, 50,000 images: random labels train 99.82%, test 9.86%",
    "a CNN memorizes random labels too",
    "every random-label run reaches train acc >= {memorized:.0%} -> reproduced; stopped by its epoch budget below "
    "that -> inconclusive (how far it got is the measurement); no random-label run -> inconclusive",
    "train acc >= 99%",
    "a seed",
    "zhang_table1",
    {"memorized": 0.99},
)

# declared 2026-12-07 00:50 UTC, before any evaluation of its runs was read (docs/confirmatory.md)
C1_TABLE1_CNN_FULL = Claim(
    "C1 Table 1: the small AlexNet on all training images",
    ZHANG,
    "small AlexNet, 50,000 images: train 99.82-100% in every column; random labels test 9.86%",
    "Zhang et al.'s CNN row: the small AlexNet fits every column of Table 1, random labels at chance",
    "the five columns ({columns}) on all training images, each with a completed run, else inconclusive (the "
    "runs' progress is the measurement). Every run reaches train acc >= {memorized:.0%}, and the random-label "
    "test acc is at chance: with >= {min_draws} label draws the 90% t-interval of their mean inside [{lo:.0%}, "
    "{hi:.0%}] (TOST, as for Table 1), with fewer each run's 95% Wilson interval over its test images inside it "
    "-> reproduced with >= {min_draws} draws, partly with fewer (one draw is not a replicate-level test); a leak "
    "(the interval's lower end above {hi:.0%}) -> not reproduced; a run stopped by its epoch budget below "
    "{memorized:.0%} -> inconclusive (the budget, not the model, may be what stops it)",
    "train acc >= 99% in every column; random-label test acc within 1 point of 10%",
    "a seed with its own init and batch order; for random labels also its own label draw",
    "zhang_table1",
    {**CHANCE, "lo": 0.09, "hi": 0.11, "min_draws": 3, "columns": "crop_wd, crop, wd, none, random_labels"},
    confirmatory="seed 0 in every column (issue 33), declared before its runs were read",
)

CLAIMS = (
    C1_TABLE1,
    C1_TABLE1_CNN,
    C1_TABLE1_CNN_FULL,
)
SWEEPS = (
    ("zhang_table1/cpu", "experiment=zhang_table1"),
    ("zhang_table1/cnn", "experiment=zhang_table1_cnn"),
    # the small AlexNet's row on all training images (C1_TABLE1_CNN_FULL): hours, resumable
    (
        "zhang_table1/alexnet_full",
        "experiment=zhang_table1 model=alexnet_small table1=crop_wd,crop,wd,none,random_labels seed=0",
    ),
)
# 18 MLP runs ~75 min; 2 small AlexNet runs on 20,000 images to 99% ~90 min; 5 on 45,000 images, up to 140
# epochs of ~3 min each with two at a time: ~15 h (an estimate from their first 5 epochs)
MINUTES = 1065
ORDER = 2  # its place on the dashboard and in `make reproduce`

# Zhang et al. 2017, Table 1: (train %, test %); None where the paper has no cell.
PAPER_TABLE1 = {
    "inception_small": {
        "crop_wd": (100, 89.05),
        "crop": (100, 89.31),
        "wd": (100, 86.03),
        "none": (100, 85.75),
        "random_labels": (100, 9.78),
    },
    "inception_no_bn": {"wd": (100, 83.00), "none": (100, 82.00), "random_labels": (100, 10.12)},
    "alexnet_small": {
        "crop_wd": (99.90, 81.22),
        "crop": (99.82, 79.66),
        "wd": (100, 77.36),
        "none": (100, 76.07),
        "random_labels": (99.82, 9.86),
    },
    "mlp_3x512": {"wd": (100, 53.35), "none": (100, 52.39), "random_labels": (100, 10.48)},
    "mlp_1x512": {"wd": (99.80, 50.39), "none": (100, 50.51), "random_labels": (99.34, 10.61)},
}
TABLE1_COLUMNS = ["crop_wd", "crop", "wd", "none", "random_labels"]


def zhang_table1(runs, out: Path):
    rows = []
    for r in runs:
        model, column = r.config["model"]["name"], r.config.get("row")
        paper = PAPER_TABLE1.get(model, {}).get(column, (None, None))
        n_test = r.summary[S.TEST_SIZE]
        # the test accuracy of one run is a proportion of n_test images: Wilson 95% interval
        lo, hi = stats.binomial_ci(round(r.summary[S.TEST_ACC] * n_test), n_test)
        rows.append(
            {
                "model": model,
                "column": column,
                "paper_train_pct": paper[0],
                "paper_test_pct": paper[1],
                "train_pct": round(100 * r.summary[S.TRAIN_ACC], 2),
                "test_pct": round(100 * r.summary[S.TEST_ACC], 2),
                "test_pct_ci95_low": round(100 * lo, 2),
                "test_pct_ci95_high": round(100 * hi, 2),
                "val_pct": round(100 * r.summary[S.VAL_ACC], 2) if "val_acc" in r.summary else None,
                "seed": r.config.get("seed"),
                "test_size": n_test,
                "train_size": r.summary[S.TRAIN_SIZE],
                "epochs": r.summary[S.EPOCHS],
                "stop_reason": r.summary[S.STOP_REASON],
                "wall_time_s": round(r.summary[S.WALL_TIME]),
                "status": r.summary[S.STATUS],
                # kept for the cell aggregates and the verdict; not written (no column of that name)
                "_run": r,
            }
        )
    order = {m: i for i, m in enumerate(PAPER_TABLE1)}
    rows.sort(
        key=lambda row: (
            order.get(row["model"], 99),
            TABLE1_COLUMNS.index(row["column"]) if row["column"] in TABLE1_COLUMNS else 99,
            row["seed"] is None,
            row["seed"] or 0,
        )
    )
    # rows trained on a subset of the training set (a CNN at cpu scale) are a claim of their own:
    # their budget, not the model, may keep them from fitting, and they must not decide Table 1's verdict
    full = [row for row in rows if not _on_subset(row["_run"])]
    subset = [row["_run"] for row in rows if _on_subset(row["_run"])]
    cells = _table1_cells(full)
    full_runs = [row["_run"] for row in full]
    for row in rows:
        del row["_run"]
    verdicts, figures = [_table1_verdict(cells)], []
    cnn_full = [r for r in full_runs if r.config["model"]["name"] == "alexnet_small"]
    if cnn_full:
        verdicts.append(_cnn_full_verdict(cnn_full))
    if subset:
        verdicts.append(_subset_verdict(subset))
        figures.append(_subset_curves(subset, out))
    tables = {"table1": rows, "verdicts": verdicts}
    if any(c["seeds"] > 1 for c in cells):  # several seeds per cell: the mean over replicates, with its interval
        tables["table1_mean"] = cells
    return tables, figures


def _on_subset(run) -> bool:
    return run.config.get("data", {}).get("subset") is not None


def _table1_cells(rows):
    """One row per (model, column) over its replicates: mean over seeds with sd and a t 95% CI (nan
    from one seed), the lowest train accuracy (memorization must hold for every replicate), and for
    random labels the replicate-level chance test (claims.C1_TABLE1: runs that share a label draw
    are one replicate, so several seeds of one draw are not pooled as independent predictions)."""
    cells = defaultdict(list)
    for row in rows:
        cells[(row["model"], row["column"])].append(row)
    p = C1_TABLE1.params
    out = []
    for (model, column), group in cells.items():
        runs = [g["_run"] for g in group]
        counted = replicates(runs) if column == "random_labels" else runs
        summaries = [r.summary for r in counted]
        test = stats.mean_ci([s[S.TEST_ACC] for s in summaries])
        train = stats.mean_ci([s[S.TRAIN_ACC] for s in summaries])
        chance = tost_chance([s[S.TEST_ACC] for s in summaries], p["chance"], p["lo"], p["hi"])
        out.append(
            {
                "model": model,
                "column": column,
                "seeds": len(group),
                "replicates": len(counted),
                "paper_train_pct": group[0]["paper_train_pct"],
                "paper_test_pct": group[0]["paper_test_pct"],
                "train_acc_mean": train["mean"],
                "train_acc_sd": train["sd"],
                "train_acc_min": min(s[S.TRAIN_ACC] for s in summaries),
                "test_acc_mean": test["mean"],
                "test_acc_sd": test["sd"],
                "test_acc_ci95_low": test["low"],
                "test_acc_ci95_high": test["high"],
                "test_acc_ci90_low": chance["ci90_low"],
                "test_acc_ci90_high": chance["ci90_high"],
                "chance": chance["state"] if column == "random_labels" else None,
            }
        )
    return out


def _table1_verdict(cells):
    """Zhang et al., Table 1, by the declared rule (claims.C1_TABLE1): every random-label cell
    memorizes in every replicate and its replicates' test accuracy is at chance (TOST), every
    true-label cell fits -> reproduced; a leak (or below chance) or a random-label cell not memorized
    -> not reproduced; else partly; no random-label cell -> inconclusive."""
    random = [c for c in cells if c["column"] == "random_labels"]
    true = [c for c in cells if c["column"] != "random_labels"]
    replicates_ = min((c["replicates"] for c in cells), default=0)
    varied = f"{len({c['model'] for c in cells})} models x {len({c['column'] for c in cells})} columns"
    if not random:
        return verdict_row(C1_TABLE1, "inconclusive", "no random_labels run", replicates=replicates_, varied=varied)
    memorized = all(c["train_acc_min"] >= MEMORIZED for c in random)
    off_chance = any(c["chance"] in ("leak", "below") for c in random)
    at_chance = all(c["chance"] == "at chance" for c in random)
    true_fit = all(c["train_acc_min"] >= MEMORIZED for c in true)
    if off_chance or not memorized:
        verdict = "not reproduced"
    else:
        verdict = "reproduced" if at_chance and true_fit else "partly"
    measured = "; ".join(
        f"{c['model']} random labels: train {pct(c['train_acc_min'])} (lowest of {c['replicates']} label draws), "
        f"test {pct(c['test_acc_mean'])} [{pct(c['test_acc_ci90_low'])}, {pct(c['test_acc_ci90_high'])}] "
        f"(90% CI over draws): {c['chance']}"
        for c in random
    )
    unfit = [f"{c['model']} {c['column']} {pct(c['train_acc_min'])}" for c in true if c["train_acc_min"] < MEMORIZED]
    measured += f"; true labels: {len(true) - len(unfit)} of {len(true)} cells fit" + (
        f" (not: {', '.join(unfit)})" if unfit else ""
    )
    return verdict_row(C1_TABLE1, verdict, measured, replicates=replicates_, varied=varied)


def _cnn_full_verdict(runs):
    """The small AlexNet's row of Table 1 on all training images, by its declared rule (C1_TABLE1_CNN_FULL)."""
    p = C1_TABLE1_CNN_FULL.params
    columns = [c.strip() for c in p["columns"].split(",")]
    by_column = defaultdict(list)
    for r in runs:
        by_column[r.config.get("row")].append(r)
    done = {c: [r for r in by_column[c] if r.summary.get(S.STATUS) == "completed"] for c in columns}

    def state(r):
        s = r.summary
        return f"{r.config.get('row')} (seed {r.config['seed']}): train {pct(s.get(S.TRAIN_ACC))}, test " \
            f"{pct(s.get(S.TEST_ACC))} after {s.get(S.EPOCHS, 0):g} epochs ({s.get(S.STATUS)})"  # fmt: skip

    progress = "; ".join(state(r) for c in columns for r in sorted(by_column[c], key=lambda r: r.config["seed"]))
    draws = replicates(done["random_labels"])
    kw = dict(replicates=len(draws), varied="5 columns", basis="all training images")
    missing = [c for c in columns if not done[c]]
    if missing:
        return verdict_row(C1_TABLE1_CNN_FULL, "inconclusive", f"not complete ({', '.join(missing)}): {progress}", **kw)
    every = [r for c in columns for r in done[c]]
    fitted = all(r.summary[S.TRAIN_ACC] >= p["memorized"] for r in every)
    accs = [r.summary[S.TEST_ACC] for r in draws]
    if len(draws) >= p["min_draws"]:
        chance = tost_chance(accs, p["chance"], p["lo"], p["hi"])["state"]
    else:  # each run's own interval over its test images
        intervals = [stats.binomial_ci(round(r.summary[S.TEST_ACC] * r.summary[S.TEST_SIZE]), r.summary[S.TEST_SIZE])
                     for r in draws]  # fmt: skip
        leak = any(lo > p["hi"] for lo, _ in intervals)
        inside = all(p["lo"] <= lo and hi <= p["hi"] for lo, hi in intervals)
        chance = "leak" if leak else ("at chance" if inside else "undecided")
    if chance in ("leak", "below"):
        verdict = "not reproduced"
    elif not fitted:
        verdict = "inconclusive"  # stopped by the epoch budget below the threshold
    elif chance == "at chance":
        verdict = "reproduced" if len(draws) >= p["min_draws"] else "partly"
    else:
        verdict = "inconclusive"
    return verdict_row(C1_TABLE1_CNN_FULL, verdict, f"random labels {chance}; {progress}", **kw)


def _subset_verdict(runs):
    """Zhang's CNN memorization on a subset (cpu scale: small AlexNet, 20,000 images, up to 40 epochs),
    by the declared rule (claims.C1_TABLE1_CNN): every random-label run reaches the memorization
    threshold -> reproduced; a run stopped by its epoch budget below it -> inconclusive (the budget,
    not the model, may be what stops it); no random-label run -> inconclusive."""
    random = [r for r in runs if r.config.get("row") == "random_labels"]
    if not random:
        return verdict_row(C1_TABLE1_CNN, "inconclusive", "no random_labels run", replicates=0)
    memorized = C1_TABLE1_CNN.params["memorized"]
    verdict = "reproduced" if all(r.summary[S.TRAIN_ACC] >= memorized for r in random) else "inconclusive"
    measured = "; ".join(
        f"{r.config['model']['name']} {r.config['row']} (seed {r.config['seed']}, "
        f"{r.summary['data_train_size']} images): train {pct(r.summary['train_acc'])}, test "
        f"{pct(r.summary['test_acc'])} after {r.summary['epochs']:g} epochs ({r.summary['stop_reason']})"
        for r in sorted(runs, key=lambda r: (r.config.get("row") == "random_labels", r.config["seed"]))
    )
    return verdict_row(
        C1_TABLE1_CNN,
        verdict,
        measured,
        replicates=len({r.config["seed"] for r in random}),
        varied="random vs true labels",
        figure="cnn_subset_train_acc.png",
    )


def _subset_curves(runs, out: Path):
    """Train and test accuracy against updates for the subset runs: how far each row got."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for r in sorted(runs, key=lambda r: (r.config.get("row"), r.config["seed"])):
        evals = [m for m in r.metrics if M.TRAIN_ACC in m and M.TEST_ACC in m]
        label = f"{r.config['row']} (seed {r.config['seed']})"
        line = ax.plot([m["step"] for m in evals], [m[M.TRAIN_ACC] for m in evals], "o-", label=f"train, {label}")
        ax.plot([m["step"] for m in evals], [m[M.TEST_ACC] for m in evals], "--", color=line[0].get_color())
    ax.axhline(MEMORIZED, color="grey", lw=0.8, ls=":")
    ax.axhline(CHANCE_ACC, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="updates (batch 128)", ylabel="accuracy (train solid, test dashed)", ylim=(0, 1))
    ax.set_title("small AlexNet on a subset: how far each row fits", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, out / "cnn_subset_train_acc.png")
