"""Known answers for C6 (power-law learning curves): record sets built so the claim is false in
several ways, and one true but noisy."""

import numpy as np
import pytest
from helpers import fake_run, run_report, table, verdicts

EPOCHS = 4


def learning_curve_runs(path, err_of_m, sizes=(500, 1000, 2000, 4000, 8000), model="mlp_1x512", job=0):
    """3 seeds per size; the validation accuracy peaks at the last of EPOCHS evaluations."""
    for m in sizes:
        for seed in range(3):
            err = err_of_m(m) * (1 + 0.01 * (seed - 1))
            evals = [
                {
                    "step": 10 * e,
                    "epoch": e,
                    "train/acc": 0.9,
                    "val/acc": 1 - err - 0.01 * (EPOCHS - e),
                    "test/acc": 1 - err - 0.01 * (EPOCHS - e),
                    "test/loss": 1.0,
                }
                for e in range(1, EPOCHS + 1)
            ]
            fake_run(
                path / str(job),
                "learning_curve",
                {
                    "train_acc": 0.9,
                    "test_acc": 1 - err,
                    "val_acc": 1 - err,
                    "data_train_size": m,
                    "data_val_size": 5000,
                },
                evals,
                model=model,
                subset=m,
                seed=seed,
            )
            job += 1
    return path


@pytest.mark.parametrize(
    "err_of_m, verdict",
    [
        (lambda m: 4 * m**-0.3, "reproduced"),
        # linear in ln m: a power law fits the small sizes but a + c ln m extrapolates better
        (lambda m: 0.75 - 0.08 * np.log(m / 500), "partly"),
        (lambda m: 0.5, "not reproduced"),  # flat: the exponent's CI includes 0
        (lambda m: 4e3 * m**-1.5, "not reproduced"),  # steeper than the theory's -1
    ],
)
def test_learning_curve_verdict(tmp_path, err_of_m, verdict):
    out = run_report(learning_curve_runs(tmp_path / "s", err_of_m), tmp_path)
    assert verdicts(out)["C6 power-law learning curve"] == verdict
    heldout = table(out, "heldout")
    assert heldout[0]["heldout_m"] == "4000 8000" and int(heldout[0]["n_fit"]) == 3
    means = table(out, "learning_curve")
    assert {"test_err_sd", "test_err_ci95_low", "test_err_ci95_high", "gap_err_sd"} <= set(means[0])


def test_learning_curve_with_three_sizes_is_inconclusive(tmp_path):
    out = run_report(learning_curve_runs(tmp_path / "s", lambda m: 4 * m**-0.3, sizes=(500, 1000, 2000)), tmp_path)
    assert verdicts(out)["C6 power-law learning curve"] == "inconclusive"


def test_learning_curve_mixed_models_is_partly(tmp_path):
    sweep = learning_curve_runs(tmp_path / "s", lambda m: 4 * m**-0.3)
    learning_curve_runs(sweep, lambda m: 0.5, model="alexnet_small", job=100)
    assert verdicts(run_report(sweep, tmp_path))["C6 power-law learning curve"] == "partly"


def test_offset_fit_with_its_floor_at_a_bound_says_so(tmp_path):
    # a pure power law has no floor: the offset fit's c sits at its lower bound 0
    out = run_report(learning_curve_runs(tmp_path / "s", lambda m: 4 * m**-0.3), tmp_path)
    offset = next(r for r in table(out, "power_law_fits") if r["form"] == "a m^b + c")
    assert offset["c_at_bound"] == "yes"
    assert offset["note"] == "c at bound: offset fit degenerates to the plain power law"
    plain = next(r for r in table(out, "power_law_fits") if r["form"] == "a m^b")
    assert plain["c_at_bound"] == "no" and plain["note"] == ""


def test_learning_curve_validation_bound_counts_the_evaluated_epochs(tmp_path):
    out = run_report(learning_curve_runs(tmp_path / "s", lambda m: 4 * m**-0.3), tmp_path)
    rows = table(out, "validation_bound")
    assert len(rows) == 15 and all(int(r["num_models"]) == EPOCHS for r in rows)
    assert all(r["selected"] == "yes" and r["holds"] == "yes" for r in rows)
    # the reported (val-selected) errors: val = test here, and the slack for 4 models on 5,000 images
    first = rows[0]
    assert float(first["bound"]) == pytest.approx(np.sqrt(np.log(EPOCHS / 0.05) / (2 * 5000)))
    assert float(first["val_error"]) == pytest.approx(float(first["test_error"]))
