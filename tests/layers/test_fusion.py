import pytest
import torch

from graphspec.layers.fusion import (
    ConcatFusion,
    ReduceFusion,
    TemporalConcatFusion,
    make_fusion_layer,
)


@pytest.mark.parametrize(
    "method, layer_type, dims, shapes, dim, out_shape, output_dim",
    [
        # features of each input side by side
        ("concat", ConcatFusion, [3, 5], [(2, 4, 3), (2, 4, 5)], 2, (2, 4, 8), 8),
        # the inputs' tokens one after the other, in the same feature space
        ("temporal_concat", TemporalConcatFusion, [6, 6], [(2, 3, 6), (2, 4, 6)], 1, (2, 7, 6), 6),
    ],
)
def test_concat_fusions(method, layer_type, dims, shapes, dim, out_shape, output_dim):
    layer = make_fusion_layer(method, dims)
    assert isinstance(layer, layer_type) and layer.output_dim == output_dim
    inputs = [torch.randn(shape) for shape in shapes]
    out = layer(inputs)
    assert out.shape == out_shape
    parts = out.split([shape[dim] for shape in shapes], dim=dim)
    assert all(torch.equal(part, x) for part, x in zip(parts, inputs))


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
    with pytest.raises(AssertionError):
        TemporalConcatFusion([6, 5])  # temporal concatenation needs one feature size
