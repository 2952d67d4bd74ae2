"""The cpu-scale reproduction plan: for each report in `experiments/`, the claims it decides and the
sweeps (Hydra commands) whose runs its records hold, as its experiment module declares them
(`analysis/<experiment>.py`: CLAIMS, SWEEPS, MINUTES, ORDER).

`make reproduce` (`harness.reproduce`) carries it out; the dashboard (`harness.dashboard`) reads it
to list every claim, including those whose run records are not committed yet, and to print each
report's command.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from . import analysis


@dataclass(frozen=True)
class Report:
    name: str  # the folder experiments/<name>/ and the experiment's `name`
    sweeps: tuple[tuple[str, str], ...]  # (sweep dir under multirun/, overrides of `python -m harness -m`)
    minutes: float = 10.0  # expected wall time on the 2-core machine (for the progress estimate)

    @property
    def claims(self) -> tuple[str, ...]:
        """The dashboard rows this report decides: the claims its experiment module declares."""
        return tuple(c.name for c in analysis.of_report(self.name))


def build(experiments) -> tuple[Report, ...]:
    """The plan from the experiment modules (`analysis.discover`): each one's sweeps and minutes."""
    return tuple(Report(analysis.name_of(m), tuple(m.SWEEPS), m.MINUTES) for m in experiments)


PLAN = build(analysis.EXPERIMENTS)


def command(report: Report) -> str:
    """The commands that make a report's runs and then the report, as one line a user can paste."""
    sweeps = [f"python -m harness -m {shlex.join(o.split())} hydra.sweep.dir=multirun/{d}" for d, o in report.sweeps]
    dirs = " ".join(f"multirun/{d}" for d, _ in report.sweeps)
    return "; ".join(sweeps + [f"python -m harness.report {dirs}"])
