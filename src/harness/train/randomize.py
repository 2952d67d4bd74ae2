"""The randomization tests of Zhang et al. 2017 (docs/claims.md, C1).

Pure functions of (arrays, probability, seed): the same seed gives the same corruption, applied
once and kept fixed across epochs. Test labels are never touched by anything here.
Images are uint8 arrays (N, 32, 32, 3).
"""

from __future__ import annotations

import numpy as np

from ..names import NUM_CLASSES


def corrupt_labels(labels: np.ndarray, corruption_prob: float, seed: int, num_classes: int = NUM_CLASSES):
    """Each label, independently with probability p, replaced by a uniformly drawn class.

    About 0.9p of the labels actually change (a draw can hit the true class); returns the new
    labels and the realised fraction that changed.
    """
    rng = np.random.default_rng([seed, 1])
    replace = rng.random(len(labels)) < corruption_prob
    drawn = rng.integers(0, num_classes, size=len(labels))
    corrupted = np.where(replace, drawn, labels).astype(labels.dtype)
    realised = float(np.mean(corrupted != labels)) if len(labels) else 0.0
    return corrupted, realised


def pixel_permutation(seed: int, height: int = 32, width: int = 32) -> np.ndarray:
    """One permutation of pixel positions (the colour channels of a pixel move together)."""
    return np.random.default_rng([seed, 2]).permutation(height * width)


def shuffle_pixels(images: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Shuffled pixels: the SAME permutation applied to every image (train, val and test)."""
    n, h, w, c = images.shape
    return np.ascontiguousarray(images.reshape(n, h * w, c)[:, permutation].reshape(n, h, w, c))


def random_pixels(images: np.ndarray, seed: int) -> np.ndarray:
    """Random pixels: an independent permutation of pixel positions for every image."""
    n, h, w, c = images.shape
    rng = np.random.default_rng([seed, 3])
    perms = np.argsort(rng.random((n, h * w), dtype=np.float32), axis=1)
    flat = images.reshape(n, h * w, c)
    return np.ascontiguousarray(np.take_along_axis(flat, perms[:, :, None], axis=1).reshape(n, h, w, c))


def gaussian_images(images: np.ndarray, seed: int) -> np.ndarray:
    """Gaussian: every image replaced by noise with the data's per-channel mean and variance.

    Stored as uint8 like real images (rounded, clipped to [0, 255]).
    """
    mean = images.reshape(-1, images.shape[-1]).mean(0)
    std = images.reshape(-1, images.shape[-1]).std(0)
    rng = np.random.default_rng([seed, 4])
    noise = rng.standard_normal(images.shape, dtype=np.float32) * std + mean
    return np.clip(np.rint(noise), 0, 255).astype(np.uint8)
