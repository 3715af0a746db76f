"""Helpers of the pass tests: small real models from the zoo specs (with overrides), their batch
norms given non-trivial statistics (so folding is exercised), and a before/after comparison."""
from __future__ import annotations

import functools
from pathlib import Path

import torch

import graphspec
from graphspec.mobile.passes import WeightedGraph, run_passes

from tiny_specs import model_spec

SPECS = Path(__file__).resolve().parents[2] / "specs" / "models"
#: a narrow, shallow X3D-XS at 32x32 (its head pool then covers the whole 4x1x1 map)
TINY_X3D = ["inputs.video=[1, 3, 4, 32, 32]", "model.input_crop_size=32", "model.width_factor=0.5",
            "model.depth_factor=0.5", "model.head_dim_out=32", "model.model_num_class=10"]


def randomize_norms(model: torch.nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)


#: an explicit graph: a ConvReduce3D (its Conv3d modules are not IR nodes), then a batch norm
#: that therefore follows no Conv3d node, then a kt x kh x kw convolution with temporal stride
BRANCHES_SPEC = model_spec("branches", {"video": [1, 2, 5, 9, 9]}, """\
nodes:
  reduce: {op: ConvReduce3D, in_channels: 2, out_channels: 4, kernel_size: [[3, 1, 1], [1, 3, 3]],
           padding: [[1, 0, 0], [0, 1, 1]], in: video}
  norm: {op: BatchNorm3d, num_features: 4, in: reduce}
  conv: {op: Conv3d, in_channels: 4, out_channels: 6, kernel_size: [3, 3, 3], stride: [2, 1, 2],
         padding: [1, 1, 0], in: norm}
outputs: {out: conv}
""")


def spec_file(tmp_path, text: str = BRANCHES_SPEC) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


@functools.lru_cache(maxsize=None)
def _compiled(spec: str | Path, overrides: tuple):
    compiled = graphspec.compile(spec if isinstance(spec, Path) else SPECS / f"{spec}.yaml", list(overrides))
    assert not [d for d in compiled.diagnostics if d.severity == "error" and d.code != "expect"]
    torch.manual_seed(0)
    model = compiled.lower().eval()
    randomize_norms(model)
    return compiled, model


def weighted(spec: str | Path = "x3d_xs", overrides=TINY_X3D):
    """``(compiled, eval model, WeightedGraph)`` of a zoo spec (by name) or a spec file; compiled
    once per process, each call gets its own graph to rewrite."""
    compiled, model = _compiled(spec, tuple(overrides))
    return compiled, model, WeightedGraph.of(compiled.graph, model)


def random_inputs(compiled, seed: int = 1) -> tuple:
    gen = torch.Generator().manual_seed(seed)

    def make(value):
        return [make(v) for v in value] if isinstance(value, list) else torch.randn(*value.shape, generator=gen)

    return tuple(make(v) for v in compiled.inputs.values())


def run_verified(graph, passes) -> list[bool]:
    """Run ``passes`` through the pass manager, verifying the graph after each; whether each changed it."""
    return [changed for _, changed in run_passes(graph, passes, verify=True)]


def run_and_compare(pass_, spec: str = "x3d_xs", overrides=TINY_X3D, atol: float = 1e-5):
    """Run one pass on a fresh model (verified by the pass manager); assert it changed the graph,
    computes the same (lowered before vs after, random input) and reports no change when run
    again. Returns the graph."""
    compiled, model, graph = weighted(spec, overrides)
    x = random_inputs(compiled)
    with torch.no_grad():
        before = model(*x)
        assert run_verified(graph, [pass_]) == [True]
        after = graph.lower()(*x)
    torch.testing.assert_close(after, before, atol=atol, rtol=1e-4)
    assert run_verified(graph, [pass_]) == [False]
    return graph


def ops(graph) -> list[str]:
    return [n.op for n in graph.walk()]
