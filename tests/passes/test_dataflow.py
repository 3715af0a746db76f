"""The dataflow a container's op declares (``compiler.dataflow``, read by the shape inference and
the passes' chains) is what its module's forward does: for every such container in the zoo
models, the lowered children run in the declared order (forward hooks on the meta device)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import graphspec
from graphspec.compiler.dataflow import InSequence, Residual, dataflow, slot_nodes

ZOO = sorted((Path(__file__).resolve().parents[2] / "specs" / "models").glob("*.yaml"))


def _call_order(compiled) -> list[str]:
    with torch.device("meta"):
        model = compiled.lower().eval()
    order: list[str] = []
    for name, module in model.named_modules():
        module.register_forward_pre_hook(lambda m, args, name=name: order.append(name))
    def empty(value):  # a symbolic dim (the batch, B) as 1
        return torch.empty([d if isinstance(d, int) else 1 for d in value.shape], device="meta")

    inputs = [[empty(v) for v in value] if isinstance(value, list) else empty(value) for value in compiled.inputs.values()]
    with torch.no_grad():
        model(*inputs)
    return order


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_declared_dataflow_is_the_forward_order(path):
    compiled = graphspec.compile(path)
    order = _call_order(compiled)
    first = {name: i for i, name in reversed(list(enumerate(order)))}
    checked = 0
    for node in compiled.nodes:
        flow = dataflow(node)
        if isinstance(flow, InSequence):
            runs = [first[c.path] for c in slot_nodes(node, flow.slots_of(node))]
            assert runs == sorted(runs), f"{node.op} at {node.shown}: children ran in another order"
        elif isinstance(flow, Residual):
            sides = [first[c.path] for c in slot_nodes(node, flow.shortcut + flow.branch)]
            after = [first[c.path] for c in slot_nodes(node, flow.after)]
            assert not after or max(sides) < min(after), f"{node.op} at {node.shown}: ran after-slots early"
        else:
            continue
        checked += 1
    assert checked, "no container declares its dataflow in this model"
