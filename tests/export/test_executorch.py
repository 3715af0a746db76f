"""ExecuTorch: the mobile X3D lowered with the XNNPACK delegate leaves no convolution, pooling,
linear or normalization outside it, and the .pte runs in ExecuTorch's runtime like eager."""
from __future__ import annotations

import torch

from graphspec.export import export_spec
from graphspec.export.executorch_export import run_program

from export_support import TINY_X3D, X3D_XS, seeded_model

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
