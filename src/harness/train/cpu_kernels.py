"""One compiled loop for the CPU training batch: crop + flip + uint8 -> float model input in one pass.

Why a compiled loop: a per-image crop offset is not expressible as a PyTorch CPU op without a
per-element gather (`PackedImages.crops`: one `index_select` of byte rows), and inside the training
loop small PyTorch ops cost several times what they cost in a tight loop, so the torch path (~15 ops
from the draws to the normalised float batch) spent 5-10% of an MLP step making the batch
(experiments/performance/bench_limit.csv). This loop reads each crop row (`size` consecutive bytes)
and writes the float row; numba vectorises it. Measured: docs/performance.md.

The arithmetic is the torch path's (`transforms.BatchTransform.model_input`), rounding for rounding:
float32 x * scale, then + shift, with per-channel (scale, shift) for the standard preprocessing and
per-image ones for zhang's whitening, from the crop's exact integer moments (`whitening_affine`).
So a batch is bit-identical to the torch path's (tests/test_transforms.py). Without numba (e.g. the
GPU image) or off the CPU, `available()` is False and the torch path runs.
"""

from __future__ import annotations

import math

import numpy as np

try:  # optional at import: the trainer falls back to the torch path
    import numba
except ImportError:  # pragma: no cover - exercised on machines without numba
    numba = None

_kernel = None


def available() -> bool:
    return numba is not None


def _compile():
    """The loop, compiled on first use (cached on disk where the package folder is writable)."""

    def crop_to_float(planes, idx, tops, lefts, flips, mirrors, size, scale, shift, floor, out):
        _, channels, height, width = planes.shape
        src, dst = planes.reshape(-1), out.reshape(-1)
        count = channels * size * size
        for b in range(idx.shape[0]):
            i, top, col = idx[b], np.int64(tops[b]), np.int64(lefts[b])
            if flips[b]:  # the crop of the mirror image: planes[i + mirrors], mirrored offset
                if mirrors == 0:
                    raise ValueError("flips need the mirrored copy: PackedImages(..., mirrored=True)")
                i += mirrors
                col = width - size - col
            base = (i * channels * height + top) * width + col
            o = b * count
            if floor == 0:  # per-channel x * scale + shift
                for c in range(channels):
                    sc, sh = scale[c], shift[c]
                    for r in range(size):
                        start = base + (c * height + r) * width
                        row = src[start : start + size]
                        d = dst[o : o + size]  # slices: non-negative indices, so the loops vectorise
                        for k in range(size):
                            d[k] = np.float32(np.float32(row[k]) * sc) + sh
                        o += size
                continue
            # whitening: the pixel values and their exact sums, then the image's affine map in place
            s1, s2 = 0, 0
            for c in range(channels):
                for r in range(size):
                    start = base + (c * height + r) * width
                    row = src[start : start + size]
                    d = dst[o : o + size]
                    a1, a2 = np.int32(0), np.int32(0)  # a row's sums, exact in int32
                    for k in range(size):
                        v = np.int32(row[k])
                        a1 += v
                        a2 += v * v
                        d[k] = np.float32(v)
                    s1 += a1
                    s2 += a2
                    o += size
            # as whitening_affine, float64 op for op: the same roundings
            std = max(math.sqrt(np.float64(count * s2 - s1 * s1) / np.float64(count * count)) / 255.0, floor)
            img_scale = np.float32(1.0 / (255.0 * std))
            img_shift = np.float32(-(np.float64(s1) / (255.0 * count)) / std)
            image = dst[b * count : (b + 1) * count]  # still in L1
            for k in range(count):
                image[k] = np.float32(image[k] * img_scale) + img_shift
        return out

    try:
        return numba.njit(cache=True, nogil=True, boundscheck=False)(crop_to_float)
    except RuntimeError:  # no cache locator (e.g. a read-only install): compile per process
        return numba.njit(nogil=True, boundscheck=False)(crop_to_float)


def whitening_floor(count: int) -> float:
    """The least std per-image whitening divides by (TensorFlow's 1/sqrt(numel)); one definition
    for the torch path and the loop, so both round alike."""
    return 1 / math.sqrt(count)


def crop_to_float(planes, idx, draws, mirrors: int, size: int, scale, shift, whiten: bool, out):
    """out[b] = crop of planes[idx[b]] at (top, left) = draws[0, b], draws[1, b] (size x size), of its
    mirror image planes[idx[b] + mirrors] when draws[2, b] is 1 (`BatchTransform.epoch_draws`' columns),
    as float32 x * scale + shift: per channel (scale[c], shift[c]), or when `whiten` per image, from the
    crop's own mean and std (zhang's per-image whitening). numpy arrays (draws' rows contiguous)."""
    global _kernel
    if _kernel is None:
        _kernel = _compile()
    floor = whitening_floor(planes.shape[1] * size * size) if whiten else 0.0
    return _kernel(planes, idx, draws[0], draws[1], draws[2], mirrors, size, scale, shift, floor, out)
