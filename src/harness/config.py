"""Validation of a composed config, before any data is loaded.

Hydra already rejects unknown keys (the config is in struct mode); the types come from the
structured config in `schema.py` (OmegaConf refuses `trainer.amp=maybe`); this adds what types
cannot say (ranges, allowed names, relations between keys), and says which key is wrong, what it
was, and what is allowed, in one line.
"""

from __future__ import annotations

import functools
import math
import re

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

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
    raise ConfigError(f"invalid config: {key}={value!r}; allowed: {allowed}")


def _one_of(cfg, key, choices):
    value = _get(cfg, key)
    if value not in choices:
        _fail(key, value, " | ".join(choices))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _list_of(cfg, key, choices, nonempty=False):
    values = list(_get(cfg, key))
    if (nonempty and not values) or any(v not in choices for v in values):
        _fail(key, values, ("a non-empty list" if nonempty else "a list") + " of: " + " | ".join(choices))


def _number(cfg, key, lo=None, hi=None, *, integer=False, optional=False, lo_open=False, hi_open=False):
    value = _get(cfg, key)
    if value is None and optional:
        return
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    ok = ok and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        lo_s = "" if lo is None else ("(" if lo_open else "[") + str(lo)
        hi_s = "" if hi is None else str(hi) + (")" if hi_open else "]")
        rng = f" in {lo_s or '(-inf'}, {hi_s or 'inf)'}" if (lo is not None or hi is not None) else ""
        _fail(key, value, f"{kind}{rng}" + (" or null" if optional else ""))


SEEDS = (
    "seed",
    "data.randomization_seed",
    "data.split_seed",
    "curvature.seed",
    "curvature.sample_seed",
    "adversarial.seed",
)
MAX_SEED = 2**63 - 1  # what torch.manual_seed, torch.Generator and numpy all take


_EXPECTED = {"bool": "true | false", "Integer": "an integer", "Float": "a number", "String": "a string"}


@functools.cache
def _schema() -> DictConfig:
    """The schema as a config, built once (building it is most of the cost of validating a config)."""
    schema = OmegaConf.structured(Config)
    OmegaConf.set_struct(schema, False)  # experiment-specific keys stay, untyped
    return schema


