"""The mobile graph through ``torch.export`` to an ExecuTorch program with the XNNPACK delegate
(the extra ``graphspec[executorch]``), run with ExecuTorch's Python runtime for parity."""
from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn

from .onnx_export import ATOL, THREADS, ExportError, flatten

#: graph nodes that are plumbing, not compute left outside the delegate
_PLUMBING = ("executorch_call_delegate", "getitem", "alloc")


@dataclass
class Program:
    buffer: bytes
    outside: list[str]  # ops left outside the XNNPACK delegate, "name xN"
    ops: dict[str, int]  # the edge program's ops (delegate calls included)
    max_abs_error: float
    bound: float
    latency_ms: float | None


def lower_to_xnnpack(model: nn.Module, args: tuple):
    """``(executorch program manager, ops outside the delegate, op counts)`` of ``model`` lowered
    with the XNNPACK partitioner."""
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower
    except ImportError as exc:
        raise ImportError(f"ExecuTorch is not installed ({exc.name})") from None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exported = torch.export.export(model, args, strict=False)
        edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    lowered = edge.exported_program()
    outside, ops = ops_outside(lowered), op_counts(lowered)  # before to_executorch plans memory into the graph
    return edge.to_executorch(), outside, ops


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
    if len(outputs) != len(reference):
        raise ExportError(f"the ExecuTorch program returned {len(outputs)} outputs, torch {len(reference)}")
    error = max(float((o - r).abs().max()) for o, r in zip(outputs, reference))
    bound = ATOL * max([1.0] + [float(r.abs().max()) for r in reference])
    if not error <= bound:
        raise ExportError(f"ExecuTorch disagrees with torch: max abs error {error:.3g} > {bound:.3g}")
    latency = None
    if latency_runs:
        inputs = tuple(flatten(args))
        start = time.perf_counter()
        for _ in range(latency_runs):
            module.forward(inputs)
        latency = (time.perf_counter() - start) / latency_runs * 1000
    listed = [f"{name} x{n}" for name, n in sorted(outside.items())]
    return Program(buffer, listed, dict(ops), error, bound, latency)
