"""The models of Zhang et al. Table 1 have exactly the paper's parameter counts."""

import pytest
import torch
from omegaconf import OmegaConf

from harness.train import models

PAPER_COUNTS = {  # docs/claims.md, C1, on 28x28x3 inputs
    "inception_small": 1_649_402,
    "inception_no_bn": 1_649_402,
    "alexnet_small": 1_387_786,
    "mlp_3x512": 1_735_178,
    "mlp_1x512": 1_209_866,
}


def build(name, init="default", gain=1.0, shape=(3, 28, 28)):
    return models.build(OmegaConf.create({"name": name, "init": init, "init_gain": gain}), shape)


@pytest.mark.parametrize("name, count", PAPER_COUNTS.items())
def test_parameter_count_matches_the_paper(name, count):
    model = build(name)
    assert models.num_parameters(model) == count
    assert model(torch.randn(2, 3, 28, 28)).shape == (2, 10)


def test_inception_without_batchnorm_has_no_batchnorm():
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in build("inception_no_bn").modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in build("inception_small").modules())


def test_resnet18_is_the_cifar_variant():
    model = build("resnet18", shape=(3, 32, 32))
    assert models.num_parameters(model) == 11_173_962
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_models_take_32x32_inputs_with_standard_preprocessing():
    assert build("mlp_1x512", shape=(3, 32, 32))(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert build("alexnet_small", shape=(3, 32, 32))(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("init", ["kaiming_normal", "xavier_uniform", "orthogonal"])
def test_init_scheme_and_gain(init):
    torch.manual_seed(0)
    base = build("mlp_1x512", init=init)
    torch.manual_seed(0)
    scaled = build("mlp_1x512", init=init, gain=3.0)
    w0, w3 = base[1].weight, scaled[1].weight
    assert torch.allclose(w3, 3.0 * w0)
    assert torch.count_nonzero(base[1].bias) == 0
    if init == "kaiming_normal":  # std sqrt(2 / fan_in)
        assert w0.std().item() == pytest.approx((2 / 2352) ** 0.5, rel=0.05)


def test_wrn16_4_for_the_schedule_experiments():
    model = build("wrn16_4", shape=(3, 32, 32))
    assert models.num_parameters(model) == 2_748_890  # the usual "2.7M" of WRN-16-4
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
