import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from harness.app import register_resolvers

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "src" / "harness" / "configs")
REPO = Path(__file__).resolve().parents[1]
register_resolvers()


@pytest.fixture
def make_cfg():
    """Compose the harness config as the CLI would; smoke scale and no W&B unless overridden."""

    def make(*overrides, scale="smoke", logger="none"):
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose("config", overrides=[f"scale={scale}", f"logger={logger}", *overrides])

    return make


def real_data_root():
    """The folder holding the real cifar10.npz, or None (tests that need it skip)."""
    root = os.environ.get("HARNESS_DATA")
    return root if root and (Path(root) / "cifar10.npz").is_file() else None


def run_cli(*args, cwd=None, timeout=300, env=None):
    """`python -m harness ...` in a subprocess, as a user types it."""
    full_env = {**os.environ, "HYDRA_FULL_ERROR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def signal_mid_run(run_dir, signum, *overrides, timeout=120):
    """Start `python -m harness` with a smoke random-label run long enough to still be training
    when its first metrics line appears, send it `signum` then; return (exit code, stderr, the
    command's arguments, to run it again)."""
    import time

    args = [
        "experiment=random_labels",
        "scale=smoke",
        "logger=none",
        "trainer.target_train_acc=null",
        "trainer.batch_size=16",
        *overrides,
        f"hydra.run.dir={run_dir}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + timeout
    while not (Path(run_dir) / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err, args
