from graphspec.mobile.passes import MOBILE, KeepFoldedLayout

import torch

from passes_support import random_inputs, run_verified, weighted
from tiny_specs import model_spec


def _lowered(keep_folded: bool):
    compiled, model, graph = weighted()
    run_verified(graph, [p for p in MOBILE if keep_folded or not isinstance(p, KeepFoldedLayout)])
    return graph


def test_the_whole_mobile_lowering_computes_the_same():
    compiled, model, graph = weighted()
    x = random_inputs(compiled)
    assert run_verified(graph, MOBILE)[-1] is True  # the layout pass changed something
    with torch.no_grad():
        torch.testing.assert_close(graph.lower()(*x), model(*x), atol=1e-5, rtol=1e-4)


def test_consecutive_2d_ops_stay_folded():
    graph = _lowered(keep_folded=True)
    layouts = {n.path: n.args["out_layout"] for n in graph.walk() if "out_layout" in n.args}
    # inside the stages nothing converts back to 5-D: every tap conv and pointwise conv keeps its natural layout
    stage = {p: v for p, v in layouts.items() if p.startswith(("blocks.2", "blocks.3"))}
    assert stage and all(v is None for v in stage.values())
    # the head's classifier (not rewritten) gets a 5-D tensor
    assert layouts["blocks.5.output_pool"] in (None, "ncthw")


def test_without_the_layout_pass_every_rewrite_returns_5d():
    graph = _lowered(keep_folded=False)
    assert all(n.args["out_layout"] == "ncthw" for n in graph.walk() if "out_layout" in n.args)


def test_the_mobile_ir_infers_the_original_output_shape():
    from graphspec.compiler.infer import Inference

    compiled, _, graph = weighted()
    graph = _lowered(keep_folded=True)
    out = Inference().run(graph.roots[0], *compiled.inputs.values())
    assert out == next(iter(compiled.outputs.values()))


#: two spatial convolutions in three steps of a nodes: graph, the ReLU between them a step too
STEPS_SPEC = model_spec("steps", {"video": [2, 3, 4, 8, 8]}, """\
nodes:
  first: {op: Conv3d, in_channels: 3, out_channels: 8, kernel_size: [1, 3, 3], padding: [0, 1, 1], in: video}
  act: {op: ReLU, in: first}
  second: {op: Conv3d, in_channels: 8, out_channels: 8, kernel_size: [1, 3, 3], padding: [0, 1, 1], in: act}
outputs: {out: second}
""")


def test_time_stays_folded_across_the_steps_of_a_graph(tmp_path):
    from passes_support import spec_file

    compiled, model, graph = weighted(spec_file(tmp_path, STEPS_SPEC), [])
    x = random_inputs(compiled)
    run_verified(graph, MOBILE)
    nodes = graph.graph.nodes
    assert nodes["first"].args["out_layout"] is None  # folded: the next step's conv takes it as it is
    assert nodes["second"].args["out_layout"] == "ncthw"  # the graph's output is 5-D
    with torch.no_grad():
        torch.testing.assert_close(graph.lower()(*x), model(*x), atol=1e-5, rtol=1e-4)
