"""The run dir contract (ARCHITECTURE.md): `RunDir`, one run's folder and the only way into it, at the end
of this module; above it the steps it is made of: atomic files, metrics.jsonl, summary.json, checkpoints,
the lock, and the identity rules (one config, one dataset, one model per run dir)."""

from __future__ import annotations

import copy
import errno
import functools
import json
import logging
import math
import os
import subprocess
import tempfile
from pathlib import Path

import torch

from . import names
from .errors import RunDirError
from .names import FILES

SUMMARY, METRICS, CHECKPOINT, CONFIG = FILES.SUMMARY, FILES.METRICS, FILES.CHECKPOINT, FILES.CONFIG


def _writer() -> bool:
    """Under torchrun only rank 0 writes the run dir (every rank computes the same things)."""
    return os.environ.get("RANK", "0") == "0"


def unwritable(path: Path, e: OSError) -> RunDirError:
    """A write into the run dir that failed (a full disk, a read-only dir), as one line with the remedy."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        remedy = "the disk is full: free space, then run the same command again (it resumes from its last checkpoint)"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        remedy = "the run dir is not writable: make it writable, or choose another (hydra.run.dir=...)"
    else:
        remedy = "fix that, then run the same command again (it resumes from its last checkpoint)"
    return RunDirError(f"cannot write {path}: {e.strerror or type(e).__name__}; {remedy}")


def atomic_write(path: Path, write) -> None:
    """write(file_object) into a temp file beside `path`, then rename: readers never see half a file."""
    if not _writer():
        return
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        # (torch.save turns the OSError of a full disk into a RuntimeError of its zip writer: the cause is the context)
        cause = e if isinstance(e, OSError) else e.__context__
        if isinstance(cause, OSError):
            raise unwritable(path, cause) from None
        raise


def finite(obj):
    """A JSON-safe copy: NaN and infinities (not JSON) -> None, in nested dicts and lists too."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def dumps(obj, **kwargs) -> str:
    """JSON as the harness writes it: never a bare NaN (null for a non-finite number)."""
    return json.dumps(finite(obj), allow_nan=False, sort_keys=True, **kwargs)


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda f: f.write((dumps(obj, indent=2) + "\n").encode()))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def read_json(path: Path):
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(
            f"{path} is not valid JSON (damaged); delete it (a run resumes from its checkpoint) "
            "or move the run dir away"
        ) from None


# what every summary.json of a run has (besides the metrics), by status; "invalid": a sweep's refused job
STATUSES = ("completed", "diverged", "interrupted", "invalid")
SUMMARY_KEYS = (names.S.STATUS, names.S.STOP_REASON, names.S.STEPS, names.S.EPOCHS, names.S.WALL_TIME)


def read_summary(run_dir: Path) -> dict:
    """The run's summary.json ({} when there is none); one line naming it when it is not a run's summary."""
    path = Path(run_dir) / SUMMARY
    summary = read_json(path)
    if summary is None:
        return {}
    status = summary.get("status") if isinstance(summary, dict) else None
    needed = ("status", "error") if status == "invalid" else SUMMARY_KEYS
    lacking = [k for k in needed if k not in summary] if status in STATUSES else []
    if status not in STATUSES or lacking:
        found = f"lacks {', '.join(lacking)}" if lacking else f"found {json.dumps(summary)[:60]}"
        raise RunDirError(
            f"{path} is not a run summary (a JSON object with {', '.join(SUMMARY_KEYS)}, status one of "
            f"{' | '.join(STATUSES)}; {found}); delete it (a run resumes from its checkpoint) or move the run dir away"
        )
    return summary


