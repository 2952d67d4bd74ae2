"""Names have one owner (harness/names.py): the allowed values match what the code builds, and every
summary name the analyses read is what a run writes."""

from pathlib import Path

import yaml

from harness import names, rundir
from harness.app import run
from harness.names import S
from harness.train import models

CONFIGS = Path(__file__).resolve().parent.parent / "src" / "harness" / "configs"


def test_model_names_are_one_set_in_the_yaml_files_names_and_the_builders():
    in_yaml = {yaml.safe_load(p.read_text())["name"] for p in (CONFIGS / "model").glob("[!_]*.yaml")}
    assert in_yaml == set(names.MODELS) == set(models.BUILDERS)
    assert set(names.INITS) == set(models.INITS) | {"default", "scaled"}


def summary_names():
    return {v for k, v in vars(S).items() if k.isupper() and isinstance(v, str)}


def test_every_summary_name_the_analyses_read_is_written_by_a_run(make_cfg, tmp_path):
    s = run(
        make_cfg(
            "trainer.max_epochs=1",
            "curvature.at=[init,end]",
            "curvature.trace=gauss_newton",
            "curvature.sample_size=16",
            "curvature.tol=0.1",
            "curvature.alphas=[2.0]",
            "curvature.variants=[two_layer]",
            "adversarial.eps_255=[2]",
            "adversarial.attacks=[fgsm]",
            "adversarial.test_size=16",
            "init.prescreen=2",
            "trainer.save_predictions=true",
        ),
        run_dir=tmp_path,
    )
    # eps-sharpness (L-BFGS on every weight) is half a minute on this MLP: checked on a tiny one below;
    # the stability names need a pair of runs: checked below too
    assert summary_names() - set(s) == {S.EPS_SHARPNESS, S.STABILITY_DISTANCE, S.STABILITY_LOSS_DIFF}
    assert s[S.adv_acc("fgsm", 2)] <= s[S.ADV_CLEAN]
    # and the other way round: every name the run wrote is one names owns
    written = {k for record in rundir.read_metrics(tmp_path) for k in record}
    assert {k for k in written if not metric_owned(k)} == set()
    assert {k for k in s if not summary_owned(k)} == set()


def metric_owned(name: str) -> bool:
    """A metric name that names.M declares: a constant, or what one of its functions makes."""
    from harness.names import M

    if name in {v for k, v in vars(M).items() if k.isupper() and isinstance(v, str)}:
        return True
    if name.startswith("init/"):
        return metric_owned(name.removeprefix("init/"))
    kind, _, rest = name.partition("/")
    return (
        name in {M.loss(split) for split in ("train", "val", "test")} | {M.acc(split) for split in ("val",)}
        or (name == M.curvature(rest) and bool(rest))
        or any(name == f(int(rest[1:])) for f in (M.grad_norm, M.weight_norm) if rest[1:].isdigit())
    )


def summary_owned(key: str) -> bool:
    """A summary key that names.S declares (a constant, or what one of its functions makes), or the
    summary key of a metric that M declares."""
    import itertools
    import re

    if (
        key in summary_names()
        or re.fullmatch(r"adv_[a-z_]+_acc_eps[0-9.]+", key)
        and key == S.adv_acc(key[4 : key.index("_acc_eps")], float(key.rsplit("eps", 1)[1]))
    ):
        return True
    if any(key.startswith(f("")) and key != f("") for f in (S.data, S.slurm, S.prescreen, S.complexity)):
        return True
    parts = key.split("_")  # a metric's key: some of its "_" were "/"
    for slashes in itertools.product(("_", "/"), repeat=len(parts) - 1):
        metric = parts[0] + "".join(sep + part for sep, part in zip(slashes, parts[1:]))
        if metric_owned(metric) and names.summary_key(metric) == key:
            return True
    return False


