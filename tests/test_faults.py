"""Fault injection: malformed inputs are refused in one line naming the file or key, with no
traceback and nothing trained (issue: run dirs and inputs that cannot lie)."""

import json

import numpy as np
import pytest
from helpers import run_cli

from harness.train import data
from harness.train.data import DataError


def good_arrays(n=20):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        "y_train": np.arange(n) % 10,
        "x_test": rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8),
        "y_test": np.arange(10) % 10,
    }


def write_npz(root, **changes):
    arrays = {**good_arrays(), **changes}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(root / "cifar10.npz", **arrays)
    return root / "cifar10.npz"


BAD_NPZ = {
    "labels above 9": ({"y_train": np.arange(20) % 11}, "y_train must be class labels 0..9; found values 0..10"),
    "negative test labels": ({"y_test": np.arange(10) - 1}, "y_test must be class labels 0..9; found values -1..8"),
    "CHW images": ({"x_train": np.zeros((20, 3, 32, 32), np.uint8)}, "x_train must be uint8 (N, 32, 32, 3)"),
    "float images": ({"x_test": np.zeros((10, 32, 32, 3), np.float32)}, "found float32 (10, 32, 32, 3)"),
    "28x28 images": ({"x_train": np.zeros((20, 28, 28, 3), np.uint8)}, "found uint8 (20, 28, 28, 3)"),
    "a label per image missing": ({"y_train": np.arange(19) % 10}, "y_train must be 20 integer labels"),
    "float labels": ({"y_test": np.zeros(10, np.float64)}, "y_test must be 10 integer labels"),
    "2-D labels": ({"y_train": np.zeros((20, 1), np.int64)}, "y_train must be 20 integer labels"),
    "no test images": ({"x_test": None}, "no key 'x_test'"),
    "no train labels": ({"y_train": None}, "no key 'y_train'"),
}


@pytest.mark.parametrize("case", BAD_NPZ)
def test_a_malformed_npz_is_refused_naming_file_and_key(tmp_path, case):
    changes, message = BAD_NPZ[case]
    path = write_npz(tmp_path, **changes)
    with pytest.raises(DataError) as e:
        data.load_cifar10(tmp_path, download=False)
    assert str(path) in str(e.value) and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", "truncated"])
def test_an_unreadable_npz_is_named(tmp_path, content):
    path = write_npz(tmp_path)
    if content == "truncated":
        content = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"cifar10.npz: not a readable .npz"):
        data.load_cifar10(tmp_path, download=False)


def test_subset_and_val_sizes_beyond_the_data_name_their_key():
    labels = np.arange(100) % 10
    with pytest.raises(DataError, match=r"data.subset=95 is larger than the 50 images left .*data.val_size=50"):
        data.class_balanced_split(labels, 50, 95, 0)
    with pytest.raises(DataError, match=r"data.val_size=200 needs 20 images of every class"):
        data.class_balanced_split(labels, 200, None, 0)


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path):
    write_npz(tmp_path, y_train=np.arange(20) % 11)
    out = run_cli(
        "experiment=random_labels",
        "logger=none",
        f"data.root={tmp_path}",
        "data.val_size=0",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "y_train must be class labels 0..9" in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


# --- damaged run-dir state ------------------------------------------------------------------------

from harness import rundir  # noqa: E402
from harness.app import run  # noqa: E402
from harness.rundir import RunDirError  # noqa: E402

RUN = ["trainer.max_epochs=3", "optimizer.lr=0.01"]


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(make_cfg, tmp_path, caplog):
    whole = run(make_cfg(*RUN), run_dir=tmp_path / "whole")
    d = tmp_path / "cut"
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=d)  # checkpoints at step 3 (epoch end) and 4
    assert (d / "checkpoint.prev.pt").is_file()
    (d / "checkpoint.pt").write_bytes((d / "checkpoint.pt").read_bytes()[:100])  # truncated
    resumed = run(make_cfg(*RUN), run_dir=d)
    assert "checkpoint.pt does not load" in caplog.text
    assert (resumed["steps"], resumed["test_acc"], resumed["train_loss"]) == (
        whole["steps"],
        whole["test_acc"],
        whole["train_loss"],
    )
    steps = [m["step"] for m in rundir.read_metrics(d)]
    assert steps == [m["step"] for m in rundir.read_metrics(tmp_path / "whole")]


@pytest.mark.parametrize("damage", [b"", b"garbage"])
def test_unloadable_checkpoints_are_named_with_the_remedy(make_cfg, tmp_path, damage):
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        (tmp_path / name).write_bytes(damage)
    with pytest.raises(RunDirError, match=r"checkpoint.pt and .*checkpoint.prev.pt do not load .*delete them"):
        run(make_cfg(*RUN), run_dir=tmp_path)


