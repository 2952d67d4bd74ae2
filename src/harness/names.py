"""Names with one owner. Torch-free: the config validation and the analyses import it without torch.

- The values a config key may take (`MODELS`, `INITS`, ...): `config.validate` checks against them,
  and tests hold the builders (`models.BUILDERS`, `models.INITS`) and `configs/model/*.yaml` to them.
- The metric names a run writes to metrics.jsonl (`M`) and the keys of its summary.json (`S`): the
  summary flattens a metric name by `summary_key` ("curvature/top_eig" -> "curvature_top_eig"). The
  trainer and probes write these names and the analyses read them from here, so a renamed metric
  fails loudly (tests/test_names.py runs the probes and checks that every `S` name appears) instead
  of turning into None through `summary.get`.
- The files of a run dir (`FILES`) and of a report folder (`REPORT_FILES`): whoever writes or reads one names it
  from here.
- Names that changed (`migrate`): run dirs and records written before a rename still resume and
  still read, because the stored config, summary and metrics are renamed on the way in.
"""

from __future__ import annotations

import copy
import re

# -- allowed config values
MODELS = (
    "mlp_1x512",
    "mlp_3x512",
    "inception_small",
    "inception_no_bn",
    "alexnet_small",
    "resnet18",
    "wrn16_4",
    "mlp_deep",
)
ACTIVATIONS = ("relu", "tanh", "sigmoid")
DATASETS = ("cifar10", "synthetic")
NUM_CLASSES = 10
CHANCE_ACC = 1 / NUM_CLASSES  # the accuracy of a guess
PREPROCESS = ("zhang", "standard")
INPUT_RANDOMIZATIONS = ("none", "shuffled_pixels", "random_pixels", "gaussian")
INITS = ("default", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "orthogonal", "scaled")
LR_SCHEDULES = ("constant", "step", "exponential", "cosine")
KEEP_NOISE_SCALE_VERSIONS = (1, 2)  # schedule.keep_noise_scale_version: 2 keeps the g every run logs (schedules.py)
DEVICES = ("auto", "cpu", "cuda")
PROGRESS = ("auto", "bar", "log", "none")
LOGGERS = ("wandb", "none")
LOGGER_MODES = ("online", "offline", "disabled")
PROBE_TIMES = ("init", "end")
TRACE_ESTIMATORS = ("hutchinson", "hutchpp", "gauss_newton", "none")
BN_MODES = ("eval", "train")
REPARAMETERIZATIONS = ("two_layer", "multi_layer")
ATTACKS = ("fgsm", "pgd", "pgd_strong", "noise")


def summary_key(metric: str) -> str:
    """The summary.json key of a metric: "/" -> "_"."""
    return metric.replace("/", "_")


class M:
    """metrics.jsonl: one record per evaluation (and per probe, gradient-norm step, fine evaluation)."""

    @staticmethod
    def loss(split: str) -> str:  # split: train, test, val
        return f"{split}/loss"

    @staticmethod
    def acc(split: str) -> str:
        return f"{split}/acc"

    TRAIN_LOSS, TRAIN_ACC, TEST_LOSS, TEST_ACC = "train/loss", "train/acc", "test/loss", "test/acc"
    # where in training a record is, and the schedule's values there (the x-axes of the dashboard)
    STEP, EPOCH, LR, BATCH_SIZE, NOISE_SCALE = "step", "epoch", "lr", "batch_size", "noise_scale"
    WALL_TIME = "wall_time_s"
    FINE_EVAL = "fine_eval"  # a record of the training set alone, near a target (time to fit at step resolution)
    VAL_ACC = "val/acc"  # the held-out split's accuracy: early stopping and the validation bound read it
    # C10: at a snapshot step, ||w_t - w'_t|| and the replace-one loss difference on the replaced example
    STABILITY_DISTANCE, STABILITY_LOSS_DIFF = "stability/distance", "stability/loss_diff"
    EPOCH_LOSS = "train/epoch_loss"  # mean train-mode loss over the epoch's batches
    GAP_LOSS, GAP_ERR = "gen_gap/loss", "gen_gap/err"  # test - train

    @staticmethod
    def curvature(quantity: str) -> str:  # top_eig, eig_2, min_eig, trace, trace_se, eps_sharpness, loss, ...
        return f"curvature/{quantity}"

    @staticmethod
    def at_init(metric: str) -> str:  # the probe before the first step
        return f"init/{metric}"

    @staticmethod
    def grad_norm(layer: int) -> str:  # layer 1 = the first the input passes
        return f"grad_norm/L{layer:02d}"

    @staticmethod
    def weight_norm(layer: int) -> str:
        return f"weight_norm/L{layer:02d}"


