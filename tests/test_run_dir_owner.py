"""The run dir is one object (`rundir.RunDir`): every file that a run, its probes, its tracker and a report
open inside a run dir is opened by it. Checked by watching every open of this process (Python's audit
hook sees builtins.open, os.open, tempfile and the torch and numpy loaders) while a run that writes every
kind of file is trained, cut, resumed, paired (C10) and reported."""

import os
import sys
from pathlib import Path

import pytest

from harness import rundir
from harness.app import run
from harness.names import FILES
from harness.results import records

RUNDIR_PY = str(Path(rundir.__file__).resolve())
_watched: list = []  # [root, [(path, opened through RunDir)]] while a test watches


def _hook(event, args):
    if event != "open" or not _watched or not isinstance(args[0], (str, os.PathLike)):
        return
    root, seen = _watched
    path = Path(os.fsdecode(args[0])).resolve()
    if root not in path.parents or "wandb" in path.relative_to(root).parts:  # W&B's own folder is W&B's
        return
    frame, through = sys._getframe(1), False
    while frame is not None and not through:
        through = frame.f_code.co_filename == RUNDIR_PY
        frame = frame.f_back
    seen.append((path.relative_to(root).as_posix(), through))


sys.addaudithook(_hook)  # (cannot be removed: it does nothing unless a test watches)


@pytest.fixture
def watch(tmp_path):
    seen: list = []
    _watched[:] = [tmp_path.resolve(), seen]
    yield seen
    _watched.clear()


EVERYTHING = [  # every result file a run can write: pre-screen, Hessian probes, attacks, bounds, predictions
    "experiment=sgd_stability",
    "seed=0",
    "data.subset=100",
    "data.val_size=50",
    "init.prescreen=2",
    "curvature.at=[init,end]",
    "curvature.alphas=[2.0]",
    "curvature.sample_size=64",  # (cheap probes: what is watched is where they write)
    "curvature.trace=none",
    "adversarial.eps_255=[2]",
    "complexity.bounds=true",
    "trainer.save_predictions=true",
]


def _file(path: str) -> str:
    """The file an open was for: an atomic write's temp file (.NAME.<random>.tmp) counts as NAME."""
    folder, _, base = path.rpartition("/")
    if base.startswith(".") and base.endswith(".tmp"):
        base = base[1:].rsplit(".", 2)[0]
    return f"{folder}/{base}"


def test_every_file_in_a_run_dir_is_opened_by_the_run_dir_object(make_cfg, tmp_path, watch):
    ref, pair = tmp_path / "sweep" / "ref", tmp_path / "sweep" / "pair"
    cut = run(make_cfg(*EVERYTHING, "trainer.interrupt_at_step=3", "logger.mode=offline", logger="wandb"), run_dir=ref)
    assert cut["status"] == "interrupted"
    whole = run(make_cfg(*EVERYTHING, "logger.mode=offline", logger="wandb"), run_dir=ref)  # resumed
    assert whole["status"] == "completed"
    run(make_cfg(*EVERYTHING), run_dir=ref)  # already done: reads its summary
    reference = [f"stability.reference={ref}", "data.replace_index=3", "stability.trajectory=false"]
    run(make_cfg(*EVERYTHING, *reference), run_dir=pair)
    found = records.load([tmp_path / "sweep"])
    assert {r.job for r in found} == {"ref", "pair"}
    opened = {_file(path) for path, _ in watch}
    kinds = (FILES.PRESCREEN, FILES.PROBE_INIT, FILES.REPARAMETERIZATION, FILES.COMPLEXITY, FILES.ADVERSARIAL,
             FILES.ADVERSARIAL_EXAMPLE, FILES.PREDICTIONS, FILES.TRAJECTORY, FILES.WANDB_RUN_ID, FILES.CHECKPOINT,
             FILES.METRICS, FILES.SUMMARY, FILES.CONFIG)  # fmt: skip
    assert {f"sweep/ref/{n}" for n in kinds} <= opened, sorted(opened)  # the watch saw every kind of file
    outside = sorted({path for path, through in watch if not through})
    assert not outside, f"opened in a run dir without rundir.RunDir: {outside}"


def test_the_watch_sees_an_open_that_bypasses_the_run_dir_object(tmp_path, watch):
    """The check above can fail: a file opened in a run dir by other code is seen, and not as through RunDir."""
    (tmp_path / FILES.SUMMARY).write_text("{}")
    rundir.RunDir(tmp_path).read_result(FILES.SUMMARY)
    assert watch == [(FILES.SUMMARY, False), (FILES.SUMMARY, True)]
