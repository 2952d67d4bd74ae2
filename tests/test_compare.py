"""Comparing runs locally: the settings that differ against how the runs ended (seeds aggregated),
and the curves overlaid; printed at the end of every multirun."""

import csv
import io

import pytest
from helpers import fake_run, run_cli

from harness.results import compare


def sweep_3_seeds_x_2_lrs(path):
    """A 3-seed x 2-lr sweep whose lr 0.1 runs end 10 points better; each seed its own label draw."""
    job = 0
    for lr, acc in ((0.01, 0.40), (0.1, 0.50)):
        for seed in (0, 1, 2):
            test = acc + 0.01 * (seed - 1)
            fake_run(
                path / str(job),
                "random_labels",
                {"train_acc": 0.9, "test_acc": test, "test_loss": 1.5, "steps": 100},
                [{"step": 10 * e, "epoch": e, "test/acc": test * e / 3} for e in (1, 2, 3)],
                seed=seed,
                optimizer={"lr": lr, "momentum": 0.9},
                data={"randomization_seed": seed, "corruption_prob": 0.0},
            )
            job += 1
    return path


def test_compare_prints_the_settings_that_differ_and_writes_the_overlay(tmp_path, capsys):
    sweep = sweep_3_seeds_x_2_lrs(tmp_path / "sweep")
    compare.main([str(sweep)])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:4] == ["setting", "seeds", "train_acc", "train_acc_ci95"]
    assert sorted(line.split()[0] for line in printed[1:3]) == ["optimizer.lr=0.01", "optimizer.lr=0.1"]
    assert printed[-1] == f"curves: {sweep / 'compare.png'}" and (sweep / "compare.png").stat().st_size > 5000
    rows = {r["setting"]: r for r in csv.DictReader(io.StringIO((sweep / "compare.csv").read_text()))}
    assert set(rows) == {"optimizer.lr=0.01", "optimizer.lr=0.1"}  # seed and its label draw aggregated
    assert rows["optimizer.lr=0.1"]["seeds"] == "3" and float(rows["optimizer.lr=0.1"]["test_acc"]) == pytest.approx(
        0.5
    )
    low, high = (float(x) for x in rows["optimizer.lr=0.1"]["test_acc_ci95"].strip("[]").split(","))
    assert low < 0.5 < high  # the t interval over the three seeds


def test_compare_refuses_a_key_that_does_not_differ(tmp_path):
    with pytest.raises(SystemExit, match="--by model.name: not a setting that differs"):
        compare.compare([sweep_3_seeds_x_2_lrs(tmp_path / "sweep")], by="model.name")


@pytest.mark.sweeps  # a real multirun through the CLI: make test-sweeps
def test_every_multirun_ends_with_its_comparison(tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "experiment=random_labels",
        "scale=smoke",
        "logger=none",
        "trainer.max_epochs=1",
        "seed=0,1",
        "optimizer.lr=0.01,0.02",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "optimizer.lr=0.01  2" in out.stdout and f"curves: {sweep / 'compare.png'}" in out.stdout
