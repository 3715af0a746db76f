"""The exact ONNX rewrites before int8 quantization: an activation after a layout change moves up
to the convolution, the outputs stay bit for bit equal, and onnxruntime's int8 graph keeps no
float data movement with a DequantizeLinear / QuantizeLinear pair around it."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from graphspec.export import int8 as int8_mod
from graphspec.export.onnx_export import to_onnx
from graphspec.export.onnx_rewrites import hoist_activations


class ConvThenRegroup(nn.Module):
    """The mobile stem's shape: a conv on folded frames, back to [N, C, T, H*W] (reshape,
    transpose, reshape), then the activation; ``tap`` also reads the conv's output."""

    def __init__(self, activation: nn.Module, tap: bool = False) -> None:
        super().__init__()
        self.conv, self.activation, self.tap = nn.Conv2d(3, 8, 3, padding=1), activation, tap
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # [N*T, C, H, W], T = 2
        z = self.activation(y.reshape(1, 2, 8, 36).transpose(1, 2).reshape(1, 8, 2 * 6, 6))
        out = self.head(z)
        return out + self.head(y).reshape(1, 2, 4, 36).transpose(1, 2).reshape(1, 4, 12, 6) if self.tap else out


def export(model: nn.Module) -> tuple[bytes, np.ndarray]:
    torch.manual_seed(0)
    model.eval()
    x = torch.randn(2, 3, 6, 6)
    return to_onnx(model, (x,), ["video"], ["out"]), x.numpy()


def run(data: bytes, x: np.ndarray, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL, save: str | None = None):
    options = ort.SessionOptions()
    options.graph_optimization_level, options.log_severity_level = level, 3
    if save:
        options.optimized_model_filepath = save
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]).run(None, {"video": x})[0]


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.ReLU6(), nn.Hardtanh(-0.5, 0.5)], ids=["relu", "relu6", "hardtanh"])
def test_an_activation_after_a_layout_change_moves_to_its_conv_and_the_outputs_stay_bit_equal(activation):
    data, x = export(ConvThenRegroup(activation))
    proto = onnx.load_from_string(data)
    assert hoist_activations(proto) == 1
    onnx.checker.check_model(proto, full_check=True)  # still topologically sorted, shapes consistent
    producer = {out: n for n in proto.graph.node for out in n.output}
    act = next(n for n in proto.graph.node if n.op_type in ("Relu", "Clip"))
    assert producer[act.input[0]].op_type == "Conv"
    rewritten = proto.SerializeToString()
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        np.testing.assert_array_equal(run(rewritten, x, level), run(data, x, level))


def test_an_activation_is_left_where_the_conv_output_has_another_reader():
    data, _ = export(ConvThenRegroup(nn.ReLU(), tap=True))
    proto = onnx.load_from_string(data)
    assert hoist_activations(proto) == 0  # the tap would read ReLU'd values
    assert proto.SerializeToString() == onnx.load_from_string(data).SerializeToString()


def test_int8_keeps_no_float_layout_change_between_a_dequantize_and_a_quantize(tmp_path):
    data, x = export(ConvThenRegroup(nn.ReLU()))
    rng = np.random.default_rng(1)
    calibration = [{"video": rng.standard_normal(x.shape).astype(np.float32)} for _ in range(4)]
    quantized = int8_mod.quantize(data, calibration)
    optimized = tmp_path / "optimized.onnx"
    run(quantized, x, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, str(optimized))
    graph = onnx.load(optimized).graph
    inits = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    # the input's quantize and the output's dequantize are all the float boundary there is: a
    # ReLU after the reshapes left them in float between a DequantizeLinear and a QuantizeLinear
    float_steps = [n.name for n in graph.node if n.op_type == "DequantizeLinear"
                   and n.input[0] not in inits and n.output[0] not in outputs]
    assert not float_steps


def test_an_activation_is_left_where_a_subgraph_reads_the_conv_output():
    h = onnx.helper
    vi = lambda name, shape: h.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)  # noqa: E731
    branch = h.make_graph([h.make_node("Identity", ["start"], ["seen"])], "then", [], [vi("seen", [2, 3])])
    graph = h.make_graph(
        [h.make_node("Neg", ["x"], ["start"]),
         h.make_node("Reshape", ["start", "shape"], ["flat"]),
         h.make_node("Relu", ["flat"], ["y"]),
         h.make_node("If", ["cond"], ["z"], then_branch=branch, else_branch=branch)],
        "g", [vi("x", [2, 3]), h.make_tensor_value_info("cond", onnx.TensorProto.BOOL, [])],
        [vi("y", [6]), vi("z", [2, 3])],
        [onnx.numpy_helper.from_array(np.array([6], dtype=np.int64), "shape")])
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    before = proto.SerializeToString()
    assert hoist_activations(proto) == 0  # the If's branch reads 'start': it must not see it ReLU'd
    assert proto.SerializeToString() == before
