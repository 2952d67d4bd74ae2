"""scripts/gpu_check.py rehearsed on CPU: every step runs at tiny sizes, so the GPU check cannot rot
while no GPU is at hand (part of make test; alone: make test-gpu-check)."""

import csv
import subprocess
import sys

import pytest
from helpers import REPO

pytestmark = pytest.mark.gpucheck


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_gpu_check_rehearses_every_step_on_cpu(tmp_path):
    cmd = [sys.executable, "scripts/gpu_check.py", "run", "--cpu", "--models", "mlp_1x512", "--out", str(tmp_path)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=400)
    log = (tmp_path / "log.txt").read_text()
    assert done.returncode == 0, log + done.stdout[-2000:] + done.stderr[-2000:]
    assert [line.split(":")[0] for line in log.splitlines()] == [
        "step pytest",
        "step throughput",
        "step memorize",
        "step sweep",
    ]
    assert all(": ok (" in line for line in log.splitlines())
    speed = rows(tmp_path / "throughput.csv")
    assert {(r["model"], r["bf16"]) for r in speed} == {("mlp_1x512", "false"), ("mlp_1x512", "true")}
    assert all(float(r["harness_img_s"]) > 0 and float(r["vs_limit"]) > 0 for r in speed)
    assert float(speed[0]["vs_baseline"]) > 0  # the baseline is measured once per model (eager, fp32)
    (memo,) = rows(tmp_path / "memorize.csv")
    assert memo["stop_reason"] == "target_train_acc" and float(memo["train_acc"]) >= 0.99  # random labels fitted
    assert [r["how"] for r in rows(tmp_path / "sweep.csv")] == ["one at a time", "2 joblib jobs"]
