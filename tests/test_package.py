"""The config tree ships inside the package, so an installed wheel finds it too."""

import subprocess
import sys
import zipfile

from helpers import REPO


def test_wheel_contains_every_config(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("harness-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = REPO / "src" / "harness" / "configs"
    expected = {f"harness/configs/{p.relative_to(configs)}" for p in configs.rglob("*.yaml")}
    assert expected and expected <= names


def test_top_level_configs_is_the_package_tree():
    assert (REPO / "configs").resolve() == (REPO / "src" / "harness" / "configs").resolve()
