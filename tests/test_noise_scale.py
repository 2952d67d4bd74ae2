"""Smith & Le / Smith et al.: B_opt estimation and fits on synthetic data with known answers;
the three schedules of schedule_vs_batch produce the (lr, B) sequences of the paper."""

import json

import numpy as np
import pytest
from helpers import fake_run, run_report, verdicts

from harness import report
from harness.analysis.batch_lr_scaling import b_opt_of, optimal_batch_size, refine_optimum, slope_verdict
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


def skewed(b, b_opt):
    """A skewed accuracy surface (steeper on the small-B side) with its maximum at b_opt."""
    d = np.log2(b) - np.log2(b_opt)
    return 0.6 - np.where(d < 0, 0.05, 0.01) * d**2


def test_refinement_on_skewed_noisy_surfaces_and_with_missing_points():
    rng = np.random.default_rng(1)
    batches = np.array([16, 32, 64, 128, 256, 512, 1024])
    errors = []
    for b_opt in rng.uniform(np.log2(40), np.log2(400), 200):
        acc = skewed(batches, 2**b_opt) + rng.normal(0, 0.002, len(batches))
        keep = np.ones(len(batches), bool)
        keep[rng.integers(0, len(batches))] = False  # one grid point diverged / missing
        errors.append(refine_optimum(np.log2(batches[keep]), acc[keep]) - b_opt)
    errors = np.abs(errors)
    # within one grid step (a factor 2) always, and within half a step for most surfaces
    assert errors.max() <= 1.0 and np.median(errors) < 0.5


def test_bootstrap_keeps_each_seeds_row_together():
    batches = [16, 32, 64, 128, 256, 512]
    # every seed's row is the same surface shifted by a seed offset: pairing across B cancels the
    # offset, so B_opt is exact in every resample; resampling each B independently would not be
    offsets = {0: -0.05, 1: 0.0, 2: 0.07}
    paired = {b: {s: float(surface(b, 100.0)) + off for s, off in offsets.items()} for b in batches}
    o = optimal_batch_size(paired)
    assert o["b_opt"] == pytest.approx(100.0) and o["ci_low"] == pytest.approx(100.0)
    assert o["ci_high"] == pytest.approx(100.0)
    rng = np.random.default_rng(0)
    noisy = {b: {s: float(surface(b, 100.0) + rng.normal(0, 0.01)) for s in range(3)} for b in batches}
    o = optimal_batch_size(noisy)
    assert o["ci_low"] < o["b_opt"] < o["ci_high"] and 50 < o["b_opt"] < 200


def test_b_opt_of_skips_missing_batch_sizes_and_flags_the_edge():
    by_batch = {16: {0: 0.3}, 32: {1: 0.5}, 64: {0: 0.6, 1: 0.6}, 128: {0: 0.55}}
    b, edge = b_opt_of(by_batch, [0])  # B = 32 has no run of seed 0: the grid is 16, 64, 128
    assert 16 < b < 128 and not edge
    assert b_opt_of({16: {0: 0.1}, 32: {0: 0.2}}, [0]) is None
    assert b_opt_of({16: {0: 0.1}, 32: {0: 0.2}, 64: {0: 0.3}}, [0])[1] is True


@pytest.mark.parametrize(
    "low, high, slope, verdict",
    [
        (0.7, 1.2, 0.9, "reproduced"),
        (0.2, 0.6, 0.4, "partly"),
        (-0.5, 1.5, 0.5, "inconclusive"),
        (-0.4, 0.3, -0.1, "not reproduced"),
        (1.3, 2.0, 1.6, "partly"),
        (-1.0, -0.2, -0.6, "not reproduced"),
    ],
)
def test_slope_verdicts(low, high, slope, verdict):
    assert slope_verdict(low, high, slope) == verdict


