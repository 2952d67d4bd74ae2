"""Batch preprocessing/augmentation on the device does what the per-sample versions do."""

import itertools

import numpy as np
import pytest
import torch

from harness.train import cpu_kernels
from harness.train.transforms import BatchTransform, PackedImages, crop, per_image_whitening


def images(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)


def test_crop_equals_slicing_each_sample():
    x = images()
    top, left = torch.tensor([0, 1, 2, 3, 4, 0]), torch.tensor([4, 3, 2, 1, 0, 2])
    out = crop(x, 28, top, left)
    for i in range(len(x)):
        assert torch.equal(out[i], x[i, :, top[i] : top[i] + 28, left[i] : left[i] + 28])


def test_random_translate_keeps_the_image_within_the_zero_padding():
    x = images()
    t = BatchTransform("standard", crop=True, flip=False, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
    out = t.augmented(x, True, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    for i in range(len(x)):  # some shift (dy, dx) in [-4, 4]^2 reproduces the output
        padded = torch.nn.functional.pad(x[i], (4, 4, 4, 4))
        assert any(torch.equal(out[i], padded[:, dy : dy + 32, dx : dx + 32]) for dy in range(9) for dx in range(9))


def test_epoch_draws_cover_every_offset_and_flip_half_the_images():
    """An epoch's draws: crop offsets uniform over every position of the crop in the padded image,
    flips with probability 1/2; what is not random is filled in without consuming the generator."""
    n = 20_000
    for preprocess, span in (("standard", 9), ("zhang", 5)):
        t = BatchTransform(preprocess, crop=True, flip=True, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
        draws = t.epoch_draws(n, torch.Generator().manual_seed(0))
        assert draws.shape == (3, n) and draws.dtype == torch.uint8
        for row in draws[:2]:  # each offset's share within 5 binomial standard deviations of 1/span
            counts = torch.bincount(row.long(), minlength=span)
            assert len(counts) == span and (counts - n / span).abs().max() < 5 * (n / span) ** 0.5
        assert set(draws[2].tolist()) == {0, 1} and abs(draws[2].float().mean() - 0.5) < 5 * 0.5 / n**0.5
        assert not torch.equal(draws[0], draws[1])  # two independent draws, not one reused
    fixed = BatchTransform("zhang", crop=False, flip=False, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    draws = fixed.epoch_draws(7, g)
    assert torch.equal(draws[:2], torch.full((2, 7), 2, dtype=torch.uint8)) and not draws[2].any()  # the centre
    assert torch.equal(g.get_state(), state)


def test_per_image_whitening_matches_tensorflow_definition():
    x = images().float() / 255
    out = per_image_whitening(x)
    flat = out.flatten(1)
    assert torch.allclose(flat.mean(1), torch.zeros(len(x)), atol=1e-5)
    assert torch.allclose(flat.std(1, correction=0), torch.ones(len(x)), atol=1e-4)
    constant = torch.full((1, 3, 28, 28), 0.5)  # std 0: divided by 1/sqrt(numel), not by zero
    assert torch.equal(per_image_whitening(constant), torch.zeros_like(constant))


def test_uint8_whitening_matches_a_float64_reference():
    """whitening_affine (the trainer's per-image whitening of uint8 images) against TensorFlow's
    definition computed in float64; a constant image is divided by 1/sqrt(numel), not by zero."""
    x = torch.cat([images(n=5, seed=2), torch.full((1, 3, 32, 32), 200, dtype=torch.uint8)])
    x[1] //= 16  # a dark, low-contrast image
    t = BatchTransform("zhang", crop=False, flip=False, channel_mean=(0.5,) * 3, channel_std=(0.25,) * 3)
    out = t.model_input(x)
    ref = x.double().flatten(1) / 255
    std = ref.std(1, correction=0, keepdim=True).clamp_min(ref.shape[1] ** -0.5)
    ref = ((ref - ref.mean(1, keepdim=True)) / std).view(x.shape)
    assert out.dtype == torch.float32 and (out.double() - ref).abs().max() < 2e-6
    assert out[-1].abs().max() < 2e-5  # the constant image: ~0 (x * scale and shift round separately)
    assert torch.equal(t.model_input(x[2:3]), out[2:3])  # an image's moments are its own


def test_whitening_moments_are_exact_whatever_the_summation_order():
    """whitening_affine's float32 sums (chunked) equal float64 sums of the same integers, bit for bit,
    up to the largest sums a 28x28 crop can have (all pixels 255): the compiled loop, which sums in
    integers, can then match it."""
    from harness.train.transforms import whitening_affine

    x = torch.cat([images(n=4, seed=5), torch.full((1, 3, 32, 32), 255, dtype=torch.uint8)])[:, :, 2:30, 2:30]
    x[0, :, ::2] = 0  # stripes of 0 and 255
    x[0, :, 1::2] = 255
    flat = x.reshape(len(x), -1).float()
    s1, s2 = flat.double().sum(1), (flat.double() ** 2).sum(1)
    assert torch.equal(s1, s1.round()) and s2.max() == 255**2 * flat.shape[1]  # exact: integers
    n = flat.shape[1]
    std = (((n * s2 - s1 * s1) / (n * n)).sqrt() / 255.0).clamp_min(n**-0.5)
    scale, shift = whitening_affine(flat)
    assert torch.equal(scale, (1.0 / (255.0 * std)).float()[:, None])
    assert torch.equal(shift, (-(s1 / (255.0 * n)) / std).float()[:, None])


def test_zhang_eval_is_center_crop_and_train_crop_is_random():
    x = images()
    t = BatchTransform("zhang", crop=True, flip=False, channel_mean=(0.5,) * 3, channel_std=(0.25,) * 3)
    evaluated = t(x, train=False)
    assert evaluated.shape == (6, 3, 28, 28)
    # uint8 images are whitened from exact moments as x * scale + shift, float pixels (attacks) by
    # (x - mean) / std: the same to within a float32 rounding or two
    assert torch.allclose(evaluated, per_image_whitening(x[:, :, 2:30, 2:30].float() / 255), atol=2e-6)
    a = t(x, train=True, generator=torch.Generator().manual_seed(0))
    b = t(x, train=True, generator=torch.Generator().manual_seed(0))
    c = t(x, train=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_standard_normalises_per_channel_and_flip_mirrors():
    x = images()
    t = BatchTransform("standard", crop=False, flip=True, channel_mean=(0.5, 0.4, 0.3), channel_std=(0.2,) * 3)
    out = t(x, train=True, generator=torch.Generator().manual_seed(0))
    plain = (x.float() / 255 - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / 0.2
    close = dict(atol=1e-6)  # x * scale + shift rounds differently where x / 255 - mean cancels to ~0
    for i in range(len(x)):
        assert torch.allclose(out[i], plain[i], **close) or torch.allclose(out[i], plain[i].flip(2), **close)
    assert torch.allclose(t(x, train=False), plain, **close)
    assert torch.allclose(t(x, train=False), t.normalize(t.pixels(x)), **close)  # what attacks see


def test_packed_batches_equal_the_eager_transform_draw_for_draw():
    """train_batch (one gather on the packed training set) returns exactly what the eager transform
    returns for train_x[idx] with the same draws; the eager transform drawing its own from a generator
    makes the draws epoch_draws makes from that generator: runs and resumes are unchanged."""
    x = images(n=40, seed=3)
    idx = torch.tensor([5, 0, 39, 5, 17, 22, 8])
    for preprocess, cropping, flip in itertools.product(("zhang", "standard"), (True, False), (True, False)):
        t = BatchTransform(preprocess, crop=cropping, flip=flip, channel_mean=(0.5,) * 3, channel_std=(0.25,) * 3)
        packed = t.packed(x)
        for seed in range(3):
            draws = t.epoch_draws(len(idx), torch.Generator().manual_seed(seed))
            eager = t(x[idx], train=True, draws=draws)
            assert torch.equal(eager, t(x[idx], train=True, generator=torch.Generator().manual_seed(seed)))
            if packed is not None:  # (no crops: packed only where the compiled CPU loop runs)
                assert torch.equal(eager, t.train_batch(packed, idx, draws)), (preprocess, cropping, flip)


def test_the_cpu_kernel_and_the_torch_path_give_the_same_bits(monkeypatch):
    """train_batch's compiled CPU loop (numba) against the torch ops it replaces: the same batches,
    bit for bit, for every preprocessing, with and without flips, any batch size, from tensors or
    from numpy views of an epoch's order and draws (as the trainer passes them)."""
    pytest.importorskip("numba")
    x = images(n=50, seed=4)
    for preprocess, cropping in itertools.product(("zhang", "standard"), (True, False)):
        for flip in (True, False):
            t = BatchTransform(
                preprocess, crop=cropping, flip=flip, channel_mean=(0.49, 0.48, 0.45), channel_std=(0.25, 0.24, 0.26)
            )
            packed = t.packed(x)
            perm = torch.randperm(50, generator=torch.Generator().manual_seed(9))
            epoch = t.epoch_draws(50, torch.Generator().manual_seed(10))
            for lo, hi in ((0, 1), (1, 8), (0, 50)):
                idx, draws = perm[lo:hi], epoch[:, lo:hi]
                kernel = t.train_batch(packed, idx, draws).clone()  # (the next call reuses the buffer)
                from_numpy = t.train_batch(packed, perm.numpy()[lo:hi], epoch.numpy()[:, lo:hi]).clone()
                with monkeypatch.context() as m:
                    m.setattr(cpu_kernels, "numba", None)  # as on a machine without numba
                    assert not cpu_kernels.available()
                    plain = t.train_batch(packed, idx, draws)
                assert torch.equal(kernel, plain) and torch.equal(from_numpy, plain), (preprocess, cropping, flip, lo)


def test_kernel_crops_are_scaled_crops_of_the_padded_image_or_its_mirror():
    pytest.importorskip("numba")
    x = images(n=4)
    t = BatchTransform("standard", crop=True, flip=True, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
    draws = torch.tensor([[0, 8, 3, 8], [0, 8, 5, 0], [1, 0, 0, 1]], dtype=torch.uint8)  # mirror images 0 and 3
    scale, shift = np.float32([2, 3, 4]), np.float32([-1, 0, 1])
    out = t.packed(x).crops_to_float(torch.arange(4), 32, draws, scale, shift, whiten=False)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4)).float()
    for i in range(4):
        top, left = draws[0, i], draws[1, i]
        crop = padded[i, :, top : top + 32, left : left + 32]
        crop = crop.flip(2) if i in (0, 3) else crop
        assert torch.equal(
            out[i], crop * torch.tensor([2.0, 3, 4]).view(3, 1, 1) + torch.tensor([-1.0, 0, 1]).view(3, 1, 1)
        )
    with pytest.raises(ValueError, match="mirrored"):  # flips on a copy without mirrors: refused, not misread
        PackedImages(x, 4).crops_to_float(torch.arange(4), 32, draws, scale, shift, whiten=False)


def test_packed_crops_are_crops_of_the_zero_padded_image(monkeypatch):
    x = images(n=4)
    t = BatchTransform("standard", crop=True, flip=False, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
    packed = t.packed(x)
    top, left = torch.tensor([0, 8, 3, 8]), torch.tensor([0, 8, 5, 0])
    out = packed.crops(torch.arange(4), 32, torch.stack([top, left, torch.zeros(4, dtype=torch.long)])).float()
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4)).float()
    for i in range(4):
        assert torch.equal(out[i], padded[i, :, top[i] : top[i] + 32, left[i] : left[i] + 32])
    # the mirrored copy: a flipped crop is the flip of the crop, in the same gather
    mirrored = BatchTransform("standard", crop=True, flip=True, channel_mean=(0.0,) * 3, channel_std=(1.0,) * 3)
    flip = torch.tensor([True, False, True, True])
    out = mirrored.packed(x).crops(torch.arange(4), 32, torch.stack([top, left, flip.long()])).float()
    for i in range(4):
        crop = padded[i, :, top[i] : top[i] + 32, left[i] : left[i] + 32]
        assert torch.equal(out[i], crop.flip(2) if flip[i] else crop)
    # without crops: packed (unpadded) only where the compiled CPU loop runs, else the eager path
    no_crop = BatchTransform("zhang", False, True, (0,) * 3, (1,) * 3)
    if cpu_kernels.available():
        assert no_crop.packed(x).planes.shape == (8, 3, 32, 32)  # the images and their mirrors, no padding
    monkeypatch.setattr(cpu_kernels, "numba", None)
    assert t.packed(x) is not None and no_crop.packed(x) is None
