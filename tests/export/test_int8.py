"""int8: static QDQ with per-channel int8 weights, calibrated on a data spec's clips, judged on
held-out clips; calibrating on random input is loud."""
from __future__ import annotations

import onnx
import pytest
from onnx import numpy_helper

from graphspec.export import ExportError, export_spec
from graphspec.export.spec_export import RANDOM_CALIBRATION

from export_support import TINY_X3D, X3D_XS, data_spec
from tiny_specs import model_spec


def test_int8_mobile_calibrated_on_a_data_spec(tmp_path):
    spec = data_spec(tmp_path)
    out = tmp_path / "int8.onnx"
    with pytest.warns(UserWarning, match="RANDOM"):  # weights, not calibration
        report = export_spec(X3D_XS, out, to="mobile", int8=True, calibrate=spec, calib_clips=4,
                             overrides=TINY_X3D, latency_runs=0)
    assert RANDOM_CALIBRATION not in report.warnings
    quality = report.int8
    assert quality.clips == 4 and "tiny_clips.yaml" in quality.calibration
    assert quality.cosine > 0.9 and 0.0 <= quality.top1_agreement <= 1.0
    proto = onnx.load(out)
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops and not ops & {"ConvInteger", "DynamicQuantizeLinear"}
    inits = {i.name: i for i in proto.graph.initializer}
    # per-channel weights: a Conv's weight DequantizeLinear has one scale per output channel, int8
    weight_dq = [n for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
                 and inits[n.input[0]].data_type == onnx.TensorProto.INT8 and len(inits[n.input[0]].dims) == 4]
    assert weight_dq and all(numpy_helper.to_array(inits[n.input[1]]).size == inits[n.input[0]].dims[0]
                             for n in weight_dq)


def test_random_calibration_warns_loudly(tmp_path):
    with pytest.warns(UserWarning, match="RANDOM input"):
        report = export_spec(X3D_XS, tmp_path / "r.onnx", to="onnx", int8=True, calib_clips=2,
                             overrides=TINY_X3D, latency_runs=0)
    assert RANDOM_CALIBRATION in report.warnings and "random clips" in report.int8.calibration
    assert "!!!" in str(report)


#: two video inputs: random calibration clips would fill the first one only
TWO_INPUTS = model_spec("two_inputs", {"rgb": [1, 3, 4, 16, 16], "flow": [1, 2, 4, 16, 16]}, """\
nodes:
  rgb_stem: {op: create_res_basic_stem, in: rgb, in_channels: 3, out_channels: 8}
  flow_stem: {op: create_res_basic_stem, in: flow, in_channels: 2, out_channels: 8}
  fuse: {op: Concat, dim: 1, in: [rgb_stem, flow_stem]}
outputs: {features: fuse}
""")


def test_int8_of_a_two_input_model_is_refused_clearly_even_with_random_calibration(tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text(TWO_INPUTS)
    out = tmp_path / "two.onnx"
    with pytest.warns(UserWarning, match="RANDOM"), pytest.raises(ExportError, match="one video input; this one has 2"):
        export_spec(spec, out, to="onnx", int8=True, calib_clips=2, latency_runs=0)
    assert not out.exists()
