"""The forms the onnxruntime exports take for its fast kernels: for int8 the mobile lowering pads
the channels of the convolutions it can pad to multiples of 16 (its int8 depthwise kernel's
need), where fp32 (and ExecuTorch) keep pad-channels' 8; the int8 X3D runs in int8 from its
input's quantize to its output's dequantize."""
from __future__ import annotations

import warnings

import onnx
import onnxruntime as ort
import pytest

from graphspec.export import export_spec
from graphspec.export import int8 as int8_mod

from export_support import TINY_X3D, X3D_XS


def depthwise_widths(proto: onnx.ModelProto) -> dict[str, int]:
    """The residual blocks' depthwise convolutions (1 input channel per group): name -> channels."""
    weights = {i.name: list(i.dims) for i in proto.graph.initializer}
    weights.update({n.output[0]: weights[n.input[0]] for n in proto.graph.node  # int8: the weight's dequantize
                    if n.op_type == "DequantizeLinear" and n.input[0] in weights})
    widths = {}
    for node in proto.graph.node:
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        if node.op_type == "Conv" and group > 1 and "/res_blocks." in node.name:
            assert weights[node.input[1]][:2] == [group, 1]
            widths[node.name] = group
    return widths


def export(tmp_path, **options):
    out = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights (and calibration)
        report = export_spec(X3D_XS, out, to="mobile", overrides=TINY_X3D, latency_runs=0, **options)
    return report, out


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory):
    return export(tmp_path_factory.mktemp("int8"), int8=True, calib_clips=4)


def test_the_int8_mobile_export_pads_the_blocks_depthwise_convs_to_multiples_of_16(int8_export):
    report, out = int8_export
    assert report.int8.cosine >= int8_mod.DEFAULT_MIN_COSINE
    widths = depthwise_widths(onnx.load(out))
    assert int8_mod.CHANNEL_MULTIPLE == 16 and widths and all(w % 16 == 0 for w in widths.values()), widths


def test_the_fp32_mobile_export_keeps_multiples_of_8(tmp_path):
    report, out = export(tmp_path)
    assert report.max_abs_error <= report.bound  # the eager model's outputs
    widths = set(depthwise_widths(onnx.load(out)).values())
    assert all(w % 8 == 0 for w in widths) and any(w % 16 for w in widths), widths


def test_the_int8_mobile_x3d_runs_in_int8_from_the_input_quantize_to_the_output_dequantize(int8_export, tmp_path):
    _, out = int8_export
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
