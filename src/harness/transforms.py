"""Preprocessing and augmentation of whole uint8 batches on the device (no per-sample Python).

Two pipelines (CLAIMS.md C1):
- `zhang`: pixels / 255, a 28x28 crop (center for eval, random when augment.crop), per-image
  whitening (x - mean) / max(std, 1/sqrt(numel)) as in TensorFlow's per_image_standardization.
- `standard`: 32x32, per-channel normalisation with the training set's mean and std; augment.crop
  is a random translate by up to 4 pixels (zero padding), augment.flip a horizontal flip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ZHANG_CROP = 28
TRANSLATE_PAD = 4


def input_shape(preprocess: str) -> tuple[int, int, int]:
    return (3, ZHANG_CROP, ZHANG_CROP) if preprocess == "zhang" else (3, 32, 32)


def crop(x: torch.Tensor, size: int, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Per-sample crops of x (B, C, H, W) at offsets top/left (B,), by one gather."""
    ar = torch.arange(size, device=x.device)
    rows = (top[:, None] + ar)[:, :, None]  # (B, S, 1)
    cols = (left[:, None] + ar)[:, None, :]  # (B, 1, S)
    batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[batch, :, rows, cols].permute(0, 3, 1, 2)  # advanced indices first: (B, S, S, C)


def random_crop(x: torch.Tensor, size: int, pad: int, generator: torch.Generator | None) -> torch.Tensor:
    if pad:
        x = F.pad(x, (pad, pad, pad, pad))
    span = x.shape[-1] - size + 1
    offsets = torch.randint(0, span, (2, x.shape[0]), device=x.device, generator=generator)
    return crop(x, size, offsets[0], offsets[1])


def random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def per_image_whitening(x: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    # two passes over each image as one row (mean, then the mean square about it): as exact as
    # torch.std, about 5x faster on CPU, where std's multi-dim Welford reduction is slow.
    # in_place (a batch the caller owns, not a leaf an attack differentiates): same bits, fewer copies
    flat = x.reshape(x.shape[0], -1)
    mean = flat.mean(dim=1, keepdim=True)
    centred = flat.sub_(mean) if in_place else flat - mean
    std = centred.square().mean(dim=1, keepdim=True).sqrt().clamp_min(flat.shape[1] ** -0.5)
    return (centred.div_(std) if in_place else centred / std).view(x.shape)


class PackedImages:
    """A training set kept for fast augmentation: one int32 per pixel (R, G, B and a zero byte, NHWC),
    zero-padded by `pad` for translation. A random crop of a whole batch is then a single gather of
    one word per pixel on an unfold view (no per-channel index arithmetic, no padded copy per batch),
    and the same gather selects the batch: about 4 bytes moved per output pixel. With `mirrored`, the
    horizontally flipped images are kept too (images N..2N-1), so a flip is part of the same gather:
    the flipped crop at `left` is the mirrored image's crop at `width - size - left`."""

    def __init__(self, x: torch.Tensor, pad: int, mirrored: bool = False):
        n, c, h, w = x.shape
        rgba = torch.zeros(n, h + 2 * pad, w + 2 * pad, 4, dtype=torch.uint8, device=x.device)
        rgba[:, pad : pad + h, pad : pad + w, :c] = x.permute(0, 2, 3, 1)
        words = rgba.view(torch.int32).squeeze(-1)  # (N, H + 2 pad, W + 2 pad)
        self.words = torch.cat([words, words.flip(2)]) if mirrored else words
        self.n, self.channels = n, c

    def crops(self, idx, size: int, top, left, flip=None) -> torch.Tensor:
        """Images idx cropped at (top, left) of the padded images, flipped where `flip` (needs
        `mirrored`): (B, size, size) int32 words."""
        if flip is not None:
            idx = idx + self.n * flip
            left = torch.where(flip, self.words.shape[-1] - size - left, left)
        windows = self.words.unfold(1, size, 1).unfold(2, size, 1)  # a view: (N, nH, nW, size, size)
        return windows[idx, top, left]

    def to_float(self, words: torch.Tensor) -> torch.Tensor:
        """(B, S, S) words -> (B, C, S, S) float32 pixel values 0..255, contiguous NCHW, in one pass."""
        b, h, w = words.shape
        channels = words.view(torch.uint8).view(b, h, w, 4)[..., : self.channels].permute(0, 3, 1, 2)
        return torch.empty(b, self.channels, h, w, device=words.device).copy_(channels)


class BatchTransform:
    """uint8 (B, 3, 32, 32) on the device -> float model input, with or without augmentation."""

    def __init__(self, preprocess: str, crop: bool, flip: bool, channel_mean, channel_std):
        self.preprocess, self.crop, self.flip = preprocess, crop, flip
        self.mean = torch.as_tensor(channel_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.as_tensor(channel_std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, x: torch.Tensor, train: bool, generator: torch.Generator | None = None):
        return self.normalize(self.pixels(x, train, generator), in_place=True)  # pixels() made a new tensor

    def pixels(self, x: torch.Tensor, train: bool = False, generator: torch.Generator | None = None):
        """uint8 -> float pixels in [0, 1], cropped/flipped: the space adversarial eps lives in."""
        augment = train
        if self.preprocess == "zhang":
            if augment and self.crop:
                x = random_crop(x, ZHANG_CROP, 0, generator)
            else:
                o = (x.shape[-1] - ZHANG_CROP) // 2
                x = x[:, :, o : o + ZHANG_CROP, o : o + ZHANG_CROP]
        elif augment and self.crop:
            x = random_crop(x, x.shape[-1], TRANSLATE_PAD, generator)
        if augment and self.flip:
            x = random_flip(x, generator)
        return x.float().div_(255)

    def packed(self, x_train: torch.Tensor) -> PackedImages | None:
        """The training set prepared for `train_batch`; None when training does not crop (a flip alone
        is cheap, and the eager path then keeps its exact floating-point results)."""
        if not self.crop:
            return None
        return PackedImages(x_train, TRANSLATE_PAD if self.preprocess != "zhang" else 0, mirrored=self.flip)

    def train_batch(self, packed: PackedImages, idx: torch.Tensor, generator: torch.Generator | None = None):
        """What `self(train_x[idx], train=True, generator)` returns, from the same random draws in the
        same order (crop offsets, then flips), so runs and resumes are unchanged, in one gather."""
        b, device, side = len(idx), packed.words.device, packed.words.shape[-1]
        size = ZHANG_CROP if self.preprocess == "zhang" else side - 2 * TRANSLATE_PAD
        top, left = torch.randint(0, side - size + 1, (2, b), device=device, generator=generator)
        flip = torch.rand(b, device=device, generator=generator) < 0.5 if self.flip else None
        return self.normalize(packed.to_float(packed.crops(idx, size, top, left, flip)).div_(255), in_place=True)

    def normalize(self, x: torch.Tensor, in_place: bool = False) -> torch.Tensor:
        """[0, 1] pixels -> model input (differentiable: attacks go through it). in_place: for a
        batch the caller owns (the same bits, fewer copies)."""
        if self.preprocess == "zhang":
            return per_image_whitening(x, in_place)
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return x.sub_(mean).div_(std) if in_place else (x - mean) / std
