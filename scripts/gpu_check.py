"""The prepared GPU check: one command on a bare GPU machine, each step under its own time cap.

Here (with network access to package registries), once:
    python scripts/gpu_check.py prepare        # wheels of what a bare GPU image lacks + 10,000 real
                                               # CIFAR-10 training images, into .gpu_carry/ (ignored)
On the GPU machine (the repository plus .gpu_carry/, under 64 MiB):
    python3 scripts/gpu_check.py run --out DIR # or: make gpu-check (DIR = $GPU_CHECK_OUT or gpu_check_out)
Rehearsal on CPU, every step at tiny sizes (a fast test runs it):
    python scripts/gpu_check.py run --cpu --out DIR

The GPU image has python3 with torch, torchvision, scipy, matplotlib and joblib, but not hydra-core,
omegaconf, wandb or pytest: `run` installs the carried wheels into .gpu_carry/site (no index, no
network) when an import fails. Steps (caps in CAPS, 8 minutes in all):
  pytest      `pytest -m cuda` (device placement, bf16, channels_last, resume, divergence, DDP/nccl)
  throughput  per model, CIFAR-shaped synthetic data made on the device, 50,000 images: harness
              img/s and s/epoch, eager vs torch.compile, bf16 on/off, vs the model-only limit and
              the DataLoader baseline (scripts/bench.py) -> throughput.csv
  memorize    small Inception, 10,000 real CIFAR-10 images (the carried subset), random labels, to
              99% train accuracy, timed -> memorize.csv
  sweep       an MLP sweep of 4 short jobs: one at a time vs 4 joblib jobs sharing the GPU ->
              sweep.csv (jobs per hour each way)
Every step writes what it finished before its cap; the log (log.txt) says which steps passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CARRY = REPO / ".gpu_carry"
# what a bare GPU image lacks, with their requirements (pure Python but PyYAML: one wheel per CPython)
WHEELS = ["hydra-core==1.3.2", "omegaconf==2.3.0", "hydra-joblib-launcher==1.2.0", "tqdm", "pytest"]
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
CAPS = {"pytest": 110, "throughput": 180, "memorize": 120, "sweep": 60}  # seconds: 470, + the setup, in 8 min
CPU_CAPS = {"pytest": 60, "throughput": 90, "memorize": 60, "sweep": 90}  # the rehearsal (tiny sizes, 2 cores)
GPU_MODELS = "inception_small,inception_no_bn,alexnet_small,mlp_1x512,mlp_3x512,resnet18,wrn16_4"


def _bench():
    """scripts/bench.py, imported only inside the steps: it imports torch and the harness, which
    the orchestrating process must not need before ensure_packages has installed hydra."""
    sys.path.insert(0, str(REPO / "scripts"))
    import bench

    return bench


def prepare(carry: Path, data_root: Path, images: int) -> None:
    """Wheels (no network on the GPU machine) and a real-data subset small enough to travel."""
    import numpy as np

    wheels = carry / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    # with their requirements; antlr4 4.9.3 is an sdist only on PyPI: its wheel is built here
    subprocess.run([*pip, "wheel", "-q", "-w", str(wheels), *WHEELS], check=True)
    for py in PYTHONS:
        subprocess.run(
            [*pip, "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", py, "--platform",
             "manylinux2014_x86_64", "-d", str(wheels), "PyYAML"],
            check=True,
        )  # fmt: skip
    with np.load(data_root / "cifar10.npz") as d:
        np.savez(
            carry / "cifar10.npz",  # the first `images` training images, and 2,000 test images
            x_train=d["x_train"][:images],
            y_train=d["y_train"][:images],
            x_test=d["x_test"][:2000],
            y_test=d["y_test"][:2000],
        )
    size = sum(f.stat().st_size for f in carry.rglob("*") if f.is_file())
    print(f"{carry}: {size / 2**20:.1f} MiB to carry (limit 64 MiB)")


def ensure_packages(carry: Path) -> dict:
    """Import hydra, omegaconf, pytest; install the carried wheels into carry/site when one is missing."""
    site = carry / "site"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"), str(site)) if p)}
    probe = [sys.executable, "-c", "import hydra, omegaconf, pytest, tqdm, hydra_plugins.hydra_joblib_launcher"]
    if subprocess.run(probe, env=env, capture_output=True).returncode != 0:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(carry / "wheels"),
             "--target", str(site), "hydra-core", "omegaconf", "hydra-joblib-launcher", "tqdm", "pytest", "PyYAML"],
            check=True,
        )  # fmt: skip
        subprocess.run(probe, env=env, check=True)
    return env


def throughput(out: Path, cpu: bool, models: str, deadline: float) -> None:
    """Per model: eager fp32, eager bf16, then compiled bf16 (compilation is slow: last, until the cap)."""
    bench = _bench()
    import torch

    from harness.app import register_resolvers
    from harness.train import data as data_mod

    register_resolvers()
    device = "cpu" if cpu else "cuda"
    images, batch = (256, 64) if cpu else (50_000, 128)
    long, short = (4, 2) if cpu else (200, 40)
    settings = [("eager", "false"), ("eager", "true")] + ([] if cpu else [("compile", "true")])
    fields = ["model", "mode", "bf16", "images", "batch", "harness_img_s", "s_per_epoch", "limit_img_s",
              "baseline_img_s", "vs_limit", "vs_baseline", "device"]  # fmt: skip
    bench.append_csv(out / "throughput.csv", fields, [])
    for mode, amp in settings:
        for name in models.split(","):
            if time.monotonic() > deadline:
                print(f"throughput: cap reached before {name} {mode} bf16={amp}", flush=True)
                return
            extra = [f"trainer.amp={amp}", f"trainer.compile={str(mode == 'compile').lower()}"]
            # the steady rate: a long and a short run, the difference (startup and compilation cancel)
            times = {}
            for steps in (long, short):
                cfg = bench.config(name, batch, steps, device, images, "standard", extra)
                with tempfile.TemporaryDirectory() as run_dir:
                    summary = bench.trainer.train(cfg, bench.RunDir(run_dir))
                times[steps] = summary["train_time_s"]
            harness = (long - short) * batch / max(times[long] - times[short], 1e-9)
            cfg = bench.config(name, batch, long, device, images, "standard", extra)
            limit = bench.limit_throughput(cfg, device)
            baseline = None
            if mode == "eager" and amp == "false":
                arrays = data_mod.make_synthetic(images, cfg.data.test_size, cfg.data.split_seed)
                baseline = bench.baseline_throughput(cfg, arrays, device, workers=2 if cpu else 8)
            row = {
                "model": name,
                "mode": mode,
                "bf16": amp,
                "images": images,
                "batch": batch,
                "harness_img_s": f"{harness:.0f}",
                "s_per_epoch": f"{images / harness:.2f}",
                "limit_img_s": f"{limit:.0f}",
                "baseline_img_s": f"{baseline:.0f}" if baseline else "",
                "vs_limit": f"{harness / limit:.3f}",
                "vs_baseline": f"{harness / baseline:.3f}" if baseline else "",
                "device": bench.machine(device),
            }
            bench.append_csv(out / "throughput.csv", fields, [row])
            print("throughput:", json.dumps(row), flush=True)
            if device == "cuda":
                torch.cuda.empty_cache()


def harness_cli(env, *args, timeout):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, timeout=timeout,
                          capture_output=True, text=True)  # fmt: skip


def memorize(out: Path, cpu: bool, env: dict, carry: Path, cap: float) -> None:
    """Zhang's random-label protocol (experiment=random_labels) on the carried real images."""
    if cpu:
        model, data = (
            "mlp_1x512",
            ["data=synthetic", "data.train_size=256", "data.test_size=64", "trainer.eval_every_epochs=1"],
        )
    else:  # Zhang et al.'s lr for Inception
        model, data = "inception_small", [f"data.root={carry}", "optimizer.lr=0.1", "trainer.eval_every_epochs=2"]
    device = "cpu" if cpu else "cuda"
    args = ["experiment=random_labels", f"model={model}", *data, "data.val_size=0", "logger=none",
            "trainer.progress=log", f"device={device}", f"hydra.run.dir={out / 'memorize_run'}"]  # fmt: skip
    start = time.monotonic()
    done = harness_cli(env, *args, timeout=cap)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    s = json.loads((out / "memorize_run" / "summary.json").read_text())
    keys = ["train_acc", "test_acc", "epochs", "stop_reason", "wall_time_s", "train_time_s", "eval_time_s", "device"]
    row = {"model": model, "images": s["data_train_size"], "process_wall_s": round(wall, 1), **{k: s[k] for k in keys}}
    bench = _bench()

    bench.append_csv(out / "memorize.csv", list(row), [row])
    print("memorize:", json.dumps(row), flush=True)


