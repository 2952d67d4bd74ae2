"""What several test files share: paths, the CLI runner, the real-data marker, fake runs.

Test files import from here (`from helpers import ...`); conftest.py holds only fixtures.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "src" / "harness" / "configs")
REPO = Path(__file__).resolve().parents[1]


def real_data_root():
    """The folder holding the real cifar10.npz, or None (tests that need it skip)."""
    root = os.environ.get("HARNESS_DATA")
    return root if root and (Path(root) / "cifar10.npz").is_file() else None


def run_cli(*args, cwd=None, timeout=300, env=None):
    """`python -m harness ...` in a subprocess, as a user types it."""
    full_env = {**os.environ, "HYDRA_FULL_ERROR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def signal_mid_run(run_dir, signum, *overrides, timeout=120):
    """Start `python -m harness` with a smoke random-label run long enough to still be training
    when its first metrics line appears, send it `signum` then; return (exit code, stderr, the
    command's arguments, to run it again)."""
    import time

    args = [
        "experiment=random_labels",
        "scale=smoke",
        "logger=none",
        "trainer.target_train_acc=null",
        "trainer.batch_size=16",
        *overrides,
        f"hydra.run.dir={run_dir}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + timeout
    while not (Path(run_dir) / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err, args


# a test that needs the real CIFAR-10 (HARNESS_DATA=<folder of cifar10.npz>) skips, saying so, without it
requires_cifar = pytest.mark.skipif(
    real_data_root() is None, reason="real CIFAR-10 not found: set HARNESS_DATA to the folder of cifar10.npz"
)


def fake_run(path: Path, name: str, summary: dict, metrics: list, **config):
    """A run dir as the trainer writes it, with only what the analyses read."""
    path.mkdir(parents=True)
    cfg = {
        "name": name,
        "model": {"name": config.pop("model", "mlp_1x512")},
        "data": {"corruption_prob": config.pop("p", 0.0), "input_randomization": "none"},
        "trainer": {"target_train_acc": 0.99},
        **config,
    }
    (path / "config.yaml").write_text(json.dumps(cfg))  # JSON is YAML
    base = {
        "status": "completed",
        "stop_reason": "target_train_acc",
        "epochs": 1.0,
        "wall_time_s": 1.0,
        "data_train_size": 100,
        "data_val_size": 1000,
        "data_test_size": 10000,
        "data_realised_corruption": 0.0,
    }
    (path / "summary.json").write_text(json.dumps({**base, **summary}))
    (path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))


def curve(fit_step, final_test_acc):
    """Evaluations every 100 steps; train accuracy reaches 0.99 at fit_step."""
    return [
        {
            "step": s,
            "epoch": s / 100,
            "train/acc": 0.99 if s >= fit_step else 0.5,
            "test/acc": final_test_acc,
            "train/epoch_loss": 1.0 / s,
        }
        for s in range(100, fit_step + 1, 100)
    ]


def table(out, name):
    """A table a report wrote (<name>.csv), as dicts of strings."""
    import csv
    import io

    return list(csv.DictReader(io.StringIO((out / f"{name}.csv").read_text())))


def verdicts(out):
    """{claim: verdict} of a report's verdicts.csv."""
    return {r["claim"]: r["verdict"] for r in table(out, "verdicts")}


def verdict_rows(out):
    """{claim: its whole row} of a report's verdicts.csv."""
    return {r["claim"]: r for r in table(out, "verdicts")}


def run_report(sweep, tmp_path):
    from harness.results import report

    return report.report(sweep, tmp_path / "out", wandb_mode="disabled")


def random_label_runs(path, train_acc, test_acc, seeds=(0, 1, 2)):
    """random_labels runs with Zhang's schedule, each seed its own label draw, every seed with the same
    train accuracy and a test accuracy within 0.3 points of test_acc (run-to-run noise)."""
    for k, seed in enumerate(seeds):
        acc = test_acc + 0.003 * ((k % 3) - 1)
        fake_run(
            path / str(seed),
            "random_labels",
            {
                "train_acc": train_acc,
                "test_acc": acc,
                "val_acc": acc,
                "data_test_size": 10000,
                "data_realised_corruption": 0.9,
                "steps": 100,
            },
            curve(900, acc),
            seed=seed,
            schedule={"name": "exponential", "lr": "exponential", "gamma": 0.95},
            data={"corruption_prob": 1.0, "randomization_seed": seed, "input_randomization": "none"},
        )
    return path


def prediction_runs(path, k, val_err, test_err, n_val=5000, n_test=10000, seed=0):
    """k candidates whose per-example correctness gives the val and test errors asked for."""
    rng = np.random.default_rng(seed)
    for j in range(k):
        val = rng.random(n_val) >= val_err[j]
        test = rng.random(n_test) >= test_err[j]
        preds = {
            "val_size": n_val,
            "test_size": n_test,
            "val_correct": np.packbits(val).tobytes().hex(),
            "test_correct": np.packbits(test).tobytes().hex(),
        }
        fake_run(
            path / str(j),
            "validation_bound",
            {
                "train_acc": 1.0,
                "test_acc": float(test.mean()),
                "val_acc": float(val.mean()),
                "data_val_size": n_val,
                "predictions": "predictions.json",
            },
            [],
            seed=j,
        )
        (path / str(j) / "predictions.json").write_text(json.dumps(preds))
    return path
