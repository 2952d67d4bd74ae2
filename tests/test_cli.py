"""The command line as a user types it: runs, multiruns, W&B offline runs, bad input, SIGTERM."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CONFIG_DIR, run_cli, signal_mid_run
from wandb_offline import read_run

from harness import rundir


def test_main_job_at_smoke_scale_prints_where_results_are(tmp_path):
    out = run_cli("experiment=random_labels", "scale=smoke", "logger=none", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    assert str(tmp_path) in out.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["data_corruption_prob"] == 1.0


def test_a_refused_command_answers_before_torch_is_imported(tmp_path):
    """A typo costs half a second, not the two it takes to import torch."""
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['harness', 'optimizer.lr=-1', 'hydra.run.dir={tmp_path / 'run'}']\n"
        "try:\n    runpy.run_module('harness', run_name='__main__')\n"
        "except SystemExit as e:\n    print('exit', e.code, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "exit 2 False", out.stdout + out.stderr[-2000:]
    assert "optimizer.lr" in out.stderr


def test_bad_config_exits_2_with_the_key_in_the_message(tmp_path):
    out = run_cli("experiment=random_labels", "data.corruption_prob=2", "logger=none", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 2
    assert "data.corruption_prob=2" in out.stderr and "[0.0, 1.0]" in out.stderr


def test_missing_data_names_the_paths_tried(tmp_path):
    out = run_cli(
        "experiment=random_labels",
        f"data.root={tmp_path}/none",
        "data.download=false",
        "logger=none",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert out.returncode == 2
    assert f"{tmp_path}/none/cifar10.npz" in out.stderr and "HARNESS_DATA" in out.stderr


@pytest.mark.sweeps  # 6 s of multirun through the CLI: `make test-sweeps` (run by .ci/run)
def test_multirun_gives_one_run_dir_and_one_offline_wandb_run_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "experiment=random_labels",
        "scale=smoke",
        "logger.mode=offline",
        "seed=1,2",
        f"hydra.sweep.dir={sweep}",
        env={"WANDB_MODE": "offline"},
    )
    assert out.returncode == 0, out.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    runs = [read_run(job) for job in jobs]
    assert len({r["id"] for r in runs}) == 2
    for job, seed, r in zip(jobs, (1, 2), runs):
        summary = json.loads((job / "summary.json").read_text())
        metrics = rundir.read_metrics(job)
        # what the harness meant to send is what the offline run holds
        assert r["group"] == f"random_labels-{sweep.name}" and r["job_type"] == "train"
        assert set(r["tags"]) >= {"zhang2017", "memorization", "experiment:random_labels"}  # (its W&B workspace)
        assert r["config"]["seed"] == seed and r["config"]["data"]["corruption_prob"] == 1.0
        assert r["config"]["model"]["name"] == "mlp_1x512"
        logged = [h for h in r["history"] if "test/acc" in h]
        assert [h["test/acc"] for h in logged] == [m["test/acc"] for m in metrics]
        assert logged[-1]["train/acc"] == summary["train_acc"] and logged[-1]["_step"] == summary["steps"]
        assert r["exit_code"] == 0


@pytest.mark.sweeps  # 11 s of multirun through the CLI: `make test-sweeps` (run by .ci/run)
def test_joblib_launcher_gives_one_wandb_run_per_parallel_job(tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "experiment=random_labels",
        "scale=smoke",
        "logger.mode=offline",
        "data.corruption_prob=0.0,1.0",
        "seed=0",  # the experiment's own sweep runs 3 seeds
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stderr
    assert "deprecated" not in out.stderr  # our launcher configs over the plugins' schemas: no warning per job
    summaries = [json.loads((sweep / j / "summary.json").read_text()) for j in ("0", "1")]
    assert [s["data_corruption_prob"] for s in summaries] == [0.0, 1.0]
    runs = [read_run(sweep / j) for j in ("0", "1")]
    assert runs[0]["id"] != runs[1]["id"]
    assert [r["config"]["data"]["corruption_prob"] for r in runs] == [0.0, 1.0]
    # the shipped joblib config shares the cores: each of 2 jobs gets cores / 2 torch threads
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert all(s["device"].endswith(f", {threads} threads)") for s in summaries), summaries[0]["device"]


def test_missing_data_is_refused_before_a_run_dir_or_a_wandb_run_exists(tmp_path):
    out = run_cli(
        "experiment=random_labels",
        f"data.root={tmp_path}/none",
        "data.download=false",
        "logger.mode=offline",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert out.returncode == 2 and "error: CIFAR-10 not found" in out.stderr
    assert not (tmp_path / "run").exists()  # no run dir, no config.yaml, no W&B run


def test_wandb_run_is_finished_when_the_job_fails(make_cfg, tmp_path, monkeypatch):
    from harness.app import run
    from harness.train import trainer

    def fail(*args, **kwargs):
        raise RuntimeError("a failure in the middle of training")

    monkeypatch.setattr(trainer, "train", fail)
    with pytest.raises(RuntimeError, match="middle of training"):
        run(make_cfg("logger.mode=offline", logger="wandb"), run_dir=tmp_path / "run")
    assert read_run(tmp_path / "run")["exit_code"] == 1


@pytest.mark.sweeps  # 7 s of multirun through the CLI: `make test-sweeps` (run by .ci/run)
def test_default_sweep_dirs_are_unique_within_one_second(tmp_path):
    args = ["-m", "experiment=random_labels", "scale=smoke", "logger=none", "trainer.max_epochs=1", "seed=0"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "harness", *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    sweeps = list((tmp_path / "multirun" / "random_labels").iterdir())
    assert len(sweeps) == 2


@pytest.mark.faults  # 26 s: with the kill -9 tests in `make test-faults` (run by .ci/run)
def test_sigterm_checkpoints_and_the_same_command_resumes(tmp_path):
    code, err, args = signal_mid_run(tmp_path, signal.SIGTERM, "data.train_size=1000", "trainer.max_epochs=30")
    assert code == 143, err
    interrupted = json.loads((tmp_path / "summary.json").read_text())
    assert interrupted["status"] == "interrupted" and (tmp_path / "checkpoint.pt").is_file()
    assert 0 < interrupted["steps"] < 30 * 58
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    assert "resumed from" in (tmp_path / "harness.log").read_text()
    done = json.loads((tmp_path / "summary.json").read_text())
    assert done["status"] == "completed" and done["steps"] == 30 * 58  # (1000 - 64 val) // 16 steps per epoch


def test_a_sigterm_in_a_runs_end_probe_completes_it_and_stops_the_sweep(tmp_path):
    """A real SIGTERM during the end-of-run curvature probe comes too late to interrupt the run
    (it completes), but the sweep must not go on to its next run."""
    sweep = tmp_path / "sweep"
    script = (
        "import os, signal, sys\n"
        "from harness.train import trainer\n"
        "probe = trainer._Run.end_probe\n"
        "def end_probe(self):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    probe(self)\n"
        "trainer._Run.end_probe = end_probe\n"
        "from harness.__main__ import hydra_main\n"
        "sys.argv = ['harness', '-m', 'experiment=random_labels', 'scale=smoke', 'logger=none',\n"
        "            'trainer.max_epochs=1', 'seed=0,1', 'hydra.sweep.dir=' + sys.argv[1]]\n"
        "hydra_main()\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(sweep)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 143, out.stderr[-2000:]
    assert "SIGTERM arrived as the run finished" in out.stdout
    assert json.loads((sweep / "0" / "summary.json").read_text())["status"] == "completed"
    assert not (sweep / "1").exists()


def test_a_diverged_job_does_not_stop_the_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "experiment=random_labels",
        "scale=smoke",
        "logger=none",
        "optimizer.lr=1e6,0.01",
        "seed=0",  # the experiment's own sweep runs 3 seeds
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stderr
    first, second = (json.loads((sweep / j / "summary.json").read_text()) for j in ("0", "1"))
    assert first["diverged"] is True and first["status"] == "diverged"
    assert second["diverged"] is False and second["status"] == "completed"


@pytest.mark.sweeps  # 15 s: with the CLI sweeps in `make test-sweeps` (run by .ci/run)
def test_relaunched_sweep_skips_completed_jobs_and_resumes_the_others(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "scale=smoke", "logger=none", "seed=0,1", "trainer.max_epochs=3", f"hydra.sweep.dir={sweep}"]
    assert run_cli(*args).returncode == 0
    done = json.loads((sweep / "0" / "summary.json").read_text())
    mtime = (sweep / "0" / "checkpoint.pt").stat().st_mtime_ns
    # job 1 as if pre-empted mid-run: interrupted summary, checkpoint at step 5
    first = run_cli(
        "scale=smoke",
        "logger=none",
        "seed=1",
        "trainer.max_epochs=3",
        "trainer.interrupt_at_step=5",
        f"hydra.run.dir={tmp_path / 'cut'}",
    )
    assert first.returncode == 143
    for name in ("summary.json", "checkpoint.pt", "metrics.jsonl"):
        (sweep / "1" / name).write_bytes((tmp_path / "cut" / name).read_bytes())
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((sweep / "0" / "summary.json").read_text()) == done  # skipped
    assert (sweep / "0" / "checkpoint.pt").stat().st_mtime_ns == mtime
    resumed = json.loads((sweep / "1" / "summary.json").read_text())
    assert resumed["status"] == "completed" and resumed["steps"] == done["steps"]
    assert "resumed from" in (sweep / "1" / "harness.log").read_text()


def test_help_lists_every_experiment_with_a_line_and_hides_the_internals():
    out = run_cli("--help")
    assert out.returncode == 0, out.stderr
    experiments = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))
    listed = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ")}
    for name in experiments:
        assert name in listed and len(listed[name].split()) > 4, name  # a name and its one-line description
    assert "experiment_scale" not in out.stdout and "_base" not in out.stdout


def test_an_experiment_that_defines_a_sweep_run_without_m_says_so(tmp_path):
    out = run_cli(
        "experiment=zhang_table1", "scale=smoke", "logger=none", "trainer.max_epochs=1", f"hydra.run.dir={tmp_path}"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    said = out.stdout + out.stderr  # (Hydra logs to stdout)
    assert "experiment=zhang_table1 defines a sweep (model=mlp_1x512,mlp_3x512; table1=wd,none,random_labels" in said
    assert "For the whole sweep: python -m harness -m experiment=zhang_table1" in said


def test_an_offline_run_that_resumes_keeps_one_wandb_dir_with_its_whole_history(make_cfg, tmp_path):
    """W&B cannot resume an offline run, and syncing two offline dirs of one id loses history: the resumed
    run replaces the earlier dir by one that replays metrics.jsonl, then goes on."""
    from harness.app import run

    args = ["logger.mode=offline", "trainer.max_epochs=3"]
    run(make_cfg(*args, "trainer.interrupt_at_step=4", logger="wandb"), run_dir=tmp_path)
    run(make_cfg(*args, logger="wandb"), run_dir=tmp_path)
    assert len(list(tmp_path.glob("wandb/offline-run-*"))) == 1
    logged = [(h["step"], h["test/acc"]) for h in read_run(tmp_path)["history"] if "test/acc" in h]
    assert logged == [(m["step"], m["test/acc"]) for m in rundir.read_metrics(tmp_path) if "test/acc" in m]
