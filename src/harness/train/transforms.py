"""Preprocessing and augmentation of whole uint8 batches on the device (no per-sample Python).

Two pipelines (docs/claims.md, C1):
- `zhang`: pixels / 255, a 28x28 crop (center for eval, random when augment.crop), per-image
  whitening (x - mean) / max(std, 1/sqrt(numel)) as in TensorFlow's per_image_standardization
  (of uint8 images: from their exact integer moments, `whitening_affine`).
- `standard`: 32x32, per-channel normalisation with the training set's mean and std; augment.crop
  is a random translate by up to 4 pixels (zero padding), augment.flip a horizontal flip.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from harness.train import cpu_kernels

ZHANG_CROP = 28
TRANSLATE_PAD = 4


def compiled_loop(device: torch.device) -> bool:
    """Whether training batches on `device` come from the compiled CPU loop (cpu_kernels, numba)."""
    return device.type == "cpu" and cpu_kernels.available()


def input_shape(preprocess: str) -> tuple[int, int, int]:
    return (3, ZHANG_CROP, ZHANG_CROP) if preprocess == "zhang" else (3, 32, 32)


def crop(x: torch.Tensor, size: int, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Per-sample crops of x (B, C, H, W) at offsets top/left (B,), by one gather."""
    ar = torch.arange(size, device=x.device)
    rows = (top[:, None] + ar)[:, :, None]  # (B, S, 1)
    cols = (left[:, None] + ar)[:, None, :]  # (B, 1, S)
    batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[batch, :, rows, cols].permute(0, 3, 1, 2)  # advanced indices first: (B, S, S, C)


def per_image_whitening(x: torch.Tensor) -> torch.Tensor:
    """Float pixels in [0, 1] (an attack's, differentiable) -> per-image whitened.
    Two passes over each image as one row (mean, then the mean square about it): as exact as
    torch.std, about 5x faster on CPU, where std's multi-dim Welford reduction is slow."""
    flat = x.reshape(x.shape[0], -1)
    centred = flat - flat.mean(dim=1, keepdim=True)
    std = centred.square().mean(dim=1, keepdim=True).sqrt().clamp_min(flat.shape[1] ** -0.5)
    return (centred / std).view(x.shape)


@functools.cache
def _exact_chunk(n: int) -> int:
    """The longest run of squared pixels (255^2 each) whose float32 sum stays exact (every partial
    sum below 2^24: <= 258 of them) that divides n; the pixels' own sum (n * 255) is exact whole."""
    return max(d for d in range(1, 259) if n % d == 0)


