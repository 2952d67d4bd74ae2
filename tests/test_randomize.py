"""Zhang et al.'s randomizations: deterministic, the realised fraction recorded, test labels untouched."""

import numpy as np
import pytest

from harness.train import data, randomize


@pytest.fixture(scope="module")
def arrays():
    return data.make_synthetic(2000, 300, seed=0)


def test_label_corruption_is_deterministic_and_realises_about_0_9p(arrays):
    y = arrays.y_train
    for p in (0.0, 0.2, 0.6, 1.0):
        a, realised = randomize.corrupt_labels(y, p, seed=3)
        b, _ = randomize.corrupt_labels(y, p, seed=3)
        assert np.array_equal(a, b)
        assert realised == pytest.approx(np.mean(a != y))
        assert realised == pytest.approx(0.9 * p, abs=0.04)
    c, _ = randomize.corrupt_labels(y, 0.5, seed=4)
    assert not np.array_equal(randomize.corrupt_labels(y, 0.5, seed=3)[0], c)


def test_random_labels_are_uniform_and_independent_of_the_images(arrays):
    y, _ = randomize.corrupt_labels(arrays.y_train, 1.0, seed=0)
    counts = np.bincount(y, minlength=10)
    assert counts.min() > 150 and counts.max() < 250
    assert np.mean(y == arrays.y_train) == pytest.approx(0.1, abs=0.03)


def test_shuffled_pixels_use_one_permutation_for_every_image(arrays):
    perm = randomize.pixel_permutation(seed=1)
    x = randomize.shuffle_pixels(arrays.x_train, perm)
    flat_in, flat_out = arrays.x_train.reshape(len(x), -1, 3), x.reshape(len(x), -1, 3)
    assert np.array_equal(flat_out, flat_in[:, perm])
    assert not np.array_equal(x, arrays.x_train)


def test_random_pixels_permute_each_image_differently(arrays):
    x = randomize.random_pixels(arrays.x_train[:50], seed=2)
    assert np.array_equal(x, randomize.random_pixels(arrays.x_train[:50], seed=2))
    src, out = arrays.x_train[:50].reshape(50, -1, 3), x.reshape(50, -1, 3)
    for i in range(3):  # each image keeps its own pixels, only their positions move
        assert sorted(map(tuple, src[i])) == sorted(map(tuple, out[i]))
    # the same image five times comes out five different ways
    ramp = np.arange(32 * 32 * 3, dtype=np.int64).reshape(1, 32, 32, 3) % 251
    same = np.repeat(ramp.astype(np.uint8), 5, axis=0)
    shuffled = randomize.random_pixels(same, seed=0)
    assert len({s.tobytes() for s in shuffled}) == 5


def test_gaussian_images_match_the_data_mean_and_std(arrays):
    x = randomize.gaussian_images(arrays.x_train, seed=0)
    assert x.dtype == np.uint8 and x.shape == arrays.x_train.shape
    mean_in = arrays.x_train.reshape(-1, 3).mean(0)
    assert np.allclose(x.reshape(-1, 3).mean(0), mean_in, atol=3)
    assert np.allclose(x.reshape(-1, 3).std(0), arrays.x_train.reshape(-1, 3).std(0), rtol=0.1)


@pytest.mark.parametrize("kind", ["none", "shuffled_pixels", "random_pixels", "gaussian"])
def test_prepare_never_touches_test_or_val_labels(make_cfg, kind):
    cfg = make_cfg(f"data.input_randomization={kind}", "data.corruption_prob=1.0", "data.val_size=100")
    d = data.prepare(cfg.data, "cpu")
    clean = data.make_synthetic(cfg.data.train_size, cfg.data.test_size, cfg.data.split_seed)
    train_idx, val_idx = data.class_balanced_split(clean.y_train, 100, None, cfg.data.split_seed)
    assert np.array_equal(d.test_y.numpy(), clean.y_test)
    assert np.array_equal(d.val_y.numpy(), clean.y_train[val_idx])
    assert d.info["realised_corruption"] == pytest.approx(np.mean(d.train_y.numpy() != clean.y_train[train_idx]))
    test_images_changed = not np.array_equal(d.test_x.numpy(), clean.x_test.transpose(0, 3, 1, 2))
    assert test_images_changed == (kind == "shuffled_pixels")  # only a fixed input function applies to test
    assert d.train_x.dtype.is_floating_point is False
