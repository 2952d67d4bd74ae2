"""A model's mode around a probe: below the models (train/models.py) and the probes alike, so that
probes never import the training wing."""

from __future__ import annotations

import contextlib

from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Eval mode (BatchNorm running statistics) inside the block; afterwards the mode it had."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)