def read_metrics(run_dir: Path) -> list[dict]:
    """The metrics history. metrics.jsonl is appended a line at a time, so a crash (kill -9, a full
    disk) can leave its last line torn: that line is dropped with a warning. A bad line anywhere
    else means the file was damaged: one line naming it."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                logging.getLogger(__name__).warning("%s: dropped a torn last line (a crash while writing it)", path)
                break
            raise RunDirError(
                f"{path}: line {i + 1} is not JSON; the file is damaged (move the run dir away "
                "or delete the file to start the history anew)"
            ) from None
    return records


def append_metrics(run_dir: Path, record: dict) -> None:
    if not _writer():
        return
    path = Path(run_dir) / METRICS
    try:
        with open(path, "a") as f:
            f.write(dumps(record) + "\n")
            f.flush()
    except OSError as e:
        raise unwritable(path, e) from None


def truncate_metrics(run_dir: Path, last_step: int) -> list[dict]:
    """On resume: drop records written after the checkpoint, so the file matches an uninterrupted run
    (last_step -1: a start from scratch keeps nothing). Returns the records kept."""
    kept = [r for r in read_metrics(run_dir) if r[names.M.STEP] <= last_step] if last_step >= 0 else []
    write_text(Path(run_dir) / METRICS, "".join(dumps(r) + "\n" for r in kept))
    return kept


PREVIOUS = FILES.PREVIOUS_CHECKPOINT


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """The new checkpoint replaces the old one atomically, and the old one is kept as
    checkpoint.prev.pt: if the latest ever fails to load, the run resumes from the one before."""
    run_dir = Path(run_dir)

    def write(f):
        torch.save(state, f)
        f.flush()
        if _writer() and (run_dir / CHECKPOINT).is_file():
            os.replace(run_dir / CHECKPOINT, run_dir / PREVIOUS)

    atomic_write(run_dir / CHECKPOINT, write)


def prune_checkpoints(run_dir: Path, keep: bool) -> None:
    """A finished run needs no fallback: checkpoint.prev.pt goes, and checkpoint.pt too unless `keep`
    (trainer.keep_checkpoint; probes and analyses of the trained weights read it)."""
    if not _writer():
        return
    for name in (PREVIOUS,) if keep else (PREVIOUS, CHECKPOINT):
        (Path(run_dir) / name).unlink(missing_ok=True)


def _latest_checkpoint(run_dir: Path, map_location):
    """(path, checkpoint) of the latest readable checkpoint (checkpoint.pt, else checkpoint.prev.pt),
    (None, None) for none."""
    log = logging.getLogger(__name__)
    paths = [p for p in (Path(run_dir) / CHECKPOINT, Path(run_dir) / PREVIOUS) if p.is_file()]
    for path in paths:
        try:
            return path, torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:  # truncated, empty, not a torch file
            log.warning(
                "%s does not load (%s)%s",
                path,
                type(e).__name__,
                "; trying the previous checkpoint" if path.name == CHECKPOINT else "",
            )
    if paths:
        raise RunDirError(
            f"{' and '.join(str(p) for p in paths)} do not load (damaged); delete "
            f"{'them' if len(paths) > 1 else 'it'} to train this run from scratch, or move the run dir away"
        )
    return None, None


def load_checkpoint(run_dir: Path, map_location="cpu"):
    """The latest readable checkpoint (checkpoint.pt, else checkpoint.prev.pt), or None for none."""
    return _latest_checkpoint(run_dir, map_location)[1]


def _misfit(path: Path, detail: str) -> RunDirError:
    return RunDirError(
        f"{path} does not fit this run's model and optimizer ({detail[:200]}): another run's checkpoint? "
        "delete it to train this run from scratch, or move the run dir away"
    )


def check_checkpoint_fits(run_dir: Path, shapes: dict | None) -> None:
    """Before anything is written: the checkpoint a resume would load holds this model's weights (their
    names and shapes: `shapes`), not another run's copied in. Its other contents are checked as it is
    restored (restore_checkpoint); an unreadable one is the trainer's to fall back from or name."""
    for path in (Path(run_dir) / CHECKPOINT, Path(run_dir) / PREVIOUS):
        if not shapes or not path.is_file():
            continue
        try:  # (mmap: the weights themselves are not read)
            model = torch.load(path, "cpu", weights_only=True, mmap=True)["model"]
            found = {k: tuple(v.shape) for k, v in model.items()}
        except Exception:
            continue
        if found != shapes:
            key = next(k for k in sorted(set(found) | set(shapes)) if found.get(k) != shapes.get(k))
            if key not in found:
                detail = f"no weights {key}"
            elif key not in shapes:
                detail = f"weights {key} that this model lacks"
            else:
                detail = f"{key} is {found[key]} there, {shapes[key]} in this model"
            raise _misfit(path, detail)
        return


