"""Data: class-balanced nested splits, the real CIFAR-10 file, clear errors when it is missing."""

import numpy as np
import pytest
import torch
from helpers import real_data_root, requires_cifar

from harness.train import data


def test_class_balanced_split_is_balanced_disjoint_and_nested():
    labels = np.repeat(np.arange(10), 100)
    np.random.default_rng(0).shuffle(labels)
    train_small, val = data.class_balanced_split(labels, 100, 200, seed=0)
    train_big, val2 = data.class_balanced_split(labels, 100, 500, seed=0)
    assert np.array_equal(val, val2)
    assert np.bincount(labels[val]).tolist() == [10] * 10
    assert np.bincount(labels[train_small]).tolist() == [20] * 10
    assert not set(val) & set(train_big)
    assert set(train_small) <= set(train_big)  # nested subsets: for learning curves
    train_all, _ = data.class_balanced_split(labels, 100, None, seed=0)
    assert len(train_all) == 900


def test_subset_larger_than_the_data_is_an_error():
    with pytest.raises(ValueError, match="subset"):
        data.class_balanced_split(np.repeat(np.arange(10), 10), 50, 60, seed=0)


def test_missing_data_error_names_the_paths_and_the_fix(tmp_path):
    with pytest.raises(data.DataNotFoundError) as e:
        data.load_cifar10(tmp_path, download=False)
    assert str(tmp_path / "cifar10.npz") in str(e.value) and "cifar-10-batches-py" in str(e.value)
    assert "HARNESS_DATA" in str(e.value)


def test_torchvision_batches_format_is_read(tmp_path):
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        flat = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": flat, "labels": [1, 2, 3, 4]}, f)
    arrays = data.load_cifar10(tmp_path, download=False)
    assert arrays.x_train.shape == (20, 32, 32, 3) and arrays.x_test.shape == (4, 32, 32, 3)
    # CHW rows (R plane, G plane, B plane) become HWC pixels
    assert arrays.x_test[0, 0, 1, 2] == flat[0, 2 * 1024 + 1]


def test_prepared_data_is_uint8_on_the_device(make_cfg):
    d = data.prepare(make_cfg().data, torch.device("cpu"))
    assert d.train_x.dtype == torch.uint8 and d.train_x.shape[1:] == (3, 32, 32)
    assert d.info["train_size"] == 512 - 64 and d.info["val_size"] == 64


@requires_cifar
def test_real_cifar10_loads_with_the_right_shapes_and_means():
    arrays = data.load_cifar10(real_data_root(), download=False)
    assert arrays.x_train.shape == (50000, 32, 32, 3) and arrays.x_test.shape == (10000, 32, 32, 3)
    assert arrays.x_train.dtype == np.uint8
    assert np.bincount(arrays.y_train).tolist() == [5000] * 10
    mean = arrays.x_train.reshape(-1, 3).mean(0) / 255
    assert np.allclose(mean, [0.49140, 0.48216, 0.44653], atol=1e-4)
    assert np.allclose(arrays.x_test.reshape(-1, 3).mean(0) / 255, [0.49421, 0.48513, 0.45041], atol=1e-4)


def test_jobs_of_a_sweep_in_one_process_share_the_loaded_dataset(tmp_path):
    arrays = data.make_synthetic(20, 10)
    np.savez(
        tmp_path / "cifar10.npz",
        x_train=arrays.x_train,
        y_train=arrays.y_train,
        x_test=arrays.x_test,
        y_test=arrays.y_test,
    )
    first = data.cached_cifar10(tmp_path, download=False)
    assert data.cached_cifar10(tmp_path, download=False) is first  # not read again
    assert np.array_equal(first.x_train, arrays.x_train)
