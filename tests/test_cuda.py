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


def test_data_and_model_live_on_the_gpu(make_cfg):
    from harness.train import data as data_mod
    from harness.train import models
    from harness.train.transforms import input_shape

    cfg = make_cfg("model=alexnet_small", "device=cuda", "data.augment.crop=true")
    data = data_mod.prepare(cfg.data, torch.device("cuda"))
    assert data.train_x.is_cuda and data.train_x.dtype == torch.uint8 and data.train_y.is_cuda
    model = models.build(cfg.model, input_shape(cfg.data.preprocess)).cuda().to(memory_format=torch.channels_last)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(8, *input_shape(cfg.data.preprocess), device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.bfloat16 and out.shape == (8, 10)  # bf16 autocast reaches the classifier


@pytest.mark.parametrize("amp", ["true", "false"])
def test_bf16_and_fp32_runs_learn_alike(make_cfg, tmp_path, amp):
    s = run(make_cfg("model=alexnet_small", "device=cuda", f"trainer.amp={amp}", "trainer.max_epochs=3"), tmp_path)
    assert s["status"] == "completed" and s["train_acc"] > 0.2
    assert s["device"] == torch.cuda.get_device_name()


def test_resume_on_cuda_is_exact(make_cfg, tmp_path):
    # an MLP: cuBLAS matmuls are deterministic run to run on one GPU (conv backward may not be)
    overrides = ["model=mlp_1x512", "device=cuda", "trainer.max_epochs=2", "data.augment.crop=true"]
    whole = run(make_cfg(*overrides), run_dir=tmp_path / "whole")
    cut = run(make_cfg(*overrides, "trainer.interrupt_at_step=4"), run_dir=tmp_path / "cut")
    assert cut["status"] == "interrupted"
    resumed = run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    for key in ("train_loss", "test_loss", "train_acc", "steps"):
        assert resumed[key] == whole[key], key


def test_divergence_is_caught_on_cuda(make_cfg, tmp_path):
    s = run(make_cfg("device=cuda", "optimizer.lr=1e6", "trainer.max_epochs=20"), run_dir=tmp_path)
    assert s["status"] == "diverged" and s["epochs"] < 20


def test_ddp_with_nccl_on_one_gpu(tmp_path):
    """torchrun with one process per GPU; with one GPU, one nccl process (the code path, not a speedup)."""
    import json
    import subprocess
    import sys

    from helpers import REPO

    n = torch.cuda.device_count()
    args = ["scale=smoke", "logger=none", "device=cuda", "trainer.max_epochs=2", f"hydra.run.dir={tmp_path}"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}", "-m", "harness"]
    done = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "completed"


def test_training_batches_are_the_same_bits_on_the_gpu_and_the_cpu():
    """Exact whitening moments and per-element float32 ops: a training batch made on the GPU equals
    the CPU's torch path bit for bit (which equals the compiled CPU loop: tests/test_transforms.py),
    for both preprocessings."""
    from harness.train.transforms import BatchTransform

    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 64, (32,), generator=torch.Generator().manual_seed(1))
    for preprocess in ("zhang", "standard"):
        t = BatchTransform(preprocess, True, True, channel_mean=(0.49, 0.48, 0.45), channel_std=(0.25, 0.24, 0.26))
        draws = t.epoch_draws(32, torch.Generator().manual_seed(2))
        size = 28 if preprocess == "zhang" else 32
        on_cpu = t.model_input(t.packed(x).crops(idx, size, draws))
        packed = t.packed(x.cuda())
        on_gpu = t.model_input(packed.crops(idx.cuda(), size, draws.cuda()))
        assert torch.equal(on_gpu.cpu(), on_cpu), preprocess