def c7_sweep(path, law, seeds=(0, 1, 2), noise=0.0, repeat_first=False):
    """B x eps x seeds with test accuracy peaking at B_opt = law(eps); optionally one run twice."""
    rng, job = np.random.default_rng(0), 0
    for seed in seeds:
        for eps in (0.025, 0.05, 0.1, 0.2):
            for b in (16, 32, 64, 128, 256, 512, 1024, 2048):
                acc = float(surface(b, law(eps)) + rng.normal(0, noise))
                for _ in range(2 if repeat_first and job == 0 else 1):
                    fake_run(
                        path / str(job),
                        "batch_lr_scaling",
                        {
                            "test_acc": acc,
                            "train_acc": 1.0,
                            "val_acc": acc,
                            "data_train_size": 10000,
                            "noise_scale": eps * (10000 / b - 1),
                        },
                        [],
                        seed=seed,
                        optimizer={"lr": eps, "momentum": 0.0},
                        trainer={"batch_size": b, "target_train_acc": None},
                    )
                    job += 1
    return path


def _table(path):
    lines = path.read_text().splitlines()
    return [dict(zip(lines[0].split(","), line.split(","))) for line in lines[1:]]


def test_batch_lr_scaling_report_recovers_b_opt_proportional_to_eps(tmp_path):
    out = report.report(c7_sweep(tmp_path / "sweep", lambda eps: 2000 * eps), tmp_path / "out", wandb_mode="disabled")
    assert [float(r["b_opt"]) for r in _table(out / "b_opt.csv")] == pytest.approx([50, 100, 200, 400], rel=1e-4)
    fit = _table(out / "b_opt_fits.csv")[0]
    assert fit["b_opt_vs"] == "eps" and float(fit["loglog_slope"]) == pytest.approx(1.0, abs=1e-3)
    verdicts = {v["claim"]: v["verdict"] for v in _table(out / "verdicts.csv")}
    assert verdicts["C7 B_opt ~ eps"] == "reproduced"
    assert verdicts["C7 B_opt ~ N"] == "inconclusive"  # no N sweep in these runs
    for name in ("heatmap_test_acc.png", "b_opt_fits.png", "test_acc_vs_noise_scale.png"):
        assert (out / name).is_file()