def typed(cfg: DictConfig) -> DictConfig:
    """The config merged into the schema: every declared key of its declared type (OmegaConf
    converts "5" to 5 for an int and refuses "maybe" for a bool), extra keys kept as they are."""
    for key in keys_of_type(bool):  # OmegaConf would read 1 or 2 as true: a switch takes true | false only
        value = OmegaConf.select(cfg, key, throw_on_resolution_failure=False)
        if not isinstance(value, bool):
            _fail(key, value, "true | false")
    try:
        out = OmegaConf.merge(_schema(), cfg)  # (merge copies the schema: the cached one stays as it is)
    except OmegaConfBaseException as e:
        key = e.full_key or "config"
        wanted = next((v for k, v in _EXPECTED.items() if re.search(rf"\b{k}\b", str(e.msg))), str(e.msg))
        _fail(key, OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False), wanted)
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
    _one_of(cfg, "device", DEVICES)
    for key in SEEDS:  # seeds are used only after training has started (probes, attacks): check them now
        _number(cfg, key, 0, MAX_SEED, integer=True)

    _one_of(cfg, "data.name", DATASETS)
    _one_of(cfg, "data.preprocess", PREPROCESS)
    _one_of(cfg, "data.input_randomization", INPUT_RANDOMIZATIONS)
    _number(cfg, "data.corruption_prob", 0.0, 1.0)
    _number(cfg, "data.subset", 10, integer=True, optional=True)
    _number(cfg, "data.val_size", 0, integer=True)
    if cfg.data.name == "synthetic":
        _number(cfg, "data.train_size", 10, integer=True)
        _number(cfg, "data.test_size", 1, integer=True)
        train_size = cfg.data.train_size
    else:
        train_size = 50_000
    if cfg.data.val_size + (cfg.data.subset or 0) > train_size or cfg.data.val_size >= train_size:
        _fail(
            "data.val_size",
            cfg.data.val_size,
            f"val_size + subset <= {train_size} (the training set), got subset={cfg.data.subset}",
        )

    _one_of(cfg, "model.name", MODELS)
    _one_of(cfg, "model.init", INITS)
    _number(cfg, "model.init_gain", 0.0, lo_open=True)
    if cfg.model.name == "mlp_deep":
        _number(cfg, "model.depth", 1, integer=True)
        _number(cfg, "model.width", 1, integer=True)
        _one_of(cfg, "model.activation", ACTIVATIONS)
        if not isinstance(cfg.model.batch_norm, bool):
            _fail("model.batch_norm", cfg.model.batch_norm, "true | false")
    _number(cfg, "init.prescreen", 0, integer=True)

    _number(cfg, "optimizer.lr", 0.0, lo_open=True)
    _number(cfg, "optimizer.momentum", 0.0, 1.0, hi_open=True)
    _number(cfg, "optimizer.weight_decay", 0.0)
    if cfg.optimizer.nesterov and cfg.optimizer.momentum == 0:
        _fail("optimizer.nesterov", True, "false when optimizer.momentum is 0")

    _one_of(cfg, "schedule.lr", LR_SCHEDULES)
    _number(cfg, "schedule.gamma", 0.0, lo_open=True)
    _number(cfg, "schedule.batch_growth", 1, integer=True)
    _number(cfg, "schedule.max_batch_size", 1, integer=True, optional=True)
    if cfg.schedule.batch_growth > 1 and cfg.schedule.lr != "step":
        _fail("schedule.lr", cfg.schedule.lr, "step when schedule.batch_growth > 1 (growth happens at milestones)")
    milestones = list(cfg.schedule.milestones)
    if any(not isinstance(m, int) or m < 1 for m in milestones) or milestones != sorted(set(milestones)):
        _fail("schedule.milestones", milestones, "increasing positive integers (epochs)")

    _number(cfg, "trainer.batch_size", 1, integer=True)
    _number(cfg, "schedule.reference.lr", 0.0, lo_open=True, optional=True)
    _number(cfg, "schedule.reference.momentum", 0.0, 1.0, hi_open=True, optional=True)
    _number(cfg, "schedule.reference.train_size", 1, integer=True, optional=True)
    _number(cfg, "schedule.reference.batch_size", 1, integer=True, optional=True)
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
    _number(cfg, "trainer.max_epochs", 1, integer=True)
    _number(cfg, "trainer.max_steps", 1, integer=True, optional=True)
    _number(cfg, "trainer.target_train_acc", 0.0, 1.0, optional=True)
    _number(cfg, "trainer.target_train_loss", 0.0, optional=True, lo_open=True)
    _number(cfg, "trainer.time_budget_s", 0.0, optional=True, lo_open=True)
    _number(cfg, "trainer.eval_every_epochs", 1, integer=True)
    _number(cfg, "trainer.eval_batch_size", 1, integer=True)
    _number(cfg, "trainer.fine_eval_within", 0.0, 1.0, optional=True, lo_open=True)
    _number(cfg, "trainer.fine_eval_every_steps", 1, integer=True)
    _number(cfg, "trainer.grad_norms_every_steps", 1, integer=True, optional=True)
    _number(cfg, "trainer.checkpoint_every_epochs", 1, integer=True)
    _number(cfg, "trainer.log_every_s", 0.0, lo_open=True)
    _number(cfg, "trainer.interrupt_at_step", 1, integer=True, optional=True)
    _one_of(cfg, "trainer.progress", PROGRESS)

    c = cfg.curvature
    _list_of(cfg, "curvature.at", PROBE_TIMES)
    _number(cfg, "curvature.every_epochs", 1, integer=True, optional=True)
    _number(cfg, "curvature.sample_size", 1, integer=True)
    _number(cfg, "curvature.chunk_size", 1, integer=True)
    _one_of(cfg, "curvature.bn_mode", BN_MODES)
    _one_of(cfg, "curvature.solver", ("arpack", "lanczos"))
    _one_of(cfg, "curvature.hvp", ("forward_over_reverse", "reverse_over_reverse"))
    _number(cfg, "curvature.top_k", 1, integer=True)
    _number(cfg, "curvature.tol", 0.0, 1.0, lo_open=True, hi_open=True)
    _one_of(cfg, "curvature.trace", TRACE_ESTIMATORS)
    _number(cfg, "curvature.trace_hvps", 3 if c.trace == "hutchpp" else 2, integer=True)
    _number(cfg, "curvature.eps_sharpness", 0.0, lo_open=True, optional=True)
    if not all(_is_number(x) and x > 0 for x in c.alphas):
        _fail("curvature.alphas", list(c.alphas), "a list of positive numbers")
    _list_of(cfg, "curvature.variants", REPARAMETERIZATIONS)
    if c.alphas and cfg.model.name not in ("mlp_1x512", "mlp_3x512"):
        _fail(
            "model.name",
            cfg.model.name,
            "a chain of ReLU layers without normalisation (mlp_1x512 | "
            "mlp_3x512) when curvature.alphas is set (the reparameterization argument needs it)",
        )

    a = cfg.adversarial
    if not all(_is_number(x) and 0 < x <= 255 for x in a.eps_255):
        _fail("adversarial.eps_255", list(a.eps_255), "a list of numbers in (0, 255] (eps = k / 255)")
    _list_of(cfg, "adversarial.attacks", ATTACKS, nonempty=True)
    _number(cfg, "adversarial.pgd_steps", 1, integer=True)
    _number(cfg, "adversarial.pgd_restarts", 1, integer=True)
    _number(cfg, "adversarial.pgd_strong_steps", 1, integer=True)
    _number(cfg, "adversarial.pgd_strong_restarts", 1, integer=True)
    _number(cfg, "adversarial.pgd_step_size", 0.0, lo_open=True, optional=True)
    _number(cfg, "adversarial.test_size", 1, integer=True)
    _one_of(cfg, "adversarial.split", ("test", "train"))

    _one_of(cfg, "logger.name", LOGGERS)
    _one_of(cfg, "logger.mode", LOGGER_MODES)
    return cfg
