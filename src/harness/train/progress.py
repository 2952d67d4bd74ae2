"""Progress: a bar on an interactive terminal, plain periodic log lines everywhere else."""

from __future__ import annotations

import logging
import sys
import time

from ..names import M

log = logging.getLogger("harness")


def stop_rule(t) -> str:
    """The trainer config's stop rule in words: the last epoch, and any target that ends it sooner."""
    rule = [f"epoch {t.max_epochs}"]
    if t.target_train_acc is not None:
        rule.append(f"train acc >= {t.target_train_acc:g}")
    if t.target_train_loss is not None:
        rule.append(f"train loss <= {t.target_train_loss:g}")
    if t.max_steps:
        rule.append(f"step {t.max_steps}")
    if t.time_budget_s:
        rule.append(f"{t.time_budget_s:g} s")
    return " or ".join(rule)


class Progress:
    """`left`: an upper bound on the time to go, from this process's mean epoch time and the epochs
    left to the last one; a target (train acc, loss) may end the run sooner: the stop rule says so."""

    def __init__(self, mode: str, max_epochs: int, log_every_s: float, rule: str = ""):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.max_epochs, self.log_every_s, self.rule = mode, max_epochs, log_every_s, rule
        self.bar = None
        self.last_log = time.monotonic()
        self.postfix = {}
        self.started, self.epochs_done = time.monotonic(), 0.0

    def left(self, epoch: float) -> str:
        """'at most 12 min left (stops at epoch 140 or train acc >= 0.99)', or '' before a whole epoch."""
        if self.epochs_done < 1:
            return ""
        per_epoch = (time.monotonic() - self.started) / self.epochs_done
        minutes = max(self.max_epochs - epoch, 0) * per_epoch / 60
        return f"at most {minutes:.0f} min left (stops at {self.rule})" if self.rule else f"{minutes:.0f} min left"

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
        self.epochs_done += 1
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def evaluated(self, record: dict) -> None:
        self.postfix = {k.split("/")[0]: f"{record[k]:.3f}" for k in ("train/acc", "test/acc") if k in record}
        line = " ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in record.items()
            if k in (M.EPOCH, M.STEP, M.LR, M.TRAIN_LOSS, M.TRAIN_ACC, M.VAL_ACC, M.TEST_LOSS, M.TEST_ACC)
        )
        left = self.left(record.get(M.EPOCH, 0))
        if left:
            self.postfix["left"] = left.split(" (")[0].replace("at most ", "<=")
        if self.mode != "none":
            log.info("eval %s%s", line, f" | {left}" if left else "")
        self.last_log = time.monotonic()
