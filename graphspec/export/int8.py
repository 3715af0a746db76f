"""int8: onnxruntime static quantization (QDQ, per-channel symmetric int8 weights, per-tensor
asymmetric uint8 activations: onnxruntime's fast U8S8 kernels on x86; signed int8 activations
measured slower than fp32 there) calibrated on clips, judged against fp32 on held-out clips
by the cosine similarity of the pre-softmax outputs and top-1 agreement (``compare``, which the
ExecuTorch int8 flow shares), and refused below a minimum cosine (``Int8Quality.require``).
Before quantizing, the graph is rewritten exactly into the forms onnxruntime's int8 kernels run
fast (``onnx_rewrites``).

Only the model's output softmax is stripped for judging: one whose result reaches a graph output
through nothing but the head's pooling and reshapes (and int8's quantize/dequantize pairs). An
internal softmax (attention's, a gate's) is part of the net: such a model is judged on its
outputs unchanged."""
from __future__ import annotations

import math
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np
import onnx

from .onnx_export import ExportError, session
from .onnx_rewrites import hoist_activations

#: the channel multiple the mobile lowering pads convolutions to for onnxruntime int8: its int8
#: depthwise convolution takes its fast symmetric-weight kernel only for multiples of 16 (a 3x3 at
#: 64 channels ran 2.1x faster than at 56; X3D-XS int8 ~17% faster). fp32 keeps pad-channels' 8:
#: its blocked kernels pad to 16 inside anyway, and the ops between them on the wider tensors made
#: it 1-2.5% slower (ExecuTorch fp32 ~2.5% too)
CHANNEL_MULTIPLE = 16
#: the least mean cosine to fp32 on the held-out clips an int8 export may have (``--min-cosine``)
DEFAULT_MIN_COSINE = 0.99
#: ONNX ops between a head's softmax and the graph output that leave it the output activation
OUTPUT_PASS_THROUGH = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose",
                                 "GlobalAveragePool", "AveragePool", "ReduceMean", "QuantizeLinear",
                                 "DequantizeLinear"})


@dataclass
class Int8Quality:
    clips: int
    cosine: float  # mean cosine similarity of the pre-softmax outputs, int8 vs fp32
    top1_agreement: float
    calibration: str  # what it was calibrated on

    def lines(self) -> list[str]:
        return [f"int8 vs fp32 on {self.clips} held-out clips: cosine {self.cosine:.4f} (pre-softmax), "
                f"top-1 agreement {self.top1_agreement:.0%}; calibrated on {self.calibration}"]

    def require(self, min_cosine: float) -> None:
        """``ExportError`` (the caller writes nothing) when the cosine is below ``min_cosine`` (or NaN)."""
        if not self.cosine >= min_cosine:
            shown = math.floor(self.cosine * 1e6) / 1e6  # rounded down: never shown at or above the minimum
            raise ExportError(f"int8 is too far from fp32: cosine {shown:.6f} on {self.clips} held-out clips "
                              f"is below --min-cosine {min_cosine:g} (calibrated on {self.calibration}); nothing "
                              "written. Calibrate on real clips (--calibrate DATA_SPEC, more with --calib-clips), "
                              "or accept it with a lower --min-cosine")


def check_min_cosine(min_cosine: float) -> None:
    """``ValueError`` for a minimum no cosine can meet or every one meets (outside [-1, 1])."""
    if isinstance(min_cosine, bool) or not isinstance(min_cosine, (int, float)) or not -1.0 <= min_cosine <= 1.0:
        raise ValueError(f"min_cosine must be a number in [-1, 1] (a cosine), not {min_cosine!r}")


def quantize(fp32: bytes, calibration: Sequence[dict[str, np.ndarray]]) -> bytes:
    """The QDQ int8 model of the fp32 model ``fp32``, calibrated on the feeds ``calibration``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items: Iterator = iter(calibration)

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        source, target = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        proto = onnx.load_from_string(fp32)
        hoist_activations(proto)  # a ReLU after a layout change: fused into its conv, not left in float
        onnx.save(proto, source)
        quantize_static(source, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
        with open(target, "rb") as f:
            return f.read()


def output_softmax(graph: onnx.GraphProto) -> Optional[onnx.NodeProto]:
    """The last Softmax whose result reaches a graph output only through ``OUTPUT_PASS_THROUGH``
    ops (a PyTorchVideo head pools and reshapes its probabilities), or None."""
    consumers: dict[str, list] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    outputs = {o.name for o in graph.output}

    def only_to_outputs(name: str) -> bool:
        users = consumers[name]
        if any(u.op_type not in OUTPUT_PASS_THROUGH for u in users):
            return False
        return name in outputs or bool(users) and all(only_to_outputs(out) for u in users for out in u.output)

    found = [n for n in graph.node if n.op_type == "Softmax" and only_to_outputs(n.output[0])]
    return found[-1] if found else None


def pre_softmax(model: bytes) -> tuple[bytes, bool]:
    """The model with the input of its output softmax (the logits) as an extra, last output, and
    True; the model unchanged and False when it has no output softmax."""
    proto = onnx.load_from_string(model)
    softmax = output_softmax(proto.graph)
    if softmax is None:
        return model, False
    proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(softmax.input[0]))
    return proto.SerializeToString(), True


def judge(fp32: bytes, int8: bytes, held_out: Sequence[dict[str, np.ndarray]], calibration: str) -> Int8Quality:
    """``compare`` of the last outputs (the logits where the model ends in a softmax)."""
    (judged32, stripped32), (judged8, stripped8) = pre_softmax(fp32), pre_softmax(int8)
    if stripped32 != stripped8:
        raise ExportError("cannot judge int8: quantization changed which softmax is the output activation")
    sess32, sess8 = session(judged32), session(judged8)
    return compare([(sess32.run(None, feed)[-1], sess8.run(None, feed)[-1]) for feed in held_out], calibration)


def compare(pairs: Iterable[tuple[np.ndarray, np.ndarray]], calibration: str) -> Int8Quality:
    """Mean cosine and top-1 agreement over ``(fp32, int8)`` pre-softmax output pairs, one per
    held-out clip (each ``[batch, ...]``)."""
    cosines, agree, total = [], 0, 0
    for fp32, int8 in pairs:
        a, b = np.asarray(fp32, dtype=np.float64), np.asarray(int8, dtype=np.float64)
        a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
        for x, y in zip(a, b):
            cosines.append(float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12)))
        agree += int(np.sum(a.argmax(1) == b.argmax(1)))
        total += a.shape[0]
    return Int8Quality(total, float(np.mean(cosines)), agree / max(total, 1), calibration)