def n_sweep(path, seeds=(0, 1, 2)):
    """B x N at eps = 0.05 under two budgets: 10 epochs for every N, where B_opt stays at 200, and
    100,000 examples (epochs = 100,000 / N), where B_opt = N / 50; N = 10,000 is on both lines."""
    job = 0
    for seed in seeds:
        for n, epochs, b_opt in [(n, 10, 200.0) for n in (2500, 5000, 20000)] + [
            (n, 100_000 // n, n / 50) for n in (2500, 5000, 10000, 20000)
        ]:
            for b in (16, 32, 64, 128, 256, 512, 1024, 2048):
                fake_run(
                    path / str(job),
                    "batch_lr_scaling",
                    {"test_acc": float(surface(b, b_opt)), "train_acc": 1.0, "data_train_size": n},
                    [],
                    seed=seed,
                    data={"subset": n, "corruption_prob": 0.0, "input_randomization": "none"},
                    optimizer={"lr": 0.05, "momentum": 0.0},
                    trainer={"batch_size": b, "max_epochs": epochs, "target_train_acc": None},
                )
                job += 1
    return path


def test_b_opt_vs_n_is_fitted_at_equal_epochs_and_at_equal_updates_separately(tmp_path):
    out = report.report(n_sweep(tmp_path / "sweep"), tmp_path / "out", wandb_mode="disabled")
    fits = {f["b_opt_vs"]: f for f in _table(out / "b_opt_fits.csv")}
    assert float(fits["N"]["loglog_slope"]) == pytest.approx(0.0, abs=1e-3) and fits["N"]["max_epochs"] == "10"
    assert float(fits["N at equal updates"]["loglog_slope"]) == pytest.approx(1.0, abs=1e-3)
    assert fits["N at equal updates"]["examples"] == "100000" and fits["N"]["points"] == "4"
    verdicts = {v["claim"]: v["verdict"] for v in _table(out / "verdicts.csv")}
    assert verdicts["C7 B_opt ~ N"] == "not reproduced"
    assert verdicts["C7 B_opt ~ N at equal updates"] == "reproduced"


def test_records_without_an_epoch_budget_mix_with_an_equal_updates_sweep(tmp_path):
    """Older records carry no trainer.max_epochs: they stay on their eps line and off the
    equal-updates line, and the figures still draw."""
    old = c7_sweep(tmp_path / "old", lambda eps: 2000 * eps)
    new = n_sweep(tmp_path / "new")
    out = report.report([old, new], tmp_path / "out", wandb_mode="disabled")
    verdicts = {v["claim"]: v["verdict"] for v in _table(out / "verdicts.csv")}
    assert verdicts["C7 B_opt ~ eps"] == "reproduced" and verdicts["C7 B_opt ~ N at equal updates"] == "reproduced"
    assert (out / "b_opt_fits.png").is_file()


def test_batch_lr_scaling_verdict_fails_when_b_opt_does_not_grow(tmp_path):
    flat = report.report(
        c7_sweep(tmp_path / "flat", lambda eps: 150.0, noise=0.002), tmp_path / "o1", wandb_mode="disabled"
    )
    assert {v["claim"]: v["verdict"] for v in _table(flat / "verdicts.csv")}["C7 B_opt ~ eps"] == "not reproduced"
    slow = report.report(
        c7_sweep(tmp_path / "slow", lambda eps: 150.0 * (1 + eps), noise=0.001), tmp_path / "o2", wandb_mode="disabled"
    )  # grows, but with a log-log slope near 0.1, not 1
    assert {v["claim"]: v["verdict"] for v in _table(slow / "verdicts.csv")}["C7 B_opt ~ eps"] == "partly"


def test_a_repeated_run_is_counted_once(tmp_path, capsys):
    sweep = c7_sweep(tmp_path / "sweep", lambda eps: 2000 * eps, seeds=(0,), repeat_first=True)
    out = report.report(sweep, tmp_path / "out", wandb_mode="disabled")
    assert "warning: run 1 repeats run 0" in capsys.readouterr().err
    facts = json.loads((out / "report.json").read_text())
    assert facts["runs"] == 32 and facts["repeats_dropped"] == 1


def test_the_three_schedules_give_the_papers_lr_and_batch_sequences(make_cfg):
    sequences = {}
    for name in ("decay_lr", "increase_batch", "hybrid"):
        cfg = make_cfg("experiment=schedule_vs_batch", f"schedule={name}", scale="cpu")
        sequences[name] = [
            (round(lr, 12), b) for lr, b in (lr_and_batch_size(cfg.schedule, 0.05, 128, e, 30) for e in (0, 10, 20))
        ]
    assert sequences["decay_lr"] == [(0.05, 128), (0.01, 128), (0.002, 128)]
    assert sequences["increase_batch"] == [(0.05, 128), (0.05, 640), (0.05, 3200)]
    assert sequences["hybrid"] == [(0.05, 128), (0.05, 640), (0.01, 640)]


def keep_noise_runs(path, cells, seeds=3):
    """cells: {(momentum, rescaled): mean test acc}; seeds spread it by +-0.2 points."""
    job = 0
    for (m, rescaled), acc in cells.items():
        for seed in range(seeds):
            summary = {"train_acc": 0.9, "test_acc": acc + 0.002 * (seed - 1), "val_acc": acc, "base_batch_size": 32}
            fake_run(
                path / str(job),
                "keep_noise_scale",
                summary,
                [],
                optimizer={"momentum": m},
                schedule={"keep_noise_scale": rescaled},
                seed=seed,
            )
            job += 1
    return path


def cells(high_rescaled, high_reference):
    out = {(0.0, True): 0.45, (0.0, False): 0.45}
    for m, a, b in zip((0.9, 0.95), high_rescaled, high_reference):
        out[m, True], out[m, False] = a, b
    return out


@pytest.mark.parametrize(
    "grid, seeds, verdict",
    [
        (cells((0.45, 0.45), (0.40, 0.35)), 3, "reproduced"),
        (cells((0.45, 0.45), (0.40, 0.46)), 3, "partly"),
        (cells((0.45, 0.45), (0.45, 0.45)), 3, "not reproduced"),
        (cells((0.45, 0.45), (0.40, 0.35)), 2, "inconclusive"),
    ],
)
def test_keep_noise_scale_verdict(tmp_path, grid, seeds, verdict):
    out = run_report(keep_noise_runs(tmp_path / "s", grid, seeds), tmp_path)
    assert verdicts(out)["Rescaling B with the momentum keeps test accuracy"] == verdict
