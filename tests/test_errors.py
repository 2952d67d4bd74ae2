"""Issue 31, items 5 and 6: every way a command can go wrong is refused before anything is written, in
one line naming the key or file, the value and what is allowed (`error: ...`, exit 2 from the CLI),
or is handled: W&B failures fall back, a resume never repeats an evaluation, no JSON holds a bare NaN."""

import errno
import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from harness import app, rundir, tracking
from harness.app import run
from harness.config import validate
from harness.errors import ConfigError, DataError, RunDirError
from harness.schema import ListOf, Number, OneOf, rules
from harness.train import data

RUN = ["trainer.max_epochs=3", "optimizer.lr=0.01"]


def one_line(e) -> str:
    text = str(e.value) if hasattr(e, "value") else str(e)
    assert "\n" not in text, text
    return text


def strict_json(path):
    """The file as JSON, refusing the NaN / Infinity that json.dumps writes by default (not JSON)."""

    def bare(name):
        raise AssertionError(f"{path}: bare {name}")

    return json.loads(path.read_text(), parse_constant=bare)


def digest(d):
    """Every file below d by content, the lock (its PID) aside."""
    files = (p for p in sorted(d.rglob("*")) if p.is_file() and p.name != ".lock")
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in files}


# --- 1-3: config values ---------------------------------------------------------------------------------

REFUSED = [
    # a switch is true or false, not anything OmegaConf would read as one
    (["model=mlp_deep", "model.batch_norm=yes"], "model.batch_norm='yes'; allowed: true | false"),
    (["model=mlp_deep", "model.batch_norm=2"], "model.batch_norm=2; allowed: true | false"),
    # a boolean where a number belongs: what is allowed for that key, not "true | false"
    (["init.prescreen=true"], "init.prescreen=True; allowed: an integer in [0, inf)"),
    (["data.corruption_prob=true"], "data.corruption_prob=True; allowed: a number in [0.0, 1.0]"),
    # more than the training set: the key that asks for it, and what is there
    (["data.subset=100000"], "data.subset=100000; allowed: an integer in [10, 448] or null"),
    (["data.val_size=512"], "data.val_size=512; allowed: an integer in [0, 511]"),
    # a scalar where a list belongs, a list where a string belongs, a key that does not exist
    (["adversarial.eps_255=8"], "adversarial.eps_255=8; allowed: a list of numbers in (0, 255]"),
    (["curvature.at=init"], "curvature.at='init'; allowed: a list of: init | end"),
    (["tags=foo"], "tags='foo'; allowed: a list of W&B tags"),
    (["schedule.milestones=5"], "schedule.milestones=5; allowed: a list of increasing positive integers"),
    (["device=[cpu]"], "device=['cpu']; allowed: auto | cpu | cuda"),
    (["+optimizer.lrr=0.1"], "optimizer.lrr=0.1: no such key (did you mean optimizer.lr?); allowed keys of optimizer:"),
    (["+trainer.max_epoch=5"], "did you mean trainer.max_epochs?"),
    # what W&B would refuse mid-setup: refused by the config check, before anything exists
    (["tags=[" + "x" * 65 + "]"], "allowed: a list of W&B tags, 1 to 64 characters each"),
    (["tags=[ok,'']"], "tags=['ok', '']; allowed: a list of W&B tags, 1 to 64 characters each"),
]