def test_a_garbage_summary_is_named_with_the_remedy(make_cfg, tmp_path):
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(RunDirError, match=r"summary.json is not valid JSON .*delete it"):
        run(make_cfg(*RUN), run_dir=tmp_path)


def test_ctrl_c_checkpoints_like_sigterm_and_exits_130(tmp_path):
    import json
    import signal

    from helpers import signal_mid_run

    code, err, _ = signal_mid_run(tmp_path, signal.SIGINT, "data.train_size=600", "trainer.max_epochs=40")
    assert code == 130, err[-2000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert (s["status"], s["stop_reason"]) == ("interrupted", "sigint") and (tmp_path / "checkpoint.pt").is_file()
    assert "Traceback" not in err


def test_a_sweep_with_one_invalid_value_is_refused_before_anything_runs(tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "experiment=random_labels",
        "scale=smoke",
        "logger=none",
        "trainer.max_epochs=1",
        "optimizer.lr=-1,0.01",
        "seed=0",  # the experiment's own sweep runs 3 seeds
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "job 0 (" in lines[0] and "optimizer.lr=-1" in lines[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr and not sweep.exists()  # nothing trained, nothing written


def test_a_sweep_with_a_job_refused_while_running_exits_non_zero_naming_it(tmp_path):
    """A job whose data is missing is refused when it runs (its config was fine): the others run, and
    the sweep says which job was refused and exits 1, not 0 as if all had run."""
    from harness.results import report

    sweep = tmp_path / "sweep"
    out = run_cli(
        "-m",
        "experiment=random_labels",
        "logger=none",
        "trainer.max_epochs=1",
        "seed=0",
        "data=cifar10,synthetic",
        f"data.root={tmp_path}/none",
        "data.download=false",
        "scale=smoke",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert "error: job 0 (" in out.stderr and "1 of 2 jobs were refused" in out.stderr
    assert json.loads((sweep / "1" / "summary.json").read_text())["status"] == "completed"
    report.report(sweep, tmp_path / "out", wandb_mode="disabled")  # the report leaves the refused job out
    assert json.loads((tmp_path / "out" / "report.json").read_text())["runs"] == 1


@pytest.mark.parametrize("subdir", ["", "x"])
def test_a_sweep_whose_jobs_would_share_a_dir_is_refused(tmp_path, subdir):
    out = run_cli(
        "-m", "experiment=random_labels", "scale=smoke", "logger=none", "seed=0,1",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", f"hydra.sweep.subdir={subdir}",
    )  # fmt: skip
    assert out.returncode == 2 and "hydra.sweep.subdir=" in out.stderr and "one dir" in out.stderr, out.stderr[-800:]


# --- config values refused before anything runs ------------------------------------------------------

from harness.config import ConfigError, validate  # noqa: E402

BAD_VALUES = [
    ("optimizer.nesterov=maybe", "optimizer.nesterov='maybe'"),
    ("data.augment.crop=maybe", "data.augment.crop"),
    ("data.augment.flip=1", "data.augment.flip=1"),
    ("trainer.amp=abc", "trainer.amp='abc'"),
    ("trainer.compile=yes_please", "trainer.compile"),
    ("curvature.negative=2", "curvature.negative"),
    ("adversarial.random_start=sometimes", "adversarial.random_start"),
    ("trainer.save_predictions=on_tuesdays", "trainer.save_predictions"),
    ("adversarial.seed=abc", "adversarial.seed='abc'"),
    ("curvature.seed=abc", "curvature.seed='abc'"),
    ("curvature.sample_seed=-1", "curvature.sample_seed=-1"),
    ("seed=18446744073709551617", "seed=18446744073709551617"),
    ("data.randomization_seed=1.5", "data.randomization_seed=1.5"),
    ("data.split_seed=-3", "data.split_seed=-3"),
]


@pytest.mark.parametrize("override, named", BAD_VALUES)
def test_mistyped_values_are_refused_naming_the_key(make_cfg, override, named):
    with pytest.raises(ConfigError, match="invalid config: " + named.replace(".", r"\.").replace("'", "'?")):
        validate(make_cfg(override))


@pytest.mark.parametrize(
    "args, named",
    [
        (["device=cuda"], "device='cuda'"),
        (["hydra.run.dir="], "hydra.run.dir="),
        (["optimizer.lr=-1"], "optimizer.lr=-1"),
        (["trainer.amp=abc"], "trainer.amp='abc'"),
    ],
)
def test_refused_runs_leave_no_run_dir_behind(tmp_path, args, named):
    import torch

    if args == ["device=cuda"] and torch.cuda.is_available():
        pytest.skip("a GPU is visible: device=cuda is valid here")
    run_dir = tmp_path / "run"
    extra = [] if any(a.startswith("hydra.run.dir") for a in args) else [f"hydra.run.dir={run_dir}"]
    out = run_cli("experiment=random_labels", "scale=smoke", "logger=none", *args, *extra, cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0] and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # no run dir, nothing in the current directory