def whitening_affine(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image whitening of uint8 images as x * scale + shift: `flat` (B, N) holds the pixel values
    0..255 as float32; returns float32 (B, 1) scale = 1 / (255 std), shift = -mean / std of x / 255.
    The sums of the pixels and of their squares are exact, so the moments do not depend on a summation
    order: the compiled CPU loop (cpu_kernels) sums in integers, repeats these float64 ops and gets the
    same bits. (Float pixels, e.g. an attack's, go through `per_image_whitening`: equal to within float32
    rounding.)"""
    n = flat.shape[1]
    chunk = _exact_chunk(n)
    if n * 255 >= 2**24 or chunk < 16:  # not a CIFAR-sized crop: sum in float64 (exact, slower)
        s1, s2 = flat.sum(1, dtype=torch.float64), (flat * flat).sum(1, dtype=torch.float64)
    else:
        s1, s2 = flat.sum(1).double(), (flat * flat).view(len(flat), -1, chunk).sum(2).double().sum(1)
    std = (((n * s2 - s1 * s1) / (n * n)).sqrt() / 255.0).clamp_min(cpu_kernels.whitening_floor(n))
    scale, shift = 1.0 / (255.0 * std), -(s1 / (255.0 * n)) / std
    return scale.float()[:, None], shift.float()[:, None]


class PackedImages:
    """A training set kept for fast augmentation: uint8 NCHW, zero-padded by `pad` for translation,
    and with `mirrored` its horizontal mirror image beside it (images N..2N-1), so that a flip is a
    crop of the mirror: the flipped crop at `left` is the mirrored image's crop at `width - size - left`.

    A crop of one channel is `size` rows of `size` consecutive bytes, so a batch's crops (and flips)
    are one `index_select` of B x C x size rows from a view whose row r is the `size` bytes starting
    at byte r: about a memcpy of the output, already in NCHW order. (Gathering pixel by pixel, or
    whole RGBA words and then transposing them to NCHW, cost 2-3x more on CPU.)"""

    def __init__(self, x: torch.Tensor, pad: int, mirrored: bool = False):
        planes = F.pad(x, (pad, pad, pad, pad)) if pad else x
        self.planes = torch.cat([planes, planes.flip(3)]) if mirrored else planes.contiguous()
        self.n = len(x)
        self._numpy = None  # the planes as a numpy array, for the CPU kernel
        self._out = {}  # (batch size, crop size) -> the compiled loop's output batch, reused
        self._rows = {}  # size -> (the row view, each crop row's offset from the crop's first byte)

    def _row_view(self, size: int):
        if size not in self._rows:
            flat, (_, c, h, w) = self.planes.view(-1), self.planes.shape
            rows = flat.as_strided((flat.numel() - size + 1, size), (1, 1))
            ar = torch.arange(size, device=flat.device)
            within = (torch.arange(c, device=flat.device)[:, None] * h + ar) * w  # (C, S)
            self._rows[size] = rows, within
        return self._rows[size]

    def crops(self, idx, size: int, draws) -> torch.Tensor:
        """Images idx cropped at (top, left) = draws[0], draws[1] of the padded images, flipped where
        draws[2] is 1 (needs `mirrored`): (B, C, size, size) uint8."""
        image, width = self.planes.stride(0), self.planes.shape[-1]
        top, left, flip = draws.long()
        idx = idx + self.n * flip
        left = torch.where(flip.bool(), width - size - left, left)
        rows, within = self._row_view(size)
        first = idx * image + top * width + left  # each crop's first byte
        picked = rows.index_select(0, (first[:, None, None] + within).view(-1))
        return picked.view(len(idx), within.shape[0], size, size)

    def crops_to_float(self, idx, size: int, draws, scale, shift, whiten: bool) -> torch.Tensor:
        """The crops of `crops` as float32, x * scale + shift per channel (or per image when `whiten`:
        `whitening_affine`), in one compiled pass (CPU, numba). idx and draws: CPU tensors or numpy
        arrays. The batch is written into a buffer kept per batch size: the next call overwrites it
        (the trainer's step is done with its batch by then)."""
        if self._numpy is None:
            self._numpy = self.planes.numpy()
        key = (len(idx), size)
        if key not in self._out:
            out = torch.empty(len(idx), self.planes.shape[1], size, size)
            self._out[key] = out, out.numpy()
        out, out_np = self._out[key]
        mirrors = len(self.planes) - self.n  # the mirror of image i is image i + n, when there are mirrors
        cpu_kernels.crop_to_float(
            self._numpy, np.asarray(idx), np.asarray(draws), mirrors, size, scale, shift, whiten, out_np
        )
        return out


class BatchTransform:
    """uint8 (B, 3, 32, 32) on the device -> float model input, with or without augmentation."""

    def __init__(self, preprocess: str, crop: bool, flip: bool, channel_mean, channel_std):
        self.preprocess, self.crop, self.flip = preprocess, crop, flip
        self.mean = torch.as_tensor(channel_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.as_tensor(channel_std, dtype=torch.float32).view(1, 3, 1, 1)
        # uint8 -> model input as x * scale + shift: two passes over the batch instead of four
        # (/255, -mean, /std), the same values to within a rounding; half the input's cost per step
        self.scale, self.shift = 1 / (255 * self.std), -self.mean / self.std
        # the compiled CPU loop's (scale, shift, whiten), as numpy once rather than at every step
        self.kernel_args = (self.scale.view(-1).numpy(), self.shift.view(-1).numpy(), preprocess == "zhang")

    def __call__(self, x: torch.Tensor, train: bool, generator: torch.Generator | None = None, draws=None):
        return self.model_input(self.augmented(x, train, generator, draws))

    def pixels(self, x: torch.Tensor, train: bool = False, generator: torch.Generator | None = None):
        """uint8 -> float pixels in [0, 1], cropped/flipped: the space adversarial eps lives in."""
        return self.augmented(x, train, generator).float().div_(255)

    def model_input(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images, already cropped/flipped -> what the model reads (a new float tensor)."""
        if self.preprocess == "zhang":
            flat = x.reshape(len(x), -1).float()
            scale, shift = whitening_affine(flat)
            return flat.mul_(scale).add_(shift).view(x.shape)
        return x.float().mul_(self.scale.to(x.device)).add_(self.shift.to(x.device))

    def geometry(self) -> tuple[int, int, int]:
        """(pad, side, size): the zero padding of the training images (the standard translation's),
        the padded side and the crop's side; crop offsets run over [0, side - size]."""
        pad = TRANSLATE_PAD if self.crop and self.preprocess != "zhang" else 0
        return pad, 32 + 2 * pad, input_shape(self.preprocess)[-1]

    def epoch_draws(self, n: int, generator: torch.Generator | None, device=None) -> torch.Tensor:
        """The augmentation's random draws for n training images: uint8 (3, n), rows top, left (the crop
        offsets in the padded images, uniform over [0, side - size]) and flip (1: mirror, probability
        1/2). Drawn for a whole epoch at its start, one column per position of the epoch's order, so a
        step only slices them. What is not random (no crop: zhang's centre crop or none; no flip) is
        filled in without a draw."""
        _, side, size = self.geometry()
        draws = torch.empty(3, n, dtype=torch.uint8, device=device)
        if self.crop:
            draws[:2].random_(0, side - size + 1, generator=generator)
        else:
            draws[:2].fill_((side - size) // 2)
        if self.flip:
            draws[2].random_(0, 2, generator=generator)
        else:
            draws[2].zero_()
        return draws

    def augmented(self, x: torch.Tensor, train: bool, generator: torch.Generator | None = None, draws=None):
        """uint8 -> uint8, cropped/flipped when training, as `draws` (`epoch_draws`' columns for x; None:
        drawn here from `generator`) say; zhang: centre-cropped when not training."""
        pad, _, size = self.geometry()
        if train and draws is None:
            draws = self.epoch_draws(len(x), generator, x.device)
        if train and self.crop:
            top, left, _ = draws.long()
            x = crop(F.pad(x, (pad, pad, pad, pad)) if pad else x, size, top, left)
        else:  # the centre (zhang's 28x28; the whole image for the standard preprocessing): a slice
            o = (x.shape[-1] - size) // 2
            x = x[:, :, o : o + size, o : o + size]
        if train and self.flip:
            x = torch.where(draws[2].bool()[:, None, None, None], x.flip(3), x)
        return x

    def packed(self, x_train: torch.Tensor) -> PackedImages | None:
        """The training set prepared for `train_batch`. Without crops, only where the compiled CPU loop
        runs (there it also makes the batch in one pass: zhang's centre crop and whitening, the
        standard normalisation; without flips the planes are x_train itself, no copy); elsewhere None:
        the eager path (a slice and a few whole-batch ops)."""
        if not self.crop and not compiled_loop(x_train.device):
            return None
        return PackedImages(x_train, self.geometry()[0], mirrored=self.flip)

    def train_batch(self, packed: PackedImages, idx, draws):
        """What `self(train_x[idx], train=True, draws=draws)` returns, in one gather; on CPU with numba
        in one compiled pass (idx and draws may then be numpy arrays; the batch is overwritten by the
        next call: `PackedImages.crops_to_float`). Bit-identical either way."""
        size = self.geometry()[2]
        if compiled_loop(packed.planes.device):
            return packed.crops_to_float(idx, size, draws, *self.kernel_args)
        return self.model_input(packed.crops(idx, size, draws))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels -> model input (differentiable: attacks go through it)."""
        if self.preprocess == "zhang":
            return per_image_whitening(x)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)
