"""The config's types, as OmegaConf structured configs (dataclasses).

`config.validate` merges every composed config into `Config`: OmegaConf itself refuses a value of
the wrong type (`optimizer.nesterov=maybe`, `trainer.batch_size=abc`, `curvature.seed=1.5`) and
converts what it may (`"5"` -> 5 for an int), and the run uses that typed config. What types cannot
say (ranges, allowed names, relations between keys) stays in `config.validate`. Defaults live in
the YAML files under configs/, not here: a field without a default (MISSING) must come from them.
Experiment-specific extra keys are allowed, untyped; `row` names the row of its report a run belongs to.

Registered in Hydra's ConfigStore as `schema` (for `--info` and tools that read it).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, is_dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class Augment:
    crop: bool = MISSING
    flip: bool = MISSING


@dataclass
class Data:
    name: str = MISSING
    root: str = MISSING
    download: bool = MISSING
    subset: int | None = MISSING
    val_size: int = MISSING
    split_seed: int = MISSING
    preprocess: str = MISSING
    augment: Augment = field(default_factory=Augment)
    corruption_prob: float = MISSING
    input_randomization: str = MISSING
    randomization_seed: int = MISSING
    replace_index: int | None = None  # configs written before 2026-12-06 lack it: nothing replaced (C10)
    replace_seed: int = 0
    train_size: int | None = None  # synthetic data only
    test_size: int | None = None


@dataclass
class Model:
    name: str = MISSING
    init: str = MISSING
    init_gain: float = MISSING
    depth: int | None = None  # mlp_deep only
    width: int | None = None
    activation: str | None = None
    batch_norm: bool | None = None


@dataclass
class Optimizer:
    name: str = MISSING
    lr: float = MISSING
    momentum: float = MISSING
    nesterov: bool = MISSING
    weight_decay: float = MISSING
    fused: bool = False  # configs written before 2026-11-28 lack it: they ran torch's per-op SGD step
    lr_by_model: dict[str, float] | None = None


@dataclass
class NoiseReference:
    lr: float | None = None
    momentum: float | None = None
    train_size: int | None = None
    batch_size: int | None = None


@dataclass
class Schedule:
    name: str = MISSING
    lr: str = MISSING
    gamma: float = MISSING
    milestones: list[int] = MISSING
    batch_growth: int = MISSING
    max_batch_size: int | None = MISSING
    keep_noise_scale: bool = MISSING
    reference: NoiseReference = field(default_factory=NoiseReference)


@dataclass
class Trainer:
    batch_size: int = MISSING
    max_epochs: int = MISSING
    max_steps: int | None = MISSING
    target_train_acc: float | None = MISSING
    target_train_loss: float | None = MISSING
    time_budget_s: float | None = MISSING
    eval_every_epochs: int = MISSING
    eval_batch_size: int = MISSING
    fine_eval_within: float | None = MISSING
    fine_eval_every_steps: int = MISSING
    grad_norms_every_steps: int | None = MISSING
    save_predictions: bool = MISSING
    checkpoint_every_epochs: int = MISSING
    keep_checkpoint: bool = True  # configs written before 2026-12-06 lack it: they kept both checkpoints
    compile: bool = MISSING
    amp: bool = MISSING
    channels_last: bool = MISSING
    progress: str = MISSING
    log_every_s: float = MISSING
    interrupt_at_step: int | None = MISSING


@dataclass
class Curvature:
    at: list[str] = MISSING
    every_epochs: int | None = MISSING
    sample_size: int = MISSING
    sample_seed: int = MISSING
    chunk_size: int = MISSING
    bn_mode: str = MISSING
    hvp: str = MISSING
    top_k: int = MISSING
    tol: float = MISSING
    solver: str = MISSING
    negative: bool = MISSING
    trace: str = MISSING
    trace_hvps: int = MISSING
    eps_sharpness: float | None = MISSING
    seed: int = MISSING
    alphas: list[float] = MISSING
    variants: list[str] = MISSING


@dataclass
class Adversarial:
    eps_255: list[float] = MISSING
    attacks: list[str] = MISSING
    pgd_steps: int = MISSING
    pgd_restarts: int = MISSING
    pgd_strong_steps: int = MISSING
    pgd_strong_restarts: int = MISSING
    pgd_step_size: float | None = MISSING
    random_start: bool = MISSING
    split: str = MISSING
    test_size: int = MISSING
    seed: int = MISSING


@dataclass
class Logger:
    name: str = MISSING
    mode: str | None = None
    project: str | None = None
    entity: str | None = None
    group: str | None = None
    job_type: str | None = None


@dataclass
class Init:
    prescreen: int = MISSING


@dataclass
class Complexity:
    bounds: bool = False  # configs written before 2026-12-06 lack it: they computed none


@dataclass
class Stability:  # configs written before 2026-12-06 lack it: no stability measurements (C10)
    trajectory: bool = False
    reference: str | None = None
    snapshots: int = 8


@dataclass
class Config:
    name: str = MISSING
    seed: int = MISSING
    device: str = MISSING
    tags: list[str] = MISSING
    row: str | None = None
    scale: str | None = None
    init: Init = field(default_factory=Init)
    curvature: Curvature = field(default_factory=Curvature)
    adversarial: Adversarial = field(default_factory=Adversarial)
    complexity: Complexity = field(default_factory=Complexity)
    stability: Stability = field(default_factory=Stability)
    data: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    optimizer: Optimizer = field(default_factory=Optimizer)
    schedule: Schedule = field(default_factory=Schedule)
    trainer: Trainer = field(default_factory=Trainer)
    logger: Logger = field(default_factory=Logger)


def _hints(node) -> dict:
    """A dataclass's fields with their types (the annotations above are strings: evaluated here)."""
    return typing.get_type_hints(node)


def optional(t) -> bool:
    """Whether a declared type admits null (`int | None`)."""
    return isinstance(t, types.UnionType) and type(None) in typing.get_args(t)


def bare(t):
    """`int | None` -> int; other types as they are."""
    return next(a for a in typing.get_args(t) if a is not type(None)) if optional(t) else t


def keys_of_type(kind, node=Config, prefix="") -> list[str]:
    """The dotted keys the schema declares with type `kind` (e.g. bool), or `kind | None`."""
    out = []
    for name, t in _hints(node).items():
        if is_dataclass(t):  # nested node
            out += keys_of_type(kind, t, f"{prefix}{name}.")
        elif bare(t) is kind:
            out.append(prefix + name)
    return out


def node_of(key: str):
    """The dataclass of a dotted node key ("" for the root), or None when the schema declares none."""
    node = Config
    for part in filter(None, key.split(".")):
        node = _hints(node).get(part) if is_dataclass(node) else None
    return node if is_dataclass(node) else None


def declared_type(key: str):
    """The type the schema declares for a dotted key (`list[float]`, `bool | None`, ...), or None."""
    parent, _, last = key.rpartition(".")
    node = node_of(parent)
    return _hints(node).get(last) if node is not None else None


ConfigStore.instance().store(name="schema", node=Config)
