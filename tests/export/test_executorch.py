"""ExecuTorch: the mobile X3D lowered with the XNNPACK delegate leaves no convolution, pooling,
linear or normalization outside it, and the .pte runs in ExecuTorch's runtime like eager; its
int8 program (PT2E) stays within cosine 0.99 of fp32's logits."""
from __future__ import annotations

import pytest
import torch

from graphspec.export import export_spec
from graphspec.export.executorch_export import run_program
from graphspec.cli.main import main
from graphspec.export.spec_export import RANDOM_CALIBRATION

from export_support import TINY_X3D, X3D_XS, data_spec, seeded_model

#: op name fragments that must all run inside the delegate
DELEGATED = ("conv", "pool", "linear", "addmm", "mm", "norm", "mean")


def test_x3d_runs_on_xnnpack_with_eager_parity(tmp_path):
    out = tmp_path / "x3d.pte"
    report = export_spec(X3D_XS, out, to="executorch", overrides=TINY_X3D, latency_runs=1)
    assert report.outside_delegate is not None
    outside = [entry.split(" x")[0] for entry in report.outside_delegate]
    assert not [op for op in outside if any(word in op for word in DELEGATED)], outside
    assert report.ops.get("executorch_call_delegate", 0) >= 1
    buffer = out.read_bytes()
    x = torch.randn(1, 3, 4, 32, 32)
    outputs, program = run_program(buffer, (x,))  # `program` reads `buffer` in place: both stay alive here
    with torch.no_grad():
        expected = seeded_model()(x)
    torch.testing.assert_close(outputs[0], expected, atol=1e-4, rtol=1e-4)
    del program


#: a zoo X3D-XS at a small input (full width: the int8 quality is the real model's)
SMALL_X3D_XS = ["inputs.video=[1, 3, 4, 64, 64]", "model.input_crop_size=64"]


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0))


def test_int8_program_runs_close_to_fp32_with_convolutions_delegated(tmp_path):
    out = tmp_path / "x3d_int8.pte"
    with pytest.warns(UserWarning, match="RANDOM input"):
        report = export_spec(X3D_XS, out, to="executorch", int8=True, calib_clips=8, overrides=SMALL_X3D_XS,
                             latency_runs=0)
    assert RANDOM_CALIBRATION in report.warnings and "!!!" in str(report)
    quality = report.int8
    assert quality.clips == 4 and quality.cosine >= 0.99, quality
    outside = [entry.split(" x")[0] for entry in report.outside_delegate]
    assert not [op for op in outside if any(word in op for word in DELEGATED)], outside
    ops = set(report.ops)  # the quantized graph's int8 ops went into the delegate with the convolutions
    assert not [op for op in ops if "quantize" in op], ops
    x = torch.randn(1, 3, 4, 64, 64, generator=torch.Generator().manual_seed(5))
    outputs, program = run_program(out.read_bytes(), (x,))
    model = seeded_model(overrides=SMALL_X3D_XS)
    with torch.no_grad():
        expected = model(x)
        model.blocks[-1].activation = torch.nn.Identity()  # the logits: softmax hides int8's error
        logits = model(x)
    assert outputs[0].shape == expected.shape
    assert torch.allclose(outputs[0].sum(1), torch.ones(1), atol=1e-3)  # still the probabilities
    # the program's probabilities are the softmax of logits close to fp32's
    assert _cosine(torch.log(outputs[0]) - torch.log(outputs[0]).mean(), logits - logits.mean()) >= 0.99
    del program


def test_cli_int8_executorch_calibrated_on_a_data_spec(tmp_path, capsys):
    spec = data_spec(tmp_path / "data")  # 8 clips of 32x32: 4 calibrate, 4 are held out
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "tiny_int8.pte"
    sets = [a for s in TINY_X3D for a in ("--set", s)]
    assert main(["export", str(X3D_XS), "--to", "executorch", "--int8", "--calibrate", str(spec),
                 "--calib-clips", "4", "-o", str(out), "--latency-runs", "1", *sets]) == 0
    printed = capsys.readouterr().out
    assert "int8 vs fp32 on 4 held-out clips" in printed and "tiny_clips.yaml" in printed
    assert "RANDOM input" not in printed and "max abs error" not in printed
    assert "ops outside the XNNPACK delegate" in printed and "latency (ExecuTorch" in printed
    assert [p.name for p in out_dir.iterdir()] == [out.name]  # written atomically: no temporary left beside it
    x = torch.randn(1, 3, 4, 32, 32)
    outputs, program = run_program(out.read_bytes(), (x,))
    assert outputs[0].shape == (1, 10) and torch.allclose(outputs[0].sum(1), torch.ones(1), atol=1e-3)
    del program


def test_squeeze_excitation_on_two_folded_clips_stays_inside_the_delegate():
    from graphspec.export.executorch_export import lower_to_xnnpack
    from graphspec.mobile.modules import SqueezeExcitationGemm

    se = SqueezeExcitationGemm(8, 4, frames=4).eval()
    x = torch.randn(2 * 4, 8, 6, 6)  # two clips of 4 frames, folded: the scale repeats per frame
    manager, outside, _ = lower_to_xnnpack(se, (x,))
    assert not outside, outside
    outputs, program = run_program(manager.buffer, (x,))
    clips = x.reshape(2, 4, 8, 6, 6)
    expected = clips * se.block(clips.mean((1, 3, 4)))[:, None, :, None, None]  # per clip, per channel
    torch.testing.assert_close(outputs[0], expected.reshape(8, 8, 6, 6))
    del program
