"""A run's record is written once, by the run that owns it: a refused command changes no byte of an
existing run dir; bad data is refused before a run dir exists; a run never resumes on other data."""

import hashlib
import shutil
import subprocess

import numpy as np
import pytest
from helpers import REPO, random_label_runs, run_cli

from harness import rundir
from harness.app import run
from harness.results import report
from harness.rundir import RunDirError

SMOKE = ["experiment=random_labels", "scale=smoke", "logger=none", "trainer.max_epochs=2", "seed=0"]


def digest(d):
    """Every file below d (the lock's PID aside), by content: what a refused command must not change."""
    return {
        p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One finished run through the CLI, made once; each case refuses a command on a copy of it."""
    d = tmp_path_factory.mktemp("finished") / "run"
    assert run_cli(*SMOKE, f"hydra.run.dir={d}").returncode == 0
    return d


@pytest.mark.parametrize(
    "again",
    [
        ["optimizer.lr=0.05"],  # another config into a finished run's dir
        ["data.val_size=bad"],  # a bad value: refused by the config check
        ["data.root=/nonexistent", "data.download=false", "data=cifar10"],  # no data
    ],
)
def test_a_refused_command_changes_no_byte_of_a_finished_run_dir(finished_run, tmp_path, again):
    d = tmp_path / "run"
    shutil.copytree(finished_run, d)
    before = digest(d)
    out = run_cli(*SMOKE, *again, f"hydra.run.dir={d}")
    assert out.returncode == 2 and out.stderr.count("error:") == 1, out.stderr[-1500:]
    assert digest(d) == before
    assert not (d / ".hydra").exists()  # Hydra writes no record of its own into a run dir


def test_a_run_dir_with_results_but_no_config_is_refused_as_damaged(make_cfg, tmp_path):
    run(make_cfg("trainer.max_epochs=1"), run_dir=tmp_path)
    (tmp_path / rundir.CONFIG).unlink()
    before = digest(tmp_path)
    with pytest.raises(RunDirError, match=r"holds summary.json, checkpoint.pt, metrics.jsonl but no config.yaml"):
        run(make_cfg("trainer.max_epochs=1", "optimizer.lr=0.05"), run_dir=tmp_path)
    assert digest(tmp_path) == before  # the old results are not returned under the new lr


def _npz(root, seed):
    rng = np.random.default_rng(seed)
    root.mkdir()
    np.savez(
        root / "cifar10.npz",
        x_train=rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(200) % 10,
        x_test=rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(50) % 10,
    )
    return root


def test_a_run_does_not_resume_on_other_data(make_cfg, tmp_path):
    """Interrupted on one npz, resumed on another (here: other pixels, same shapes): refused, naming both."""
    a, b = _npz(tmp_path / "a", 0), _npz(tmp_path / "b", 1)
    args = ["data=cifar10", "data.val_size=0", "trainer.max_epochs=3", "trainer.batch_size=50"]
    d = tmp_path / "run"
    cut = run(make_cfg(*args, f"data.root={a}", "trainer.interrupt_at_step=2"), run_dir=d)
    assert cut["status"] == "interrupted"
    before = digest(d)
    with pytest.raises(RunDirError, match=rf"began on other data \(fingerprint \w+, from {a}\) than {b} holds"):
        run(make_cfg(*args, f"data.root={b}"), run_dir=d)
    assert digest(d) == before
    done = run(make_cfg(*args, f"data.root={a}"), run_dir=d)  # the data it began with: resumes
    assert done["status"] == "completed" and done["data_fingerprint"] == cut["data_fingerprint"]


def test_a_report_on_a_smoke_sweep_leaves_the_repository_as_it_was(tmp_path, monkeypatch):
    status = lambda: (
        subprocess.run(  # noqa: E731
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
        ).stdout
    )
    before = status()
    monkeypatch.chdir(REPO)  # as a user types it, in the checkout
    report.main([str(random_label_runs(tmp_path / "sweep", 0.995, 0.1)), "--wandb-mode", "disabled"])
    assert status() == before and (tmp_path / "sweep" / "report" / "verdicts.csv").is_file()
