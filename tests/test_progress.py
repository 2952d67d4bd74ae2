"""Progress: log lines where there is no terminal, a bar where there is one."""

import io
import logging

from harness.train.progress import Progress


def test_log_mode_writes_plain_lines_at_evaluation_and_during_long_epochs(caplog):
    caplog.set_level(logging.INFO, logger="harness")
    p = Progress("log", max_epochs=3, log_every_s=1e-9)
    p.start_epoch(0, steps=10, done=0)
    p.step(5, lambda: 1.25)
    p.end_epoch()
    p.evaluated({"epoch": 1, "step": 10, "train/acc": 0.5, "test/acc": 0.25})
    text = caplog.text
    assert "epoch 1/3 step 5/10 loss 1.2500" in text
    assert "train/acc 0.5" in text and "test/acc 0.25" in text


def test_auto_mode_uses_log_lines_without_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert Progress("auto", 1, 30).mode == "log"


def test_bar_mode_shows_epoch_and_loss(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    p = Progress("bar", max_epochs=2, log_every_s=30)
    p.start_epoch(0, steps=40, done=0)
    for i in range(1, 41):
        p.step(i, lambda: 0.5)
    assert p.bar.desc == "epoch 1/2" and "loss=0.500" in p.bar.postfix and p.bar.n == 40
    p.end_epoch()
    assert "epoch 1/2" in err.getvalue()
