"""The mobile graph through ``torch.export`` to an ExecuTorch program with the XNNPACK delegate
(the extra ``graphspec[executorch]``), run with ExecuTorch's Python runtime for parity; fp32, or
int8 through PT2E (XNNPACK's quantizer: per-channel symmetric int8 weights, int8 activations)
calibrated on clips and judged against the fp32 eager model on held-out clips."""
from __future__ import annotations

import copy
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from . import int8 as int8_mod
from .onnx_export import THREADS, ExportError, flatten, parity

#: graph nodes that are plumbing, not compute left outside the delegate
_PLUMBING = ("executorch_call_delegate", "getitem", "alloc")


@dataclass
class Program:
    buffer: bytes
    outside: list[str]  # ops left outside the XNNPACK delegate, "name xN"
    ops: dict[str, int]  # the edge program's ops (delegate calls included)
    max_abs_error: float | None  # None for int8: judged by cosine/top-1 instead
    bound: float | None
    latency_ms: float | None


def lower_to_xnnpack(model: nn.Module, args: tuple):
    """``(executorch program manager, ops outside the delegate, op counts)`` of ``model`` lowered
    with the XNNPACK partitioner."""
    edge = _edge(model, args)
    outside, ops = _delegation(edge)
    return edge.to_executorch(), outside, ops


def _delegation(edge) -> tuple[Counter, Counter]:
    """``(ops outside the delegate, op counts)`` of a lowered edge program; read before
    ``to_executorch``, which plans memory into the graph."""
    lowered = edge.exported_program()
    return ops_outside(lowered), op_counts(lowered)


def _edge(model: nn.Module, args: tuple):
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower
    except ImportError as exc:
        raise ImportError(f"ExecuTorch is not installed ({exc.name})") from None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exported = torch.export.export(model, args, strict=False)
        return to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])


def ops_outside(edge_program) -> Counter:
    """Edge ops of the lowered program that run outside the delegate (on ExecuTorch's portable kernels)."""
    found: Counter = Counter()
    for node in edge_program.graph.nodes:
        if node.op == "call_function":
            name = getattr(node.target, "__name__", str(node.target))
            if not any(p in name for p in _PLUMBING):
                found[name] += 1
    return found


def op_counts(edge_program) -> Counter:
    return Counter(getattr(n.target, "__name__", str(n.target)) for n in edge_program.graph.nodes
                   if n.op == "call_function")


def run_program(buffer: bytes, args: tuple) -> tuple[list[torch.Tensor], object]:
    """Run the program once; returns its outputs and the loaded module (which reads ``buffer``
    in place: the caller keeps both alive together)."""
    from executorch.extension.pybindings.portable_lib import _load_for_executorch_from_buffer, _unsafe_reset_threadpool

    _unsafe_reset_threadpool(THREADS)  # XNNPACK's pool, like onnxruntime's and torch's elsewhere
    module = _load_for_executorch_from_buffer(buffer)
    return list(module.forward(tuple(flatten(args)))), module


def to_executorch(model: nn.Module, args: tuple, reference: Sequence[torch.Tensor], latency_runs: int) -> Program:
    manager, outside, ops = lower_to_xnnpack(model, args)
    buffer = manager.buffer
    outputs, module = run_program(buffer, args)
    error, bound = parity(outputs, reference, "the ExecuTorch program")
    if not error <= bound:
        raise ExportError(f"ExecuTorch disagrees with torch: max abs error {error:.3g} > {bound:.3g}")
    return Program(buffer, _listed(outside), dict(ops), error, bound, _latency(module, args, latency_runs))


def _listed(outside: Counter) -> list[str]:
    return [f"{name} x{n}" for name, n in sorted(outside.items())]


def _latency(module, args: tuple, runs: int) -> float | None:
    if not runs:
        return None
    inputs = tuple(flatten(args))
    start = time.perf_counter()
    for _ in range(runs):
        module.forward(inputs)
    return (time.perf_counter() - start) / runs * 1000


# ---- int8 (PT2E) ---------------------------------------------------------------------------------
def quantize_pt2e(model: nn.Module, args: tuple, calibration: Sequence[tuple]) -> torch.fx.GraphModule:
    """``model`` with int8 quantize/dequantize pairs around what XNNPACK runs in int8, its
    activation ranges observed on the ``calibration`` clips (each a tuple of model args)."""
    try:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer, get_symmetric_quantization_config)
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError as exc:
        raise ImportError(f"ExecuTorch is not installed ({exc.name})") from None
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(torch.export.export(model, args, strict=False).module(), quantizer)
        for clip in calibration:
            prepared(*clip)
        return convert_pt2e(prepared)


