"""The config's settings, each declared once: its type, and what values it may take.

A setting is a field of a dataclass below (OmegaConf structured configs). Its type is what OmegaConf
checks when `config.validate` merges a composed config into `Config`: it refuses a value of the wrong
type (`optimizer.nesterov=maybe`, `trainer.batch_size=abc`) and converts what it may (`"5"` -> 5). What
a type cannot say (a range, a set of names) is the field's rule, in its metadata (`setting(...)`):
`config.validate` checks every rule in one loop, and tells a bad value what is allowed from the same
rule. Relations between keys stay in `config.validate`. Defaults live in the YAML files under
configs/, not here: a field without a default (MISSING) must come from them. Experiment-specific
extra keys are allowed, untyped; `row` names the row of its report a run belongs to.

A new setting: its YAML line (value and comment) and one field here (tests/test_config.py keeps the
two in step). Registered in Hydra's ConfigStore as `schema` (for `--info` and tools that read it).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from .names import (  # the allowed names have one owner: names.py
    ACTIVATIONS,
    ATTACKS,
    BN_MODES,
    DATASETS,
    DEVICES,
    INITS,
    INPUT_RANDOMIZATIONS,
    KEEP_NOISE_SCALE_VERSIONS,
    LOGGER_MODES,
    LOGGERS,
    LR_SCHEDULES,
    MODELS,
    PREPROCESS,
    PROBE_TIMES,
    PROGRESS,
    REPARAMETERIZATIONS,
    TRACE_ESTIMATORS,
)

# -- rules: what a value may be (`ok`), and the same in words (`str`) for the one-line refusal


@dataclass(frozen=True)
class Number:
    """A number in a range: bounds closed unless *_open; `optional`: null allowed too."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    optional: bool = False
    lo_open: bool = False
    hi_open: bool = False

    def ok(self, value) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return False
        if not math.isfinite(value):
            return False
        if self.lo is not None and not (value > self.lo if self.lo_open else value >= self.lo):
            return False
        return self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)

    def __str__(self) -> str:
        lo = "" if self.lo is None else ("(" if self.lo_open else "[") + str(self.lo)
        hi = "" if self.hi is None else str(self.hi) + (")" if self.hi_open else "]")
        rng = f" in {lo or '(-inf'}, {hi or 'inf)'}" if (self.lo is not None or self.hi is not None) else ""
        return ("an integer" if self.integer else "a number") + rng + (" or null" if self.optional else "")


@dataclass(frozen=True)
class OneOf:
    names: tuple

    def ok(self, value) -> bool:  # (by type too: 1 == True, but a switch takes true | false only)
        return any(type(value) is type(n) and value == n for n in self.names)

    def __str__(self) -> str:
        return " | ".join(str(n).lower() if isinstance(n, bool) else str(n) for n in self.names)


@dataclass(frozen=True)
class ListOf:
    names: tuple
    empty_ok: bool = True

    def ok(self, value) -> bool:
        values = list(value)
        return (self.empty_ok or bool(values)) and all(v in self.names for v in values)

    def __str__(self) -> str:
        return ("a list" if self.empty_ok else "a non-empty list") + " of: " + " | ".join(self.names)


@dataclass(frozen=True)
class Rule:
    """Any other rule: a check, and what it allows in words."""

    words: str
    check: Callable = field(compare=False)

    def ok(self, value) -> bool:
        return bool(self.check(value))

    def __str__(self) -> str:
        return self.words


def setting(rule, default=MISSING, *, when: tuple[str, str] | None = None):
    """A field with its rule; `when=(key, value)`: the rule holds only for configs where key == value
    (model.depth is an mlp_deep setting: other models leave it null)."""
    return field(default=default, metadata={"rule": rule, "when": when})


def _numbers(values, lo, hi) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and lo < x <= hi for x in values)


def _increasing(values) -> bool:
    values = list(values)
    return all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in values) and values == sorted(
        set(values)
    )


