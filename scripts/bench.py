"""Training throughput of the harness loop vs the model's own compute limit and a usual baseline.

Per model and preprocessing, measured interleaved in one process, in `--repeats` rounds of
harness, limit, limit, harness (ABBA, so that a drift of the machine's speed cancels; earlier rows
ran harness, limit once per round: the `design` column says which):
- harness: the real training loop (`harness.train.trainer.train`), data as uint8 on the device, batches by
  a device permutation, augmentation on whole batches (one gather on the packed training set);
- limit: forward + backward + SGD step on one fixed float batch already in memory (same model,
  batch, optimizer, threads): what the loop would reach if the data path cost nothing;
- baseline: a Dataset that yields PIL images as torchvision's CIFAR10 does, per-sample torchvision
  transforms for the same augmentation, and a DataLoader with workers.
Preprocessings: `standard` (translate by up to 4 pixels + flip + per-channel normalisation) and
`zhang` (a random 28x28 crop + per-image whitening, Zhang et al.'s "crop" columns).
CIFAR-10-shaped synthetic uint8 data (throughput does not depend on pixel values).
Also the augmentation alone (a batch of uint8 images to the model's input: crop/translate + flip +
normalisation or whitening): the eager per-batch path vs the packed ones the trainer uses, interleaved.
(Earlier rows timed it to float pixels in [0, 1]: the `aug_output` column says which.)

    python scripts/bench.py [--models mlp_1x512,mlp_3x512,alexnet_small] [--preprocess standard,zhang]
                            [--batch 128] [--workers 2] [--repeats 5] [--out CSV] [--note TEXT]

Prints, last, one line per model and preprocessing (medians over the repeats; ratios are the medians
of the per-repeat ratios, with their min-max spread in the CSV):
    model=<name> batch=<B> harness_img_s=<x> limit_img_s=<y> baseline_img_s=<z> vs_limit=<x/y> vs_baseline=<x/z>
and appends one CSV row per model and preprocessing to `--out` (header written when the file is new):
date (UTC, the run's start), machine, torch version, git commit, the size arguments and the measured
numbers, so that every number quoted in docs/performance.md has a committed file behind it. `provenance` and
`append_csv` are shared with scripts/bench_curvature.py and scripts/slurm_timings.py.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from PIL import Image
from torchvision import transforms

from harness.app import register_resolvers
from harness.rundir import RunDir
from harness.train import cpu_kernels, models, parts, trainer
from harness.train import data as data_mod
from harness.train.transforms import BatchTransform, input_shape

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
    "preprocess",
    "steps",
    "repeats",
    "harness_img_s",
    "limit_img_s",
    "baseline_img_s",
    "vs_limit",
    "vs_limit_min",
    "vs_limit_max",
    "vs_limit_step_median",
    "vs_baseline",
    "harness_input_share",
    "aug_eager_img_s",
    "aug_packed_img_s",
    "aug_kernel_img_s",
    "aug_none_img_s",
    "aug_speedup",
    "aug_output",
    "design",
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


def config(model: str, batch: int, steps: int, device: str, images: int, preprocess: str = "standard", extra=()):
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
                f"data.preprocess={preprocess}",
                "data.augment.crop=true",
                "data.augment.flip=true",
                f"trainer.batch_size={batch}",
                f"trainer.max_steps={steps}",
                "trainer.max_epochs=1000",
                "trainer.progress=none",
                "trainer.eval_every_epochs=1000",
                f"device={device}",
                *extra,
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


def harness_throughput(cfg, data=None, periods: list | None = None) -> tuple[float, float]:
    """The harness's own path: data.prepare (uint8 on the device; or `data`, prepared once by the
    caller, as a joblib worker does) and trainer.train. Images/s of the training steps (evaluation
    excluded) and the share of their time spent making batches. With `periods`, appends each step's
    period (from one step's start to the next's: the loop's own work per step included; CPU only)."""
    original, starts = trainer._step, []

    def timed(*args):
        starts.append(time.perf_counter())
        return original(*args)

    trainer._step = original if periods is None else timed
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            summary = trainer.train(cfg, RunDir(run_dir), data)
    finally:
        trainer._step = original
    if periods is not None:  # (the period spanning an epoch's end is an outlier: medians only)
        periods.extend(b - a for a, b in zip(starts, starts[1:]))
    return summary["train_images_per_s"], summary["input_time_s"] / summary["train_time_s"]


def trainer_parts(cfg, data, seed: int = 0) -> tuple[parts.Parts, parts.EpochBatches]:
    """What trainer.train builds on the CPU for `cfg` (`parts.build`) and an epoch's batches for it
    (`parts.EpochBatches`, order and augmentation draws from `seed`): the trainer's step, piece by piece."""
    cpu, n = torch.device("cpu"), len(data.train_x)
    p, g = parts.build(cfg, data, cpu), torch.Generator().manual_seed(seed)
    order, draws = torch.randperm(n, generator=g), p.transform.epoch_draws(n, g, cpu)
    return p, parts.EpochBatches(p, data.train_x, data.train_y, order, draws)


def per_image_standardization(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's per_image_standardization of one (C, H, W) image, as a per-sample transform."""
    return (x - x.mean()) / x.std(correction=0).clamp_min(x.numel() ** -0.5)


def baseline_transform(preprocess: str):
    if preprocess == "zhang":
        return transforms.Compose(
            [
                transforms.RandomCrop(28),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Lambda(per_image_standardization),
            ]
        )
    return transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
        ]
    )


