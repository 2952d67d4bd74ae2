"""A run dir belongs to one config and one process at a time (issue: run dirs that cannot lie)."""

import fcntl
import os

import pytest

from harness import rundir
from harness.app import run
from harness.rundir import RunDirError

BASE = ["trainer.max_epochs=1", "optimizer.lr=0.01"]


def snapshot(d):
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file() and p.name != ".lock"}


def test_a_run_dir_refuses_another_config_naming_the_keys(make_cfg, tmp_path):
    run(make_cfg(*BASE), run_dir=tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError, match=r"another config \(optimizer\.lr: 0\.01 -> 0\.05\)"):
        run(make_cfg("trainer.max_epochs=1", "optimizer.lr=0.05"), run_dir=tmp_path)
    with pytest.raises(RunDirError, match=r"model\.name: 'mlp_1x512' -> 'mlp_3x512'"):
        run(make_cfg(*BASE, "model=mlp_3x512"), run_dir=tmp_path)
    assert snapshot(tmp_path) == before  # nothing touched


def test_an_interrupted_run_does_not_resume_under_another_config(make_cfg, tmp_path):
    cut = run(make_cfg(*BASE, "trainer.max_epochs=3", "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    assert cut["status"] == "interrupted"
    with pytest.raises(RunDirError, match="optimizer.lr"):
        run(make_cfg("trainer.max_epochs=3", "optimizer.lr=0.05"), run_dir=tmp_path)
    done = run(make_cfg(*BASE, "trainer.max_epochs=3"), run_dir=tmp_path)  # the same overrides resume it
    assert done["status"] == "completed"


def _predate(run_dir, *keys):
    """Rewrite the stored config as an older harness wrote it: without `keys` (dotted)."""
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    for key in keys:
        *parents, last = key.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        del node[last]
        if not node and len(parents) == 1:  # a node left empty did not exist either
            del cfg[parents[0]]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))


