"""CIFAR-10 (or a synthetic stand-in) as uint8 tensors on the device, split and randomized.

Order of operations, each deterministic from its seed:
  load -> class-balanced val split (true labels, never trained on) -> class-balanced training
  subset (nested: a larger subset contains a smaller one) -> randomization of the training set.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataNotFoundError
from ..names import NUM_CLASSES
from . import randomize

log = logging.getLogger(__name__)


IMAGE_SHAPE = (32, 32, 3)


def check_arrays(arrays: Arrays, source) -> Arrays:
    """Refuse, before training, arrays that would crash mid-run or silently change the data:
    uint8 (N, 32, 32, 3) images, at least one per split, integer labels 0..9, one label per image."""
    for split in ("train", "test"):
        x, y = getattr(arrays, f"x_{split}"), getattr(arrays, f"y_{split}")
        if x.ndim >= 1 and len(x) == 0:  # (a run would train on nothing, or report a test accuracy of NaN)
            raise DataError(f"{source}: x_{split} has no images; every split needs at least one")
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{source}: x_{split} must be uint8 (N, 32, 32, 3) images (HWC); found {x.dtype} {tuple(x.shape)}"
            )
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) != len(x):
            raise DataError(
                f"{source}: y_{split} must be {len(x)} integer labels (one per image); found {y.dtype} {tuple(y.shape)}"
            )
        if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise DataError(
                f"{source}: y_{split} must be class labels 0..{NUM_CLASSES - 1}; found values "
                f"{int(y.min())}..{int(y.max())}"
            )
    return arrays


@dataclass
class Arrays:
    """Images uint8 (N, 32, 32, 3) HWC, labels int64 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the arrays themselves (shapes, pixels, labels), computed once per load (~0.2 s
        for CIFAR-10): part of a run's identity, so a run never resumes on other data."""
        h = hashlib.blake2b(digest_size=8)
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(repr((a.dtype.str, a.shape)).encode())
            h.update(np.ascontiguousarray(a).data)
        return h.hexdigest()


