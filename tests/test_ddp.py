"""torchrun data parallel on CPU (gloo): 2 processes train like 1, and only rank 0 writes."""

import json
import subprocess
import sys

import pytest
from helpers import REPO, run_cli

from harness import rundir

# unequal shards (75 = 38 + 37) and augmentation: the parts that could make N matter
ARGS = [
    "scale=smoke",
    "logger=none",
    "trainer.max_epochs=3",
    "trainer.batch_size=75",
    "data.augment.crop=true",
    "data.augment.flip=true",
    "schedule=exponential",
]


@pytest.mark.sweeps  # 14 s of torchrun processes: with the multi-process CLI tests in `make test-sweeps`
def test_two_processes_match_one_within_float_tolerance(tmp_path):
    one = run_cli(*ARGS, f"hydra.run.dir={tmp_path / 'one'}")
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "harness",
            *ARGS,
            f"hydra.run.dir={tmp_path / 'two'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "two"))
    assert a["steps"] == b["steps"] > 0
    for key in ("train_loss", "test_loss", "val_loss", "train_epoch_loss"):
        assert b[key] == pytest.approx(a[key], rel=1e-4), key
    for key in ("train_acc", "test_acc", "val_acc"):
        assert abs(b[key] - a[key]) <= 0.01, key  # an argmax may flip on float noise
    # rank 0 alone wrote the run dir: one record per evaluation, as in the 1-process run
    assert len(rundir.read_metrics(tmp_path / "two")) == len(rundir.read_metrics(tmp_path / "one"))
