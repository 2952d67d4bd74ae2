"""The CUDA path (bf16 autocast, channels_last, torch.compile): runs only where a GPU is."""

import pytest
import torch

from harness.app import run

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA device: the CUDA path is checked on a GPU machine"
    ),
]


@pytest.mark.parametrize("model", ["inception_small", "mlp_1x512"])
def test_smoke_run_on_cuda(make_cfg, tmp_path, model):
    s = run(
        make_cfg(f"model={model}", "device=cuda", "data.augment.crop=true", "data.augment.flip=true"), run_dir=tmp_path
    )
    assert s["status"] == "completed"
    assert s["train_acc"] > 0.2


def test_compiled_model_checkpoints_and_resumes(make_cfg, tmp_path):
    overrides = ["model=mlp_1x512", "device=cuda", "trainer.compile=true", "trainer.max_epochs=2"]
    run(make_cfg(*overrides, "trainer.interrupt_at_step=4"), run_dir=tmp_path)
    s = run(make_cfg(*overrides), run_dir=tmp_path)
    assert s["status"] == "completed" and s["epochs"] == 2
