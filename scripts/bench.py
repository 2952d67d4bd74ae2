"""Training throughput of the harness loop vs a baseline written the usual way.

Harness: the real training loop (`harness.trainer.train`), data as uint8 on the device, batches by
a device permutation, crop/translate + flip done on whole batches.
Baseline: a Dataset that yields PIL images as torchvision's CIFAR10 does, per-sample torchvision
transforms for the same augmentation (RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor,
Normalize) and a DataLoader with workers. Same model, batch size, optimizer, data size, in one
process run. CIFAR-10-shaped random uint8 data (throughput does not depend on pixel values).

    python scripts/bench.py [--models mlp_1x512,mlp_3x512,alexnet_small] [--batch 128] [--workers 2]
                            [--out experiments/performance/bench.csv] [--note TEXT]

Prints, last, one line per model:
    model=<name> batch=<B> harness_img_s=<x> baseline_img_s=<y> ratio=<x/y>
and appends one CSV row per model to `--out` (header written when the file is new): date (UTC, the
run's start), machine, torch version, git commit, the size arguments and the measured numbers, so
that every number quoted in the README has a committed file behind it. `provenance` and
`append_csv` are shared with scripts/bench_curvature.py and scripts/slurm_timings.py.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from PIL import Image
from torchvision import transforms

from harness import data as data_mod
from harness import models, trainer
from harness.app import register_resolvers
from harness.tracking import Tracker
from harness.transforms import input_shape

REPO = Path(__file__).resolve().parent.parent
PERF_DIR = REPO / "experiments" / "performance"
FIELDS = [
    "date",
    "machine",
    "torch",
    "commit",
    "device",
    "threads",
    "model",
    "images",
    "batch",
    "workers",
    "steps",
    "harness_img_s",
    "baseline_img_s",
    "ratio",
    "note",
]


def git_commit() -> str:
    """Short hash of HEAD, with "-dirty" when tracked files differ from it; "unknown" outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "cpu") -> str:
    """Platform, CPU count and model, and the device the numbers were measured on (`cpu` or the GPU name)."""
    d = torch.device(device)
    accel = torch.cuda.get_device_name(d) if d.type == "cuda" else "cpu"
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}; {os.cpu_count()} cpus ({cpu_model()}); {accel}"
    )


def provenance(device: str = "cpu") -> dict:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(device),
        "torch": torch.__version__,
        "commit": git_commit(),
    }


def append_csv(path, fields: list[str], rows: list[dict]) -> None:
    """Append rows to a CSV file, writing the header when the file is new; refuse a file whose header differs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != fields:
            raise SystemExit(f"{path} has other columns ({','.join(header)}); pass another --out")
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="raise")
        if new:
            writer.writeheader()
        writer.writerows([{k: row.get(k, "") for k in fields} for row in rows])


def config(model: str, batch: int, steps: int, device: str, images: int):
    with initialize_config_module("harness.configs", version_base="1.3"):
        return compose(
            "config",
            overrides=[
                f"model={model}",
                "logger=none",
                "data=synthetic",
                f"data.train_size={images}",
                "data.test_size=1000",
                "data.val_size=0",
                "data.preprocess=standard",
                "data.augment.crop=true",
                "data.augment.flip=true",
                f"trainer.batch_size={batch}",
                f"trainer.max_steps={steps}",
                "trainer.max_epochs=1000",
                "trainer.progress=none",
                "trainer.eval_every_epochs=1000",
                f"device={device}",
            ],
        )


class PILDataset(torch.utils.data.Dataset):
    """What torchvision.datasets.CIFAR10 does per item: uint8 HWC -> PIL image -> transform."""

    def __init__(self, x, y, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])


def harness_throughput(cfg) -> float:
    """The harness's own path: data.prepare (uint8 on the device) and trainer.train."""
    with tempfile.TemporaryDirectory() as run_dir:
        summary = trainer.train(cfg, run_dir, Tracker())
    return summary["train_images_per_s"]  # training steps only, evaluation excluded


def baseline_throughput(cfg, arrays, device, workers: int, warmup: int = 3) -> float:
    d = torch.device(device)
    tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
        ]
    )
    loader = torch.utils.data.DataLoader(
        PILDataset(arrays.x_train, arrays.y_train, tf),
        batch_size=cfg.trainer.batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        pin_memory=d.type == "cuda",
        persistent_workers=workers > 0,
    )
    torch.manual_seed(0)
    model = models.build(cfg.model, input_shape("standard")).to(d)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.optimizer.lr, momentum=cfg.optimizer.momentum)
    steps, images, start = 0, 0, None
    while steps < cfg.trainer.max_steps + warmup:
        for x, y in loader:
            if steps == warmup:
                start = time.perf_counter()
            x, y = x.to(d, non_blocking=True), y.to(d, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
            steps += 1
            images += len(y) if steps > warmup else 0
            if steps >= cfg.trainer.max_steps + warmup:
                break
    return images / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="mlp_1x512,mlp_3x512,alexnet_small")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--images", type=int, default=10_000, help="training set size")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(PERF_DIR / "bench.csv"), help="CSV file the rows are appended to")
    p.add_argument(
        "--note",
        default=os.environ.get("BENCH_NOTE", ""),
        help="free text for the CSV's note column, e.g. the machine's load (default: $BENCH_NOTE)",
    )
    args = p.parse_args()
    register_resolvers()
    device = str(trainer.resolve_device(args.device))
    meta = {
        **provenance(device),
        "device": device,
        "threads": torch.get_num_threads(),
        "images": args.images,
        "batch": args.batch,
        "workers": args.workers,
        "note": args.note,
    }
    append_csv(args.out, FIELDS, [])  # header now (new file) or refuse a file with other columns before measuring
    print(
        f"device: {trainer.device_name(torch.device(device))}, torch {torch.__version__}, "
        f"{args.images} images, batch {args.batch}, baseline DataLoader workers {args.workers}"
    )
    lines = []
    for name in args.models.split(","):
        cnn = name not in ("mlp_1x512", "mlp_3x512")
        steps = (30 if cnn else 150) if device == "cpu" else 300
        cfg = config(name, args.batch, steps, device, args.images)
        arrays = data_mod.make_synthetic(cfg.data.train_size, cfg.data.test_size, cfg.data.split_seed)  # same images
        h = harness_throughput(cfg)
        b = baseline_throughput(cfg, arrays, device, args.workers)
        print(f"  {name}: harness {h:.0f} img/s, baseline {b:.0f} img/s", flush=True)
        lines.append(f"model={name} batch={args.batch} harness_img_s={h:.0f} baseline_img_s={b:.0f} ratio={h / b:.2f}")
        append_csv(
            args.out,
            FIELDS,
            [
                {
                    **meta,
                    "model": name,
                    "steps": steps,
                    "harness_img_s": f"{h:.0f}",
                    "baseline_img_s": f"{b:.0f}",
                    "ratio": f"{h / b:.3f}",
                }
            ],
        )
    print("\n".join(lines))
    print(f"rows appended to {args.out}")


if __name__ == "__main__":
    main()