@dataclass
class DeviceData:
    """What the trainer sees: uint8 images (N, 3, 32, 32) and int64 labels, on the device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    channel_mean: tuple  # of the training images, in [0, 1]: for the `standard` normalisation
    channel_std: tuple
    info: dict = field(default_factory=dict)  # sizes, realised corruption: goes into summary.json
    replaced: tuple | None = None  # (image, label) the replacement took the place of (data.replace_index)


def _read_npz(path: Path) -> Arrays:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as d:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in d.files]
            if missing:
                raise DataError(
                    f"{path}: no key {missing[0]!r} (expected x_train, y_train, x_test, y_test; "
                    f"found {', '.join(d.files) or 'none'})"
                )
            arrays = Arrays(d["x_train"], d["y_train"], d["x_test"], d["y_test"])
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz (truncated or another format: {type(e).__name__})") from None
    check_arrays(arrays, path)
    return Arrays(arrays.x_train, arrays.y_train.astype(np.int64), arrays.x_test, arrays.y_test.astype(np.int64))


def _read_batches_py(folder: Path) -> Arrays:
    """torchvision's `cifar-10-batches-py` (the official python pickles)."""

    def read(name):
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path}: missing (cifar-10-batches-py needs data_batch_1..5 and test_batch)")
        try:
            with open(path, "rb") as f:
                d = pickle.load(f, encoding="latin1")
            return d["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(d["labels"], np.int64)
        except Exception as e:  # truncated, another format, another pickle
            raise DataError(
                f"{path}: not a CIFAR-10 python batch (a pickled dict with 'data' (N, 3072) uint8 and 'labels'; "
                f"{type(e).__name__}); replace it with the original, or delete the folder to download it again"
            ) from None

    train = [read(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = read("test_batch")
    return check_arrays(
        Arrays(np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]), x_test, y_test), folder
    )


def load_cifar10(root: str | os.PathLike, download: bool = True) -> Arrays:
    """From root/cifar10.npz, else root/cifar-10-batches-py, else a torchvision download."""
    root = Path(root).expanduser()
    npz, batches = root / "cifar10.npz", root / "cifar-10-batches-py"
    if npz.is_file():
        return _read_npz(npz)
    if (batches / "data_batch_1").is_file():
        return _read_batches_py(batches)
    problem = "download disabled (data.download=false)"
    if download:
        try:
            import torchvision

            log.info("downloading CIFAR-10 into %s", root)
            torchvision.datasets.CIFAR10(str(root), train=True, download=True)
            return _read_batches_py(batches)
        except Exception as e:  # no network, no write access, ...
            problem = f"download failed: {type(e).__name__}: {e}"
    raise DataNotFoundError(
        f"CIFAR-10 not found. Tried {npz} and {batches}/; {problem}. "
        f"Fix: put cifar10.npz (or torchvision's cifar-10-batches-py) in a folder and set "
        f"HARNESS_DATA=<folder> or data.root=<folder>, or run once with network access."
    )


@functools.lru_cache(maxsize=1)
def _cached_cifar10(root: str, download: bool, _stamp) -> Arrays:
    return load_cifar10(root, download)


def cached_cifar10(root, download: bool = True) -> Arrays:
    """load_cifar10, kept in memory for the next job of a sweep run in the same process (the
    basic launcher runs its jobs one after another in one process). Callers must not modify it."""
    npz = Path(root).expanduser() / "cifar10.npz"
    stamp = npz.stat().st_mtime_ns if npz.is_file() else None
    return _cached_cifar10(str(Path(root).expanduser().resolve()), download, stamp)


@functools.lru_cache(maxsize=1)
def make_synthetic(train_size: int, test_size: int, seed: int = 0) -> Arrays:
    """A learnable CIFAR-shaped dataset: ten smooth class templates plus pixel noise. Kept for the
    next call with the same sizes (a sweep's jobs, a benchmark's runs): callers must not modify it."""
    rng = np.random.default_rng([seed, 5])
    coarse = rng.uniform(0, 255, size=(NUM_CLASSES, 4, 4, 3))
    templates = coarse.repeat(8, axis=1).repeat(8, axis=2)  # (10, 32, 32, 3)

    def sample(n):
        y = np.arange(n) % NUM_CLASSES
        rng.shuffle(y)
        x = templates[y] + rng.normal(0, 40, size=(n, 32, 32, 3))
        return np.clip(np.rint(x), 0, 255).astype(np.uint8), y.astype(np.int64)

    x_train, y_train = sample(train_size)
    x_test, y_test = sample(test_size)
    return Arrays(x_train, y_train, x_test, y_test)


def class_balanced_split(labels: np.ndarray, val_size: int, subset: int | None, seed: int):
    """Indices (train, val): val_size and subset images spread evenly over the classes.

    Within each class the order is one fixed permutation, val takes its head and the training
    subset the next ones, so subsets of different sizes are nested and never overlap val.
    """
    rng = np.random.default_rng([seed, 6])
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(NUM_CLASSES)]

    def counts(total):  # spread total over the classes, the remainder to the first classes
        base, extra = divmod(total, NUM_CLASSES)
        return [base + (c < extra) for c in range(NUM_CLASSES)]

    val_counts = counts(val_size)
    if any(k > len(idx) for k, idx in zip(val_counts, per_class)):
        raise DataError(
            f"data.val_size={val_size} needs {max(val_counts)} images of every class; the training "
            f"set has {min(len(i) for i in per_class)} of its rarest class"
        )
    val = np.concatenate([idx[:k] for idx, k in zip(per_class, val_counts)])
    rest = [idx[k:] for idx, k in zip(per_class, val_counts)]
    if not sum(len(r) for r in rest):
        raise DataError(f"data.val_size={val_size} leaves no training images (the training set has {len(labels)})")
    if subset is None:
        train = np.concatenate(rest)
    else:
        sub_counts = counts(subset)
        if any(k > len(r) for k, r in zip(sub_counts, rest)):
            raise DataError(
                f"data.subset={subset} is larger than the {sum(len(r) for r in rest)} images left after "
                f"the val split (data.val_size={val_size})"
            )
        train = np.concatenate([r[:k] for r, k in zip(rest, sub_counts)])
    return np.sort(train), np.sort(val)


