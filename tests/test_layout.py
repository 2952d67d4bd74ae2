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


def test_a_run_dir_holds_no_module_path_so_moving_a_module_cannot_break_its_resume(make_cfg, tmp_path):
    """What a run dir keeps (checkpoint, config, overrides, data fingerprint, summary, metrics) names no
    Python module: the checkpoint is tensors and plain containers (it loads with weights_only=True,
    which refuses pickled classes), the text files name none of harness's modules. So a run dir made
    before the wings (or any later move) resumes; the full-data AlexNet runs begun by commit 9b61119
    did, from main."""
    import torch

    from harness.app import run

    run(make_cfg("trainer.max_epochs=2"), run_dir=tmp_path / "run")
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)

    def strings(x):
        if isinstance(x, dict):
            return [s for k, v in x.items() for s in strings(k) + strings(v)]
        if isinstance(x, (list, tuple)):
            return [s for v in x for s in strings(v)]
        return [x] if isinstance(x, str) else []

    modules = [m.rpartition(".")[0] for m in map(module_name, FILES) if "." in m] + [module_name(f) for f in FILES]
    text = "\n".join(strings(checkpoint)) + "".join(
        (tmp_path / "run" / f).read_text() for f in ("config.yaml", "overrides.yaml", "data.json", "summary.json")
    )
    assert [m for m in set(modules) if m.startswith("harness.") and m in text] == []