MAX_SEED = 2**63 - 1  # what torch.manual_seed, torch.Generator and numpy all take
SEED = Number(lo=0, hi=MAX_SEED, integer=True)
WANDB_TAG_MAX, WANDB_PROJECT_MAX, WANDB_PROJECT_BANNED = 64, 128, "/\\#?%:"  # what wandb.init refuses
TAGS = Rule(
    f"a list of W&B tags, 1 to {WANDB_TAG_MAX} characters each",
    lambda tags: all(isinstance(t, str) and 1 <= len(t) <= WANDB_TAG_MAX for t in tags),
)
PROJECT = Rule(
    f"a W&B project name: 1 to {WANDB_PROJECT_MAX} characters, none of " + " ".join(WANDB_PROJECT_BANNED),
    lambda p: p is None or (1 <= len(p) <= WANDB_PROJECT_MAX and not any(ch in p for ch in WANDB_PROJECT_BANNED)),
)
POSITIVE = Number(lo=0.0, lo_open=True)
COUNT = Number(lo=1, integer=True)
MLP_DEEP = ("model.name", "mlp_deep")
SYNTHETIC = ("data.name", "synthetic")


@dataclass
class Augment:
    crop: bool = MISSING
    flip: bool = MISSING


@dataclass
class Data:
    name: str = setting(OneOf(DATASETS))
    root: str = MISSING
    download: bool = MISSING
    subset: int | None = setting(Number(lo=10, integer=True, optional=True))
    val_size: int = setting(Number(lo=0, integer=True))
    split_seed: int = setting(SEED)
    preprocess: str = setting(OneOf(PREPROCESS))
    augment: Augment = field(default_factory=Augment)
    corruption_prob: float = setting(Number(lo=0.0, hi=1.0))
    input_randomization: str = setting(OneOf(INPUT_RANDOMIZATIONS))
    randomization_seed: int = setting(SEED)
    # configs written before 2026-12-06 lack these two: nothing replaced (C10)
    replace_index: int | None = setting(Number(lo=0, integer=True, optional=True), None)
    replace_seed: int = setting(SEED, 0)
    train_size: int | None = setting(Number(lo=10, integer=True), None, when=SYNTHETIC)
    test_size: int | None = setting(COUNT, None, when=SYNTHETIC)


@dataclass
class Model:
    name: str = setting(OneOf(MODELS))
    init: str = setting(OneOf(INITS))
    init_gain: float = setting(POSITIVE)
    depth: int | None = setting(COUNT, None, when=MLP_DEEP)  # mlp_deep's knobs: null for the other models
    width: int | None = setting(COUNT, None, when=MLP_DEEP)
    activation: str | None = setting(OneOf(ACTIVATIONS), None, when=MLP_DEEP)
    batch_norm: bool | None = setting(OneOf((True, False)), None, when=MLP_DEEP)


@dataclass
class Optimizer:
    name: str = MISSING
    lr: float = setting(POSITIVE)
    momentum: float = setting(Number(lo=0.0, hi=1.0, hi_open=True))
    nesterov: bool = MISSING
    weight_decay: float = setting(Number(lo=0.0))
    fused: bool = False  # configs written before 2026-11-28 lack it: they ran torch's per-op SGD step
    lr_by_model: dict[str, float] | None = None


@dataclass
class NoiseReference:
    lr: float | None = setting(Number(lo=0.0, lo_open=True, optional=True), None)
    momentum: float | None = setting(Number(lo=0.0, hi=1.0, hi_open=True, optional=True), None)
    train_size: int | None = setting(Number(lo=1, integer=True, optional=True), None)
    batch_size: int | None = setting(Number(lo=1, integer=True, optional=True), None)


@dataclass
class Schedule:
    name: str = MISSING
    lr: str = setting(OneOf(LR_SCHEDULES))
    gamma: float = setting(POSITIVE)
    milestones: list[int] = setting(Rule("a list of increasing positive integers (epochs), e.g. [30, 60]", _increasing))
    batch_growth: int = setting(COUNT)
    max_batch_size: int | None = setting(Number(lo=1, integer=True, optional=True))
    keep_noise_scale: bool = MISSING
    keep_noise_scale_version: int = setting(
        Number(lo=min(KEEP_NOISE_SCALE_VERSIONS), hi=max(KEEP_NOISE_SCALE_VERSIONS), integer=True)
    )
    reference: NoiseReference = field(default_factory=NoiseReference)