def sweep(out: Path, cpu: bool, env: dict, cap: float) -> None:
    jobs = 2 if cpu else 4
    common = ["-m", "model=mlp_1x512", f"seed={','.join(map(str, range(jobs)))}", "logger=none",
              f"device={'cpu' if cpu else 'cuda'}", "trainer.progress=none"]  # fmt: skip
    common += ["scale=smoke"] if cpu else ["data=synthetic", "data.train_size=20000", "trainer.max_epochs=10"]
    rows = []
    for name, launcher in (
        ("one at a time", []),
        (f"{jobs} joblib jobs", ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"]),
    ):
        start = time.monotonic()
        done = harness_cli(
            env, *common, *launcher, f"hydra.sweep.dir={out / 'sweep' / str(len(rows))}", timeout=cap / 2
        )
        wall = time.monotonic() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        rows.append({"how": name, "jobs": jobs, "wall_s": round(wall, 1), "jobs_per_hour": round(jobs * 3600 / wall)})
        print("sweep:", json.dumps(rows[-1]), flush=True)
    bench = _bench()

    bench.append_csv(out / "sweep.csv", list(rows[0]), rows)


def run(out: Path, cpu: bool, models: str, carry: Path, only: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    env = ensure_packages(carry)
    caps = CPU_CAPS if cpu else CAPS
    failed = []
    for name in only:
        start = time.monotonic()
        try:
            if name == "pytest":
                args = ["-m", "cuda", "-q", "-p", "no:cacheprovider", "tests/test_cuda.py"]
                done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO, env=env,
                                      timeout=caps[name], capture_output=True, text=True)  # fmt: skip
                (out / "pytest_cuda.txt").write_text(done.stdout + done.stderr)
                print("pytest:", done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "", flush=True)
                if done.returncode not in (0, 5) and not (cpu and "skipped" in done.stdout):
                    raise RuntimeError(f"pytest -m cuda exit {done.returncode}")
            elif name == "throughput":
                cmd = [sys.executable, __file__, "throughput-step", "--out", str(out), "--models", models,
                       "--deadline", str(caps[name] - 15)] + (["--cpu"] if cpu else [])  # fmt: skip
                done = subprocess.run(cmd, cwd=REPO, env=env, timeout=caps[name])
                if done.returncode != 0:
                    raise RuntimeError(f"exit {done.returncode}")
            elif name == "memorize":
                memorize(out, cpu, env, carry, caps[name])
            elif name == "sweep":
                sweep(out, cpu, env, caps[name])
            status = "ok"
        except subprocess.TimeoutExpired:
            status, _ = f"time cap {caps[name]} s reached", failed.append(name)
        except Exception as e:  # noqa: BLE001 - one step failing must not stop the others
            status, _ = f"failed: {type(e).__name__}: {str(e)[-500:]}", failed.append(name)
        line = f"step {name}: {status} ({time.monotonic() - start:.0f} s)"
        print(line, flush=True)
        with open(out / "log.txt", "a") as f:
            f.write(line + "\n")
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare")
    pr.add_argument("--carry", type=Path, default=CARRY)
    pr.add_argument("--data", type=Path, default=Path(os.environ.get("HARNESS_DATA", "data")))
    pr.add_argument("--images", type=int, default=10_000)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, default=Path(os.environ.get("GPU_CHECK_OUT", "gpu_check_out")))
    r.add_argument("--cpu", action="store_true", help="rehearsal on CPU at tiny sizes")
    r.add_argument("--models", default=None, help=f"default: {GPU_MODELS} (--cpu: mlp_1x512,alexnet_small)")
    r.add_argument("--carry", type=Path, default=CARRY)
    r.add_argument("--steps", default=",".join(CAPS), help="which steps, comma-separated")
    t = sub.add_parser("throughput-step")  # run by `run` in its own process, under the step's cap
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--models", required=True)
    t.add_argument("--deadline", type=float, required=True)
    t.add_argument("--cpu", action="store_true")
    a = p.parse_args()
    if a.cmd == "prepare":
        prepare(a.carry, a.data, a.images)
        return 0
    if a.cmd == "throughput-step":
        throughput(a.out, a.cpu, a.models, time.monotonic() + a.deadline)
        return 0
    if not a.cpu and shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi", "-L"])
    models = a.models or ("mlp_1x512,alexnet_small" if a.cpu else GPU_MODELS)
    return run(a.out, a.cpu, models, a.carry, a.steps.split(","))


if __name__ == "__main__":
    sys.exit(main())
