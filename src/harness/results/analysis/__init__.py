"""The experiments' reports: one module per experiment, named after it (its config is
configs/experiment/<name>.yaml), found here without a registry. A module is an experiment when it
declares:

    CLAIMS   its claims (`claims.Claim`: the paper, the claim, the test that decides it and its numbers)
    SWEEPS   (sweep dir under multirun/, overrides of `python -m harness -m`): the runs its report reads
    MINUTES  their expected wall time on the 2-core machine (`make reproduce`'s estimate)
    ORDER    its place on the dashboard and in `make reproduce`

and the function named after it: the sweep's runs (`records.Run`) and the output folder ->
({table name: rows}, [figure paths]), a `verdicts` table among the tables (`common.verdict_row`).
`report.py` writes the tables and adds the validation-bound table (docs/claims.md, C4); common.py
holds what the experiments share.
"""

from __future__ import annotations

import importlib
import pkgutil


def discover(path=None) -> list:
    """The experiment modules of this package (or of the folders in `path`), in their ORDER."""
    found = []
    for info in pkgutil.iter_modules(path or __path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "CLAIMS"):
            found.append(module)
    return sorted(found, key=lambda m: m.ORDER)


def name_of(module) -> str:
    return module.__name__.rpartition(".")[2]


def load(modules) -> None:
    """What the rest of the results wing reads, from these experiment modules."""
    global EXPERIMENTS, ANALYSES, CLAIMS, BY_NAME
    EXPERIMENTS = tuple(modules)
    ANALYSES = {name_of(m): getattr(m, name_of(m)) for m in EXPERIMENTS}
    CLAIMS = tuple(c for m in EXPERIMENTS for c in m.CLAIMS)  # the dashboard's order
    BY_NAME = {c.name: c for c in CLAIMS}


def of_report(report: str) -> tuple:
    """The claims a report decides, in declaration order (the dashboard's order)."""
    return tuple(c for c in CLAIMS if c.report == report)


load(discover())
