"""SGD's replace-one stability, measured (C10; Hardt, Recht & Singer 2016; Kuzborskij & Lampert 2018).

A pair of runs from the same init and the same sample order: one on S, one on S^(i), where the
training example at position i is replaced by a fresh one (`data.replace_index`; the replacement
sits at the same position of every epoch's order, so the two runs differ only where SGD visits it).
The run on S saves its parameters at a few steps (`stability.trajectory`: trajectory.pt); the run on
S^(i) (`stability.reference`: the run dir of the run on S) measures at the same steps the parameter
distance ||w_t - w'_t|| and the replace-one loss difference l(w'_t; z_i) - l(w_t; z_i) on the example
z_i that S^(i) lacks, whose expectation over S, i and the replacement is the expected generalization
gap (Shalev-Shwartz, Shamir, Srebro & Sridharan 2010, Lemma 11). Both runs must run on one thread:
then "the same order" is the same floating-point sums too.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from ..errors import RunDirError
from ..names import FILES, M
from ..rundir import RunDir

TRAJECTORY = FILES.TRAJECTORY


def snapshot_steps(total: int, n: int) -> list[int]:
    """n steps log-spaced over 1..total, the last one always among them (fewer when total is small)."""
    return sorted({int(round(s)) for s in np.geomspace(1, total, n)} | {total})


class Probe:
    """The stability measurements of one run, at its snapshot steps (see the module's docstring)."""

    def __init__(self, cfg, model, data, to_input, run: RunDir, total_steps: int):
        s = cfg.stability
        self.steps = set(snapshot_steps(total_steps, s.snapshots))
        self.run = run if s.trajectory else None  # where the trajectory is saved
        self.saved = (run.load_tensors(TRAJECTORY) or {}) if self.run else {}
        self.reference = self._reference(Path(s.reference)) if s.reference else None
        if self.reference is not None:
            if data.replaced is None:
                raise RunDirError("stability.reference needs data.replace_index: the example this run lacks")
            x, y = data.replaced
            self.example = (to_input(x, False), y)
            self.twin = copy.deepcopy(model)  # holds the reference's weights at each snapshot
        self.last: dict = {}

    def _reference(self, ref_dir: Path) -> dict:
        ref = RunDir(ref_dir).load_tensors(TRAJECTORY)
        if ref is None:
            raise RunDirError(
                f"stability.reference={ref_dir}: no {TRAJECTORY} there (run it with stability.trajectory=true)"
            )
        if set(ref) != self.steps:
            raise RunDirError(
                f"stability.reference={ref_dir}: its snapshots (steps {sorted(ref)[:3]}...) are not this run's "
                f"({sorted(self.steps)[:3]}...): the two runs must have the same size, batch size and epochs"
            )
        return ref

    def __call__(self, step: int, model) -> dict | None:
        """The record of a snapshot step ({} for a run that only saves), None at other steps."""
        if step not in self.steps:
            return None
        flat = parameters_to_vector(model.parameters()).detach().cpu().double()
        if self.run is not None:
            self.saved[step] = flat
            self.run.save_tensors(TRAJECTORY, self.saved)
        if self.reference is None:
            return {}
        w = self.reference[step].to(flat)
        vector_to_parameters(w.to(next(model.parameters())), self.twin.parameters())
        was_training = model.training
        model.eval()
        self.twin.eval()
        with torch.no_grad():
            x, y = self.example
            loss_diff = float(F.cross_entropy(model(x), y) - F.cross_entropy(self.twin(x), y))
        model.train(was_training)
        self.last = {M.STABILITY_DISTANCE: float((flat - w).norm()), M.STABILITY_LOSS_DIFF: loss_diff}
        return self.last
