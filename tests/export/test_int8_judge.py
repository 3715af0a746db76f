"""The int8 judge of both flows (onnxruntime QDQ, ExecuTorch PT2E): only a softmax that is the
model's output activation is stripped (an internal one is part of the net), and an int8 model
below ``min_cosine`` / ``--min-cosine`` to fp32 is refused with nothing written. Tiny nets keep
the ExecuTorch lowerings to seconds."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from graphspec.cli.main import main
from graphspec.export import ExportError, export_spec
from graphspec.export import executorch_export, int8
from graphspec.export.executorch_export import run_program

from export_support import TINY_X3D, X3D_XS, seeded_model
from tiny_specs import model_spec

INPUT = [1, 3, 2, 8, 8]
#: a softmax over channels gates the features: internal, the logits come after it
GATED = model_spec("gated", {"video": INPUT}, """\
nodes:
  conv: {op: Conv3d, in: video, in_channels: 3, out_channels: 8, kernel_size: 1}
  gate: {op: Softmax, in: conv, dim: 1}
  gated: {op: Multiply, in: [conv, gate]}
  pool: {op: AdaptiveAvgPool3dOutSize1, in: gated}
  flat: {op: Flatten, in: pool, start_dim: 1}
  logits: {op: Linear, in: flat, in_features: 8, out_features: 5}
outputs: {logits: logits}
""")
CALIBRATE, HELD_OUT = 2, 4  # export_spec holds out at least 4 clips after the calibration ones
SUFFIX = {"onnx": ".onnx", "executorch": ".pte"}


@pytest.fixture
def gated(tmp_path):
    spec = tmp_path / "gated.yaml"
    spec.write_text(GATED)
    return spec


def clips(seed: int = 3) -> torch.Tensor:
    return torch.randn(CALIBRATE + HELD_OUT, *INPUT[1:], generator=torch.Generator().manual_seed(seed))


def int8_outputs(path, to: str, clip: torch.Tensor) -> np.ndarray:
    if to == "onnx":
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"video": clip.numpy()})[0]
    outputs, program = run_program(path.read_bytes(), (clip,))
    return outputs[0].numpy()


def model_input(spec, overrides) -> list[int]:
    import graphspec

    return [int(d) for d in graphspec.compile(spec, list(overrides)).inputs["video"].shape]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("to", ["onnx", "executorch"])
def test_a_model_whose_softmax_is_internal_is_judged_on_its_outputs_unchanged(gated, tmp_path, to):
    out = tmp_path / f"gated{SUFFIX[to]}"
    data = clips()
    with pytest.warns(UserWarning, match="RANDOM"):  # the weights
        report = export_spec(gated, out, to=to, int8=True, calibrate=[data], calib_clips=CALIBRATE,
                             latency_runs=0, min_cosine=-1.0)
    model = seeded_model(gated, overrides=[])
    expected = []
    with torch.no_grad():
        for clip in data[CALIBRATE:].split(1):
            expected.append(cosine(model(clip).numpy(), int8_outputs(out, to, clip)))
    assert report.int8.clips == HELD_OUT
    assert report.int8.cosine == pytest.approx(float(np.mean(expected)), abs=1e-6)


@pytest.mark.parametrize("to", ["onnx", "executorch"])
def test_int8_below_min_cosine_is_refused_and_nothing_written(gated, tmp_path, to):
    out = tmp_path / f"gated{SUFFIX[to]}"
    with pytest.warns(UserWarning, match="RANDOM"), \
            pytest.raises(ExportError, match=r"cosine 0\.\d{6} on 4 held-out clips is below --min-cosine 1 "):
        export_spec(gated, out, to=to, int8=True, calib_clips=CALIBRATE, latency_runs=0, min_cosine=1.0)
    assert list(tmp_path.iterdir()) == [gated]


@pytest.mark.parametrize("to", ["onnx", "executorch"])
def test_cli_min_cosine_exits_1_and_writes_nothing(gated, tmp_path, capsys, to):
    out = tmp_path / "out" / f"gated{SUFFIX[to]}"
    out.parent.mkdir()
    assert main(["export", str(gated), "--to", to, "--int8", "--calib-clips", str(CALIBRATE), "--latency-runs", "0",
                 "--min-cosine", "1", "-o", str(out)]) == 1
    assert "is below --min-cosine 1" in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--int8", "--min-cosine", "1.5"], "--min-cosine: min_cosine must be a number in [-1, 1]"),
    (["--int8", "--min-cosine", "nan"], "--min-cosine: min_cosine must be a number in [-1, 1]"),
    (["--min-cosine", "0.9"], "--min-cosine judges --int8; add --int8"),
])
def test_cli_unusable_min_cosine_exits_2(gated, tmp_path, capsys, argv, message):
    assert main(["export", str(gated), "-o", str(tmp_path / "g.onnx"), *argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "g.onnx").exists()


def test_python_api_refuses_a_minimum_that_is_not_a_cosine(gated, tmp_path):
    with pytest.raises(ValueError, match=r"min_cosine must be a number in \[-1, 1\]"):
        export_spec(gated, tmp_path / "g.onnx", int8=True, min_cosine=2)


@pytest.mark.parametrize("spec, overrides, head_softmax", [(X3D_XS, TINY_X3D, True), (None, [], False)])
def test_only_a_softmax_pooled_and_reshaped_into_the_output_is_the_output_activation(gated, tmp_path, spec,
                                                                                    overrides, head_softmax):
    """PyTorchVideo's head applies its softmax, then pools (output_pool) and flattens the
    probabilities: that softmax is the one stripped; the gate's is not, in ONNX and in torch.export."""
    spec = spec or gated
    out = tmp_path / "fp32.onnx"
    with pytest.warns(UserWarning, match="RANDOM"):
        export_spec(spec, out, overrides=overrides, latency_runs=0)
    graph = onnx.load(out).graph
    softmaxes = [n for n in graph.node if n.op_type == "Softmax"]
    assert len(softmaxes) == 1
    assert int8.output_softmax(graph) is (softmaxes[0] if head_softmax else None)
    model = seeded_model(spec, overrides=overrides)
    exported = torch.export.export(model, (torch.randn(*model_input(spec, overrides)),), strict=False).module()
    assert executorch_export.output_softmax(exported.graph) == (0 if head_softmax else None)