def prepare(cfg, device: torch.device) -> DeviceData:
    """Load, split and randomize as the data config says; return uint8 tensors on `device`."""
    if cfg.name == "synthetic":
        arrays = make_synthetic(cfg.train_size, cfg.test_size, cfg.split_seed)
    else:
        arrays = cached_cifar10(cfg.root, cfg.download)
    train_idx, val_idx = class_balanced_split(arrays.y_train, cfg.val_size, cfg.subset, cfg.split_seed)
    x_train, y_train = arrays.x_train[train_idx], arrays.y_train[train_idx]
    x_val, y_val = arrays.x_train[val_idx], arrays.y_train[val_idx]
    x_test, y_test = arrays.x_test, arrays.y_test
    replaced = None
    if cfg.get("replace_index") is not None:
        replaced = replace_one(arrays, x_train, y_train, train_idx, val_idx, cfg.replace_index, cfg.replace_seed)

    info = {
        "train_size": len(y_train),
        "val_size": len(y_val),
        "test_size": len(y_test),
        "fingerprint": arrays.fingerprint,  # of the whole source data, before the split and randomization
    }
    seed = cfg.randomization_seed
    kind = cfg.input_randomization
    if kind == "shuffled_pixels":  # a fixed function of the input: applies to every split
        perm = randomize.pixel_permutation(seed)
        x_train, x_val, x_test = (randomize.shuffle_pixels(x, perm) for x in (x_train, x_val, x_test))
    elif kind == "random_pixels":
        x_train = randomize.random_pixels(x_train, seed)
    elif kind == "gaussian":
        x_train = randomize.gaussian_images(x_train, seed)
    info["input_randomization"] = kind
    y_train, realised = randomize.corrupt_labels(y_train, cfg.corruption_prob, seed)
    info["corruption_prob"] = float(cfg.corruption_prob)
    info["realised_corruption"] = realised

    mean = tuple(float(m) for m in x_train.reshape(-1, 3).mean(0) / 255)
    std = tuple(float(s) for s in x_train.reshape(-1, 3).std(0) / 255)

    def images(x):  # HWC numpy -> NCHW uint8 on the device, made contiguous once
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)

    def labels(y):
        return torch.from_numpy(np.ascontiguousarray(y)).to(device)

    if replaced is not None:
        info.update(replaced_index=int(cfg.replace_index), replacement_source=replaced[2])
        replaced = (images(replaced[0][None]), labels(np.asarray([replaced[1]])))
    return DeviceData(
        images(x_train), labels(y_train), images(x_val), labels(y_val), images(x_test), labels(y_test), mean, std, info,
        replaced,
    )  # fmt: skip


def replace_one(arrays: Arrays, x_train, y_train, train_idx, val_idx, i: int, seed: int):
    """S^(i) (C10): the training example at position i replaced, in place, by an image drawn (seeded)
    from the training images in neither the subset nor the validation split. Returns the example it
    replaced (image, label) and the replacement's index in the source data."""
    pool = np.setdiff1d(np.arange(len(arrays.y_train)), np.concatenate([train_idx, val_idx]))
    if not len(pool):
        raise DataError(
            "data.replace_index needs data.subset: the images outside it are what the replacement is drawn from"
        )
    if not 0 <= i < len(y_train):
        raise DataError(f"data.replace_index={i} is not a position of the {len(y_train)} training images")
    j = int(pool[np.random.default_rng([seed, 7]).integers(len(pool))])
    original = (x_train[i].copy(), int(y_train[i]), j)
    x_train[i], y_train[i] = arrays.x_train[j], arrays.y_train[j]
    return original