def restore_checkpoint(run_dir: Path, restore, map_location="cpu") -> Path | None:
    """restore(checkpoint) from the latest readable checkpoint; the file it came from, None for none. A
    checkpoint that loads but does not fit (another model's, copied in): one line naming it."""
    path, checkpoint = _latest_checkpoint(run_dir, map_location)
    if checkpoint is None:
        return None
    try:
        restore(checkpoint)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        raise _misfit(path, lines[min(1, len(lines) - 1)].rstrip(":. ")) from None  # torch: a headline, then a mismatch
    return path


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the code this process runs: read once, at the first call (the trainer calls it
    when imported), with "-dirty" when tracked files differed from it. None outside a checkout."""

    def git(*args):  # --no-optional-locks: a status that never writes the index (no index.lock left in the
        # user's checkout by a run killed meanwhile or stopped by a file-size limit; none met by the user's own git)
        return subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        return (head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")) if head else None
    except (OSError, subprocess.SubprocessError):
        return None


# may differ between the runs of one run dir: a testing aid
RESUMABLE_CHANGES = ("trainer.interrupt_at_step",)
# when to stop, not what each step computes: may change while a run is unfinished or was stopped by
# its time budget (it then goes on); a finished run keeps the rules it finished under
STOP_RULES = (
    "trainer.time_budget_s",
    "trainer.max_epochs",
    "trainer.max_steps",
    "trainer.target_train_acc",
    "trainer.target_train_loss",
)
# stop rules that a learning-rate schedule's shape depends on: for those schedules part of the identity
SCHEDULE_NEEDS = {"cosine": ("trainer.max_epochs",)}  # (schedules.lr_and_batch_size: to zero at max_epochs)


def schedule_needs(flat_config: dict) -> set:
    """The stop rules that shape this (flat) config's lr schedule."""
    return set(SCHEDULE_NEEDS.get(flat_config.get("schedule.lr"), ()))


_locks = {}  # run dir -> open lock file, held for the life of the process