@pytest.mark.parametrize("overrides, message", REFUSED, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_bad_values_are_refused_in_one_line_naming_key_value_and_what_is_allowed(make_cfg, overrides, message):
    with pytest.raises(ConfigError) as e:
        validate(make_cfg(*overrides))
    assert message in one_line(e), str(e.value)


@pytest.mark.parametrize("project", ["a/b", "x" * 129, "what?"])
def test_a_wandb_project_that_wandb_refuses_is_refused_by_the_config_check(make_cfg, project):
    with pytest.raises(ConfigError, match=r"logger\.project=.*; allowed: a W&B project name") as e:
        validate(make_cfg(f"logger.project='{project}'", logger="wandb"))
    one_line(e)


# a value each free-form rule refuses (the ranges and name lists get theirs from the rule itself)
BREAKS_RULE = {
    "tags": "['']",
    "logger.project": "a/b",
    "schedule.milestones": "[30,10]",
    "curvature.alphas": "[-1.0]",
    "adversarial.eps_255": "[300]",
}


def a_value_outside(key, rule) -> str:
    """An override value the rule refuses, as Hydra would parse it."""
    if isinstance(rule, Number):
        if rule.hi is not None:
            return str(rule.hi if rule.hi_open else rule.hi + 1)
        return str(rule.lo if rule.lo_open else rule.lo - 1)
    if isinstance(rule, OneOf):
        return "null" if any(n is True for n in rule.names) else "nope"  # (1 == True: a switch by identity)
    if isinstance(rule, ListOf):
        return "[nope]"
    return BREAKS_RULE[key]


RULED = [(key, rule, when) for key, rule, when in rules()]


@pytest.mark.parametrize("key, rule, when", RULED, ids=[key for key, _, _ in RULED])
def test_every_declared_rule_refuses_a_value_outside_it_naming_the_key(make_cfg, key, rule, when):
    """A setting is declared once (its schema field and rule); this is what makes the rule hold: a value
    outside it is refused in one line naming the key and the rule's own words."""
    group = {"model.name": "model", "data.name": "data"}
    overrides = [f"{group[when[0]]}={when[1]}"] if when else []
    with pytest.raises(ConfigError) as e:
        logger = "wandb" if key.startswith("logger.") else "none"  # (logger=none has no project)
        validate(make_cfg(*overrides, f"{key}={a_value_outside(key, rule)}", logger=logger))
    assert one_line(e).startswith(f"invalid config: {key}=") and one_line(e).endswith(f"allowed: {rule}")


def test_a_rule_holds_only_where_its_condition_does(make_cfg):
    """model.depth is mlp_deep's: another model leaves it null and is valid; mlp_deep needs it."""
    assert validate(make_cfg("model=mlp_1x512")).model.depth is None
    with pytest.raises(ConfigError, match=r"model\.depth=None; allowed: an integer in \[1, inf\)"):
        validate(make_cfg("model=mlp_deep", "model.depth=null"))


def test_a_switch_that_may_be_null_still_takes_true_or_false(make_cfg):
    assert validate(make_cfg("model=mlp_deep", "model.batch_norm=false")).model.batch_norm is False
    assert validate(make_cfg()).model.get("batch_norm") is None  # not an mlp_deep: not set


def test_the_cli_says_a_type_error_in_one_line(tmp_path):
    out = run_cli("scale=smoke", "logger=none", "adversarial.eps_255=8", f"hydra.run.dir={tmp_path / 'run'}")
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(errors) == 1 and errors[0].startswith("error: "), out.stderr
    assert not (tmp_path / "run").exists()


# --- 4: data ----------------------------------------------------------------------------------------------


def npz(root, n_train=200, n_test=50):
    rng = np.random.default_rng(0)
    root.mkdir(exist_ok=True)
    np.savez(
        root / "cifar10.npz",
        x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )
    return root


NPZ_RUN = ["data=cifar10", "data.val_size=0", "trainer.batch_size=50"]


@pytest.mark.parametrize("n_train, n_test, split", [(200, 0, "x_test"), (0, 50, "x_train")])
def test_a_split_without_images_is_refused_before_a_run_dir_exists(make_cfg, tmp_path, n_train, n_test, split):
    root = npz(tmp_path / "data", n_train, n_test)
    with pytest.raises(DataError, match=rf"cifar10.npz: {split} has no images") as e:
        run(make_cfg(*NPZ_RUN, f"data.root={root}"), run_dir=tmp_path / "run")
    one_line(e)
    assert not (tmp_path / "run").exists()


def test_a_val_split_that_leaves_no_training_images_is_refused(make_cfg, tmp_path):
    root = npz(tmp_path / "data")
    with pytest.raises(DataError, match=r"data\.val_size=200 leaves no training images"):
        run(make_cfg(*NPZ_RUN, "data.val_size=200", f"data.root={root}"), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def batches_py(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), "labels": list(np.arange(20) % 10)}
        (folder / name).write_bytes(pickle.dumps(batch))
    return folder


def test_the_batches_py_fallback_loads(tmp_path):
    batches_py(tmp_path)
    arrays = data.load_cifar10(tmp_path, download=False)
    assert arrays.x_train.shape == (100, 32, 32, 3) and len(arrays.y_test) == 20


@pytest.mark.parametrize("damage", ["garbage", "empty", "missing", "not a batch"])
def test_a_damaged_or_missing_batch_file_is_named(tmp_path, damage):
    bad = batches_py(tmp_path) / "data_batch_3"
    if damage == "missing":
        bad.unlink()
    else:
        bad.write_bytes({"garbage": b"\x80\x04garbage", "empty": b"", "not a batch": pickle.dumps([1, 2])}[damage])
    with pytest.raises(DataError) as e:
        data.load_cifar10(tmp_path, download=False)
    assert str(bad) in one_line(e), str(e.value)


def test_ctrl_c_while_the_data_loads_exits_130_in_one_line(make_cfg, tmp_path, monkeypatch, capsys):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_read_npz", interrupted)
    data._cached_cifar10.cache_clear()
    cfg = make_cfg(*NPZ_RUN, f"data.root={npz(tmp_path / 'data')}")
    with pytest.raises(SystemExit) as e:
        app.main(cfg)
    assert e.value.code == 130
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: interrupted (Ctrl-C) while loading the data"), err


def test_json_the_harness_writes_has_no_bare_nan(tmp_path):
    rundir.write_json(tmp_path / "x.json", {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": -float("inf")}})
    assert strict_json(tmp_path / "x.json") == {"a": None, "b": [1.0, None], "c": {"d": None}}
    rundir.append_metrics(tmp_path, {"step": 1, "train/loss": float("nan")})
    assert strict_json(tmp_path / "metrics.jsonl") == {"step": 1, "train/loss": None}  # (one line)


# --- 5: W&B -----------------------------------------------------------------------------------------------


def wandb_warnings(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING and "W&B" in r.getMessage()]


def test_wandb_online_without_a_login_falls_back_to_offline_and_trains(make_cfg, tmp_path, monkeypatch, caplog):
    import wandb

    real = wandb.init

    def init(**kwargs):
        if kwargs.get("mode") == "online":
            raise wandb.errors.UsageError("No API key configured. Use `wandb login` to log in.")
        return real(**kwargs)

    monkeypatch.setattr(wandb, "init", init)
    summary = run(make_cfg(*RUN, "logger.mode=online", logger="wandb"), run_dir=tmp_path)
    assert summary["status"] == "completed"
    (warning,) = wandb_warnings(caplog)
    assert "offline" in warning.getMessage() and "No API key" in warning.getMessage()
    assert list(tmp_path.glob("wandb/offline-run-*"))


@pytest.mark.parametrize("content", ["", "a/b?c", "\x00\x01"])
def test_a_garbage_wandb_run_id_file_does_not_lose_the_run(make_cfg, tmp_path, content, caplog):
    (tmp_path / tracking.RUN_ID_FILE).write_text(content)
    summary = run(make_cfg(*RUN, "logger.mode=offline", logger="wandb"), run_dir=tmp_path)
    assert summary["status"] == "completed"
    (warning,) = wandb_warnings(caplog)
    assert tracking.RUN_ID_FILE in warning.getMessage()
    new = (tmp_path / tracking.RUN_ID_FILE).read_text()
    assert new != content and list(tmp_path.glob(f"wandb/offline-run-*-{new}"))


def test_when_wandb_cannot_start_at_all_the_run_trains_without_it(make_cfg, tmp_path, monkeypatch, caplog):
    import wandb

    def init(**kwargs):
        raise RuntimeError("wandb service died")

    monkeypatch.setattr(wandb, "init", init)
    summary = run(make_cfg(*RUN, "logger.mode=online", logger="wandb"), run_dir=tmp_path)
    assert summary["status"] == "completed"
    (warning,) = wandb_warnings(caplog)
    assert "without W&B" in warning.getMessage() and "wandb service died" in warning.getMessage()


def test_wandb_metric_definitions_set_the_step_axis_and_summaries(make_cfg, tmp_path):
    from wandb_offline import finished_records

    run(make_cfg(*RUN, "logger.mode=offline", logger="wandb"), run_dir=tmp_path)
    defined = [r.metric for r in finished_records(tmp_path) if r.WhichOneof("record_type") == "metric"]
    metrics = {m.name or m.glob_name: m for m in defined}
    assert metrics["*"].step_metric == "step"
    assert metrics["test/acc"].summary.max and metrics["test/acc"].summary.last
    assert metrics["train/loss"].summary.min and metrics["train/loss"].summary.last


# --- 6: run dir state -------------------------------------------------------------------------------------


def test_a_read_only_run_dir_is_refused_in_one_line(make_cfg, tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(rundir.tempfile, "mkstemp", denied)
    with pytest.raises(RunDirError, match=r"cannot write .*config\.yaml: Permission denied; .*not writable") as e:
        run(make_cfg(*RUN), run_dir=tmp_path)
    one_line(e)
    assert digest(tmp_path) == {}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only dir: see the monkeypatched test above")
def test_a_read_only_run_dir_is_refused_by_the_cli(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    d.chmod(0o555)
    try:
        out = run_cli("scale=smoke", "logger=none", f"hydra.run.dir={d}")
    finally:
        d.chmod(0o755)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 2 and len(errors) == 1 and "not writable" in errors[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr and list(d.iterdir()) == []


@pytest.mark.parametrize("content", ["[1]", '{"status": "completed"}', '"x"', '{"status": "sleeping"}'])
def test_a_summary_of_the_wrong_shape_is_named_with_the_remedy(make_cfg, tmp_path, content):
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    (tmp_path / "summary.json").write_text(content)
    before = digest(tmp_path)
    with pytest.raises(RunDirError, match=r"summary\.json is not a run summary .*delete it") as e:
        run(make_cfg(*RUN), run_dir=tmp_path)
    one_line(e)
    assert digest(tmp_path) == before


def test_a_checkpoint_of_another_model_is_named(make_cfg, tmp_path):
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=tmp_path / "a")
    run(make_cfg(*RUN, "model=mlp_3x512", "trainer.interrupt_at_step=4"), run_dir=tmp_path / "b")
    (tmp_path / "a" / "checkpoint.pt").write_bytes((tmp_path / "b" / "checkpoint.pt").read_bytes())
    before = digest(tmp_path / "a")
    with pytest.raises(RunDirError, match=r"a/checkpoint\.pt does not fit this run's model .*delete it") as e:
        run(make_cfg(*RUN), run_dir=tmp_path / "a")
    one_line(e)
    assert digest(tmp_path / "a") == before


def test_a_checkpoint_that_loads_but_does_not_restore_is_named(tmp_path):
    import torch

    torch.save({"model": {}}, tmp_path / "checkpoint.pt")

    def restore(checkpoint):
        checkpoint["optimizer"]  # (KeyError)

    with pytest.raises(RunDirError, match=r"checkpoint\.pt does not fit this run's model and optimizer \('optim"):
        rundir.restore_checkpoint(tmp_path, restore)


def test_a_full_disk_is_said_in_one_line_and_the_run_resumes_afterwards(make_cfg, tmp_path, monkeypatch):
    import torch

    whole = run(make_cfg(*RUN), run_dir=tmp_path / "whole")
    real, saves = torch.save, []

    def save(*args, **kwargs):
        saves.append(1)
        if len(saves) == 2:  # the second checkpoint
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(RunDirError, match=r"cannot write .*checkpoint\.pt: No space left on device; .*free space") as e:
        run(make_cfg(*RUN), run_dir=tmp_path / "cut")
    one_line(e)
    assert not list((tmp_path / "cut").glob(".*.tmp"))  # no half-written file left behind
    monkeypatch.setattr(torch, "save", real)
    done = run(make_cfg(*RUN), run_dir=tmp_path / "cut")
    assert (done["test_acc"], done["steps"]) == (whole["test_acc"], whole["steps"])
    assert [m["step"] for m in rundir.read_metrics(tmp_path / "cut")] == [
        m["step"] for m in rundir.read_metrics(tmp_path / "whole")
    ]


@pytest.mark.faults  # (two real runs in subprocesses, ~11 s: with the other faults, make test-faults)
def test_a_file_size_limit_met_inside_torch_save_is_one_line_too(tmp_path):
    """A real limit (`ulimit -f`), not a mock: torch.save turns the write's OSError into a RuntimeError
    of its zip writer, which must still read as the file that could not be written."""
    import resource
    import subprocess
    import sys

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 1024, 20 * 1024))  # config, log, metrics fit; a checkpoint not

    args = [sys.executable, "-m", "harness", "scale=smoke", "logger=none", f"hydra.run.dir={tmp_path / 'run'}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, preexec_fn=limited, cwd=tmp_path)
    errors = [line for line in out.stderr.splitlines() if line.startswith(("error", "Traceback", "Error"))]
    assert out.returncode == 2 and len(errors) == 1, out.stderr[-2000:]
    assert errors[0].startswith(f"error: cannot write {tmp_path / 'run' / 'checkpoint.pt'}: File too large")
    again = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]


# --- 7: resume ----------------------------------------------------------------------------------------------


def test_max_epochs_is_part_of_a_cosine_runs_identity(make_cfg, tmp_path):
    cut = run(make_cfg(*RUN, "schedule=cosine", "trainer.interrupt_at_step=4"), run_dir=tmp_path / "cos")
    assert cut["status"] == "interrupted"
    before = digest(tmp_path / "cos")
    with pytest.raises(RunDirError, match=r"trainer\.max_epochs: 3 -> 4") as e:
        run(make_cfg(*RUN, "schedule=cosine", "trainer.max_epochs=4"), run_dir=tmp_path / "cos")
    assert "cosine" in one_line(e)
    assert digest(tmp_path / "cos") == before
    # a schedule that does not depend on it: a stop rule (a longer run of the same thing)
    run(make_cfg(*RUN, "schedule=step", "trainer.interrupt_at_step=4"), run_dir=tmp_path / "step")
    longer = run(make_cfg(*RUN, "schedule=step", "trainer.max_epochs=4"), run_dir=tmp_path / "step")
    assert longer["status"] == "completed" and longer["epochs"] == 4


def test_a_deleted_metrics_file_is_refused_on_resume(make_cfg, tmp_path):
    run(make_cfg(*RUN, "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    (tmp_path / "metrics.jsonl").unlink()
    before = digest(tmp_path)
    with pytest.raises(RunDirError) as e:
        run(make_cfg(*RUN), run_dir=tmp_path)
    assert one_line(e).endswith(
        "metrics.jsonl is missing: the history would restart mid-run; restore it or delete the checkpoint to start over"
    )
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    "extra, stop",
    [
        ([], "max_epochs"),
        (["trainer.save_predictions=true"], "max_epochs"),
        (["trainer.max_epochs=10", "trainer.target_train_acc=0.5"], "target_train_acc"),
        (["trainer.max_epochs=10", "trainer.max_steps=5"], "max_steps"),  # (mid-epoch)
    ],
    ids=["max_epochs", "predictions", "target", "max_steps"],
)
def test_a_crash_in_the_end_of_run_probes_does_not_repeat_the_final_evaluation(
    make_cfg, tmp_path, monkeypatch, extra, stop
):
    """kill -9 in the end-of-run attacks, after the final evaluation and its checkpoint (here: an exception
    raised there), then the same command: the final evaluation is recorded once, as in an uninterrupted run."""
    from harness import probes

    args = [*RUN, "trainer.max_epochs=2", *extra]
    whole = run(make_cfg(*args), run_dir=tmp_path / "whole")
    assert whole["stop_reason"] == stop

    def killed(*a, **k):
        raise RuntimeError("killed in the end-of-run attacks")

    real = probes.end_of_run
    monkeypatch.setattr(probes, "end_of_run", killed)
    with pytest.raises(RuntimeError, match="end-of-run"):
        run(make_cfg(*args), run_dir=tmp_path / "cut")
    monkeypatch.setattr(probes, "end_of_run", real)
    done = run(make_cfg(*args), run_dir=tmp_path / "cut")
    steps = [m["step"] for m in rundir.read_metrics(tmp_path / "cut")]
    assert len(steps) == len(set(steps)) and steps == [m["step"] for m in rundir.read_metrics(tmp_path / "whole")]
    keys = ("status", "stop_reason", "steps", "test_acc", "train_loss")
    assert [done[k] for k in keys] == [whole[k] for k in keys]
    if "trainer.save_predictions=true" in extra:
        predictions = [strict_json(tmp_path / d / "predictions.json") for d in ("cut", "whole")]
        assert predictions[0] == predictions[1]


# --- 8: an output dir that resolves to nothing ----------------------------------------------------------------


def test_a_run_dir_that_resolves_to_an_empty_string_is_refused(tmp_path):
    out = run_cli("scale=smoke", "logger=none", "hydra.run.dir=${oc.env:EMPTY}", cwd=tmp_path, env={"EMPTY": ""})
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(errors) == 1, out.stderr[-2000:]
    assert errors[0].startswith("error: invalid config: hydra.run.dir=''") and "a directory path" in errors[0]
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


def test_a_sweep_dir_that_resolves_to_an_empty_string_is_refused_before_any_job(tmp_path):
    """Else job 0 trains in ./0 and the end-of-sweep comparison reads every record under the current dir."""
    out = run_cli(
        "-m",
        "scale=smoke",
        "logger=none",
        "hydra.sweep.dir=${oc.env:EMPTY}",
        "seed=1,2",
        cwd=tmp_path,
        env={"EMPTY": ""},
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "error: invalid config: hydra.sweep.dir='' (from '${oc.env:EMPTY}'); allowed: a directory path" in out.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [[], ["-m"]])
def test_a_typo_in_a_key_is_refused_in_one_line_naming_the_closest_key(tmp_path, mode):
    """Without the `+` Hydra would refuse it in six lines, suggesting to add the key with `+`."""
    out = run_cli(*mode, "scale=smoke", "logger=none", "optimizer.lrr=0.1", cwd=tmp_path)
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(errors) == 1, out.stderr[-2000:]
    assert errors[0].startswith("error: invalid config: optimizer.lrr='0.1': no such key (did you mean optimizer.lr?)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, key",
    [(["hydra.run.dir={d}/parent/run"], "hydra.run.dir"), (["-m", "hydra.sweep.dir={d}/parent/s"], "hydra.sweep.dir")],
)
def test_an_output_dir_under_a_folder_this_user_cannot_write_is_refused_in_one_line(tmp_path, monkeypatch, args, key):
    """Hydra creates the dir before the run starts (a PermissionError traceback). As root every folder is
    writable, so the permission check itself is replaced here; as user `nobody` the CLI says the same."""
    import os

    from harness.__main__ import unwritable_output

    (tmp_path / "parent").mkdir()
    args = [a.format(d=tmp_path) for a in args]
    assert unwritable_output(args) is None
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and Path(p) != tmp_path / "parent")
    refusal = unwritable_output(args)
    assert refusal == (
        f"invalid config: {key}='{tmp_path}/parent/{'run' if key == 'hydra.run.dir' else 's'}': "
        f"{tmp_path / 'parent'} is not writable; allowed: a directory you may write"
    )


def test_a_log_file_that_cannot_be_written_says_so_once_not_a_traceback_per_line(tmp_path, capsys):
    """Hydra's log file handler (configs/hydra/job_logging): on a full disk Python's logging prints
    '--- Logging error ---' and a traceback for every line; the run's own writes then stop it in one line."""
    from harness.errors import RunLogFile

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    handler = RunLogFile(tmp_path / "harness.log", delay=True)
    handler.stream = FullDisk()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        for i in range(3):
            logging.getLogger("harness").warning("line %d", i)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: cannot write {tmp_path / 'harness.log'}: No space left on device; logging to the console only"
    ]
