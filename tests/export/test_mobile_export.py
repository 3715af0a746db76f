"""Mobile export: the op-set check on real graphs, names mapped back to IR paths, and every
zoo model's mobile lowering (meta device: shapes only, no 3-D op left in the IR)."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch

from graphspec.mobile.passes import MOBILE, WeightedGraph, run_passes
from graphspec.export.onnx_export import to_onnx
from graphspec.export.opset import check_mobile_opset, module_path
from graphspec.export.spec_export import compile_static, example_inputs
from graphspec.mobile.modules import to_layout

from export_support import ROOT, TINY_X3D, X3D_XS, seeded_model

ZOO = sorted((ROOT / "specs" / "models").glob("*.yaml"))
#: IR ops with no XNNPACK kernel (what the op-set check refuses in the ONNX graph)
THREE_D = {"Conv3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "BatchNorm3d", "Dropout"}


def test_plain_export_fails_the_check_at_the_conv_paths():
    compiled, _ = compile_static(X3D_XS, TINY_X3D)
    model = seeded_model()
    proto = onnx.load_from_string(to_onnx(model, example_inputs(compiled), ["video"], ["logits"]))
    offences = check_mobile_opset(proto, {n.path for n in compiled.nodes})
    paths = {o.path for o in offences}
    depthwise = {n.path for n in compiled.nodes if n.op == "Conv3d" and n.args.get("groups", 1) > 1}
    assert depthwise and depthwise <= paths and all("5-D" in o.reason for o in offences if o.op == "Conv")


def test_module_path_takes_the_longest_known_scope():
    paths = {"blocks.1", "blocks.1.res_blocks.0.branch2.conv_b"}
    assert module_path("/blocks.1/res_blocks.0/branch2/conv_b/taps.0/Conv", paths) == "blocks.1.res_blocks.0.branch2.conv_b"
    assert module_path("/blocks.1/Add", paths) == "blocks.1"


def test_layout_conversion_round_trips():
    x = torch.randn(2, 3, 4, 5, 6)
    folded = to_layout(x, "folded", 4)
    assert folded.shape == (8, 3, 5, 6) and torch.equal(folded[5], x[1, :, 1])
    assert torch.equal(to_layout(folded, "ncthw", 4), x)


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_every_zoo_model_lowers_to_2d_ops(path: Path):
    compiled, _ = compile_static(path, [])
    with torch.device("meta"):
        model = compiled.lower()
    graph = WeightedGraph.of(compiled.graph, model)
    run_passes(graph, MOBILE, verify=True)  # the manager checks the graph after every pass
    # the Accelerator's efficient blocks too: their convolutions, norms and pools are IR children
    left = sorted({f"{n.op} at {n.path}" for n in graph.walk() if n.op in THREE_D})
    assert left == [], left
    mobile = graph.lower("meta")
    meta = [[torch.empty(v.shape, device="meta") for v in value] if isinstance(value, list)
            else torch.empty(value.shape, device="meta") for value in compiled.inputs.values()]
    with torch.no_grad():
        out = mobile(*meta)
    expected = next(iter(compiled.outputs.values()))
    assert tuple(out.shape) == tuple(expected.shape)


class _SharesANode:
    """A buggy pass: the head's activation becomes the stem's ReLU node (one node, two parents)."""

    name, matches, after = "shares-a-node", frozenset({"ReLU"}), ()

    def run(self, graph) -> bool:
        head = next(n for n in graph.walk() if n.op == "ResNetBasicHead")
        head.args["activation"] = next(n for n in graph.walk() if n.op == "ReLU")
        return True


def test_cli_verify_passes_names_the_pass_that_broke_the_graph(tmp_path, capsys, monkeypatch):
    import graphspec.mobile.passes as passes
    from graphspec.cli.main import main

    sets = [a for s in TINY_X3D for a in ("--set", s)]
    argv = ["export", str(X3D_XS), "--to", "mobile", "--latency-runs", "0", "--verify-passes", *sets]
    assert main([*argv, "-o", str(tmp_path / "ok.onnx")]) == 0 and (tmp_path / "ok.onnx").exists()
    monkeypatch.setattr(passes, "MOBILE", (*passes.MOBILE, _SharesANode()))
    assert main([*argv, "-o", str(tmp_path / "broken.onnx")]) == 3
    err = capsys.readouterr().err
    assert "PassError: pass shares-a-node left a broken graph" in err and not (tmp_path / "broken.onnx").exists()
    assert main(["export", str(X3D_XS), "--verify-passes", "-o", str(tmp_path / "x.onnx"), *sets]) == 2
    assert "--to onnx runs none" in capsys.readouterr().err


def test_verify_passes_from_python_is_a_bool_for_a_lowering_target(tmp_path):
    from graphspec.export import export_spec

    with pytest.raises(ValueError, match="verify_passes checks the mobile lowering; to='onnx' runs no passes"):
        export_spec(X3D_XS, tmp_path / "x.onnx", verify_passes=True)
    with pytest.raises(TypeError, match="verify_passes must be True or False"):
        export_spec(X3D_XS, tmp_path / "x.onnx", to="mobile", verify_passes="yes")
    assert not list(tmp_path.iterdir())
