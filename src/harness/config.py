"""Validation of a composed config, before any data is loaded.

Hydra already rejects unknown keys (the config is in struct mode); each setting's type and rule
(range, allowed names) are declared once, on its field in `schema.py`: OmegaConf checks the types
when the config is merged into the schema, `validate` checks every rule in one loop, then the few
relations between keys. A refusal says which key is wrong, what it was, and what is allowed, in one
line.
"""

from __future__ import annotations

import functools
from dataclasses import fields

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, InterpolationResolutionError, OmegaConfBaseException

from .errors import ConfigError
from .schema import Config, Number, keys_of_type, rule_of, rules
from .train.schedules import batch_size_keeping_noise_scale


def _get(cfg: DictConfig, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _fail(key, value, allowed):
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    raise ConfigError(f"invalid config: {key}={value!r}; allowed: {allowed}")


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

    rule = rule_of(key)
    if rule is not None:
        return str(rule)
    t = declared_type(key)
    return _type_rule(t) if t is not None else "a value"


def _no_such_key(key: str, value) -> str:
    """The refusal of a key the schema does not have (`optimizer.lrr=0.1`): it names the key and the
    closest known one."""
    import difflib

    from .schema import node_of

    parent, _, last = key.rpartition(".")
    known = sorted(f.name for f in fields(node_of(parent)))
    close = difflib.get_close_matches(last, known, n=1, cutoff=0.6)
    hint = f" (did you mean {parent + '.' if parent else ''}{close[0]}?)" if close else ""
    return (
        f"invalid config: {key}={value!r}: no such key{hint}; allowed keys of {parent or 'the config'}: "
        + " | ".join(known)
    )


def _unknown_key(cfg, key: str) -> None:
    value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    raise ConfigError(_no_such_key(key, value))


def unknown_override(arg: str) -> str | None:
    """The one-line refusal of a command-line override `a.b=v` whose key the schema's node `a` does not
    declare (Hydra says it in six lines, with a hint to add it with +); None for any other argument.
    The YAML files set declared keys only (tests/test_config.py), so such a key is a typo."""
    from .schema import node_of

    key, eq, value = arg.partition("=")
    if not eq or key.startswith(("+", "~", "hydra.")) or "@" in key or "." not in key:
        return None
    parent, _, last = key.rpartition(".")
    node = node_of(parent)
    if node is None or last in {f.name for f in fields(node)}:
        return None
    return _no_such_key(key, value)


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


def _check_rules(cfg: DictConfig) -> None:
    """Every setting against its rule (schema.py), in the schema's order; seeds too, though they are
    used only after training has started (probes, attacks)."""
    for key, rule, when in rules():
        if when is not None and _get(cfg, when[0]) != when[1]:
            continue
        value = _get(cfg, key)
        if not rule.ok(value):
            _fail(key, value, str(rule))


def _check_data_sizes(cfg: DictConfig) -> int:
    """The held-out, subset and replaced-example sizes against the training set; returns its size."""
    train_size = cfg.data.train_size if cfg.data.name == "synthetic" else 50_000
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
    if cfg.data.replace_index is not None and (cfg.data.subset is None or cfg.data.replace_index >= cfg.data.subset):
        _fail("data.replace_index", cfg.data.replace_index, "a position in [0, data.subset) with data.subset set")
    if cfg.stability.reference is not None and cfg.data.replace_index is None:
        _fail("stability.reference", cfg.stability.reference, "null unless data.replace_index is set (C10)")
    return train_size


def _check_training(cfg: DictConfig, train_size: int) -> None:
    """Optimizer and schedule settings that only make sense together."""
    if cfg.optimizer.nesterov and cfg.optimizer.momentum == 0:
        _fail("optimizer.nesterov", True, "false when optimizer.momentum is 0")
    if cfg.schedule.batch_growth > 1 and cfg.schedule.lr != "step":
        _fail("schedule.lr", cfg.schedule.lr, "step when schedule.batch_growth > 1 (growth happens at milestones)")
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


def _check_probes(cfg: DictConfig) -> None:
    c = cfg.curvature
    if c.trace == "hutchpp" and c.trace_hvps < 3:  # Hutch++ splits its products in three
        _fail("curvature.trace_hvps", c.trace_hvps, str(Number(lo=3, integer=True)))
    if c.alphas and cfg.model.name not in ("mlp_1x512", "mlp_3x512"):
        _fail(
            "model.name",
            cfg.model.name,
            "a chain of ReLU layers without normalisation (mlp_1x512 | "
            "mlp_3x512) when curvature.alphas is set (the reparameterization argument needs it)",
        )


def validate(cfg: DictConfig) -> DictConfig:
    """Raise ConfigError naming the first bad key; return the typed config when it is usable."""
    cfg = typed(cfg)
    _check_rules(cfg)
    _check_training(cfg, _check_data_sizes(cfg))
    _check_probes(cfg)
    return cfg