#: aten ops (name fragments) between a head's softmax and the output that leave it the output
#: activation: the head's pooling and reshapes, and int8's quantize/dequantize pairs (``int8.OUTPUT_PASS_THROUGH``)
OUTPUT_PASS_THROUGH = ("view", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "flatten", "clone",
                       "alias", "mean", "avg_pool", "quantize_per_tensor")


def _softmaxes(graph: torch.fx.Graph) -> list[torch.fx.Node]:
    return [n for n in graph.nodes if n.op == "call_function" and "softmax" in str(n.target)]


def output_softmax(graph: torch.fx.Graph) -> int | None:
    """The position among the graph's softmax nodes of the last one whose result reaches the
    output only through ``OUTPUT_PASS_THROUGH`` ops (the output activation), or None: an internal
    softmax (attention's, a gate's) is part of the net."""

    def only_to_output(node: torch.fx.Node) -> bool:
        users = list(node.users)
        return bool(users) and all(u.op == "output" or u.op == "call_function" and only_to_output(u)
                                   and any(word in str(u.target) for word in OUTPUT_PASS_THROUGH) for u in users)

    found = [i for i, node in enumerate(_softmaxes(graph)) if only_to_output(node)]
    return found[-1] if found else None


def strip_softmax(graph_module: torch.fx.GraphModule, index: int) -> None:
    """Bypass softmax ``index`` (of ``output_softmax``) in place: its input goes where its result
    went, so the outputs are the logits int8 is judged on (``int8.pre_softmax`` in ONNX)."""
    node = _softmaxes(graph_module.graph)[index]
    node.replace_all_uses_with(node.args[0])
    graph_module.graph.erase_node(node)
    graph_module.recompile()


def _strip_pass(index: int):
    from torch.fx.passes.infra.pass_base import PassResult

    def strip(graph_module: torch.fx.GraphModule) -> PassResult:
        strip_softmax(graph_module, index)
        return PassResult(graph_module, True)

    return strip


def to_executorch_int8(model: nn.Module, eager: nn.Module, args: tuple, calibration: Sequence[tuple],
                       held_out: Sequence[tuple], calibrated_on: str,
                       latency_runs: int) -> tuple[Program, int8_mod.Int8Quality]:
    """The int8 program of ``model`` (the mobile graph) and its quality against the fp32
    ``eager`` model on the ``held_out`` clips, pre-softmax where the model ends in one."""
    quantized = quantize_pt2e(model, args, calibration)
    which = output_softmax(quantized.graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = torch.export.export(eager, args, strict=False).module()
    reference_softmax = output_softmax(reference.graph)
    if (reference_softmax is None) != (which is None):
        raise ExportError("cannot judge int8: the mobile graph and the model disagree on whether a softmax is "
                          "the output activation")
    if reference_softmax is not None:
        strip_softmax(reference, reference_softmax)
    edge = _edge(quantized, args)
    outside, ops = _delegation(edge)
    logits_edge = None  # None: no output softmax, the outputs are the logits
    if which is not None:
        if len(_softmaxes(edge.exported_program().graph)) == len(_softmaxes(quantized.graph)):
            # every softmax is outside the delegate (XNNPACK leaves int8's there): drop it in a copy,
            # no relowering (a copy: passes and to_executorch work in place)
            logits_edge = copy.deepcopy(edge).transform([_strip_pass(which)])
        else:  # inside the delegate: lower a copy without it
            strip_softmax(quantized, which)
            logits_edge = _edge(quantized, args)
    buffer = edge.to_executorch().buffer
    logits_buffer = logits_edge.to_executorch().buffer if logits_edge is not None else buffer
    _, logits_module = run_program(logits_buffer, args)
    pairs = []
    with torch.no_grad():
        for clip in held_out:
            pairs.append((np.asarray(flatten(reference(*clip))[-1]),
                          np.asarray(logits_module.forward(tuple(flatten(clip)))[-1])))
    quality = int8_mod.compare(pairs, calibrated_on)
    _, module = run_program(buffer, args)
    program = Program(buffer, _listed(outside), dict(ops), None, None, _latency(module, args, latency_runs))
    return program, quality