def limit_throughput(cfg, device, warmup: int = 3, periods: list | None = None) -> float:
    """Forward + backward + SGD step on one fixed float batch in memory: the model's compute limit.
    With `periods`, appends each timed step's period (CPU only: CUDA steps are asynchronous)."""
    d = torch.device(device)
    torch.manual_seed(0)
    shape = input_shape(cfg.data.preprocess)
    model = models.build(cfg.model, shape).to(d)
    opt = parts.sgd(model.parameters(), cfg.optimizer, d)  # the trainer's optimizer
    x = torch.randn(cfg.trainer.batch_size, *shape, device=d)
    y = torch.randint(0, 10, (cfg.trainer.batch_size,), device=d)
    cuda = d.type == "cuda"
    if cfg.trainer.channels_last and models.has_conv(model):  # as the trainer does
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if cfg.trainer.compile else model
    last = time.perf_counter()
    for step in range(cfg.trainer.max_steps + warmup):
        if step == warmup:
            if cuda:
                torch.cuda.synchronize(d)
            start = time.perf_counter()
        if periods is not None and step > warmup:
            periods.append(time.perf_counter() - last)
        last = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and cfg.trainer.amp):
            loss = F.cross_entropy(forward(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    loss.item()
    return cfg.trainer.max_steps * cfg.trainer.batch_size / (time.perf_counter() - start)


def augmentation_throughput(preprocess: str, batch: int, device, repeats: int) -> tuple[float, float, float, float]:
    """Images/s of the augmentation alone, from a batch of indices into the uint8 training set and its
    random draws (an epoch's columns: `BatchTransform.epoch_draws`, drawn per epoch, outside the
    clock) to the model's input (crop/translate + flip, then normalisation or per-image whitening): the
    eager path (`BatchTransform.__call__` on train_x[idx]), the packed torch path (`PackedImages.crops`
    with the flip in the same gather, then `model_input`), the compiled CPU loop the trainer runs
    (`PackedImages.crops_to_float`, given numpy views as the trainer gives them; nan where numba is
    missing or off the CPU), and as the floor a batch without augmentation (`model_input` of
    train_x[idx]: the gather and the arithmetic that any input pipeline does). All get the same draws."""
    d = torch.device(device)
    x = torch.randint(0, 256, (10_000, 3, 32, 32), dtype=torch.uint8, device=d)
    t = BatchTransform(preprocess, crop=True, flip=True, channel_mean=(0.5,) * 3, channel_std=(0.25,) * 3)
    packed, gen = t.packed(x), torch.Generator(device=d).manual_seed(0)
    size = input_shape(preprocess)[-1]

    def eager(arg):
        idx, draws = arg
        return t(x[idx], True, draws=draws)

    def fast(arg):
        idx, draws = arg
        return t.model_input(packed.crops(idx, size, draws))

    def kernel(arg):
        idx, draws = arg
        return packed.crops_to_float(idx.numpy(), size, draws.numpy(), *t.kernel_args)

    def none(arg):
        return t.model_input(x.index_select(0, arg[0]))

    def batch_args():
        idx = torch.randint(0, len(x), (batch,), device=d, generator=gen)
        return idx, t.epoch_draws(batch, gen, d)

    use_kernel = d.type == "cpu" and cpu_kernels.available()
    if use_kernel:
        kernel(batch_args())  # compiled (or loaded from the disk cache) before the clock starts
    fns = (eager, fast, kernel, none) if use_kernel else (eager, fast, none)
    rates = interleaved_rates(fns, batch, d, repeats * 5, calls=20, argument=batch_args)
    return rates if use_kernel else (rates[0], rates[1], float("nan"), rates[2])


def interleaved_rates(fns, batch: int, d: torch.device, rounds: int, calls: int, argument=lambda: None):
    """Median images/s of each of `fns` (each call handles `batch` images), measured in short
    interleaved rounds of `calls` calls on a fresh `argument()`: the medians hold when the machine drifts."""
    times = {fn: [] for fn in fns}
    for _ in range(rounds):
        for fn in fns:
            arg = argument()
            start = time.perf_counter()
            for _ in range(calls):
                fn(arg)
            if d.type == "cuda":
                torch.cuda.synchronize(d)
            times[fn].append(calls * batch / (time.perf_counter() - start))
    return tuple(statistics.median(times[fn]) for fn in fns)


def normalisation_throughput(batch: int, device, repeats: int) -> tuple[float, float]:
    """Images/s of a cropped uint8 batch -> standard model input: the four passes over the batch
    the trainer made until 2026-11-28 (to float, /255, -mean, /std) vs its two (to float, then
    x * scale + shift: `BatchTransform.model_input`), interleaved."""
    d = torch.device(device)
    x = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, device=d)
    t = BatchTransform("standard", crop=True, flip=True, channel_mean=(0.49, 0.48, 0.45), channel_std=(0.25,) * 3)
    mean, std = t.mean.to(d), t.std.to(d)

    def four_passes(_):
        return x.float().div_(255).sub_(mean).div_(std)

    def two_passes(_):
        return t.model_input(x)

    return interleaved_rates((four_passes, two_passes), batch, d, repeats * 5, calls=50)


def baseline_throughput(cfg, arrays, device, workers: int, warmup: int = 3) -> float:
    d = torch.device(device)
    tf = baseline_transform(cfg.data.preprocess)
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
    model = models.build(cfg.model, input_shape(cfg.data.preprocess)).to(d)
    opt = parts.sgd(model.parameters(), cfg.optimizer, d)  # the trainer's optimizer
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
    p.add_argument("--preprocess", default="standard,zhang", help="standard and/or zhang")
    p.add_argument("--steps", type=int, default=0, help="steps per loop (default: 100 MLP / 20 CNN on CPU, 300 on GPU)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds per model (medians reported)")
    p.add_argument("--out", default=str(PERF_DIR / "bench_limit.csv"), help="CSV file the rows are appended to")
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
    four, two = normalisation_throughput(args.batch, device, args.repeats)
    print(
        f"  normalisation alone (standard): four passes {four:.0f} img/s, two passes {two:.0f} img/s, x{two / four:.2f}"
    )
    keys = ("date", "commit", "machine", "torch", "device", "threads", "batch")
    append_csv(  # beside --out
        Path(args.out).with_name("bench_input.csv"),
        [*keys, "four_passes_img_s", "two_passes_img_s"],
        [{**{k: meta[k] for k in keys}, "four_passes_img_s": f"{four:.0f}", "two_passes_img_s": f"{two:.0f}"}],
    )
    lines = []
    for preprocess in args.preprocess.split(",") if args.models else []:  # --models "": the normalisation only
        aug_eager, aug_packed, aug_kernel, aug_none = augmentation_throughput(
            preprocess, args.batch, device, args.repeats
        )
        aug_trainer = aug_packed if math.isnan(aug_kernel) else aug_kernel  # what train_batch runs here
        print(
            f"  augmentation alone ({preprocess}): eager {aug_eager:.0f} img/s, packed {aug_packed:.0f} img/s, "
            f"kernel {aug_kernel:.0f} img/s, trainer's path x{aug_trainer / aug_eager:.1f}; "
            f"no augmentation {aug_none:.0f} img/s",
            flush=True,
        )
        for name in args.models.split(","):
            cnn = name not in ("mlp_1x512", "mlp_3x512")
            steps = args.steps or ((20 if cnn else 100) if device == "cpu" else 300)
            cfg = config(name, args.batch, steps, device, args.images, preprocess)
            arrays = data_mod.make_synthetic(cfg.data.train_size, cfg.data.test_size, cfg.data.split_seed)
            data = data_mod.prepare(cfg.data, torch.device(device))  # once: every harness run reuses it
            rounds = []
            for _ in range(args.repeats):
                # ABBA: harness, limit, limit, harness, back to back, both from their first step (the
                # harness's first, slower step counts too): a drift of the machine's speed that is
                # linear in time cancels in the round's ratio of harmonic means (time per image)
                hp, lp = [], []  # the steps' periods (CPU), for the ratio of the median steps
                per = device == "cpu"
                (h1, s1), l1 = (
                    harness_throughput(cfg, data, hp if per else None),
                    limit_throughput(cfg, device, warmup=0, periods=lp if per else None),
                )
                l2, (h2, s2) = (
                    limit_throughput(cfg, device, warmup=0, periods=lp if per else None),
                    harness_throughput(cfg, data, hp if per else None),
                )
                h, lim, share = 2 / (1 / h1 + 1 / h2), 2 / (1 / l1 + 1 / l2), (s1 + s2) / 2
                step_ratio = statistics.median(lp) / statistics.median(hp) if per else float("nan")
                b = baseline_throughput(cfg, arrays, device, args.workers)
                rounds.append((h, lim, b, share, step_ratio))
                print(
                    f"  {name} {preprocess}: harness {h1:.0f}, {h2:.0f} ({share:.1%} of it making batches), "
                    f"limit {l1:.0f}, {l2:.0f}, baseline {b:.0f} img/s: harness / limit {h / lim:.3f}; "
                    f"median steps {step_ratio:.3f}",
                    flush=True,
                )
            h, lim, b, share, step_ratio = (statistics.median(r[i] for r in rounds) for i in range(5))
            vs_limit = [r[0] / r[1] for r in rounds]
            vs_base = statistics.median(r[0] / r[2] for r in rounds)
            lines.append(
                f"model={name} batch={args.batch} harness_img_s={h:.0f} limit_img_s={lim:.0f} baseline_img_s={b:.0f} "
                f"vs_limit={statistics.median(vs_limit):.2f} vs_baseline={vs_base:.2f}"
            )
            row = {
                **meta,
                "model": name,
                "preprocess": preprocess,
                "steps": steps,
                "repeats": args.repeats,
                "harness_img_s": f"{h:.0f}",
                "limit_img_s": f"{lim:.0f}",
                "baseline_img_s": f"{b:.0f}",
                "vs_limit": f"{statistics.median(vs_limit):.3f}",
                "vs_limit_min": f"{min(vs_limit):.3f}",
                "vs_limit_max": f"{max(vs_limit):.3f}",
                "vs_limit_step_median": "" if math.isnan(step_ratio) else f"{step_ratio:.3f}",
                "vs_baseline": f"{vs_base:.3f}",
                "harness_input_share": f"{share:.3f}",
                "aug_eager_img_s": f"{aug_eager:.0f}",
                "aug_packed_img_s": f"{aug_packed:.0f}",
                "aug_kernel_img_s": "" if math.isnan(aug_kernel) else f"{aug_kernel:.0f}",
                "aug_speedup": f"{aug_trainer / aug_eager:.2f}",
                "aug_none_img_s": f"{aug_none:.0f}",
                "aug_output": "model_input",
                "design": "ABBA",
            }
            append_csv(args.out, FIELDS, [row])
    if lines:
        print("\n".join(lines))
        print(f"rows appended to {args.out}")


if __name__ == "__main__":
    main()