@dataclass
class Trainer:
    batch_size: int = setting(COUNT)
    max_epochs: int = setting(COUNT)
    max_steps: int | None = setting(Number(lo=1, integer=True, optional=True))
    target_train_acc: float | None = setting(Number(lo=0.0, hi=1.0, optional=True))
    target_train_loss: float | None = setting(Number(lo=0.0, lo_open=True, optional=True))
    time_budget_s: float | None = setting(Number(lo=0.0, lo_open=True, optional=True))
    eval_every_epochs: int = setting(COUNT)
    eval_batch_size: int = setting(COUNT)
    fine_eval_within: float | None = setting(Number(lo=0.0, hi=1.0, lo_open=True, optional=True))
    fine_eval_every_steps: int = setting(COUNT)
    grad_norms_every_steps: int | None = setting(Number(lo=1, integer=True, optional=True))
    save_predictions: bool = MISSING
    checkpoint_every_epochs: int = setting(COUNT)
    keep_checkpoint: bool = True  # configs written before 2026-12-06 lack it: they kept both checkpoints
    compile: bool = MISSING
    amp: bool = MISSING
    channels_last: bool = MISSING
    progress: str = setting(OneOf(PROGRESS))
    log_every_s: float = setting(POSITIVE)
    interrupt_at_step: int | None = setting(Number(lo=1, integer=True, optional=True))


@dataclass
class Curvature:
    at: list[str] = setting(ListOf(PROBE_TIMES))
    every_epochs: int | None = setting(Number(lo=1, integer=True, optional=True))
    sample_size: int = setting(COUNT)
    sample_seed: int = setting(SEED)
    chunk_size: int = setting(COUNT)
    bn_mode: str = setting(OneOf(BN_MODES))
    hvp: str = setting(OneOf(("forward_over_reverse", "reverse_over_reverse")))
    top_k: int = setting(COUNT)
    tol: float = setting(Number(lo=0.0, hi=1.0, lo_open=True, hi_open=True))
    solver: str = setting(OneOf(("arpack", "lanczos")))
    negative: bool = MISSING
    trace: str = setting(OneOf(TRACE_ESTIMATORS))
    trace_hvps: int = setting(Number(lo=2, integer=True))  # 3 for hutchpp (config.validate)
    eps_sharpness: float | None = setting(Number(lo=0.0, lo_open=True, optional=True))
    seed: int = setting(SEED)
    alphas: list[float] = setting(Rule("a list of positive numbers", lambda xs: _numbers(xs, 0, math.inf)))
    variants: list[str] = setting(ListOf(REPARAMETERIZATIONS))


@dataclass
class Adversarial:
    eps_255: list[float] = setting(
        Rule("a list of numbers in (0, 255] (eps = k / 255)", lambda xs: _numbers(xs, 0, 255))
    )
    attacks: list[str] = setting(ListOf(ATTACKS, empty_ok=False))
    pgd_steps: int = setting(COUNT)
    pgd_restarts: int = setting(COUNT)
    pgd_strong_steps: int = setting(COUNT)
    pgd_strong_restarts: int = setting(COUNT)
    pgd_step_size: float | None = setting(Number(lo=0.0, lo_open=True, optional=True))
    random_start: bool = MISSING
    split: str = setting(OneOf(("test", "train")))
    test_size: int = setting(COUNT)
    seed: int = setting(SEED)


@dataclass
class Logger:
    name: str = setting(OneOf(LOGGERS))
    mode: str | None = setting(OneOf(LOGGER_MODES), None)
    project: str | None = setting(PROJECT, None)
    entity: str | None = None
    group: str | None = None
    job_type: str | None = None


@dataclass
class Init:
    prescreen: int = setting(Number(lo=0, integer=True))


@dataclass
class Complexity:
    bounds: bool = False  # configs written before 2026-12-06 lack it: they computed none


@dataclass
class Stability:  # configs written before 2026-12-06 lack it: no stability measurements (C10)
    trajectory: bool = False
    reference: str | None = None
    snapshots: int = setting(COUNT, 8)


@dataclass
class Config:
    name: str = MISSING
    seed: int = setting(SEED)
    device: str = setting(OneOf(DEVICES))
    tags: list[str] = setting(TAGS)
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


def rules(node=Config, prefix=""):
    """(dotted key, rule, when) of every setting with a rule, in the schema's order."""
    for f in fields(node):
        t = _hints(node)[f.name]
        if is_dataclass(t):
            yield from rules(t, f"{prefix}{f.name}.")
        elif "rule" in f.metadata:
            yield prefix + f.name, f.metadata["rule"], f.metadata["when"]


def rule_of(key: str):
    """The rule a dotted key's field declares, or None."""
    parent, _, last = key.rpartition(".")
    node = node_of(parent)
    found = [f for f in fields(node) if f.name == last] if node is not None else []
    return found[0].metadata.get("rule") if found else None


ConfigStore.instance().store(name="schema", node=Config)
