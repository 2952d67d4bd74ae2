"""The run dir contract: atomic files, metrics.jsonl, summary.json, checkpoint (ARCHITECTURE.md)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import torch

SUMMARY, METRICS, CHECKPOINT, CONFIG = "summary.json", "metrics.jsonl", "checkpoint.pt", "config.yaml"


def _writer() -> bool:
    """Under torchrun only rank 0 writes the run dir (every rank computes the same things)."""
    return os.environ.get("RANK", "0") == "0"


def atomic_write(path: Path, write) -> None:
    """write(file_object) into a temp file beside `path`, then rename: readers never see half a file."""
    if not _writer():
        return
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def read_json(path: Path):
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_metrics(run_dir: Path, record: dict) -> None:
    if not _writer():
        return
    with open(Path(run_dir) / METRICS, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()


def truncate_metrics(run_dir: Path, last_step: int) -> None:
    """On resume: drop records written after the checkpoint, so the file matches an uninterrupted run."""
    kept = [r for r in read_metrics(run_dir) if r["step"] <= last_step]
    write_text(Path(run_dir) / METRICS, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


def save_checkpoint(run_dir: Path, state: dict) -> None:
    atomic_write(Path(run_dir) / CHECKPOINT, lambda f: torch.save(state, f))


def load_checkpoint(run_dir: Path, map_location="cpu"):
    path = Path(run_dir) / CHECKPOINT
    return torch.load(path, map_location=map_location, weights_only=True) if path.is_file() else None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
