from graphspec.compiler.passes import MOBILE, KeepFoldedLayout

from passes_support import run_and_compare, weighted


def _lowered(keep_folded: bool):
    compiled, model, graph = weighted()
    for p in MOBILE:
        if keep_folded or not isinstance(p, KeepFoldedLayout):
            p.run(graph)
    return graph


def test_the_whole_mobile_lowering_computes_the_same():
    class Lowering:  # the passes before the layout pass, then the layout pass, as one step
        def __init__(self):
            self.done = False

        def run(self, graph):
            if self.done:
                return False
            self.done = True
            return all(p.run(graph) or True for p in MOBILE)

    run_and_compare(Lowering(), atol=1e-5)


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
