import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.layers.squeeze_excitation import (
    SqueezeAndExcitationLayer2D,
    create_audio_2d_squeeze_excitation_block,
)


def _se_formula(x, se):
    conv1, conv2 = se.excitation[0], se.excitation[2]
    squeezed = x.mean(dim=(2, 3))  # N x C
    hidden = F.relu(squeezed @ conv1.weight[:, :, 0, 0].T + conv1.bias)
    gate = torch.sigmoid(hidden @ conv2.weight[:, :, 0, 0].T + conv2.bias)
    return x * gate[:, :, None, None]


def test_se_layer_matches_formula_and_keys():
    torch.manual_seed(0)
    se = SqueezeAndExcitationLayer2D(32, reduction_ratio=4)
    assert se.excitation[0].out_channels == 8
    assert sorted(se.state_dict()) == [
        "excitation.0.bias", "excitation.0.weight", "excitation.2.bias", "excitation.2.weight",
    ]
    x = torch.randn(2, 32, 5, 3)
    torch.testing.assert_close(se(x), _se_formula(x, se))


def test_se_layer_reduced_planes_excludes_ratio():
    se = SqueezeAndExcitationLayer2D(32, reduction_ratio=None, reduced_planes=5)
    assert se.excitation[0].out_channels == 5
    with pytest.raises(AssertionError):
        SqueezeAndExcitationLayer2D(32, reduction_ratio=4, reduced_planes=5)


def test_audio_block_default_norm_is_documented_batchnorm3d():
    signature = inspect.signature(create_audio_2d_squeeze_excitation_block)
    assert signature.parameters["norm"].default is nn.BatchNorm3d
    assert signature.parameters["se_reduction_ratio"].default == 16


@pytest.mark.parametrize("use_se", [False, True])
def test_audio_block_projection_shortcut(use_se):
    torch.manual_seed(0)
    block = create_audio_2d_squeeze_excitation_block(
        16, 32, use_se=use_se, conv_a_stride=2, norm=nn.BatchNorm2d, se_reduction_ratio=8
    ).eval()
    for module in block.modules():  # non-trivial norm statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    keys = set(block.state_dict())
    assert {"branch1_conv.weight", "branch1_norm.running_mean", "branch2.0.weight",
            "branch2.1.weight", "branch2.3.weight", "branch2.4.running_var"} <= keys
    assert any(k.startswith("branch2.5.excitation") for k in keys) == use_se

    x = torch.randn(2, 16, 8, 6)
    b = block.branch2
    main = F.relu(b[1](F.conv2d(x, b[0].weight, stride=2, padding=1)))
    main = b[4](F.conv2d(main, b[3].weight, padding=1))
    if use_se:
        main = _se_formula(main, b[5])
    shortcut = block.branch1_norm(F.conv2d(x, block.branch1_conv.weight, stride=2))
    out = block(x)
    assert out.shape == (2, 32, 4, 3)
    torch.testing.assert_close(out, F.relu(shortcut + main))


def test_audio_block_identity_shortcut_and_custom_fusion():
    block = create_audio_2d_squeeze_excitation_block(
        8, 8, norm=nn.BatchNorm2d, branch_fusion=lambda a, b: a - b, activation=None
    ).eval()
    assert block.branch1_conv is None and block.branch1_norm is None
    assert isinstance(block.branch2[2], nn.Identity)
    x = torch.randn(1, 8, 4, 4)
    torch.testing.assert_close(block(x), x - block.branch2(x))
