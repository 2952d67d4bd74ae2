"""Heavier checks on real data: `make test-slow` (minutes on 2 CPU cores; skipped without CIFAR-10)."""

import json

import pytest
from helpers import requires_cifar, run_cli

pytestmark = [
    pytest.mark.slow,
    requires_cifar,
]


def test_main_job_memorizes_random_cifar10_labels_at_cpu_scale(tmp_path):
    out = run_cli("experiment=random_labels", "logger=none", f"hydra.run.dir={tmp_path}", timeout=1200)
    assert out.returncode == 0, out.stderr
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["train_acc"] >= 0.95 and abs(s["test_acc"] - 0.1) < 0.015
    assert s["wall_time_s"] < 15 * 60
