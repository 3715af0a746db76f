import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.layers.convolutions import Conv2plus1d, ConvReduce3D, create_conv_2plus1d


def _make_reduce(method):
    return ConvReduce3D(
        in_channels=3,
        out_channels=4,
        kernel_size=((3, 1, 1), (1, 3, 3)),
        stride=((1, 1, 1), None),
        padding=((1, 0, 0), (0, 1, 1)),
        bias=(True, False),
        reduction_method=method,
    )


def test_conv_reduce_sum_and_cat():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 5)
    for method in ("sum", "cat"):
        layer = _make_reduce(method)
        assert sorted(layer.state_dict()) == ["convs.0.bias", "convs.0.weight", "convs.1.weight"]
        a = F.conv3d(x, layer.convs[0].weight, layer.convs[0].bias, padding=(1, 0, 0))
        b = F.conv3d(x, layer.convs[1].weight, padding=(0, 1, 1))
        want = a + b if method == "sum" else torch.cat([a, b], dim=1)
        torch.testing.assert_close(layer(x), want)


def test_conv_reduce_per_conv_options_and_defaults():
    layer = ConvReduce3D(
        in_channels=4, out_channels=4, kernel_size=(1, 3), dilation=(None, 2),
        groups=(2, 1), padding_mode=("zeros", "reflect"),
    )
    first, second = layer.convs
    assert first.kernel_size == (1, 1, 1) and first.groups == 2 and first.bias is not None
    assert second.dilation == (2, 2, 2) and second.padding_mode == "reflect"
    with pytest.raises(AssertionError):
        ConvReduce3D(in_channels=1, out_channels=1, kernel_size=(1,), reduction_method="max")


def test_create_conv_2plus1d_structure():
    layer = create_conv_2plus1d(in_channels=3, out_channels=8, inner_channels=5)
    assert isinstance(layer, Conv2plus1d)
    assert layer.conv_t.weight.shape == (5, 3, 3, 1, 1)
    assert layer.conv_t.stride == (2, 1, 1) and layer.conv_t.padding == (1, 0, 0)
    assert layer.conv_xy.weight.shape == (8, 5, 1, 3, 3)
    assert layer.conv_xy.stride == (1, 2, 2) and layer.conv_xy.padding == (0, 1, 1)
    assert layer.conv_t.bias is None
    assert layer.norm.num_features == 5 and isinstance(layer.activation, nn.ReLU)
    assert list(layer.state_dict()) == [
        "conv_t.weight", "norm.weight", "norm.bias", "norm.running_mean",
        "norm.running_var", "norm.num_batches_tracked", "conv_xy.weight",
    ]
    # inner_channels defaults to out_channels
    assert create_conv_2plus1d(in_channels=3, out_channels=8).conv_t.out_channels == 8


def test_create_conv_2plus1d_forward_matches_formula():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 7, 7)
    layer = create_conv_2plus1d(
        in_channels=3, out_channels=4, inner_channels=6, kernel_size=(3, 5, 3),
        stride=(1, 2, 1), padding=(1, 2, 1), bias=True, norm_eps=1e-3, norm_momentum=0.2,
        activation=nn.Sigmoid,
    )
    assert layer.norm.eps == 1e-3 and layer.norm.momentum == 0.2
    t = F.conv3d(x, layer.conv_t.weight, layer.conv_t.bias, padding=(1, 0, 0))
    mean = t.mean(dim=(0, 2, 3, 4), keepdim=True)
    var = t.var(dim=(0, 2, 3, 4), unbiased=False, keepdim=True)
    t = torch.sigmoid((t - mean) / torch.sqrt(var + 1e-3))  # training-mode norm, unit affine
    want = F.conv3d(t, layer.conv_xy.weight, layer.conv_xy.bias, stride=(1, 2, 1), padding=(0, 2, 1))
    torch.testing.assert_close(layer(x), want, rtol=1e-4, atol=1e-5)


def test_create_conv_2plus1d_xy_first_without_norm_and_activation():
    torch.manual_seed(0)
    layer = create_conv_2plus1d(
        in_channels=3, out_channels=4, inner_channels=6, conv_xy_first=True,
        norm=None, activation=None,
    )
    assert layer.conv_xy.weight.shape == (6, 3, 1, 3, 3)
    assert layer.conv_t.weight.shape == (4, 6, 3, 1, 1)
    assert layer.norm is None and layer.activation is None
    x = torch.randn(1, 3, 4, 6, 6)
    xy = F.conv3d(x, layer.conv_xy.weight, stride=(1, 2, 2), padding=(0, 1, 1))
    want = F.conv3d(xy, layer.conv_t.weight, stride=(2, 1, 1), padding=(1, 0, 0))
    torch.testing.assert_close(layer(x), want)


def test_create_conv_2plus1d_rejects_groups_and_dilation():
    with pytest.raises(AssertionError):
        create_conv_2plus1d(in_channels=4, out_channels=4, groups=2)
    with pytest.raises(AssertionError):
        create_conv_2plus1d(in_channels=4, out_channels=4, dilation=(1, 2, 2))


def test_conv2plus1d_requires_both_convs():
    with pytest.raises(AssertionError):
        Conv2plus1d(conv_t=nn.Conv3d(1, 1, 1))
    with pytest.raises(TypeError):  # keyword-only
        Conv2plus1d(nn.Conv3d(1, 1, 1), None, None, nn.Conv3d(1, 1, 1))
