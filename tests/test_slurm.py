"""Sweeps through a real single-node SLURM (scripts/slurm_local.sh) with the submitit launcher:
both jobs run as SLURM jobs, and a pre-empted job is requeued and resumes to the same numbers."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers import REPO, run_cli

SCRIPT = REPO / "scripts" / "slurm_local.sh"
pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = [b for b in ("slurmctld", "slurmd", "munged", "sbatch") if not shutil.which(b)]
    if missing:
        pytest.skip(
            f"SLURM is not installed here ({', '.join(missing)} missing): "
            "`scripts/slurm_local.sh install` (root + apt) makes this test run; .ci/run does it"
        )
    state = tmp_path_factory.mktemp("slurm-local")
    env = {**os.environ, "SLURM_LOCAL_DIR": str(state)}
    started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        pytest.skip(f"could not start a local SLURM (another one running?): {started.stderr[-500:]}")
    env["SLURM_CONF"] = str(state / "etc" / "slurm.conf")
    env["PATH"] = f"{state / 'bin'}:{env['PATH']}"  # the sacct stand-in
    yield env
    subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


SLURM_SWEEP = [
    "-m",
    "hydra/launcher=submitit_slurm",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=null",
    "hydra.launcher.timeout_min=10",
    "scale=smoke",
    "logger=none",
    "trainer.progress=log",
]


def test_two_job_sweep_runs_as_two_slurm_jobs(slurm, tmp_path):
    sweep = tmp_path / "sweep"
    started = time.perf_counter()
    out = run_cli(
        *SLURM_SWEEP,
        "experiment=random_labels",
        "seed=0,1",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={sweep}",
        env=slurm,
        timeout=300,
    )
    elapsed = time.perf_counter() - started
    assert out.returncode == 0, out.stderr[-2000:]
    summaries = [json.loads((sweep / j / "summary.json").read_text()) for j in ("0", "1")]
    assert all(s["status"] == "completed" for s in summaries)
    ids = [s["slurm_job_id"] for s in summaries]
    assert all(ids) and ids[0] != ids[1], ids  # each job ran under its own SLURM job id
    assert [s["slurm_array_task_id"] for s in summaries] == ["0", "1"]  # one job array
    print(f"2-job SLURM sweep: {elapsed:.1f} s")


def test_preempted_job_is_requeued_and_resumes_to_the_same_numbers(slurm, tmp_path):
    # 120 epochs of 4 steps on synthetic data: long enough to be pre-empted in the middle
    args = [
        "scale=smoke",
        "logger=none",
        "trainer.max_epochs=120",
        "trainer.eval_every_epochs=10",
        "trainer.checkpoint_every_epochs=1000",
        "trainer.progress=log",
        "seed=3",
    ]
    sweep = tmp_path / "sweep"
    env = {**slurm, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *SLURM_SWEEP, *args, f"hydra.sweep.dir={sweep}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    metrics = sweep / "0" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    assert metrics.is_file(), "the job never started training"
    job = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True).stdout.split()
    assert len(job) == 1, job
    # what SLURM does before pre-empting a job that asked for it (submitit's --signal=USR2@...)
    subprocess.run(["scancel", "--signal=USR2", job[0]], env=env, check=True)
    # SLURM holds a requeued job for a while (~2.5 min here) before it may start again; let it
    # start sooner (only the wait is shortened; the job, its requeue and its resume are SLURM's).
    # Not at once: slurmd refuses to launch a job whose credential is no newer, to the second, than
    # the kill of its last run ("Job credential revoked": the job then ends FAILED, seen in CI)
    deadline = time.time() + 60
    while time.time() < deadline:
        state = subprocess.run(
            ["squeue", "-h", "-j", job[0], "-o", "%t %r"], env=env, capture_output=True, text=True
        ).stdout
        if state.startswith("PD"):
            time.sleep(2)
            subprocess.run(["scontrol", "update", f"JobId={job[0]}", "StartTime=now"], env=env, check=True)
            break
        time.sleep(0.2)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output[-3000:]
    resumed = json.loads((sweep / "0" / "summary.json").read_text())
    assert resumed["status"] == "completed" and resumed["slurm_restart_count"] == "1", resumed
    log = (sweep / "0" / "harness.log").read_text()
    assert "SIGUSR2 received" in log and "resumed from" in log

    # the same run, never interrupted, without SLURM
    out = run_cli(*args, f"hydra.run.dir={tmp_path / 'whole'}", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    for key in ("train_acc", "test_acc", "val_acc", "train_loss", "test_loss", "steps"):
        assert resumed[key] == whole[key], key
