"""Exact rewrites of an exported ONNX graph into the forms onnxruntime's int8 path runs fast,
applied before quantization (``int8.quantize``); each leaves every output bit for bit equal.

``hoist_activations``: an activation the quantizer fuses into its convolution (a ReLU becomes the
convolution's output clamp) is fused only when it reads the convolution's output directly. The
mobile lowering's layout changes put reshapes and transposes between them (the stem's temporal
convolution returns to the folded layout before its ReLU), and there the quantizer leaves the
data movement in float with a DequantizeLinear / QuantizeLinear pair around it. An element-wise
activation commutes with pure data movement, so it moves up to the tensor the movement starts
from."""
from __future__ import annotations

from collections import defaultdict

import onnx

#: element-wise activations the quantizer folds into the op before them (their attributes and
#: extra inputs, a Clip's bounds, are per tensor, so moving them keeps their meaning)
FUSED_ACTIVATIONS = frozenset({"Relu", "Clip"})
#: ops that only move elements (one data input, the others static shape/permutation inputs)
DATA_MOVEMENT = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"})


def hoist_activations(proto: onnx.ModelProto) -> int:
    """Move each ``FUSED_ACTIVATIONS`` node that reads a chain of ``DATA_MOVEMENT`` ops (each
    read by nothing else) up to the chain's start, in place; returns how many moved. A chain
    that starts at a graph input or an initializer, or whose start is read by other nodes too
    (they would see the activated values), is left alone."""
    graph = proto.graph
    moved = 0
    while (found := _next_hoist(graph)) is not None:
        activation, chain = found
        _hoist(graph, activation, chain)
        moved += 1
    return moved


def _next_hoist(graph: onnx.GraphProto):
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict[str, int] = defaultdict(int)
    for node in graph.node:
        for name in [*node.input, *_subgraph_inputs(node)]:  # a subgraph reads the outer tensors too
            readers[name] += 1
    for name in (o.name for o in graph.output):
        readers[name] += 1
    for node in graph.node:
        if node.op_type not in FUSED_ACTIVATIONS:
            continue
        chain = []
        value = node.input[0]
        while (source := producer.get(value)) is not None and source.op_type in DATA_MOVEMENT \
                and readers[value] == 1:
            chain.append(source)
            value = source.input[0]
        if chain and value in producer and readers[value] == 1:
            return node, chain[::-1]  # chain from its start
    return None


def _subgraph_inputs(node: onnx.NodeProto) -> list[str]:
    """The tensor names the subgraphs of ``node`` (an If's branches, a Loop's body) read."""
    names = []
    for attribute in node.attribute:
        for sub in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
            names += [name for inner in sub.node for name in [*inner.input, *_subgraph_inputs(inner)]]
    return names


def _hoist(graph: onnx.GraphProto, activation: onnx.NodeProto, chain: list) -> None:
    """``start -> m1 -> ... -> mk -> act -> out`` becomes ``start -> act -> m1 -> ... -> mk -> out``."""
    start, out = chain[0].input[0], activation.output[0]
    activated, last = start + "_activated", chain[-1].output[0]
    activation.input[0], activation.output[0] = start, activated
    chain[0].input[0] = activated
    chain[-1].output[0] = out
    # the activation now reads the chain's start: put it (and what feeds its other inputs, a
    # Clip's bounds) back in a topological order
    _sort_topologically(graph)
    # the tensor the chain's end used to write is gone; drop its (now wrong-shaped) annotations
    kept = [v for v in graph.value_info if v.name not in (last, out)]
    del graph.value_info[:]
    graph.value_info.extend(kept)


def _sort_topologically(graph: onnx.GraphProto) -> None:
    """Reorder ``graph.node`` so each node follows the producers of its inputs, otherwise keeping
    the order it has (a stable topological sort)."""
    producer = {out: i for i, node in enumerate(graph.node) for out in node.output}
    nodes, placed, order = list(graph.node), set(), []

    def place(i: int) -> None:
        if i in placed:
            return
        placed.add(i)
        for name in nodes[i].input:
            if name in producer:
                place(producer[name])
        order.append(nodes[i])

    for i in range(len(nodes)):
        place(i)
    del graph.node[:]
    graph.node.extend(order)
