"""Smith & Le / Smith et al.: B_opt estimation and fits on synthetic data with known answers;
the three schedules of schedule_vs_batch produce the (lr, B) sequences of the paper."""


import numpy as np
import pytest
from test_report import fake_run

from harness import report
from harness.analysis.noise_scale import linear_fit, optimal_batch_size, refine_optimum
from harness.schedules import lr_and_batch_size


def surface(b, b_opt):
    """A test-accuracy surface with its maximum at b_opt: a parabola in log2 B."""
    return 0.6 - 0.02 * (np.log2(b) - np.log2(b_opt)) ** 2


def test_refinement_finds_an_optimum_between_grid_points():
    batches = [16, 32, 64, 128, 256, 512]
    for b_opt in (45.0, 100.0, 300.0):
        acc = surface(np.array(batches), b_opt)
        assert 2 ** refine_optimum(np.log2(batches), acc) == pytest.approx(b_opt, rel=1e-6)
    # an optimum at the edge of the grid stays at the edge
    assert 2 ** refine_optimum(np.log2(batches), surface(np.array(batches), 2000.0)) == 512


def test_bootstrap_spread_reflects_the_seeds():
    rng = np.random.default_rng(0)
    batches = [16, 32, 64, 128, 256, 512]
    exact = {b: [surface(b, 100.0)] * 3 for b in batches}
    noisy = {b: list(surface(b, 100.0) + rng.normal(0, 0.01, 3)) for b in batches}
    assert optimal_batch_size(exact) == pytest.approx((100.0, 0.0))
    b_opt, spread = optimal_batch_size(noisy)
    assert spread > 0 and 50 < b_opt < 200


def test_linear_fit_of_a_proportional_law():
    fit = linear_fit([0.025, 0.05, 0.1, 0.2], [40, 80, 160, 320])
    assert fit["slope"] == pytest.approx(1600) and fit["intercept"] == pytest.approx(0, abs=1e-9)
    assert fit["r2"] == pytest.approx(1.0) and fit["loglog_slope"] == pytest.approx(1.0)


def test_batch_lr_scaling_report_recovers_b_opt_proportional_to_eps(tmp_path):
    sweep, job = tmp_path / "sweep", 0
    for eps in (0.025, 0.05, 0.1, 0.2):
        for b in (16, 32, 64, 128, 256, 512, 1024):
            acc = float(surface(b, 2000 * eps))  # B_opt = 2000 eps: 50, 100, 200, 400
            fake_run(sweep / str(job), "batch_lr_scaling",
                     {"test_acc": acc, "train_acc": 1.0, "val_acc": acc, "data_train_size": 10000,
                      "noise_scale": eps * (10000 / b - 1)},
                     [], optimizer={"lr": eps, "momentum": 0.0}, trainer={"batch_size": b, "target_train_acc": None})
            job += 1
    out = report.report(sweep, tmp_path / "out", wandb_mode="disabled")
    rows = [line.split(",") for line in (out / "b_opt.csv").read_text().splitlines()]
    b_opt = [float(r[rows[0].index("b_opt")]) for r in rows[1:]]
    assert b_opt == pytest.approx([50, 100, 200, 400], rel=1e-4)
    fit = dict(zip(*[line.split(",") for line in (out / "b_opt_fits.csv").read_text().splitlines()[:2]]))
    assert fit["b_opt_vs"] == "eps" and float(fit["r2"]) == pytest.approx(1.0)
    assert float(fit["loglog_slope"]) == pytest.approx(1.0, abs=1e-3)
    for name in ("heatmap_test_acc.png", "b_opt_fits.png", "test_acc_vs_noise_scale.png"):
        assert (out / name).is_file()


def test_the_three_schedules_give_the_papers_lr_and_batch_sequences(make_cfg):
    sequences = {}
    for name in ("decay_lr", "increase_batch", "hybrid"):
        cfg = make_cfg("experiment=schedule_vs_batch", f"schedule={name}", scale="cpu")
        sequences[name] = [(round(lr, 12), b) for lr, b in
                           (lr_and_batch_size(cfg.schedule, 0.05, 128, e, 30) for e in (0, 10, 20))]
    assert sequences["decay_lr"] == [(0.05, 128), (0.01, 128), (0.002, 128)]
    assert sequences["increase_batch"] == [(0.05, 128), (0.05, 640), (0.05, 3200)]
    assert sequences["hybrid"] == [(0.05, 128), (0.05, 640), (0.01, 640)]


def test_schedule_report_counts_updates(tmp_path):
    sweep = tmp_path / "sweep"
    for job, (name, steps) in enumerate([("decay_lr", 1000), ("increase_batch", 400), ("hybrid", 600)]):
        metrics = [{"step": steps, "epoch": 3, "test/acc": 0.5, "train/acc": 0.9, "batch_size": 128}]
        fake_run(sweep / str(job), "schedule_vs_batch", {"test_acc": 0.5, "train_acc": 0.9, "steps": steps}, metrics,
                 schedule={"name": name, "lr": "step"})
    out = report.report(sweep, tmp_path / "out", wandb_mode="disabled")
    text = (out / "schedules.csv").read_text()
    assert "increase_batch,1,0.5,0,400,128,2.5" in text and "decay_lr,1,0.5,0,1000,128,1" in text
