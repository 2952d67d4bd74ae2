"""Validation of a composed config, before any data is loaded.

Hydra already rejects unknown keys (the config is in struct mode); the types come from the
structured config in `schema.py` (OmegaConf refuses `trainer.amp=maybe`); this adds what types
cannot say (ranges, allowed names, relations between keys), and says which key is wrong, what it
was, and what is allowed, in one line.
"""

from __future__ import annotations

import functools
import math
from dataclasses import fields

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, InterpolationResolutionError, OmegaConfBaseException

from .errors import ConfigError
from .names import (  # the allowed values have one owner: names.py
    ACTIVATIONS,
    ATTACKS,
    BN_MODES,
    DATASETS,
    DEVICES,
    INITS,
    INPUT_RANDOMIZATIONS,
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
from .schedules import batch_size_keeping_noise_scale
from .schema import Config, keys_of_type


def _get(cfg: DictConfig, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _fail(key, value, allowed):
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    raise ConfigError(f"invalid config: {key}={value!r}; allowed: {allowed}")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


SEEDS = (
    "seed",
    "data.randomization_seed",
    "data.split_seed",
    "data.replace_seed",
    "curvature.seed",
    "curvature.sample_seed",
    "adversarial.seed",
)
MAX_SEED = 2**63 - 1  # what torch.manual_seed, torch.Generator and numpy all take

# -- the rules, one per key: what `validate` checks, and what a value of the wrong type is told is allowed
# a number in a range: lo / hi bounds (closed unless *_open), integer, optional (null allowed)
NUMBERS = {
    **{key: dict(lo=0, hi=MAX_SEED, integer=True) for key in SEEDS},
    "data.corruption_prob": dict(lo=0.0, hi=1.0),
    "data.subset": dict(lo=10, integer=True, optional=True),
    "data.replace_index": dict(lo=0, integer=True, optional=True),
    "stability.snapshots": dict(lo=1, integer=True),
    "data.val_size": dict(lo=0, integer=True),
    "data.train_size": dict(lo=10, integer=True),  # synthetic data
    "data.test_size": dict(lo=1, integer=True),
    "model.init_gain": dict(lo=0.0, lo_open=True),
    "model.depth": dict(lo=1, integer=True),  # mlp_deep
    "model.width": dict(lo=1, integer=True),
    "init.prescreen": dict(lo=0, integer=True),
    "optimizer.lr": dict(lo=0.0, lo_open=True),
    "optimizer.momentum": dict(lo=0.0, hi=1.0, hi_open=True),
    "optimizer.weight_decay": dict(lo=0.0),
    "schedule.gamma": dict(lo=0.0, lo_open=True),
    "schedule.batch_growth": dict(lo=1, integer=True),
    "schedule.max_batch_size": dict(lo=1, integer=True, optional=True),
    "schedule.reference.lr": dict(lo=0.0, lo_open=True, optional=True),
    "schedule.reference.momentum": dict(lo=0.0, hi=1.0, hi_open=True, optional=True),
    "schedule.reference.train_size": dict(lo=1, integer=True, optional=True),
    "schedule.reference.batch_size": dict(lo=1, integer=True, optional=True),
    "trainer.batch_size": dict(lo=1, integer=True),
    "trainer.max_epochs": dict(lo=1, integer=True),
    "trainer.max_steps": dict(lo=1, integer=True, optional=True),
    "trainer.target_train_acc": dict(lo=0.0, hi=1.0, optional=True),
    "trainer.target_train_loss": dict(lo=0.0, optional=True, lo_open=True),
    "trainer.time_budget_s": dict(lo=0.0, optional=True, lo_open=True),
    "trainer.eval_every_epochs": dict(lo=1, integer=True),
    "trainer.eval_batch_size": dict(lo=1, integer=True),
    "trainer.fine_eval_within": dict(lo=0.0, hi=1.0, optional=True, lo_open=True),
    "trainer.fine_eval_every_steps": dict(lo=1, integer=True),
    "trainer.grad_norms_every_steps": dict(lo=1, integer=True, optional=True),
    "trainer.checkpoint_every_epochs": dict(lo=1, integer=True),
    "trainer.log_every_s": dict(lo=0.0, lo_open=True),
    "trainer.interrupt_at_step": dict(lo=1, integer=True, optional=True),
    "curvature.every_epochs": dict(lo=1, integer=True, optional=True),
    "curvature.sample_size": dict(lo=1, integer=True),
    "curvature.chunk_size": dict(lo=1, integer=True),
    "curvature.top_k": dict(lo=1, integer=True),
    "curvature.tol": dict(lo=0.0, hi=1.0, lo_open=True, hi_open=True),
    "curvature.trace_hvps": dict(lo=2, integer=True),  # 3 for hutchpp
    "curvature.eps_sharpness": dict(lo=0.0, lo_open=True, optional=True),
    "adversarial.pgd_steps": dict(lo=1, integer=True),
    "adversarial.pgd_restarts": dict(lo=1, integer=True),
    "adversarial.pgd_strong_steps": dict(lo=1, integer=True),
    "adversarial.pgd_strong_restarts": dict(lo=1, integer=True),
    "adversarial.pgd_step_size": dict(lo=0.0, lo_open=True, optional=True),
    "adversarial.test_size": dict(lo=1, integer=True),
}
# one of a few names
CHOICES = {
    "device": DEVICES,
    "data.name": DATASETS,
    "data.preprocess": PREPROCESS,
    "data.input_randomization": INPUT_RANDOMIZATIONS,
    "model.name": MODELS,
    "model.init": INITS,
    "model.activation": ACTIVATIONS,
    "schedule.lr": LR_SCHEDULES,
    "trainer.progress": PROGRESS,
    "curvature.bn_mode": BN_MODES,
    "curvature.solver": ("arpack", "lanczos"),
    "curvature.hvp": ("forward_over_reverse", "reverse_over_reverse"),
    "curvature.trace": TRACE_ESTIMATORS,
    "adversarial.split": ("test", "train"),
    "logger.name": LOGGERS,
    "logger.mode": LOGGER_MODES,
}
# a list of names: (the names, whether it may be empty)
LISTS = {
    "curvature.at": (PROBE_TIMES, True),
    "curvature.variants": (REPARAMETERIZATIONS, True),
    "adversarial.attacks": (ATTACKS, False),
}
WANDB_TAG_MAX, WANDB_PROJECT_MAX, WANDB_PROJECT_BANNED = 64, 128, "/\\#?%:"  # what wandb.init refuses
# the rest, in words
RULES = {
    "schedule.milestones": "a list of increasing positive integers (epochs), e.g. [30, 60]",
    "curvature.alphas": "a list of positive numbers",
    "adversarial.eps_255": "a list of numbers in (0, 255] (eps = k / 255)",
    "tags": f"a list of W&B tags, 1 to {WANDB_TAG_MAX} characters each",
    "logger.project": f"a W&B project name: 1 to {WANDB_PROJECT_MAX} characters, none of "
    + " ".join(WANDB_PROJECT_BANNED),
}


def _number_rule(lo=None, hi=None, *, integer=False, optional=False, lo_open=False, hi_open=False) -> str:
    kind = "an integer" if integer else "a number"
    lo_s = "" if lo is None else ("(" if lo_open else "[") + str(lo)
    hi_s = "" if hi is None else str(hi) + (")" if hi_open else "]")
    rng = f" in {lo_s or '(-inf'}, {hi_s or 'inf)'}" if (lo is not None or hi is not None) else ""
    return f"{kind}{rng}" + (" or null" if optional else "")


_TYPE_WORDS = {bool: "true | false", int: "an integer", float: "a number", str: "a string"}


def _type_rule(t) -> str:
    """What a declared type admits, in words (`list[int] | None` -> "a list of integers or null")."""
    import typing

    from .schema import bare, optional

    plain = bare(t)
    origin, args = typing.get_origin(plain), typing.get_args(plain)
    if origin is list:
        words = {bool: "true | false values", int: "integers", float: "numbers", str: "strings"}
        text = "a list of " + words.get(args[0] if args else None, "values")
    elif origin is dict:
        text = "a mapping"
    else:
        text = _TYPE_WORDS.get(plain, f"a {getattr(plain, '__name__', plain)}")
    return text + (" or null" if optional(t) else "")


def allowed(key: str) -> str:
    """What `key` may be, in words: its rule, else its declared type."""
    from .schema import declared_type

    if key in NUMBERS:
        return _number_rule(**NUMBERS[key])
    if key in CHOICES:
        return " | ".join(CHOICES[key])
    if key in LISTS:
        names, empty_ok = LISTS[key]
        return ("a list" if empty_ok else "a non-empty list") + " of: " + " | ".join(names)
    if key in RULES:
        return RULES[key]
    t = declared_type(key)
    return _type_rule(t) if t is not None else "a value"


def _one_of(cfg, key):
    value = _get(cfg, key)
    if value not in CHOICES[key]:
        _fail(key, value, allowed(key))


def _list_of(cfg, key):
    values = list(_get(cfg, key))
    names, empty_ok = LISTS[key]
    if (not empty_ok and not values) or any(v not in names for v in values):
        _fail(key, values, allowed(key))


def _number(cfg, key, **override):
    rule = {**NUMBERS[key], **override}
    value = _get(cfg, key)
    if value is None and rule.get("optional"):
        return
    lo, hi = rule.get("lo"), rule.get("hi")
    ok = isinstance(value, int) if rule.get("integer") else isinstance(value, (int, float))
    ok = ok and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if rule.get("lo_open") else value >= lo
    if ok and hi is not None:
        ok = value < hi if rule.get("hi_open") else value <= hi
    if not ok:
        _fail(key, value, _number_rule(**rule))


def _unknown_key(cfg, key: str) -> None:
    """A key the schema does not have (`+optimizer.lrr=0.1`): name it, and the closest known key."""
    import difflib

    from .schema import node_of

    parent, _, last = key.rpartition(".")
    known = sorted(f.name for f in fields(node_of(parent)))
    close = difflib.get_close_matches(last, known, n=1, cutoff=0.6)
    hint = f" (did you mean {parent + '.' if parent else ''}{close[0]}?)" if close else ""
    value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    raise ConfigError(
        f"invalid config: {key}={value!r}: no such key{hint}; allowed keys of {parent or 'the config'}: "
        + " | ".join(known)
    )


@functools.cache
def _schema() -> DictConfig:
    """The schema as a config, built once (building it is most of the cost of validating a config)."""
    schema = OmegaConf.structured(Config)
    OmegaConf.set_struct(schema, False)  # experiment-specific keys stay, untyped
    return schema


def typed(cfg: DictConfig) -> DictConfig:
    """The config merged into the schema: every declared key of its declared type (OmegaConf
    converts "5" to 5 for an int and refuses "maybe" for a bool), extra keys kept as they are."""
    from .schema import declared_type, node_of, optional

    for key in keys_of_type(bool):  # OmegaConf would read 1, 2 or "yes" as true: a switch takes true | false only
        value = OmegaConf.select(cfg, key, throw_on_resolution_failure=False)
        if not isinstance(value, bool) and not (value is None and optional(declared_type(key))):
            _fail(key, value, "true | false")  # (null: left unset, as model.batch_norm is by models without it)
    try:
        out = OmegaConf.merge(_schema(), cfg)  # (merge copies the schema: the cached one stays as it is)
    except OmegaConfBaseException as e:
        key = e.full_key or "config"
        parent, _, last = key.rpartition(".")
        if isinstance(e, ConfigKeyError) and node_of(parent) is not None:
            _unknown_key(cfg, key)
        _fail(key, OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False), allowed(key))
    try:  # an interpolation that points nowhere (e.g. an lr table without this model) fails here, in one line
        OmegaConf.to_container(out, resolve=True)
    except InterpolationResolutionError as e:
        raise ConfigError(f"invalid config: {e.full_key} cannot be resolved: {str(e.msg).splitlines()[0]}") from None
    missing = sorted(OmegaConf.missing_keys(out))
    if missing:
        raise ConfigError(f"invalid config: {missing[0]} has no value (???); set it")
    OmegaConf.set_struct(out, True)
    return out


def base_defaults() -> dict:
    """The flat, resolved config of `python -m harness` with no overrides (schema merged): what a
    key means when a run's stored config predates it (see rundir.check_same_config)."""
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from .rundir import flat

    def composed():
        return OmegaConf.to_container(typed(compose("config")), resolve=True)

    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app: same search path
            return flat(composed())
        with initialize_config_dir(str(Path(__file__).parent / "configs"), version_base="1.3"):
            return flat(composed())
    except Exception:  # no defaults known: an absent key then counts as a difference
        return {}


def validate(cfg: DictConfig) -> DictConfig:
    """Raise ConfigError naming the first bad key; return the typed config when it is usable."""
    cfg = typed(cfg)
    _one_of(cfg, "device")
    for key in SEEDS:  # seeds are used only after training has started (probes, attacks): check them now
        _number(cfg, key)

    _one_of(cfg, "data.name")
    _one_of(cfg, "data.preprocess")
    _one_of(cfg, "data.input_randomization")
    _number(cfg, "data.corruption_prob")
    _number(cfg, "data.subset")
    _number(cfg, "data.val_size")
    if cfg.data.name == "synthetic":
        _number(cfg, "data.train_size")
        _number(cfg, "data.test_size")
        train_size = cfg.data.train_size
    else:
        train_size = 50_000
    if cfg.data.val_size >= train_size:
        allowed_val = f"an integer in [0, {train_size - 1}] (the training set has {train_size})"
        _fail("data.val_size", cfg.data.val_size, allowed_val)
    available = train_size - cfg.data.val_size
    if cfg.data.subset is not None and cfg.data.subset > available:
        _fail(
            "data.subset",
            cfg.data.subset,
            f"an integer in [10, {available}] or null (the training set has {train_size} images, "
            f"data.val_size={cfg.data.val_size} of them held out)",
        )

    _number(cfg, "data.replace_index")
    if cfg.data.replace_index is not None and (cfg.data.subset is None or cfg.data.replace_index >= cfg.data.subset):
        _fail("data.replace_index", cfg.data.replace_index, "a position in [0, data.subset) with data.subset set")
    _number(cfg, "stability.snapshots")
    if cfg.stability.reference is not None and cfg.data.replace_index is None:
        _fail("stability.reference", cfg.stability.reference, "null unless data.replace_index is set (C10)")

    _one_of(cfg, "model.name")
    _one_of(cfg, "model.init")
    _number(cfg, "model.init_gain")
    if cfg.model.name == "mlp_deep":
        _number(cfg, "model.depth")
        _number(cfg, "model.width")
        _one_of(cfg, "model.activation")
        if not isinstance(cfg.model.batch_norm, bool):
            _fail("model.batch_norm", cfg.model.batch_norm, allowed("model.batch_norm"))
    _number(cfg, "init.prescreen")

    _number(cfg, "optimizer.lr")
    _number(cfg, "optimizer.momentum")
    _number(cfg, "optimizer.weight_decay")
    if cfg.optimizer.nesterov and cfg.optimizer.momentum == 0:
        _fail("optimizer.nesterov", True, "false when optimizer.momentum is 0")

    _one_of(cfg, "schedule.lr")
    _number(cfg, "schedule.gamma")
    _number(cfg, "schedule.batch_growth")
    _number(cfg, "schedule.max_batch_size")
    if cfg.schedule.batch_growth > 1 and cfg.schedule.lr != "step":
        _fail("schedule.lr", cfg.schedule.lr, "step when schedule.batch_growth > 1 (growth happens at milestones)")
    milestones = list(cfg.schedule.milestones)
    if any(not isinstance(m, int) or m < 1 for m in milestones) or milestones != sorted(set(milestones)):
        _fail("schedule.milestones", milestones, allowed("schedule.milestones"))

    _number(cfg, "trainer.batch_size")
    _number(cfg, "schedule.reference.lr")
    _number(cfg, "schedule.reference.momentum")
    _number(cfg, "schedule.reference.train_size")
    _number(cfg, "schedule.reference.batch_size")
    try:  # the batch size that keeps the noise scale must exist for this run's N
        batch_size_keeping_noise_scale(
            cfg.schedule,
            cfg.optimizer.lr,
            cfg.data.subset or train_size - cfg.data.val_size,
            cfg.trainer.batch_size,
            cfg.optimizer.momentum,
        )
    except ValueError as e:
        raise ConfigError(f"invalid config: {e}") from None
    _number(cfg, "trainer.max_epochs")
    _number(cfg, "trainer.max_steps")
    _number(cfg, "trainer.target_train_acc")
    _number(cfg, "trainer.target_train_loss")
    _number(cfg, "trainer.time_budget_s")
    _number(cfg, "trainer.eval_every_epochs")
    _number(cfg, "trainer.eval_batch_size")
    _number(cfg, "trainer.fine_eval_within")
    _number(cfg, "trainer.fine_eval_every_steps")
    _number(cfg, "trainer.grad_norms_every_steps")
    _number(cfg, "trainer.checkpoint_every_epochs")
    _number(cfg, "trainer.log_every_s")
    _number(cfg, "trainer.interrupt_at_step")
    _one_of(cfg, "trainer.progress")

    c = cfg.curvature
    _list_of(cfg, "curvature.at")
    _number(cfg, "curvature.every_epochs")
    _number(cfg, "curvature.sample_size")
    _number(cfg, "curvature.chunk_size")
    _one_of(cfg, "curvature.bn_mode")
    _one_of(cfg, "curvature.solver")
    _one_of(cfg, "curvature.hvp")
    _number(cfg, "curvature.top_k")
    _number(cfg, "curvature.tol")
    _one_of(cfg, "curvature.trace")
    _number(cfg, "curvature.trace_hvps", lo=3 if c.trace == "hutchpp" else 2)
    _number(cfg, "curvature.eps_sharpness")
    if not all(_is_number(x) and x > 0 for x in c.alphas):
        _fail("curvature.alphas", list(c.alphas), allowed("curvature.alphas"))
    _list_of(cfg, "curvature.variants")
    if c.alphas and cfg.model.name not in ("mlp_1x512", "mlp_3x512"):
        _fail(
            "model.name",
            cfg.model.name,
            "a chain of ReLU layers without normalisation (mlp_1x512 | "
            "mlp_3x512) when curvature.alphas is set (the reparameterization argument needs it)",
        )

    a = cfg.adversarial
    if not all(_is_number(x) and 0 < x <= 255 for x in a.eps_255):
        _fail("adversarial.eps_255", list(a.eps_255), allowed("adversarial.eps_255"))
    _list_of(cfg, "adversarial.attacks")
    _number(cfg, "adversarial.pgd_steps")
    _number(cfg, "adversarial.pgd_restarts")
    _number(cfg, "adversarial.pgd_strong_steps")
    _number(cfg, "adversarial.pgd_strong_restarts")
    _number(cfg, "adversarial.pgd_step_size")
    _number(cfg, "adversarial.test_size")
    _one_of(cfg, "adversarial.split")

    _one_of(cfg, "logger.name")
    _one_of(cfg, "logger.mode")
    # what wandb.init would refuse after the run dir exists (tags: whatever the logger, they are W&B's)
    if any(not isinstance(tag, str) or not 1 <= len(tag) <= WANDB_TAG_MAX for tag in cfg.tags):
        _fail("tags", list(cfg.tags), allowed("tags"))
    project = cfg.logger.get("project")
    if project is not None and (
        not 1 <= len(project) <= WANDB_PROJECT_MAX or any(ch in project for ch in WANDB_PROJECT_BANNED)
    ):
        _fail("logger.project", project, allowed("logger.project"))
    return cfg
