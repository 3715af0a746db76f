"""The mobile op-set check: what XNNPACK cannot run must not be in a "mobile" graph. Each
offending ONNX node is named by the IR path of the module it came from."""
from __future__ import annotations

from dataclasses import dataclass

import onnx

#: ops refused anywhere: eval-time no-ops left in, unfolded normalization, dynamic quantization
FORBIDDEN = {
    "BatchNormalization": "batch norm not folded",
    "Dropout": "dropout left in",
    "ConvInteger": "dynamic quantization (not an XNNPACK path)",
    "DynamicQuantizeLinear": "dynamic quantization (not an XNNPACK path)",
}
#: ops refused on 5-D inputs: XNNPACK has no 3-D convolution or pooling
NO_5D = frozenset({"Conv", "ConvTranspose", "QLinearConv", "MaxPool", "AveragePool", "LpPool",
                   "GlobalAveragePool", "GlobalMaxPool"})


@dataclass
class Offence:
    node: str  # ONNX node name
    op: str
    path: str  # IR path of the module it came from ('' when unknown)
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<graph>'}: {self.op} ({self.reason}) [onnx node {self.node}]"


def module_path(node_name: str, paths: set[str]) -> str:
    """The IR path of the module an ONNX node (named ``/blocks.1/conv/Conv`` by the exporter)
    came from: the longest scope prefix that is a known path."""
    scope = [part for part in node_name.strip("/").split("/")[:-1] if part]
    for end in range(len(scope), 0, -1):
        candidate = ".".join(scope[:end])
        if candidate in paths:
            return candidate
    return ".".join(scope)


def _ranks(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    ranks = {}
    for info in [*g.input, *g.value_info, *g.output]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
            ranks[info.name] = len(info.type.tensor_type.shape.dim)
    for init in g.initializer:
        ranks[init.name] = len(init.dims)
    return ranks


def symbolic_values(model: onnx.ModelProto) -> list[str]:
    """Graph inputs and outputs with a dimension that is not a fixed number."""
    found = []
    for info in [*model.graph.input, *model.graph.output]:
        dims = info.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            found.append(f"{info.name}: [{', '.join(d.dim_param or '?' if not d.HasField('dim_value') else str(d.dim_value) for d in dims)}]")
    return found


def check_mobile_opset(model: onnx.ModelProto, paths: set[str]) -> list[Offence]:
    ranks = _ranks(model)
    found: list[Offence] = []
    for node in model.graph.node:
        reason = FORBIDDEN.get(node.op_type)
        if reason is None and node.op_type in NO_5D and node.input and ranks.get(node.input[0]) == 5:
            reason = "5-D: XNNPACK has no 3-D kernels"
        if reason:
            found.append(Offence(node.name, node.op_type, module_path(node.name, paths), reason))
    for value in symbolic_values(model):
        found.append(Offence("", "graph", "", f"symbolic dimension in {value}"))
    return found
