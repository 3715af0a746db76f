"""The transmuter replaces exactly the Conv3d modules whose geometry an efficient block has (weights
carried over, output unchanged), and convert_to_deployable_form turns a whole model -- a transmuted
plain one, and EfficientX3d -- into a copy computing the same output with no 3-D convolution,
3-D pool or batch norm left."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import graphspec.models  # noqa: F401  (registers the ops)
from graphspec.accelerator.deployment.common.model_transmuter import transmute_model
from graphspec.accelerator.deployment.mobile_cpu.transmuter import transmuter_mobile_cpu as tm
from graphspec.accelerator.deployment.mobile_cpu.utils.model_conversion import convert_to_deployable_form
from graphspec.layers.accelerator.mobile_cpu.convolutions import (
    Conv3d3x1x1BnAct, Conv3d3x3x3DwBnAct, Conv3d5x1x1BnAct, Conv3dPwBnAct, Conv3dTemporalKernel1BnAct,
)
from graphspec.layers.accelerator.mobile_cpu.pool import AdaptiveAvgPool3dOutSize1
from graphspec.models.accelerator.mobile_cpu.efficient_x3d import EfficientX3d
from graphspec.models.accelerator.mobile_cpu.residual_blocks import X3dBottleneckBlock

from accelerator_helpers import NOT_DEPLOYABLE, randomized_with_output

# name -> (plain module, the block the transmuter must make of it, or None to leave it alone)
PLAIN = {
    "pw": (nn.Conv3d(4, 6, 1), Conv3dPwBnAct),
    "dw": (nn.Conv3d(6, 6, 3, stride=(1, 2, 2), padding=1, groups=6, bias=False), Conv3d3x3x3DwBnAct),
    "spatial": (nn.Conv3d(6, 8, (1, 3, 3), padding=(0, 1, 1)), Conv3dTemporalKernel1BnAct),
    "t3": (nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0), groups=4), Conv3d3x1x1BnAct),
    "t5": (nn.Conv3d(8, 8, (5, 1, 1), padding=(2, 0, 0), bias=False), Conv3d5x1x1BnAct),
    "full3": (nn.Conv3d(8, 8, 3, padding=1), None),  # not depthwise: no block has it
    "t3_unpadded": (nn.Conv3d(8, 8, (3, 1, 1)), None),  # shortens the clip: not the block's padding
    "pw_strided": (nn.Conv3d(8, 8, 1, stride=2), None),
}


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*(module for module, _ in PLAIN.values()), nn.BatchNorm3d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward(self, x):
        return self.pool(self.body(x)).flatten(1)


def test_each_transmuter_accepts_only_its_geometry():
    transmuters = [tm.transmute_Conv3dPwBnAct, tm.transmute_Conv3d3x3x3DwBnAct,
                   tm.transmute_Conv3dTemporalKernel1BnAct, tm.transmute_Conv3d3x1x1BnAct, tm.transmute_Conv3d5x1x1BnAct]
    for name, (module, expected) in PLAIN.items():
        made = [type(block) for block in (t(module) for t in transmuters) if block is not None]
        wanted = [] if expected is None else [expected]
        if name == "pw":  # a 1x1x1 conv is also a 1xkxk one with k = 1; the pointwise transmuter is tried first
            wanted.append(Conv3dTemporalKernel1BnAct)
        assert made == wanted, name
    assert tm.transmute_Conv3dPwBnAct(nn.Conv2d(2, 2, 1)) is None


def test_transmute_model_replaces_what_it_should_and_keeps_the_output():
    model, x, expected = randomized_with_output(Plain, (2, 4, 4, 12, 12))
    transmute_model(model, target_device="mobile_cpu")
    for (module, wanted), got in zip(PLAIN.values(), model.body):
        assert type(got) is (wanted or type(module))
        if wanted is not None:
            assert torch.equal(got.kernel.conv.weight, module.weight)
    assert isinstance(model.pool, nn.AdaptiveAvgPool3d)  # only convolutions are transmuted
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    # the transmuted blocks convert; the convolutions no block covers stay as they are
    deployable = convert_to_deployable_form(model, x)
    with torch.no_grad():
        torch.testing.assert_close(deployable(x), expected, rtol=1e-5, atol=1e-5)
    left = [type(m) for m in deployable.modules() if isinstance(m, nn.Conv3d)]
    assert len(left) == 3


def test_a_registered_transmuter_is_tried_after_the_builtin_ones(monkeypatch):
    """register_transmuter adds to a target's transmuters, which graphspec's own (loaded on first
    use, without the package import registering them) come before: a ReLU the user's function
    takes becomes its block, the pointwise conv still the builtin Conv3dPwBnAct."""
    from graphspec.accelerator.deployment.common import model_transmuter as mt
    from graphspec.layers.accelerator.mobile_cpu.activation_functions import ReLU as ReLUBlock

    monkeypatch.setattr(mt, "EFFICIENT_BLOCK_TRANSMUTER_REGISTRY", {})
    monkeypatch.setattr(mt, "_loaded", set())
    seen = []

    @mt.register_transmuter("mobile_cpu")
    def relu_to_block(module):
        seen.append(type(module))
        return ReLUBlock() if type(module) is nn.ReLU else None

    model = nn.Sequential(nn.Conv3d(4, 6, 1), nn.ReLU())
    transmute_model(model, target_device="mobile_cpu")
    assert [type(m) for m in model] == [Conv3dPwBnAct, ReLUBlock]
    assert seen == [nn.ReLU]  # the conv was taken by a builtin transmuter before the user's was asked
    assert mt.EFFICIENT_BLOCK_TRANSMUTER_REGISTRY["mobile_cpu"] == [*tm.EFFICIENT_BLOCK_TRANSMUTER_MOBILE_CPU,
                                                                    relu_to_block]


def test_transmute_model_unknown_target_is_a_clear_error():
    with pytest.raises(ValueError, match="no transmuter for target device 'gpu'"):
        transmute_model(Plain(), target_device="gpu")


def test_efficient_x3d_converts_end_to_end():
    model, x, expected = randomized_with_output(lambda: EfficientX3d(num_classes=10), (1, 3, 4, 64, 64))
    deployable = convert_to_deployable_form(model, x)
    with torch.no_grad():
        torch.testing.assert_close(deployable(x), expected, rtol=1e-4, atol=1e-5)
    assert not [type(m) for m in deployable.modules() if isinstance(m, NOT_DEPLOYABLE)]
    assert not deployable.training
    # the original is untouched: still the checkpoint form
    assert isinstance(model.s2.pathway0_res0.layers.conv_1.kernel.conv, nn.Conv3d)
    assert isinstance(model.head.avg_pool, AdaptiveAvgPool3dOutSize1) and model.head.avg_pool.convert_flag is False


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("expansion, shape", [("XS", (1, 3, 4, 48, 48)), ("S", (2, 3, 13, 32, 32))])
def test_the_deployable_form_traces_and_scripts(expansion, shape):
    """PyTorchVideo's deployment tutorial traces the converted model (``torch.jit.trace``, then
    ``optimize_for_mobile``); TorchScript compiles it too. Both keep the unconverted model's output
    (two clips exercise the temporal taps' per-clip assembly)."""
    model, x, expected = randomized_with_output(lambda: EfficientX3d(expansion=expansion, num_classes=10), shape)
    deployable = convert_to_deployable_form(model, x)
    with torch.no_grad():
        for compiled in (torch.jit.trace(deployable, x), torch.jit.script(deployable)):
            torch.testing.assert_close(compiled(x), expected, rtol=1e-4, atol=1e-5)


def test_convert_to_deployable_form_errors():
    with pytest.raises(ValueError, match="no efficient blocks"):
        convert_to_deployable_form(nn.Conv3d(3, 3, 1), torch.randn(1, 3, 2, 4, 4))

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.pw = Conv3dPwBnAct(3, 3)

        def forward(self, x):
            return self.pw(self.pw(x)[:, :, :1])

    with pytest.raises(ValueError, match="inputs of two sizes"):
        convert_to_deployable_form(Twice(), torch.randn(1, 3, 2, 4, 4))


def test_deployable_blocks_export_to_an_onnx_graph_without_3d_ops():
    """The converted stem and a strided SE bottleneck export (legacy tracer) to a graph whose every
    Conv and pool is 2-D and that has no batch norm; onnxruntime computes the eager output."""
    import io

    import numpy as np
    import onnx
    import onnxruntime as ort

    model, x, expected = randomized_with_output(lambda: nn.Sequential(
        EfficientX3d().s1, X3dBottleneckBlock(in_channels=24, mid_channels=54, out_channels=24, spatial_stride=2)),
        (1, 3, 4, 32, 32))
    deployable = convert_to_deployable_form(model, x)
    buffer = io.BytesIO()
    torch.onnx.export(deployable, (x,), buffer, dynamo=False, opset_version=17)
    graph = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(graph)
    ops = {node.op_type for node in graph.graph.node}
    assert "BatchNormalization" not in ops and {"Conv", "Gemm"} <= ops
    ranks = {init.name: len(init.dims) for init in graph.graph.initializer}
    assert {ranks[node.input[1]] for node in graph.graph.node if node.op_type == "Conv"} == {4}
    # squeeze-excitation's global averages: rank-4 pools (shape inference gives their inputs' ranks)
    inferred = onnx.shape_inference.infer_shapes(graph).graph
    rank = {v.name: len(v.type.tensor_type.shape.dim) for v in [*inferred.value_info, *inferred.input]}
    pools = [n for n in graph.graph.node if n.op_type in ("AveragePool", "MaxPool", "GlobalAveragePool")]
    assert pools and {rank[n.input[0]] for n in pools} == {4}
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_mobile_lowering_of_the_model_ir_lowers_the_blocks_in_one_run():
    """`export --to mobile`'s lowering: one run of the passes over EfficientX3d's IR reaches the
    blocks' parts (batch norm folded, no 3-D op left, X3D-XS's 54-wide bottleneck convolutions padded
    to 56 across parts) and the module lowered from it computes the eager model's output, as the
    block-by-block `convert_to_deployable_form` does."""
    from graphspec.export.spec_export import compile_static, mobile_model
    from graphspec.mobile.passes import MOBILE, WeightedGraph, run_passes

    from conftest import SPECS

    compiled, _ = compile_static(SPECS / "models" / "efficient_x3d_xs.yaml", ["inputs.video=[1, 3, 4, 64, 64]"])
    model, x, expected = randomized_with_output(compiled.lower, (1, 3, 4, 64, 64))
    graph = WeightedGraph.of(compiled.graph, model)
    run_passes(graph, MOBILE, verify=True)
    ops = {n.op for n in graph.walk()}
    assert not ops & {"Conv3d", "BatchNorm3d", "AdaptiveAvgPool3d", "SqueezeExcitation"}, ops
    conv_2 = {n.path: n for n in graph.walk()}["s2.pathway0_res0.layers.conv_2.kernel.conv"]
    assert conv_2.op == "FoldedConv2d" and conv_2.args["in_channels"] == 56  # padded from 54
    mobile = graph.lower()
    assert not [type(m) for m in mobile.modules() if isinstance(m, NOT_DEPLOYABLE)]
    with torch.no_grad():
        torch.testing.assert_close(mobile(x), expected, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(convert_to_deployable_form(model, x)(x), expected, rtol=1e-4, atol=1e-5)
    # the export's mobile model holds its blocks in their deployable form: converting one again is refused
    exported, _, _ = mobile_model(compiled, model, (x,))
    with pytest.raises(RuntimeError, match="X3dBottleneckBlock is already in its deployable form"):
        exported.s2.pathway0_res0.convert(x.shape)


def test_the_compiled_model_is_assembled_from_its_parts_as_the_constructor_builds_it():
    import graphspec
    from conftest import SPECS

    compiled = graphspec.compile(SPECS / "models" / "efficient_x3d_s.yaml")
    torch.manual_seed(0)
    eager = EfficientX3d(expansion="S")
    torch.manual_seed(0)
    lowered = compiled.lower()
    assert type(lowered) is EfficientX3d and [type(m) for m in lowered.modules()] == [type(m) for m in eager.modules()]
    assert all(torch.equal(a, b) for a, b in zip(lowered.state_dict().values(), eager.state_dict().values()))
    assert list(lowered.state_dict()) == list(eager.state_dict())
