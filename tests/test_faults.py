"""Fault injection: malformed inputs are refused in one line naming the file or key, with no
traceback and nothing trained (issue: run dirs and inputs that cannot lie)."""

import numpy as np
import pytest
from conftest import run_cli

from harness import data
from harness.data import DataError


def good_arrays(n=20):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "y_train": np.arange(n) % 10,
            "x_test": rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), "y_test": np.arange(10) % 10}


def write_npz(root, **changes):
    arrays = {**good_arrays(), **changes}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(root / "cifar10.npz", **arrays)
    return root / "cifar10.npz"


BAD_NPZ = {
    "labels above 9": ({"y_train": np.arange(20) % 11}, "y_train must be class labels 0..9; found values 0..10"),
    "negative test labels": ({"y_test": np.arange(10) - 1}, "y_test must be class labels 0..9; found values -1..8"),
    "CHW images": ({"x_train": np.zeros((20, 3, 32, 32), np.uint8)}, "x_train must be uint8 (N, 32, 32, 3)"),
    "float images": ({"x_test": np.zeros((10, 32, 32, 3), np.float32)}, "found float32 (10, 32, 32, 3)"),
    "28x28 images": ({"x_train": np.zeros((20, 28, 28, 3), np.uint8)}, "found uint8 (20, 28, 28, 3)"),
    "a label per image missing": ({"y_train": np.arange(19) % 10}, "y_train must be 20 integer labels"),
    "float labels": ({"y_test": np.zeros(10, np.float64)}, "y_test must be 10 integer labels"),
    "2-D labels": ({"y_train": np.zeros((20, 1), np.int64)}, "y_train must be 20 integer labels"),
    "no test images": ({"x_test": None}, "no key 'x_test'"),
    "no train labels": ({"y_train": None}, "no key 'y_train'"),
}


@pytest.mark.parametrize("case", BAD_NPZ)
def test_a_malformed_npz_is_refused_naming_file_and_key(tmp_path, case):
    changes, message = BAD_NPZ[case]
    path = write_npz(tmp_path, **changes)
    with pytest.raises(DataError) as e:
        data.load_cifar10(tmp_path, download=False)
    assert str(path) in str(e.value) and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", "truncated"])
def test_an_unreadable_npz_is_named(tmp_path, content):
    path = write_npz(tmp_path)
    if content == "truncated":
        content = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"cifar10.npz: not a readable .npz"):
        data.load_cifar10(tmp_path, download=False)


def test_subset_and_val_sizes_beyond_the_data_name_their_key():
    labels = np.arange(100) % 10
    with pytest.raises(DataError, match=r"data.subset=95 is larger than the 50 images left .*data.val_size=50"):
        data.class_balanced_split(labels, 50, 95, 0)
    with pytest.raises(DataError, match=r"data.val_size=200 needs 20 images of every class"):
        data.class_balanced_split(labels, 200, None, 0)


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path):
    write_npz(tmp_path, y_train=np.arange(20) % 11)
    out = run_cli("experiment=random_labels", "logger=none", f"data.root={tmp_path}", "data.val_size=0",
                  f"hydra.run.dir={tmp_path / 'run'}")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "y_train must be class labels 0..9" in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run" / "summary.json").exists()
