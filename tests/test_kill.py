"""kill -9 at any moment, then the same command: the run ends with exactly the numbers and the
metrics history of an uninterrupted one (no gaps, no repeats)."""

import json
import signal
import subprocess
import sys
import time

import pytest
from helpers import REPO, run_cli

ARGS = [
    "experiment=random_labels",
    "scale=smoke",
    "logger=none",
    "data.train_size=400",
    "trainer.batch_size=16",
    "trainer.max_epochs=12",
    "trainer.target_train_acc=null",
    "trainer.checkpoint_every_epochs=1",
]


def history(d):
    return [
        {k: v for k, v in json.loads(line).items() if k != "wall_time_s"}
        for line in (d / "metrics.jsonl").read_text().splitlines()
        if line.strip()
    ]


def kill_after(run_dir, lines: int, extra_s: float):
    """Start the run; SIGKILL it once metrics.jsonl has `lines` lines (0: as soon as the trainer has
    started, before its first checkpoint), plus extra_s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *ARGS, f"hydra.run.dir={run_dir}"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    metrics, log = run_dir / "metrics.jsonl", run_dir / "harness.log"
    while time.time() < deadline and proc.poll() is None:
        if lines == 0 and log.is_file() and "data" in log.read_text():
            break
        if lines and metrics.is_file() and len(metrics.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    time.sleep(extra_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("whole")
    out = run_cli(*ARGS, f"hydra.run.dir={d}")
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads((d / "summary.json").read_text()), history(d)


def check_resumes_exactly(run_dir, reference):
    out = run_cli(*ARGS, f"hydra.run.dir={run_dir}")
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    want, want_history = reference
    for key in ("steps", "train_acc", "test_acc", "train_loss", "test_loss"):
        assert summary[key] == want[key], key
    assert history(run_dir) == want_history


@pytest.mark.faults
def test_kill_9_mid_training_then_resume_is_exact(tmp_path, reference):
    kill_after(tmp_path, 2, 0.3)
    check_resumes_exactly(tmp_path, reference)


@pytest.mark.faults
@pytest.mark.parametrize("lines, extra_s", [(0, 0.0), (0, 0.5), (1, 0.05), (3, 0.2), (5, 0.0), (7, 0.4)])
def test_kill_9_at_many_moments_then_resume_is_exact(tmp_path, reference, lines, extra_s):
    kill_after(tmp_path, lines, extra_s)
    check_resumes_exactly(tmp_path, reference)


@pytest.mark.faults
def test_two_runs_into_one_dir_the_second_is_refused(tmp_path):
    args = [*ARGS, "trainer.max_epochs=100000", f"hydra.run.dir={tmp_path}"]  # still running when the second comes
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 120
        while not (tmp_path / "metrics.jsonl").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = run_cli(*args)
        assert second.returncode == 2 and f"is in use by process {proc.pid}" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    lines = [json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == len(set(lines))  # one writer: no step written twice
