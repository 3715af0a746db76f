import pytest
import torch
import torch.nn as nn

from graphspec.layers.mlp import make_multilayer_perceptron


def test_structure_with_norm_dropout_and_activations():
    mlp, out_dim = make_multilayer_perceptron(
        [8, 6, 5, 3], norm=nn.BatchNorm1d, mid_activation=nn.GELU,
        final_activation=nn.Sigmoid, dropout_rate=0.5,
    )
    assert out_dim == 3
    assert [type(m) for m in mlp] == [
        nn.Linear, nn.BatchNorm1d, nn.GELU,
        nn.Linear, nn.BatchNorm1d, nn.GELU,
        nn.Linear, nn.Dropout, nn.Sigmoid,
    ]
    assert [(m.in_features, m.out_features) for m in mlp if isinstance(m, nn.Linear)] == [
        (8, 6), (6, 5), (5, 3),
    ]
    assert mlp[7].p == 0.5


def test_defaults_forward_matches_formula():
    torch.manual_seed(0)
    mlp, out_dim = make_multilayer_perceptron(fully_connected_dims=[4, 5, 2])
    assert out_dim == 2
    assert [type(m) for m in mlp] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    x = torch.randn(3, 4)
    hidden = torch.relu(x @ mlp[0].weight.T + mlp[0].bias)
    torch.testing.assert_close(mlp(x), torch.relu(hidden @ mlp[2].weight.T + mlp[2].bias))


def test_single_layer_without_final_activation_and_tuple_dims():
    mlp, out_dim = make_multilayer_perceptron((4, 7), final_activation=None)
    assert out_dim == 7 and [type(m) for m in mlp] == [nn.Linear]


@pytest.mark.parametrize("dims", [[4], [4, 0], [4, 2.5]])
def test_invalid_dims(dims):
    with pytest.raises(AssertionError):
        make_multilayer_perceptron(dims)
