"""Torch -> ONNX with verification: ``onnx.checker``, an onnxruntime run compared to the torch
model, the op histogram and the latency."""
from __future__ import annotations

import io
import time
import warnings
from collections import Counter
from typing import Any, Sequence

import numpy as np
import onnx
import torch
import torch.nn as nn

#: ONNX opset of every export (RoiAlign needs >= 16; 17 is what onnxruntime's quantizer knows well)
OPSET = 17
#: fp32 parity bound: max |onnxruntime - torch| <= ATOL * max(1, max |torch|)
ATOL = 1e-4
#: threads everywhere (the benchmark's and the report's latency)
THREADS = 2


class ExportError(RuntimeError):
    """The export failed a check (checker, parity, op set); nothing was written."""


def flatten(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in flatten(v)]
    return [t for v in value for t in flatten(v)]


def to_onnx(model: nn.Module, args: tuple, input_names: Sequence[str], output_names: Sequence[str]) -> bytes:
    """The TorchScript-based exporter (``dynamo=False``): RoIAlign exports only there, and its
    node names carry the module scope (``/blocks.1/conv/Conv``) that maps back to IR paths."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # shapes are static by design: the tracer's "converting a tensor to a Python value" notes are expected
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*", category=DeprecationWarning)
        torch.onnx.export(model, args, buffer, dynamo=False, opset_version=OPSET, input_names=list(input_names),
                          output_names=list(output_names), do_constant_folding=True)
    return inline_aliased_initializers(onnx.load_from_string(buffer.getvalue())).SerializeToString()


def inline_aliased_initializers(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The exporter stores equal weights once and aliases them with Identity nodes (random or
    zero-initialized biases often are equal); give each alias its own initializer, so every
    Conv/Gemm sees constant weights and bias (the quantizer needs that to quantize them)."""
    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    kept = []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            graph.initializer.append(copy)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return proto


def session(model_bytes: bytes, threads: int = THREADS):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def feeds(sess, args: tuple) -> dict[str, np.ndarray]:
    names = [i.name for i in sess.get_inputs()]
    return dict(zip(names, (t.numpy() for t in flatten(args))))


def check(model_bytes: bytes) -> onnx.ModelProto:
    proto = onnx.load_from_string(model_bytes)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"onnx.checker rejected the graph: {str(exc).strip().splitlines()[0]}") from None
    return proto


def max_error(sess, args: tuple, reference: Sequence[torch.Tensor]) -> tuple[float, float]:
    """``(max abs error, bound)`` of onnxruntime against the torch reference outputs."""
    return parity(sess.run(None, feeds(sess, args)), reference, "onnxruntime")


def parity(got: Sequence, reference: Sequence[torch.Tensor], runtime: str) -> tuple[float, float]:
    """``(max abs error, bound)`` of a runtime's outputs ``got`` (arrays or tensors) against the
    torch reference outputs; the bound is ``ATOL * max(1, max |reference|)``."""
    if len(got) != len(reference):
        raise ExportError(f"{runtime} returned {len(got)} outputs, torch {len(reference)}")
    error = max(float(np.max(np.abs(np.asarray(g) - r.numpy()))) if r.numel() else 0.0
                for g, r in zip(got, reference))
    scale = max([1.0] + [float(r.abs().max()) for r in reference if r.numel()])
    return error, ATOL * scale


def histogram(proto: onnx.ModelProto) -> Counter:
    return Counter(node.op_type for node in proto.graph.node)


def latency_ms(sess, args: tuple, runs: int) -> float:
    feed = feeds(sess, args)
    sess.run(None, feed)
    start = time.perf_counter()
    for _ in range(runs):
        sess.run(None, feed)
    return (time.perf_counter() - start) / max(runs, 1) * 1000