def test_the_name_checks_refuse_a_name_spelled_by_hand():
    """The checks above can fail: names no one declared are not owned."""
    assert metric_owned("train/acc") and metric_owned("init/curvature/top_eig") and metric_owned("grad_norm/L03")
    assert not metric_owned("train/accuracy") and not metric_owned("hessian/top_eig") and not metric_owned("lr_now")
    assert summary_owned("test_acc") and summary_owned("slurm_job_id") and summary_owned("init_curvature_trace")
    assert not summary_owned("test_accuracy") and not summary_owned("wall_time") and not summary_owned("my_field")


def test_the_eps_sharpness_probe_writes_the_name_the_analyses_read(make_cfg):
    import torch

    from harness import probes

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x, y = torch.randn(10, 3, 2, 2), torch.randint(0, 3, (10,))
    out = probes.curvature_probe(
        model, x, y, make_cfg("curvature.eps_sharpness=0.001", "curvature.trace=none").curvature
    )
    assert S.EPS_SHARPNESS in {names.summary_key(k) for k in out}


def test_a_pair_of_stability_runs_writes_the_names_the_analysis_reads(make_cfg, tmp_path):
    """C10: a run on S saves its trajectory; its pair on S^(i) writes the stability summary names."""
    pair = ["experiment=sgd_stability", "seed=0", "data.subset=100"]
    run(make_cfg(*pair), run_dir=tmp_path / "ref")
    reference = f"stability.reference={tmp_path / 'ref'}"
    s = run(make_cfg(*pair, "data.replace_index=3", reference, "stability.trajectory=false"), run_dir=tmp_path / "pair")
    assert {S.STABILITY_DISTANCE, S.STABILITY_LOSS_DIFF} <= set(s) and s[S.STABILITY_DISTANCE] > 0


def test_every_file_of_a_run_dir_or_report_is_named_in_names_only():
    """`names.FILES` / `names.REPORT_FILES` own the file names: a module that spells one by hand (a
    string literal equal to one of them) fails here, whether it writes the file or reads it."""
    import ast
    from pathlib import Path

    from harness.names import FILES, REPORT_FILES

    owned = {v for k, v in [*vars(FILES).items(), *vars(REPORT_FILES).items()] if not k.startswith("_")}
    src = Path(names.__file__).parent
    spelled = []
    for path in sorted(src.rglob("*.py")):
        if path.name == "names.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in owned:
                spelled.append(f"{path.relative_to(src)}:{node.lineno} {node.value!r}")
    assert spelled == []


def test_the_results_wing_reads_metric_names_from_m_only():
    """A metric name spelled by hand in an analysis ("val/acc") fails here: `names.M` owns them, so a
    renamed metric fails loudly instead of reading as missing."""
    import ast
    from pathlib import Path

    from harness.names import M

    # (the one-word names, "step", "lr", "batch_size", ..., are config keys and table columns too: spelling
    # cannot tell them apart, so they are left to the check that every name a run writes is M's, above)
    words = {M.STEP, M.EPOCH, M.LR, M.BATCH_SIZE, M.NOISE_SCALE, M.WALL_TIME, M.FINE_EVAL}
    owned = {v for k, v in vars(M).items() if isinstance(v, str) and not k.startswith("_")} - words
    results = Path(names.__file__).parent / "results"
    spelled = [
        f"{path.relative_to(results)}:{node.lineno} {node.value!r}"
        for path in sorted(results.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in owned
    ]
    assert spelled == []


def test_the_number_of_classes_and_chance_are_declared_once():
    """names.NUM_CLASSES (and the accuracy of a guess, CHANCE_ACC) has one owner: a module that defines its
    own fails here; the models' heads and the labels the data takes follow it."""
    import ast
    from pathlib import Path

    from harness.train import data, models

    src = Path(names.__file__).parent
    defined = [
        f"{path.relative_to(src)}:{node.lineno}"
        for path in sorted(src.rglob("*.py"))
        if path.name != "names.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id in ("NUM_CLASSES", "CHANCE_ACC") for t in node.targets)
    ]
    assert not defined, defined
    assert data.NUM_CLASSES is models.NUM_CLASSES is names.NUM_CLASSES
    heads = [m.out_features for m in models.mlp(12, 8, 1).modules() if hasattr(m, "out_features")]
    assert heads[-1] == names.NUM_CLASSES
