"""Known answers for Zhang et al.'s claims (C1): record sets built so each claim is false in several
ways, and one true but noisy; the verdict code must give each its word."""

import pytest
from helpers import curve, fake_run, random_label_runs, run_report, table, verdict_rows, verdicts

from harness import report

# --- C1 Table 1 ----------------------------------------------------------------------------------


def table1_runs(path, cells, seeds=(0,)):
    """cells: [(model, column, train_acc, test_acc)], one run per seed each."""
    job = 0
    for model, column, train, test in cells:
        for seed in seeds:
            fake_run(
                path / str(job),
                "zhang_table1",
                {"train_acc": train, "test_acc": test, "val_acc": test},
                curve(500, test),
                model=model,
                row=column,
                seed=seed,
            )
            job += 1
    return path


@pytest.mark.parametrize(
    "cells, verdict",
    [
        ([("mlp_3x512", "none", 1.0, 0.52), ("mlp_1x512", "random_labels", 0.995, 0.1003)], "reproduced"),
        # the true-label MLP does not fit the training set: random labels alone are memorized
        ([("mlp_3x512", "none", 0.90, 0.52), ("mlp_1x512", "random_labels", 0.995, 0.1003)], "partly"),
        # memorized, but 11.5% on 10,000 test images is outside chance's interval (9.4-10.6%)
        ([("mlp_3x512", "none", 1.0, 0.52), ("mlp_1x512", "random_labels", 0.995, 0.115)], "partly"),
        ([("mlp_3x512", "none", 1.0, 0.52), ("mlp_1x512", "random_labels", 0.60, 0.10)], "not reproduced"),
        ([("mlp_3x512", "none", 1.0, 0.52)], "inconclusive"),
    ],
)
def test_table1_verdict(tmp_path, cells, verdict):
    out = run_report(table1_runs(tmp_path / "s", cells), tmp_path)
    assert verdicts(out)["C1 Table 1"] == verdict
    rows = table(out, "table1")
    # each run's test accuracy carries its binomial 95% interval (10,000 images: about +-1 point at 52%)
    none = next(r for r in rows if r["column"] == "none")
    assert float(none["test_pct_ci95_low"]) < 52 < float(none["test_pct_ci95_high"])
    assert float(none["test_pct_ci95_high"]) - float(none["test_pct_ci95_low"]) == pytest.approx(1.96, abs=0.05)
    assert not (out / "table1_mean.csv").exists()  # one seed per cell: nothing to average


@pytest.mark.parametrize("random_train, verdict", [(0.995, "reproduced"), (0.35, "inconclusive")])
def test_a_cnn_on_a_subset_is_its_own_claim_and_does_not_decide_table1(tmp_path, random_train, verdict):
    cells = [("mlp_3x512", "none", 1.0, 0.52), ("mlp_1x512", "random_labels", 0.995, 0.1003)]
    sweep = table1_runs(tmp_path / "s", cells)
    for job, (column, train, test) in enumerate([("none", 0.93, 0.70), ("random_labels", random_train, 0.10)], 10):
        fake_run(
            sweep / str(job),
            "zhang_table1",
            {"train_acc": train, "test_acc": test, "val_acc": test, "data_train_size": 20000, "epochs": 10.0},
            curve(1000, test),
            model="alexnet_small",
            row=column,
            seed=0,
            data={"subset": 20000, "corruption_prob": 1.0 if column == "random_labels" else 0.0},
        )
    out = run_report(sweep, tmp_path)
    got = verdicts(out)
    assert got["C1 Table 1"] == "reproduced"  # the unfitted CNN true-label row (93%) is not one of its cells
    assert got["C1 Table 1: a CNN on a subset"] == verdict
    assert (out / "cnn_subset_train_acc.png").is_file()
    assert {r["model"] for r in table(out, "table1")} == {"mlp_3x512", "mlp_1x512", "alexnet_small"}


def test_table1_averages_several_seeds_per_cell(tmp_path):
    cells = [("mlp_3x512", "none", 1.0, 0.52), ("mlp_1x512", "random_labels", 0.995, 0.1003)]
    out = run_report(table1_runs(tmp_path / "s", cells, seeds=(0, 1, 2)), tmp_path)
    assert verdicts(out)["C1 Table 1"] == "reproduced"
    mean = {r["column"]: r for r in table(out, "table1_mean")}
    assert int(mean["none"]["seeds"]) == 3 and float(mean["none"]["test_acc_mean"]) == pytest.approx(0.52)
    assert int(mean["random_labels"]["test_predictions"]) == 30000  # pooled over the three seeds
    assert len(table(out, "table1")) == 6


# --- C2 adversarial ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "train_acc, test_acc, verdict",
    [
        (0.995, 0.1003, "reproduced"),  # memorized, test at chance
        (0.995, 0.113, "partly"),  # memorized, but 11.3% is outside chance's interval for 10,000 images
        (0.97, 0.10, "partly"),  # not quite memorized
        (0.60, 0.10, "not reproduced"),
    ],
)
def test_random_labels_verdict(tmp_path, train_acc, test_acc, verdict):
    out = report.report(random_label_runs(tmp_path / "s", train_acc, test_acc), tmp_path / "out", wandb_mode="disabled")
    assert verdict_rows(out)["C1 random labels memorized"]["verdict"] == verdict


def corruption_runs(path, fits, test_acc):
    """fits: {p: [steps to fit per seed]}; test_acc: {p: accuracy}."""
    job = 0
    for p, steps in fits.items():
        for seed, fit in enumerate(steps):
            fake_run(
                path / str(job),
                "corruption_sweep",
                {
                    "test_acc": test_acc[p],
                    "train_acc": 0.99,
                    "val_acc": test_acc[p],
                    "data_test_size": 10000,
                    "data_realised_corruption": 0.9 * p,
                },
                curve(fit, test_acc[p]),
                p=p,
                seed=seed,
            )
            job += 1
    return path


ACC = {0.0: 0.45, 0.5: 0.3, 1.0: 0.1}


@pytest.mark.parametrize(
    "fits, acc, v1b, v1c",
    [
        ({0.0: [1000, 1100, 1200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]}, ACC, "reproduced", "reproduced"),
        # p = 1 no slower than p = 0 within the seeds' spread
        ({0.0: [1000, 2000, 3000], 0.5: [1500, 1600, 1700], 1.0: [1100, 2100, 2900]}, ACC, "partly", "reproduced"),
        # 20x slower: not "a small constant factor"
        ({0.0: [100, 100, 200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]}, ACC, "not reproduced", "reproduced"),
        # test accuracy at p = 1 stays well above chance
        (
            {0.0: [1000, 1100, 1200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]},
            {**ACC, 1.0: 0.2},
            "reproduced",
            "partly",
        ),
    ],
)
def test_figure1bc_verdicts(tmp_path, fits, acc, v1b, v1c):
    out = report.report(corruption_runs(tmp_path / "s", fits, acc), tmp_path / "out", wandb_mode="disabled")
    v = verdict_rows(out)
    assert (v["C1 Figure 1b: time to fit vs p"]["verdict"], v["C1 Figure 1c: test error vs p"]["verdict"]) == (v1b, v1c)
