import torch

from graphspec.mobile.passes import SwishToSigmoidMul

from passes_support import ops, run_and_compare


def test_swish_becomes_sigmoid_mul():
    graph = run_and_compare(SwishToSigmoidMul())
    assert "Swish" not in ops(graph) and "SigmoidMul" in ops(graph)


def test_sigmoid_mul_is_x_times_sigmoid_x():
    from graphspec.mobile.modules import SigmoidMul

    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(SigmoidMul()(x), x / (1 + torch.exp(-x)))