def lock(run_dir: Path) -> None:
    """One process per run dir: an exclusive lock on <run dir>/.lock, holding our PID. The kernel
    drops it when the process dies (also kill -9), so a dead run never blocks its own resume."""
    import fcntl

    run_dir = Path(run_dir)
    if not _writer() or str(run_dir.resolve()) in _locks:
        return
    try:
        f = open(run_dir / FILES.LOCK, "a+")
    except OSError as e:
        raise unwritable(run_dir / FILES.LOCK, e) from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise RunDirError(
            f"run dir {run_dir} is in use by process {holder}; wait for it, stop it, or choose "
            "another dir (hydra.run.dir=...)"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    _locks[str(run_dir.resolve())] = f


def unlock(run_dir: Path) -> None:
    f = _locks.pop(str(Path(run_dir).resolve()), None)
    if f is not None:
        f.close()


# config keys that do not change what a run computes: where data and logs live, how progress is shown,
# labels, and cadences that resume-exactness makes irrelevant
NOT_IDENTITY = (
    "logger",
    "tags",
    "data.root",
    "trainer.progress",
    "trainer.log_every_s",
    "trainer.checkpoint_every_epochs",
    "trainer.eval_batch_size",
    "trainer.keep_checkpoint",
    "stability.reference",  # where the run on S lies: its own config is what identifies it
    "optimizer.lr_by_model",  # a table an experiment interpolates optimizer.lr from: the lr itself counts
)


def identity(config: dict, ignore=NOT_IDENTITY) -> dict:
    """The resolved config minus the keys in `ignore` (dotted): what makes a run the run it is."""
    cfg = copy.deepcopy(config)
    for key in ignore:
        names.pop_key(cfg, key)
    return cfg


def flat(d: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_same_config(run_dir: Path, resolved: dict, defaults=None) -> None:
    """Refuse to use a run dir that holds another config's run, naming the keys that differ.

    `defaults()` returns the harness defaults (flat, dotted keys): a key the stored config lacks, because the
    run predates it, matches when the new value is its default. Keys are added with the default
    that keeps the old behaviour, so runs started before an upgrade still resume."""
    from omegaconf import OmegaConf

    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return
    try:
        old = OmegaConf.to_container(OmegaConf.load(path))
        if not isinstance(old, dict):
            raise ValueError("not a mapping")
    except Exception as e:  # a torn or hand-edited file: say which, and what to do
        raise RunDirError(
            f"{path} is not a readable config ({type(e).__name__}); move the run dir away or "
            "choose another (hydra.run.dir=...)"
        ) from None
    ignore = NOT_IDENTITY + RESUMABLE_CHANGES
    a, b = flat(identity(names.migrate_config(old), ignore)), flat(identity(resolved, ignore))
    for k, v in (defaults() if defaults else {}).items():  # a key one side predates counts as its default
        if k not in a and k in b:
            a[k] = v
        elif k in a and k not in b:
            b[k] = v
    diff = [
        f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k, "<absent>") != b.get(k, "<absent>")
    ]
    summary = read_summary(run_dir)
    unfinished = summary.get("status") not in ("completed", "diverged") or summary.get("stop_reason") == "time_budget"
    stop_rules = [k for k in STOP_RULES if k not in schedule_needs(a) and k not in schedule_needs(b)]
    if diff and unfinished and all(d.split(":")[0] in stop_rules for d in diff):
        return  # a longer run of the same thing
    shaped = [d for d in diff if d.split(":")[0] in schedule_needs(a) | schedule_needs(b)]
    if shaped and unfinished and all(d.split(":")[0] in STOP_RULES for d in diff):
        raise RunDirError(
            f"run dir {run_dir} holds a run whose lr schedule ({a.get('schedule.lr')}) is shaped by "
            f"{shaped[0].split(':')[0]}, so it is not a stop rule here ({shaped[0]}): resuming would mix two "
            "schedules; resume with the value it began with, or use a new run dir"
        )
    if diff:
        shown = "; ".join(diff[:5]) + (f"; and {len(diff) - 5} more" if len(diff) > 5 else "")
        raise RunDirError(
            f"run dir {run_dir} holds a run of another config ({shown}); use a new run dir "
            "(hydra.run.dir=... or hydra.sweep.dir=...) or the same overrides to resume it"
        )


DATA, OVERRIDES = FILES.DATA, FILES.OVERRIDES


def check_not_damaged(run_dir: Path) -> None:
    """A checkpoint or summary without the config it belongs to cannot be resumed or reported; a summary
    must be one; a run that would resume from its checkpoint needs the history that led there."""
    run_dir = Path(run_dir)
    left = [n for n in (SUMMARY, CHECKPOINT, PREVIOUS, METRICS) if (run_dir / n).is_file()]
    if left and not (run_dir / CONFIG).is_file():
        raise RunDirError(
            f"run dir {run_dir} holds {', '.join(left)} but no {CONFIG}: it is damaged (which config made it "
            f"is unknown); restore {CONFIG}, or move the run dir away and start again"
        )
    summary = read_summary(run_dir)
    finished = summary.get("status") in ("completed", "diverged") and summary.get("stop_reason") != "time_budget"
    if not finished and (CHECKPOINT in left or PREVIOUS in left) and METRICS not in left:
        raise RunDirError(
            f"{run_dir / METRICS} is missing: the history would restart mid-run; restore it or delete the "
            "checkpoint to start over"
        )


def check_same_data(run_dir: Path, fingerprint: str, root) -> None:
    """Refuse to go on with a run on other data than it began with (another file, other labels)."""
    stored = read_json(Path(run_dir) / DATA) or {}
    if stored.get("fingerprint") not in (None, fingerprint):
        raise RunDirError(
            f"run dir {run_dir} began on other data (fingerprint {stored['fingerprint']}, from "
            f"{stored.get('root')}) than {root} holds ({fingerprint}); resume with the data it began with "
            "(data.root=...), or use a new run dir"
        )


def claim(run_dir: Path, resolved: dict, overrides: list, data_info: dict) -> None:
    """Write a run's record of what it is (config, the command's overrides, the data's fingerprint),
    once, by the run that owns the dir: after the lock and the identity checks, and never over what
    an earlier attempt of the same run wrote."""
    from omegaconf import OmegaConf

    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    finished = summary.get("status") in ("completed", "diverged") and summary.get("stop_reason") != "time_budget"
    # a finished run keeps the record it finished under; an unfinished one that passed the identity
    # check is resumed by its owner, under stop rules that may have changed (a longer run)
    if not (run_dir / CONFIG).is_file() or not finished:
        write_text(run_dir / CONFIG, OmegaConf.to_yaml(resolved))
    if not (run_dir / OVERRIDES).is_file():
        write_text(run_dir / OVERRIDES, OmegaConf.to_yaml(list(overrides)))
    if not (run_dir / DATA).is_file():
        write_json(run_dir / DATA, {"fingerprint": data_info.get("fingerprint"), "root": data_info.get("root")})


def provenance(run_dir: Path, data_info: dict) -> dict:
    """The summary's fields that say what ran where: versions, commit, run dir, data, SLURM ids."""
    from . import __version__

    S = names.S
    return {
        S.TORCH_VERSION: torch.__version__,
        S.HARNESS_VERSION: __version__,
        S.GIT_COMMIT: git_commit(),
        S.PACKAGE_VERSIONS: package_versions(),
        S.RUN_DIR: str(run_dir),
        **{S.data(k): v for k, v in data_info.items()},
        # where it ran: SLURM job (array) ids and how often it was requeued, else None
        **{
            S.slurm(k): os.environ.get(f"SLURM_{k}")
            for k in ("JOB_ID", "ARRAY_JOB_ID", "ARRAY_TASK_ID", "RESTART_COUNT")
        },
    }


KEY_PACKAGES = ("torch", "torchvision", "numpy", "scipy", "hydra-core", "omegaconf", "wandb")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict:
    """The installed versions of the packages whose behaviour the numbers depend on."""
    from importlib import metadata

    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


class Tracker:
    """A run dir's tracker: a thin wrapper around a W&B run (tracking.start makes one), a no-op without one,
    so the trainer never branches on it. `replay`: an offline run that resumes starts its W&B run afresh
    (W&B cannot resume an offline run, and syncing two offline dirs of one id loses history), so the run
    dir replays the history it resumes from."""

    def __init__(self, run=None, replay: bool = False):
        self.run, self.replay = run, replay

    def replay_history(self, history: list[dict]) -> None:
        """Log the records of metrics.jsonl an earlier process wrote (once, before any new record)."""
        if self.replay:
            for record in history:
                self.log({k: v for k, v in record.items() if k != names.M.STEP}, step=record[names.M.STEP])
            self.replay = False

    def log(self, metrics: dict, step: int) -> None:
        if self.run is not None:
            self.run.log({**metrics, names.M.STEP: step}, step=step)  # "step": the x-axis of every metric

    def summary(self, values: dict) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


class RunDir:
    """One run's folder, and the only way into it: the trainer and the probes ask it to write the run's
    history (metrics.jsonl, each record mirrored to the run's tracker), its summary, its result files
    (names.FILES) and its checkpoints; the app takes it (lock, identity checks, the run's record of itself);
    `results/` reads finished ones through it. The functions above are its file-level steps."""

    def __init__(self, path, tracker=None):
        self.path = Path(path)
        self.tracker = tracker if tracker is not None else Tracker()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    # -- taking it (app.run): one process, the same run, then its record of itself
    def lock(self) -> None:
        lock(self.path)

    def unlock(self) -> None:
        unlock(self.path)

    def check(self, resolved: dict, defaults, data_info: dict, root, shapes: dict | None) -> None:
        """Refuse (one line) a damaged dir, or one that holds another config's, data's or model's run."""
        check_not_damaged(self.path)
        check_same_config(self.path, resolved, defaults)
        check_same_data(self.path, data_info["fingerprint"], root)
        check_checkpoint_fits(self.path, shapes)

    def claim(self, resolved: dict, overrides: list, data_info: dict) -> None:
        claim(self.path, resolved, overrides, data_info)

    def refused(self, config_yaml: str, error: str) -> None:
        """A sweep's job refused before it ran (its data, say): an "invalid" summary beside its config,
        never over a dir a run owns."""
        if not any(self.has(f) for f in (CONFIG, SUMMARY)):
            write_text(self.path / CONFIG, config_yaml)
            write_json(self.path / SUMMARY, {"status": "invalid", "error": error, "diverged": False})

    # -- the history: metrics.jsonl and the tracker
    def record(self, entry: dict) -> None:
        """One record (with its "step") into metrics.jsonl and the tracker."""
        append_metrics(self.path, entry)
        self.tracker.log(entry, step=entry[names.M.STEP])

    def track(self, metrics: dict, step: int) -> None:
        """The tracker only (what the run keeps in a result file of its own)."""
        self.tracker.log(metrics, step=step)

    def history(self) -> list[dict]:
        return read_metrics(self.path)

    def resume_history(self, last_step: int) -> list[dict]:
        """The history up to the checkpoint's step (-1: a start from scratch, nothing), the rest dropped so
        the file matches an uninterrupted run; the tracker is given it again (an offline W&B run restarts)."""
        kept = truncate_metrics(self.path, last_step)
        self.tracker.replay_history(kept)
        return kept

    # -- the summary
    def summary(self) -> dict:
        return read_summary(self.path)

    def write_summary(self, summary: dict) -> None:
        write_json(self.path / SUMMARY, summary)
        self.tracker.summary(summary)

    # -- what it is (results/ reads these)
    def config(self):
        return load_yaml(self.path / CONFIG)

    def overrides(self) -> list:
        """The command's own overrides (written once, by the run); run dirs of before 2026-12-06: Hydra's."""
        found = next((f for f in (self.path / OVERRIDES, self.path / ".hydra" / OVERRIDES) if f.is_file()), None)
        return list(load_yaml(found) or []) if found else []

    # -- result files (names.FILES): JSON, arrays (.npz), tensors (.pt)
    def write_result(self, name: str, obj) -> None:
        write_json(self.path / name, obj)

    def read_result(self, name: str):
        """The result file `name`, loaded (an .npz as a dict of lists), or None when there is none."""
        path = self.path / name
        if path.suffix != ".npz":
            return read_json(path)
        if not path.is_file():
            return None
        import numpy as np

        with np.load(path) as z:
            return {k: z[k].tolist() for k in sorted(z.files)}

    def write_arrays(self, name: str, arrays: dict) -> None:
        import numpy as np

        atomic_write(self.path / name, lambda f: np.savez_compressed(f, **arrays))

    def save_tensors(self, name: str, obj) -> None:
        atomic_write(self.path / name, lambda f: torch.save(obj, f))

    def load_tensors(self, name: str):
        """A tensor file the run wrote (weights only), or None when there is none."""
        path = self.path / name
        return torch.load(path, weights_only=True) if path.is_file() else None

    def read_text(self, name: str) -> str | None:
        path = self.path / name
        return path.read_text() if path.is_file() else None

    def write_text(self, name: str, text: str) -> None:
        write_text(self.path / name, text)

    # -- checkpoints
    def save_checkpoint(self, state: dict) -> None:
        save_checkpoint(self.path, state)

    def restore(self, restore, map_location="cpu") -> Path | None:
        return restore_checkpoint(self.path, restore, map_location)

    def load_checkpoint(self, map_location="cpu"):
        return load_checkpoint(self.path, map_location)

    def prune_checkpoints(self, keep: bool) -> None:
        prune_checkpoints(self.path, keep)

    def provenance(self, data_info: dict) -> dict:
        return provenance(self.path, data_info)


@functools.cache
def _yaml_loader():
    """libyaml's loader (~10x faster than OmegaConf.load: a report reads hundreds of run dirs) with
    OmegaConf's implicit resolvers, so that every value reads as OmegaConf would read it (1e-3 a float)."""
    import yaml
    from omegaconf._utils import get_yaml_loader

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Loader.yaml_implicit_resolvers = get_yaml_loader().yaml_implicit_resolvers
    return Loader


def load_yaml(path: Path):
    import yaml

    return yaml.load(Path(path).read_text(), Loader=_yaml_loader())