def test_a_run_that_predates_a_key_resumes_when_the_key_keeps_its_default(make_cfg, tmp_path):
    cut = run(make_cfg(*BASE, "trainer.max_epochs=3", "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    assert cut["status"] == "interrupted"
    _predate(tmp_path, "init.prescreen", "schedule.reference", "trainer.grad_norms_every_steps")
    with pytest.raises(RunDirError, match=r"trainer\.grad_norms_every_steps: None -> 5\)"):
        run(make_cfg(*BASE, "trainer.max_epochs=3", "trainer.grad_norms_every_steps=5"), run_dir=tmp_path)
    done = run(make_cfg(*BASE, "trainer.max_epochs=3"), run_dir=tmp_path)
    assert done["status"] == "completed" and done["steps"] > cut["steps"]


def test_a_keep_noise_scale_run_of_rule_1_resumes_only_under_rule_1(make_cfg, tmp_path):
    """A run that rescaled B by the large-N rule (made before its version key) is not resumed by today's
    rule, which would give it another batch size: refused naming the key; under version 1 it goes on."""
    keep = [*BASE, "trainer.max_epochs=3", "optimizer.momentum=0.5", "schedule.keep_noise_scale=true",
            "schedule.reference.momentum=0.75"]  # fmt: skip
    cut = run(make_cfg(*keep, "schedule.keep_noise_scale_version=1", "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    assert cut["status"] == "interrupted" and cut["base_batch_size"] == 64  # 128 x 0.25 / 0.5
    _predate(tmp_path, "schedule.keep_noise_scale_version")
    with pytest.raises(RunDirError, match=r"schedule\.keep_noise_scale_version: 1 -> 2\)"):
        run(make_cfg(*keep), run_dir=tmp_path)
    done = run(make_cfg(*keep, "schedule.keep_noise_scale_version=1"), run_dir=tmp_path)
    assert done["status"] == "completed" and done["base_batch_size"] == 64 and done["steps"] > cut["steps"]


def _rename_as_before(run_dir):
    """Rewrite a run dir as the harness wrote it before the renames of names.RENAMED_*: the Table 1
    label as `table1_row`, Zhang's lr in the model node, curvature metrics as hessian/*."""
    import json

    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg["table1_row"] = cfg.pop("row")
    cfg["model"]["zhang_lr"] = 0.01
    del cfg["optimizer"]["lr_by_model"]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    for name in ("metrics.jsonl", "summary.json"):
        text = (run_dir / name).read_text().replace('"curvature/', '"hessian/').replace('"curvature_', '"hessian_')
        (run_dir / name).write_text(
            text.replace('"init/curvature/', '"init/hessian/').replace('"init_curvature_', '"init_hessian_')
        )
    assert "init_hessian_top_eig" in json.loads((run_dir / "summary.json").read_text())


def test_a_run_written_under_old_names_resumes_and_reads_under_the_new_ones(make_cfg, tmp_path):
    from harness.results import records

    args = ["experiment=zhang_table1", "table1=none", "trainer.max_epochs=3", "trainer.target_train_acc=null"]
    args += ["curvature.at=[init,end]", "curvature.sample_size=32", "curvature.trace=none"]
    cut = run(make_cfg(*args, "trainer.interrupt_at_step=2"), run_dir=tmp_path / "0")
    assert cut["status"] == "interrupted"
    _rename_as_before(tmp_path / "0")
    (old,) = records.load([tmp_path])
    assert old.config["row"] == "none" and "zhang_lr" not in old.config["model"] and "table1_row" not in old.config
    assert "init_curvature_top_eig" in old.summary and "init/curvature/top_eig" in old.metrics[0]
    done = run(make_cfg(*args), run_dir=tmp_path / "0")  # resumes: the renamed keys are the same run
    assert done["status"] == "completed" and done["steps"] > cut["steps"] and "curvature_top_eig" in done
    (new,) = records.load([tmp_path])
    ignore = rundir.NOT_IDENTITY + rundir.RESUMABLE_CHANGES  # the cut run stored its interrupt_at_step
    assert rundir.identity(new.config, ignore) == rundir.identity(old.config, ignore)


def test_logging_and_progress_keys_may_change(make_cfg, tmp_path):
    run(make_cfg(*BASE), run_dir=tmp_path)
    again = run(make_cfg(*BASE, "trainer.progress=none", "trainer.eval_batch_size=64"), run_dir=tmp_path)
    assert again["status"] == "completed"


def test_a_run_dir_in_use_is_refused_naming_the_holder(make_cfg, tmp_path):
    with open(tmp_path / ".lock", "w") as holder:  # another open file: the lock conflicts as across processes
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.write("4242")
        holder.flush()
        with pytest.raises(RunDirError, match="in use by process 4242"):
            run(make_cfg(*BASE), run_dir=tmp_path)
        assert not (tmp_path / "summary.json").exists()
    # the holder is gone (closed, as when a process dies): the lock goes with it
    assert run(make_cfg(*BASE), run_dir=tmp_path)["status"] == "completed"
    assert (tmp_path / ".lock").read_text() == str(os.getpid())


def test_an_unreadable_config_is_named(make_cfg, tmp_path):
    (tmp_path / "config.yaml").write_text("{{{ not yaml")
    with pytest.raises(RunDirError, match=r"config.yaml is not a readable config"):
        run(make_cfg(*BASE), run_dir=tmp_path)


def test_a_run_dir_that_is_a_file_is_refused(make_cfg, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        run(make_cfg(*BASE), run_dir=f)
    assert f.read_text() == "x"


def test_stop_rules_may_change_only_while_a_run_is_unfinished(make_cfg, tmp_path):
    cut = run(make_cfg(*BASE, "trainer.max_epochs=3", "trainer.interrupt_at_step=4"), run_dir=tmp_path / "a")
    assert cut["status"] == "interrupted"
    longer = run(make_cfg(*BASE, "trainer.max_epochs=4"), run_dir=tmp_path / "a")  # not finished: may run longer
    assert longer["status"] == "completed" and longer["epochs"] == 4
    with pytest.raises(RunDirError, match=r"trainer\.max_epochs: 4 -> 6"):  # finished: its summary would lie
        run(make_cfg(*BASE, "trainer.max_epochs=6"), run_dir=tmp_path / "a")


def _steps(d):
    return [m["step"] for m in rundir.read_metrics(d)]


def test_a_restart_from_scratch_does_not_repeat_steps(make_cfg, tmp_path):
    whole = run(make_cfg(*BASE, "trainer.max_epochs=2"), run_dir=tmp_path / "whole")
    d = tmp_path / "cut"
    cut = run(make_cfg(*BASE, "trainer.max_epochs=2", "trainer.interrupt_at_step=4"), run_dir=d)
    assert cut["status"] == "interrupted"
    (d / "checkpoint.pt").unlink()  # as if the first checkpoint had never been written (kill -9 before it)
    again = run(make_cfg(*BASE, "trainer.max_epochs=2"), run_dir=d)
    assert _steps(d) == _steps(tmp_path / "whole") and len(set(_steps(d))) == len(_steps(d))
    assert again["test_acc"] == whole["test_acc"]


def test_a_torn_last_metrics_line_is_dropped_and_a_damaged_file_is_named(tmp_path, caplog):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "tr')
    assert _steps(tmp_path) == [1, 2] and "torn last line" in caplog.text
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\ngarbage\n{"step": 3}\n')
    with pytest.raises(RunDirError, match=r"metrics.jsonl: line 2 is not JSON"):
        rundir.read_metrics(tmp_path)


def test_summary_names_the_code_and_the_package_versions(make_cfg, tmp_path):
    from importlib import metadata

    s = run(make_cfg(*BASE), run_dir=tmp_path)
    assert s["package_versions"]["torch"] == metadata.version("torch")
    assert set(s["package_versions"]) >= {"numpy", "hydra-core", "omegaconf", "wandb", "scipy"}
    assert s["git_commit"] is None or len(s["git_commit"].split("-")[0]) == 40
