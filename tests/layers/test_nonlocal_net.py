import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.layers.nonlocal_net import NonLocal, create_nonlocal


def _conv1x1(x, conv):
    return torch.einsum("oc,ncthw->nothw", conv.weight[:, :, 0, 0, 0], x) + conv.bias[
        None, :, None, None, None
    ]


def _nonlocal_formula(x, block, pool_size, instantiation):
    n, c, t, h, w = x.shape
    d = block.conv_theta.out_channels
    pooled = F.max_pool3d(x, pool_size, pool_size) if pool_size else x
    theta = _conv1x1(x, block.conv_theta).reshape(n, d, -1)
    phi = _conv1x1(pooled, block.conv_phi).reshape(n, d, -1)
    g = _conv1x1(pooled, block.conv_g).reshape(n, d, -1)
    affinity = theta.transpose(1, 2) @ phi  # N x THW x P
    if instantiation == "softmax":
        affinity = torch.softmax(affinity / d**0.5, dim=2)
    else:
        affinity = affinity / phi.shape[2]
    y = (g @ affinity.transpose(1, 2)).reshape(n, d, t, h, w)
    return x + _conv1x1(y, block.conv_out)


@pytest.mark.parametrize("instantiation", ["softmax", "dot_product"])
@pytest.mark.parametrize("pool_size", [None, (1, 2, 2)])
def test_matches_formula(instantiation, pool_size):
    torch.manual_seed(0)
    block = create_nonlocal(
        dim_in=6, dim_inner=4, pool_size=pool_size, instantiation=instantiation, norm=None
    )
    assert (block.pool is None) == (pool_size is None)
    x = torch.randn(2, 6, 3, 4, 4)
    torch.testing.assert_close(block(x), _nonlocal_formula(x, block, pool_size, instantiation))


def test_norm_is_applied_after_conv_out():
    torch.manual_seed(0)
    block = create_nonlocal(dim_in=4, dim_inner=2, norm_eps=1e-3, norm_momentum=0.3).eval()
    assert isinstance(block.norm, nn.BatchNorm3d) and block.norm.num_features == 4
    assert block.norm.eps == 1e-3 and block.norm.momentum == 0.3
    block.norm.running_mean.fill_(0.5)
    block.norm.weight.data.fill_(2.0)
    x = torch.randn(1, 4, 2, 3, 3)
    residual = _nonlocal_formula(x, block, None, "softmax") - x
    want = x + (residual - 0.5) / (1 + 1e-3) ** 0.5 * 2.0
    torch.testing.assert_close(block(x), want)


def test_state_dict_keys_and_default_pooling():
    block = create_nonlocal(dim_in=8, dim_inner=4)
    assert block.pool is None and block.instantiation == "softmax"
    assert [k for k in block.state_dict() if "norm" not in k] == [
        "conv_theta.weight", "conv_theta.bias", "conv_phi.weight", "conv_phi.bias",
        "conv_g.weight", "conv_g.bias", "conv_out.weight", "conv_out.bias",
    ]
    pooled = create_nonlocal(dim_in=8, dim_inner=4, pool_size=(1, 2, 2))
    assert isinstance(pooled.pool, nn.MaxPool3d) and pooled.pool.kernel_size == (1, 2, 2)


def test_nonlocal_validation():
    conv = lambda i, o: nn.Conv3d(i, o, 1)  # noqa: E731
    with pytest.raises(AssertionError):
        NonLocal(conv_theta=conv(4, 2), conv_phi=conv(4, 2), conv_g=conv(4, 3),
                 conv_out=conv(2, 4))
    with pytest.raises(AssertionError):
        NonLocal(conv_theta=conv(4, 2), conv_phi=conv(4, 2), conv_g=conv(4, 2),
                 conv_out=conv(2, 4), instantiation="gaussian")
    block = NonLocal(conv_theta=conv(4, 2), conv_phi=conv(4, 2), conv_g=conv(4, 2),
                     conv_out=conv(2, 4))
    assert block.instantiation == "dot_product" and block.dim_inner == 2
