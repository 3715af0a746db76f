"""ONNX export: the written file runs in onnxruntime and equals the torch model; bad outcomes
write nothing; --weights loads strictly; the CLI reports and exits as documented."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from graphspec.cli.main import main
from graphspec.export import ExportError, WeightsError, export_spec

from export_support import TINY_X3D, X3D_XS, seeded_model
from tiny_specs import model_spec

BAD_MOBILE = model_spec("same_padded", {"video": [1, 2, 3, 6, 6]}, """\
model: {op: Conv3d, in_channels: 2, out_channels: 2, kernel_size: 3, padding: same}
""")


def run_onnx(path, *arrays):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip([i.name for i in sess.get_inputs()], arrays)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "x3d.onnx"
    with pytest.warns(UserWarning, match="RANDOM"):
        report = export_spec(X3D_XS, out, to="onnx", overrides=TINY_X3D, latency_runs=2)
    return out, report


def test_written_file_equals_the_torch_model(exported):
    out, report = exported
    proto = onnx.load(out)
    assert [i.name for i in proto.graph.input] == ["video"] and [o.name for o in proto.graph.output] == ["logits"]
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 4, 32, 32]
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        expected = seeded_model()(x).numpy()
    (got,) = run_onnx(out, x.numpy())
    assert np.abs(got - expected).max() <= 1e-4
    assert report.max_abs_error <= 1e-4 and report.latency_ms > 0 and report.ops["Conv"] > 0
    assert "max abs error" in str(report) and "Conv" in str(report)


def test_mobile_refusal_names_the_ir_path_and_writes_nothing(tmp_path):
    spec = tmp_path / "same.yaml"
    spec.write_text(BAD_MOBILE)
    out = tmp_path / "out.onnx"
    out.write_bytes(b"previous")
    with pytest.warns(UserWarning), pytest.raises(ExportError) as err:
        export_spec(spec, out, to="mobile", latency_runs=0)
    # a 'same'-padded Conv3d has no 2-D rewrite: the op-set check names it (the root module: <graph>)
    assert "Conv (5-D" in str(err.value)
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["out.onnx", "same.yaml"]
    with pytest.warns(UserWarning):
        export_spec(spec, out, to="onnx", latency_runs=0)  # the plain export is fine
    assert onnx.load(out).graph.node[0].op_type == "Conv"


def test_weights_load_strictly_with_a_key_diff(tmp_path):
    model = seeded_model(seed=7)
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"model_state": model.state_dict()}, ckpt)  # PyTorchVideo's released checkpoints wrap it so
    out = tmp_path / "w.onnx"
    report = export_spec(X3D_XS, out, weights=ckpt, overrides=TINY_X3D, latency_runs=0)
    assert report.weights == str(ckpt)
    assert report.warnings == [f"{ckpt}: the state_dict is nested under 'model_state'; read it from there"]
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.abs(run_onnx(out, x.numpy())[0] - expected).max() <= 1e-4
    state = model.state_dict()
    state["extra.weight"] = state.pop("blocks.0.conv.conv_t.weight")
    torch.save(state, ckpt)
    with pytest.raises(WeightsError) as err:
        export_spec(X3D_XS, tmp_path / "bad.onnx", weights=ckpt, overrides=TINY_X3D, latency_runs=0)
    assert "1 missing in the checkpoint" in str(err.value) and "blocks.0.conv.conv_t.weight" in str(err.value)
    assert "extra.weight" in str(err.value) and not (tmp_path / "bad.onnx").exists()


def test_cli_export_and_build_weights(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    sets = [a for s in TINY_X3D for a in ("--set", s)]
    assert main(["export", str(X3D_XS), "--to", "mobile", "-o", str(out), "--latency-runs", "1", *sets]) == 0
    printed = capsys.readouterr().out
    assert "max abs error" in printed and "RANDOM" in printed and out.exists()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(X3D_XS), "-o", str(tmp_path / "x.onnx"), "--weights", str(bad), *sets]) == 2
    assert "bad.pt: not a torch checkpoint: a text file" in capsys.readouterr().err
    assert main(["build", str(X3D_XS), "--weights", str(bad), *sets]) == 2
    assert main(["export", str(X3D_XS), "-o", str(tmp_path / "y.onnx"), "--calibrate", "d.yaml", *sets]) == 2
