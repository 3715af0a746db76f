"""The pass manager: a pass that leaves the graph broken is caught and named, the pass list's
order and declared ops are checked, shapes are inferred again after each pass, replacement keeps
the tree's index, and chains (the leaves feeding each other) cross the steps of a ``nodes:`` spec."""
from __future__ import annotations

import pytest
import torch

from graphspec.compiler.ir import Node
from graphspec.mobile.passes import (
    MOBILE, FoldBatchNorm, NodeRewrite, PadChannels, Pass, PassError, PointwiseConvToConv2d, check_passes, run_passes,
)
from graphspec.mobile.passes.base import chains

from passes_support import ops, random_inputs, run_verified, spec_file, weighted


class _Broken(Pass):
    """A pass that breaks the graph in one way (``how``), as a buggy rewrite would."""

    name = "deliberately-broken"

    def __init__(self, how: str) -> None:
        self.how = how

    def run(self, graph) -> bool:
        conv = next(n for n in graph.walk() if n.op == "Conv3d")
        if self.how == "state":  # the module keeps its weight, the state forgets it
            graph.take(conv.path)
        elif self.how == "shape":  # a wider conv whose weights were not widened
            conv.args["out_channels"] += 8
        elif self.how == "shared":  # one node under two parents
            head = next(n for n in graph.walk() if n.op == "ResNetBasicHead")
            head.args["activation"] = next(n for n in graph.walk() if n.op == "ReLU")
        elif self.how == "unknown-op":
            graph.replace(next(n for n in graph.walk() if n.op == "ReLU"), Node("Relu"))
        elif self.how == "path":  # a node given another node's path
            next(n for n in graph.walk() if n.op == "ReLU").path = conv.path
        elif self.how == "output":  # the classifier's activation becomes a reshape to a single value
            head = next(n for n in graph.walk() if n.op == "ResNetBasicHead")
            graph.replace(head, Node("AdaptiveAvgPool3d", {"output_size": 1}))
        return True


@pytest.mark.parametrize("how, message", [
    ("state", "does not lower with its state"),
    ("shape", "does not infer"),
    ("shared", "appears twice"),
    ("unknown-op", "unknown op 'Relu'"),
    ("output", "output logits is"),
    ("path", "the node (ReLU) says its path is blocks.0.conv.conv_t"),
])
def test_a_broken_pass_is_caught_and_named(how, message):
    _, _, graph = weighted()
    with pytest.raises(PassError, match="deliberately-broken") as caught:
        run_passes(graph, [_Broken(how)], verify=True)
    assert message in str(caught.value)


def test_without_verify_a_pass_is_trusted_unless_shapes_fail():
    _, _, graph = weighted()
    assert run_passes(graph, [_Broken("state")]) == [("deliberately-broken", True)]
    with pytest.raises(PassError, match="pass deliberately-broken left a graph that does not infer"):
        run_passes(weighted()[2], [_Broken("shape")])


def test_the_order_each_pass_states_is_checked():
    with pytest.raises(PassError, match="pass pad-channels must run after fold-batch-norm, which comes later"):
        check_passes([PadChannels(), FoldBatchNorm()])
    check_passes([FoldBatchNorm(), PadChannels()])  # either may also run alone
    check_passes([PadChannels()])


def test_mobile_names_every_pass_its_passes_must_run_after():
    names = [p.name for p in MOBILE]
    assert all(name in names[:i] for i, p in enumerate(MOBILE) for name in p.after)
    with pytest.raises(PassError, match="must run after"):
        check_passes(MOBILE[::-1])


def test_declared_ops_and_requirements_must_exist():
    class Typo(NodeRewrite):
        name = "typo"
        matches = frozenset({"Conv3D"})

    class Unmatched(NodeRewrite):
        name = "unmatched"

    class Lost(Pass):
        name = "lost"
        after = ("fold-batchnorm",)

    with pytest.raises(PassError, match="pass typo matches unregistered ops: Conv3D"):
        check_passes([Typo()])
    with pytest.raises(PassError, match="pass unmatched rewrites nodes but declares no ops"):
        check_passes([Unmatched()])
    with pytest.raises(PassError, match="pass lost must run after 'fold-batchnorm', which is no pass"):
        check_passes([Lost()])


