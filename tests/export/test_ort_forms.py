"""The forms the onnxruntime exports take for its fast kernels: the mobile lowering for onnxruntime
pads the channels of the convolutions it can pad to multiples of 16 (its int8 depthwise kernel's
need), where the ExecuTorch lowering keeps XNNPACK's 8; the outputs stay those of eager; the int8
X3D runs in int8 from its input's quantize to its output's dequantize."""
from __future__ import annotations

import warnings

import onnx
import onnxruntime as ort
import torch

import graphspec
from graphspec.export import export_spec
from graphspec.export.onnx_export import CHANNEL_MULTIPLE
from graphspec.export.spec_export import mobile_model

from export_support import TINY_X3D, X3D_XS, seeded_model


def depthwise_widths(proto: onnx.ModelProto) -> dict[str, int]:
    """The residual blocks' depthwise convolutions (group == channels > 1): name -> channels."""
    inits = {i.name: i for i in proto.graph.initializer}
    widths = {}
    for node in proto.graph.node:
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        if node.op_type == "Conv" and group > 1 and "/res_blocks." in node.name:
            assert inits[node.input[1]].dims[:2] == [group, 1]
            widths[node.name] = group
    return widths


def test_the_onnxruntime_mobile_export_pads_the_blocks_depthwise_convs_to_multiples_of_16(tmp_path):
    out = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights
        report = export_spec(X3D_XS, out, to="mobile", overrides=TINY_X3D, latency_runs=0)
    assert report.max_abs_error <= report.bound  # still the eager model's outputs
    widths = depthwise_widths(onnx.load(out))
    assert CHANNEL_MULTIPLE == 16 and widths and all(w % 16 == 0 for w in widths.values()), widths


def test_the_default_lowering_keeps_xnnpacks_multiple_of_8():
    compiled = graphspec.compile(X3D_XS, TINY_X3D)
    lowered, _, _ = mobile_model(compiled, seeded_model(), ())
    widths = {m.out_channels for m in lowered.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1}
    assert all(w % 8 == 0 for w in widths) and any(w % 16 for w in widths - {8}), widths  # 8: the stem, unpadded


def test_the_int8_mobile_x3d_runs_in_int8_from_the_input_quantize_to_the_output_dequantize(tmp_path):
    out = tmp_path / "int8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights and calibration
        export_spec(X3D_XS, out, to="mobile", int8=True, calib_clips=4, overrides=TINY_X3D, latency_runs=0)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # the QDQ fusions
    options.optimized_model_filepath, options.log_severity_level = str(tmp_path / "optimized.onnx"), 3
    ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    graph = onnx.load(tmp_path / "optimized.onnx").graph
    inits = {i.name for i in graph.initializer}
    boundary = [(n.op_type, n.input[0] if n.op_type == "QuantizeLinear" else n.output[0]) for n in graph.node
                if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in inits]
    # the stem's ReLU after its layout change once left a float island (DequantizeLinear, the
    # reshape in float, QuantizeLinear) there
    assert boundary == [("QuantizeLinear", "video"), ("DequantizeLinear", "logits")]
    assert not {n.op_type for n in graph.node} & {"Conv", "Relu", "Add", "Mul", "Sigmoid"}  # all QLinear
