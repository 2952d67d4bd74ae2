"""Progress: a bar on an interactive terminal, plain periodic log lines everywhere else."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("harness")


class Progress:
    def __init__(self, mode: str, max_epochs: int, log_every_s: float):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.max_epochs, self.log_every_s = mode, max_epochs, log_every_s
        self.bar = None
        self.last_log = time.monotonic()
        self.postfix = {}

    def start_epoch(self, epoch: int, steps: int, done: int) -> None:
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(
                total=steps,
                initial=done,
                desc=f"epoch {epoch + 1}/{self.max_epochs}",
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )
            self.bar.set_postfix(self.postfix, refresh=False)
        self.epoch, self.steps = epoch, steps

    def step(self, position: int, loss) -> None:
        """Called every step; `loss` is a callable so the value is only read when shown."""
        if self.mode == "bar":
            self.bar.update(1)
            if position % 20 == 0:
                self.postfix["loss"] = f"{loss():.3f}"
                self.bar.set_postfix(self.postfix, refresh=False)
        elif self.mode == "log" and time.monotonic() - self.last_log > self.log_every_s:
            self.last_log = time.monotonic()
            log.info("epoch %d/%d step %d/%d loss %.4f", self.epoch + 1, self.max_epochs, position, self.steps, loss())

    def end_epoch(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def evaluated(self, record: dict) -> None:
        self.postfix = {k.split("/")[0]: f"{record[k]:.3f}" for k in ("train/acc", "test/acc") if k in record}
        line = " ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in record.items()
            if k in ("epoch", "step", "lr", "train/loss", "train/acc", "val/acc", "test/loss", "test/acc")
        )
        if self.mode != "none":
            log.info("eval %s", line)
        self.last_log = time.monotonic()
