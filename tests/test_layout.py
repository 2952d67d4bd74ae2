"""The package's layout (README, "How it is built"): imports flow one way, down the floors below. A
module may import its own wing and anything on a lower floor; never a higher floor or a sibling wing
(train/ and results/ do not know each other: records are the only thing between them). Lazy imports
inside functions count too."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
FLOORS = {  # the longest matching prefix decides
    "harness": 0,  # the package itself: __version__
    "harness.errors": 0,
    "harness.names": 0,
    "harness.schema": 1,
    "harness.rundir": 1,
    "harness.probes": 2,  # plain functions of a model: curvature, attacks, bounds, stability
    "harness.train": 3,  # the loop and what it is made of
    "harness.results": 3,  # records -> reports, claims, dashboard
    "harness.config": 4,
    "harness.tracking": 4,
    "harness.workspace": 4,
    "harness.app": 5,
    "harness.callbacks": 5,
    "harness.__main__": 6,  # `python -m harness`: Hydra around app.main
    "harness.report": 5,  # the commands `python -m harness.report` etc.: one line each, into results/
    "harness.compare": 5,
    "harness.reproduce": 5,
    "harness.dashboard": 5,
    "harness.configs": 0,
}
WINGS = ("harness.train", "harness.probes", "harness.results")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def place(module: str) -> tuple[int, str]:
    """(floor, wing or module) of a module, by its longest prefix in FLOORS."""
    key = max((k for k in FLOORS if module == k or module.startswith(k + ".")), key=len, default=None)
    assert key is not None, f"{module} is on no floor: add it to FLOORS (and to the README's module map)"
    return FLOORS[key], key


def imports(path: Path, text: str) -> list[str]:
    """Every harness module a file (whose source is `text`) imports, at the top or inside a function."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "harness"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "harness":
                continue
            for a in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{target}.{a.name}"
                is_module = (SRC / Path(*sub.split("."))).with_suffix(".py").is_file() or (
                    SRC / Path(*sub.split(".")) / "__init__.py"
                ).is_file()
                out.append(sub if is_module else target)
    return out


def back_imports(files, text_of=lambda path: path.read_text()) -> list[str]:
    bad = []
    for path in files:
        importer = module_name(path)
        floor, home = place(importer)
        for target in imports(path, text_of(path)):
            t_floor, t_home = place(target)
            if t_floor < floor or t_home == home or target == "harness":
                continue  # down the floors, inside its own wing, or the package's __version__
            bad.append(f"{importer} (floor {floor}) imports {target} (floor {t_floor})")
    return bad


FILES = sorted((SRC / "harness").rglob("*.py"))


def test_imports_flow_down_the_floors_and_wings_do_not_know_each_other():
    assert back_imports(FILES) == []


@pytest.mark.parametrize(
    "file, reach, found",
    [
        ("probes/curvature.py", "from ..train import models", "harness.train.models (floor 3)"),
        ("results/report.py", "from ..train.data import prepare", "harness.train.data (floor 3)"),
        ("rundir.py", "from .config import validate", "harness.config (floor 4)"),
    ],
)
def test_a_back_import_is_caught(file, reach, found):
    """The check itself: a probe reaching up into the training wing, the results wing into its sibling,
    the run dir into the config: each fails the test above, even as a lazy import."""
    path = SRC / "harness" / file
    text = path.read_text() + f"\n\ndef _reaches_up():\n    {reach}\n"
    bad = back_imports([path], text_of=lambda p: text)
    assert len(bad) == 1 and bad[0].endswith(f"imports {found}"), bad


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_module_has_a_floor(path):
    place(module_name(path))


# A run dir made by the code before the wings (commit 9b61119): a smoke run of MLP 1x4, interrupted at
# step 4 (trainer.interrupt_at_step), its checkpoint.pt, config.yaml, metrics and summary as written then.
BEFORE_THE_WINGS = Path(__file__).parent / "fixtures" / "run_dir_before_the_wings.tar.gz"
ITS_OVERRIDES = ["model=mlp_deep", "model.width=4", "model.depth=1", "trainer.max_epochs=3"]


def test_a_run_dir_made_before_the_wings_resumes_to_the_numbers_of_an_uninterrupted_run(make_cfg, tmp_path):
    import tarfile

    from harness import rundir
    from harness.app import run

    with tarfile.open(BEFORE_THE_WINGS) as tar:
        tar.extractall(tmp_path / "old", filter="data")
    resumed = run(make_cfg(*ITS_OVERRIDES), run_dir=tmp_path / "old" / "run")
    whole = run(make_cfg(*ITS_OVERRIDES), run_dir=tmp_path / "whole")
    assert resumed["status"] == "completed" and resumed["processes"] == 2 and resumed["steps"] == whole["steps"]
    # its first 4 steps were computed on the machine that made the fixture: equal within rounding, not bit
    # for bit, on another CPU (docs/determinism.md); a resume that restarted, or lost the optimizer, is far off
    assert resumed["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-3)
    assert resumed["test_loss"] == pytest.approx(whole["test_loss"], rel=1e-3)
    old, new = (rundir.read_metrics(d) for d in (tmp_path / "old" / "run", tmp_path / "whole"))
    assert [m["step"] for m in old] == [m["step"] for m in new]
    assert [m.get("train/loss") for m in old] == pytest.approx([m.get("train/loss") for m in new], rel=1e-3)
