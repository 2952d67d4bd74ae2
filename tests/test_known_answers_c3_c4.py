"""Known answers for C3 (Dinh, Keskar) and C4 (the validation bound): record sets built so each claim
is false in several ways, and one true but noisy."""

import json

import numpy as np
import pytest
from helpers import fake_run, prediction_runs, run_report, table, verdict_rows, verdicts

from harness import report

ALPHAS = (0.1, 1, 10, 100)


def reparam_rows(change=1e-5, accs=None, eig_power=2):
    return [
        {
            "variant": v,
            "alpha": a,
            "max_abs_output_change": 0.0 if a == 1 else change,
            "test_acc": (accs or {}).get(a, 0.453),
            "top_eig": 3.0 * max(a, 1 / a) ** eig_power,
            "trace": 50.0,
            "trace_se": 1.0,
            "eps_sharpness": 2500.0,
            "hvps": 53,
        }
        for v in ("two_layer", "multi_layer")
        for a in ALPHAS
    ]


def reparam_run(path, rows):
    fake_run(
        path,
        "sharp_minima",
        {"train_acc": 0.99, "test_acc": 0.453, "val_acc": 0.45, "reparameterization": "reparameterization.json"},
        [],
        tags=["sharp_minima"],
        seed=0,
    )
    (path / "reparameterization.json").write_text(json.dumps(rows))
    return path.parent


@pytest.mark.parametrize(
    "rows, verdict",
    [
        (reparam_rows(), "reproduced"),
        (reparam_rows(change=0.3), "not reproduced"),  # the rescaled net is not the same function
        (reparam_rows(accs={100: 0.44}), "not reproduced"),  # test accuracy moved
        (reparam_rows(eig_power=0.5), "not reproduced"),  # top eigenvalue spans only 10x
    ],
)
def test_dinh_verdict(tmp_path, rows, verdict):
    out = run_report(reparam_run(tmp_path / "s" / "0", rows), tmp_path)
    v = verdicts(out)
    assert v["C3 Dinh: same function, any sharpness"] == verdict
    assert v["C3 Keskar: large batch sharper and worse"] == "inconclusive"  # no keskar runs


def keskar_runs(path, groups, stop_reason="target_train_loss"):
    """groups: {batch size: [(test_acc, eps_sharpness) per seed]}; the last run stops by `stop_reason`."""
    job, last = 0, sum(len(seeds) for seeds in groups.values()) - 1
    for b, seeds in groups.items():
        for seed, (acc, sharp) in enumerate(seeds):
            fake_run(
                path / str(job),
                "sharp_minima",
                {
                    "train_acc": 0.99,
                    "test_acc": acc,
                    "val_acc": acc,
                    "curvature_top_eig": sharp / 10,
                    "curvature_trace": sharp * 2,
                    "curvature_eps_sharpness": sharp,
                    "train_loss": 0.049,
                    "stop_reason": stop_reason if job == last else "target_train_loss",
                },
                [],
                tags=["sharp_minima", "keskar"],
                trainer={"batch_size": b, "target_train_acc": 0.99},
                seed=seed,
            )
            job += 1
    return path


SMALL = [(0.800, 30.0), (0.810, 28.0), (0.805, 29.0)]
LARGE = [(0.770, 700.0), (0.775, 710.0), (0.772, 690.0)]


@pytest.mark.parametrize(
    "groups, verdict",
    [
        ({128: SMALL, 1000: LARGE}, "reproduced"),
        # sharper, but the accuracies overlap within the seeds' spread
        ({128: SMALL, 1000: [(0.81, 700.0), (0.76, 710.0), (0.79, 690.0)]}, "partly"),
        # the large batch is not sharper
        ({128: SMALL, 1000: [(a, s) for (a, _), (_, s) in zip(LARGE, SMALL)]}, "not reproduced"),
        ({128: SMALL[:2], 1000: LARGE[:2]}, "inconclusive"),  # 2 seeds per group
    ],
)
def test_keskar_verdict(tmp_path, groups, verdict):
    out = run_report(keskar_runs(tmp_path / "s", groups), tmp_path)
    v = verdicts(out)
    assert v["C3 Keskar: large batch sharper and worse"] == verdict
    assert v["C3 Dinh: same function, any sharpness"] == "inconclusive"  # no reparameterization rows
    keskar = table(out, "keskar")
    assert {"test_acc_sd", "test_acc_ci95_low", "test_acc_ci95_high"} <= set(keskar[0])
    assert not any(k.endswith("_std") for k in keskar[0])
    if len(groups[128]) == 3:
        small = keskar[0]
        assert float(small["test_acc_ci95_low"]) < float(small["test_acc"]) < float(small["test_acc_ci95_high"])


def test_keskar_verdict_needs_every_run_trained_to_the_target(tmp_path):
    """A large-batch run cut by its epoch budget is less trained, not only larger-batch: no verdict."""
    out = run_report(keskar_runs(tmp_path / "s", {128: SMALL, 1000: LARGE}, stop_reason="max_epochs"), tmp_path)
    v = verdicts(out)
    assert v["C3 Keskar: large batch sharper and worse"] == "inconclusive"
    assert (out / "keskar_sharpness_vs_test_acc.png").exists()


# --- C5 curvature at init ------------------------------------------------------------------------


def test_validation_bound_holds_when_val_and_test_come_from_one_distribution(tmp_path):
    errs = np.linspace(0.4, 0.6, 8)
    out = report.report(prediction_runs(tmp_path / "s", 8, errs, errs), tmp_path / "out", wandb_mode="disabled")
    v = verdict_rows(out)
    assert v["C4 validation bound holds"]["verdict"] == "reproduced"
    assert v["C4 validation bound is informative"]["verdict"] == "reproduced"
    rows = table(out, "resampled_bound")
    assert [int(r["m_val"]) for r in rows] == [50, 200, 1000, 5000]
    assert all(float(r["violation_rate_any"]) <= 0.05 for r in rows)
    # the bound shrinks as 1/sqrt(m_val): 50 -> 5000 is a factor 10
    assert float(rows[0]["bound"]) / float(rows[-1]["bound"]) == pytest.approx(10.0)


def test_validation_bound_fails_when_the_validation_set_flatters(tmp_path):
    # val error 0.3 but test error 0.5: the validation set does not represent the test distribution
    out = report.report(
        prediction_runs(tmp_path / "s", 4, [0.3] * 4, [0.5] * 4), tmp_path / "out", wandb_mode="disabled"
    )
    assert verdict_rows(out)["C4 validation bound holds"]["verdict"] == "not reproduced"