class S:
    """summary.json keys the analyses read (flattened metrics of the last evaluation and probes, and
    the run's own fields)."""

    TRAIN_ACC, TEST_ACC, VAL_ACC = "train_acc", "test_acc", "val_acc"
    TRAIN_LOSS, TEST_LOSS = "train_loss", "test_loss"
    # the run's own fields (trainer): how it ended, how long, with which batch and noise scale
    STATUS, STOP_REASON, DIVERGED = "status", "stop_reason", "diverged"
    STEPS, EPOCHS, WALL_TIME = "steps", "epochs", "wall_time_s"
    NOISE_SCALE, BASE_BATCH_SIZE = "noise_scale", "base_batch_size"
    # where the time went (summed over the run's processes) and its size
    TRAIN_IMAGES_PER_S, TRAIN_TIME, EVAL_TIME = "train_images_per_s", "train_time_s", "eval_time_s"
    INPUT_TIME, PROCESSES, PROCESS_WALL_TIME = "input_time_s", "processes", "process_wall_time_s"
    NUM_PARAMETERS = "num_parameters"
    # its data and provenance (data.info and rundir.provenance)
    TRAIN_SIZE, VAL_SIZE, TEST_SIZE = "data_train_size", "data_val_size", "data_test_size"
    REALISED_CORRUPTION = "data_realised_corruption"
    TORCH_VERSION, GIT_COMMIT, DEVICE = "torch_version", "git_commit", "device"
    HARNESS_VERSION, PACKAGE_VERSIONS, RUN_DIR = "harness_version", "package_versions", "run_dir"

    @staticmethod
    def data(field: str) -> str:  # data.info's fields: fingerprint, train_size, ...
        return f"data_{field}"

    @staticmethod
    def slurm(variable: str) -> str:  # SLURM_JOB_ID -> slurm_job_id (None outside SLURM)
        return f"slurm_{variable.lower()}"

    GAP_LOSS, GAP_ERR = summary_key(M.GAP_LOSS), summary_key(M.GAP_ERR)
    TOP_EIG = summary_key(M.curvature("top_eig"))
    TRACE = summary_key(M.curvature("trace"))
    EPS_SHARPNESS = summary_key(M.curvature("eps_sharpness"))
    INIT_TOP_EIG = summary_key(M.at_init(M.curvature("top_eig")))
    INIT_TRACE = summary_key(M.at_init(M.curvature("trace")))
    INIT_TRACE_SE = summary_key(M.at_init(M.curvature("trace_se")))
    INIT_TRACE_SE_EXAMPLES = summary_key(M.at_init(M.curvature("trace_se_examples")))
    INIT_RISK = summary_key(M.at_init(M.curvature("loss")))
    PRESCREEN_CANDIDATES, PRESCREEN_OWN_TRACE = "prescreen_candidates", "prescreen_own_trace"
    PRESCREEN_CHOSEN_TRACE = "prescreen_chosen_trace"
    ADV_CLEAN = "adv_clean_acc"
    REPARAMETERIZATION, ADVERSARIAL, PREDICTIONS = "reparameterization", "adversarial", "predictions"

    @staticmethod
    def adv_acc(attack: str, eps_255: float) -> str:
        return f"adv_{attack}_acc_eps{eps_255:g}"

    @staticmethod
    def prescreen(field: str) -> str:
        return f"prescreen_{field}"

    STABILITY_DISTANCE, STABILITY_LOSS_DIFF = summary_key(M.STABILITY_DISTANCE), summary_key(M.STABILITY_LOSS_DIFF)

    @staticmethod
    def complexity(field: str) -> str:  # harness/probes/complexity.py: complexity_vc_bound, complexity_bft_bound, ...
        return f"complexity_{field}"


