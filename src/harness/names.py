"""Names with one owner. Torch-free: the config validation and the analyses import it without torch.

- The values a config key may take (`MODELS`, `INITS`, ...): `config.validate` checks against them,
  and tests hold the builders (`models.BUILDERS`, `models.INITS`) and `configs/model/*.yaml` to them.
- The metric names a run writes to metrics.jsonl (`M`) and the keys of its summary.json (`S`): the
  summary flattens a metric name by `summary_key` ("hessian/top_eig" -> "hessian_top_eig"). The
  trainer and probes write these names and the analyses read them from here, so a renamed metric
  fails loudly (tests/test_names.py runs the probes and checks that every `S` name appears) instead
  of turning into None through `summary.get`.
"""

from __future__ import annotations

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
PREPROCESS = ("zhang", "standard")
INPUT_RANDOMIZATIONS = ("none", "shuffled_pixels", "random_pixels", "gaussian")
INITS = ("default", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "orthogonal", "scaled")
LR_SCHEDULES = ("constant", "step", "exponential", "cosine")
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
    EPOCH_LOSS = "train/epoch_loss"  # mean train-mode loss over the epoch's batches
    GAP_LOSS, GAP_ERR = "gen_gap/loss", "gen_gap/err"  # test - train

    @staticmethod
    def hessian(quantity: str) -> str:  # top_eig, eig_2, min_eig, trace, trace_se, eps_sharpness, loss, ...
        return f"hessian/{quantity}"

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
    GAP_LOSS, GAP_ERR = summary_key(M.GAP_LOSS), summary_key(M.GAP_ERR)
    TOP_EIG = summary_key(M.hessian("top_eig"))
    TRACE = summary_key(M.hessian("trace"))
    EPS_SHARPNESS = summary_key(M.hessian("eps_sharpness"))
    INIT_TOP_EIG = summary_key(M.at_init(M.hessian("top_eig")))
    INIT_TRACE = summary_key(M.at_init(M.hessian("trace")))
    INIT_TRACE_SE = summary_key(M.at_init(M.hessian("trace_se")))
    INIT_TRACE_SE_EXAMPLES = summary_key(M.at_init(M.hessian("trace_se_examples")))
    INIT_RISK = summary_key(M.at_init(M.hessian("loss")))
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
