import pytest
import torch

from graphspec.layers.fusion import (
    ConcatFusion,
    ReduceFusion,
    TemporalConcatFusion,
    make_fusion_layer,
)


def test_concat_fusion():
    layer = make_fusion_layer("concat", [3, 5])
    assert isinstance(layer, ConcatFusion) and layer.output_dim == 8
    a, b = torch.randn(2, 4, 3), torch.randn(2, 4, 5)
    out = layer([a, b])
    assert out.shape == (2, 4, 8)
    assert torch.equal(out[..., :3], a) and torch.equal(out[..., 3:], b)


def test_temporal_concat_fusion():
    layer = make_fusion_layer("temporal_concat", [6, 6])
    assert isinstance(layer, TemporalConcatFusion) and layer.output_dim == 6
    a, b = torch.randn(2, 3, 6), torch.randn(2, 4, 6)
    out = layer([a, b])
    assert out.shape == (2, 7, 6)
    assert torch.equal(out[:, :3], a) and torch.equal(out[:, 3:], b)
    with pytest.raises(AssertionError):
        TemporalConcatFusion([6, 5])


@pytest.mark.parametrize(
    "method, expected",
    [
        ("max", lambda a, b, c: torch.maximum(torch.maximum(a, b), c)),
        ("sum", lambda a, b, c: a + b + c),
        ("prod", lambda a, b, c: a * b * c),
    ],
)
def test_reduce_fusion(method, expected):
    layer = make_fusion_layer(method, [4, 4, 4])
    assert isinstance(layer, ReduceFusion) and layer.output_dim == 4
    inputs = [torch.randn(2, 3, 4) for _ in range(3)]
    torch.testing.assert_close(layer(inputs), expected(*inputs))
    with pytest.raises(AssertionError):
        make_fusion_layer(method, [4, 3])


def test_custom_reduce_fn_and_validation():
    layer = ReduceFusion([2, 2], lambda stacked: stacked.mean(dim=0))
    a, b = torch.ones(1, 1, 2), torch.zeros(1, 1, 2)
    assert torch.equal(layer([a, b]), torch.full((1, 1, 2), 0.5))
    with pytest.raises(NotImplementedError):
        make_fusion_layer("mean", [2, 2])
    with pytest.raises(AssertionError):
        ConcatFusion((2, 2))  # must be a list
    with pytest.raises(AssertionError):
        ConcatFusion([2, 0])