def test_a_pass_with_nothing_to_match_is_skipped():
    class Never(NodeRewrite):
        name = "never"
        matches = frozenset({"LSTM"})

        def rewrite(self, graph, node):
            raise AssertionError("no LSTM in X3D")

    assert run_passes(weighted()[2], [Never()], verify=True) == [("never", False)]


def test_shapes_are_inferred_again_after_each_pass():
    """Padding widens the channels: the widened conv's recorded output is 32 channels wide, and
    its reader's recorded input too (once they kept the old width, 24)."""
    _, _, graph = weighted()
    run_verified(graph, MOBILE[:MOBILE.index(next(p for p in MOBILE if isinstance(p, PadChannels)))])
    run_verified(graph, [PadChannels(multiple=16)])
    nodes = {n.path: n for n in graph.walk()}
    block = "blocks.1.res_blocks.0.branch2"
    assert nodes[f"{block}.conv_a"].meta["output"].shape[1] == 32
    assert nodes[f"{block}.conv_c"].meta["inputs"][0].shape[1] == 32


def test_replace_keeps_the_location_drops_derived_facts_and_names_the_children():
    _, _, graph = weighted()
    relu = next(n for n in graph.walk() if n.op == "ReLU")
    relu.meta["source"] = ("model", "activation")
    assert "output" in relu.meta and "inputs" in relu.meta
    new = graph.replace(relu, Node("Sequential", {"modules": [Node("Identity"), Node("ReLU")]}))
    assert new.path == relu.path and new.meta["source"] == ("model", "activation")
    assert not {"output", "inputs", "macs", "params"} & new.meta.keys()  # facts about the old node
    assert [c.path for c in new.args["modules"]] == [f"{relu.path}.0", f"{relu.path}.1"]
    assert graph.contains(new.args["modules"][1]) and not graph.contains(relu)
    # the index follows: the inner node can be replaced in turn, inside its list slot
    graph.replace(new.args["modules"][1], Node("ReLU6"))
    assert [c.op for c in new.args["modules"]] == ["Identity", "ReLU6"]
    with pytest.raises(KeyError, match="node is not in the graph"):
        graph.replace(relu, Node("ReLU"))


#: a conv and its batch norm in two steps of a nodes: graph; ``mirror`` reads the conv too when shared
STEPS_SPEC = """\
graphspec: 1
kind: model
name: steps
inputs: {{video: [1, 2, 3, 6, 6]}}
nodes:
  conv: {{op: Conv3d, in_channels: 2, out_channels: 4, kernel_size: 1, in: video}}
  norm: {{op: BatchNorm3d, num_features: 4, in: conv}}
  act: {{op: ReLU, in: norm}}
{extra}outputs: {{{outputs}}}
"""


def _steps(tmp_path, shared: bool):
    extra = "  mirror: {op: Identity, in: conv}\n" if shared else ""
    outputs = "out: act, mirror: mirror" if shared else "out: act"
    compiled, model, graph = weighted(spec_file(tmp_path, STEPS_SPEC.format(extra=extra, outputs=outputs)), [])
    x = random_inputs(compiled)
    with torch.no_grad():
        before = model(*x)
        run_verified(graph, [FoldBatchNorm(), PointwiseConvToConv2d()])
        torch.testing.assert_close(graph.lower()(*x), before, atol=1e-5, rtol=1e-4)
    return graph


def test_batch_norm_folds_into_the_conv_of_the_step_before(tmp_path):
    graph = _steps(tmp_path, shared=False)
    assert [run for run in (list(n.op for n in r) for r in chains(graph))] == [["FoldedConv2d", "Identity", "ReLU"]]
    assert graph.graph.nodes["norm"].op == "Identity" and graph.graph.nodes["conv"].args["bias"] is True


def test_a_step_read_twice_ends_its_chain(tmp_path):
    graph = _steps(tmp_path, shared=True)  # folding would change what `mirror` reads
    assert graph.graph.nodes["norm"].op == "ChannelAffine"
    assert "Identity" in ops(graph) and len(list(chains(graph))) == 3
