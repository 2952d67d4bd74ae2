"""Hydra's basic sweeper, made to fail loudly (configs/hydra/sweeper/checked.yaml):

- every job's config is validated (`harness.config.validate`) before the first job starts: a bad
  value refuses the whole sweep, one line per bad job naming the job and the key, exit code 2;
- jobs must have their own dirs (`hydra.sweep.subdir` must differ between jobs), under a sweep dir that
  resolves to a path (`hydra.sweep.dir=${oc.env:EMPTY}` would put them, and the sweep's comparison,
  into the current directory);
- the sweep exits non-zero when a job was refused while it ran (its data, say: summary "invalid"),
  naming the jobs, instead of 0 as if all had run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict


class CheckedSweeper(BasicSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        params = self._parse_config() + list(arguments)
        overrides = OverridesParser.create(config_loader=self.hydra_context.config_loader).parse_overrides(params)
        self._check([job for batch in self.split_arguments(overrides, None) for job in batch])  # before any file
        self.max_batch_size = None  # one batch: the jobs checked above, launched together
        returns = super().sweep(arguments)
        refused = []
        for job in (r for batch in returns for r in batch):
            summary = Path(job.hydra_cfg.hydra.runtime.output_dir) / "summary.json"
            status = json.loads(summary.read_text()) if summary.is_file() else {}
            if status.get("status") == "invalid":
                refused.append(
                    f"error: job {job.hydra_cfg.hydra.job.num} ({' '.join(job.overrides)}): {status['error']}"
                )
        if refused:
            print(
                "\n".join(refused) + f"\n{len(refused)} of {sum(map(len, returns))} jobs were refused", file=sys.stderr
            )
            sys.exit(1)
        return returns

    def validate_batch_is_legal(self, batch) -> None:
        """Done by `_check`, for every job, before the sweep dir is written."""

    def _check(self, jobs) -> None:
        """Compose every job (as Hydra does) and check its values as a run would; refuse the sweep,
        one line per bad job, before anything is written (no sweep dir, no multirun.yaml)."""
        from harness.config import validate
        from harness.errors import ConfigError

        problems, subdirs = [], []
        try:
            sweep_dir = str(self.config.hydra.sweep.dir or "")
        except Exception:  # (an interpolation that cannot be resolved: Hydra says which when it writes)
            sweep_dir = "<unresolved>"
        if not sweep_dir.strip():
            raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("dir")
            problems.append(
                f"error: invalid config: hydra.sweep.dir={sweep_dir!r} (from {raw!r}); allowed: a directory path "
                "(an empty one would put the jobs into the current directory)"
            )
        for n, overrides in enumerate(jobs):
            cfg = self.hydra_context.config_loader.load_sweep_config(
                master_config=self.config, sweep_overrides=list(overrides)
            )
            subdirs.append(_subdir(cfg, n))
            with open_dict(cfg):
                del cfg["hydra"]
            try:
                validate(cfg)
            except ConfigError as e:
                problems.append(f"error: job {n} ({' '.join(overrides)}): {e}")
        if len(set(subdirs)) < len(subdirs):
            subdir = OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("subdir")
            problems.append(
                f"error: invalid config: hydra.sweep.subdir={subdir!r} would put several of the {len(jobs)} jobs in "
                "one dir; allowed: a path that differs between jobs, e.g. ${hydra.job.num} (the default)"
            )
        if problems:
            print("\n".join(problems) + f"\nthe sweep was not started ({len(jobs)} jobs)", file=sys.stderr, flush=True)
            sys.exit(2)


def _subdir(cfg, n: int) -> str:
    """A job's sweep subdir; one that names the job's number (not known yet) is the job's own."""
    raw = str(OmegaConf.to_container(cfg.hydra.sweep, resolve=False).get("subdir") or "")
    if "${hydra.job." in raw:
        return f"<job {n}: {raw}>"
    try:
        return str(cfg.hydra.sweep.subdir or "")
    except Exception:  # an interpolation that cannot be resolved yet: the job's own
        return f"<job {n}: {raw}>"