# -- names that changed: (old, new) -------------------------------------------------------------
# config keys (dotted); new None: dropped, its effect is already in another key of the resolved config
RENAMED_CONFIG = (
    ("table1_row", "row"),  # three per-experiment labels became one key
    ("victim", "row"),
    ("randomization", "row"),
    ("model.zhang_lr", None),  # Zhang's lr table moved to the experiment (optimizer.lr_by_model)
)
# keys added later whose value in the configs stored before them was not their default: (key, that value,
# the configs it applies to). keep_noise_scale rule 1 (before 2026-12-07): see schedules.batch_size_keeping_noise_scale
ADDED_CONFIG = (
    ("schedule.keep_noise_scale_version", 1, lambda cfg: (cfg.get("schedule") or {}).get("keep_noise_scale") is True),
)
# words of metric names and summary keys: "hessian/top_eig" -> "curvature/top_eig" (one word for
# the config node, the module and the metrics)
RENAMED_WORDS = (("hessian", "curvature"),)


_ABSENT = object()


class FILES:
    """The files of a run dir: its record (rundir writes and reads them) and its results (the trainer and
    the probes write them, `records.Run.files` reads them)."""

    CONFIG = "config.yaml"  # the resolved config: the run's identity
    OVERRIDES = "overrides.yaml"  # the command's own overrides
    DATA = "data.json"  # the dataset's fingerprint
    SUMMARY = "summary.json"
    METRICS = "metrics.jsonl"
    CHECKPOINT = "checkpoint.pt"
    PREVIOUS_CHECKPOINT = "checkpoint.prev.pt"
    LOCK = ".lock"
    PROBE_INIT = "probe_init.json"
    PRESCREEN = "prescreen.json"
    PREDICTIONS = "predictions.json"
    REPARAMETERIZATION = "reparameterization.json"
    COMPLEXITY = "complexity.json"
    ADVERSARIAL = "adversarial.json"
    ADVERSARIAL_EXAMPLE = "adversarial_example.npz"
    TRAJECTORY = "trajectory.pt"  # C10: a run on S's parameters at its snapshot steps
    WANDB_RUN_ID = "wandb_run_id"  # the W&B run this run dir logs to (W&B's own files: wandb/)


class REPORT_FILES:
    """The files of a report folder (experiments/<name>/, <sweep>/report/) and of the dashboard."""

    RECORDS = "runs.jsonl.gz"
    VERDICTS = "verdicts.csv"
    REPORT = "report.json"
    CLAIMS = "claims.csv"
    REPRODUCE = "reproduce.json"
    REPRODUCE_TIME = "reproduce_time.json"
    COMPARE = "compare.csv"


def _parent(cfg: dict, dotted: str) -> tuple[dict | None, str]:
    """(the node that holds the dotted key "model.zhang_lr", or None when a node above it is missing; its last part)."""
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        node = node.get(p) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), last


def pop_key(cfg: dict, dotted: str, default=None):
    """Remove the dotted key ("model.zhang_lr") from a nested dict and return its value, or `default`
    when it (or a node above it) is not there."""
    node, last = _parent(cfg, dotted)
    return node.pop(last, default) if node is not None else default


def migrate_config(config: dict) -> dict:
    """A stored config in today's names (a copy; `config` itself is left as it is)."""
    cfg = copy.deepcopy(config)
    for old, new in RENAMED_CONFIG:
        value = pop_key(cfg, old, _ABSENT)
        if value is not _ABSENT and new is not None and cfg.get(new) is None:
            cfg[new] = value
    for key, value, applies in ADDED_CONFIG:
        node, last = _parent(cfg, key)
        if node is not None and last not in node and applies(cfg):
            node[last] = value
    return cfg


def migrate_name(name: str) -> str:
    """A metric name or summary key in today's words: the renamed word as the name's first part, or
    right after the `init` prefix ("init/hessian/trace", "init_hessian_trace")."""
    for old, new in RENAMED_WORDS:
        name = re.sub(rf"^((?:init[/_])?){old}(?=[/_])", rf"\g<1>{new}", name)
    return name


def migrate_names(record: dict) -> dict:
    """A summary or metrics record with its keys in today's words (same order)."""
    return {migrate_name(k): v for k, v in record.items()}
