"""int8: onnxruntime static quantization (QDQ, per-channel symmetric int8 weights, per-tensor
asymmetric uint8 activations: onnxruntime's fast U8S8 kernels on x86; signed int8 activations
measured slower than fp32 there) calibrated on clips, judged against fp32 on held-out clips
by the cosine similarity of the pre-softmax outputs and top-1 agreement (``compare``, which the
ExecuTorch int8 flow shares)."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import onnx

from .onnx_export import session


@dataclass
class Int8Quality:
    clips: int
    cosine: float  # mean cosine similarity of the pre-softmax outputs, int8 vs fp32
    top1_agreement: float
    calibration: str  # what it was calibrated on

    def lines(self) -> list[str]:
        return [f"int8 vs fp32 on {self.clips} held-out clips: cosine {self.cosine:.4f} (pre-softmax), "
                f"top-1 agreement {self.top1_agreement:.0%}; calibrated on {self.calibration}"]


def quantize(fp32: bytes, calibration: Sequence[dict[str, np.ndarray]]) -> bytes:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items: Iterator = iter(calibration)

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        source, target = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        with open(source, "wb") as f:
            f.write(fp32)
        quantize_static(source, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
        with open(target, "rb") as f:
            return f.read()


def pre_softmax(model: bytes) -> bytes:
    """The model with the input of its last Softmax as an extra output (the logits), for judging."""
    proto = onnx.load_from_string(model)
    softmax = [n for n in proto.graph.node if n.op_type == "Softmax"]
    if softmax:
        proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(softmax[-1].input[0]))
    return proto.SerializeToString()


def judge(fp32: bytes, int8: bytes, held_out: Sequence[dict[str, np.ndarray]], calibration: str) -> Int8Quality:
    sess32, sess8 = session(pre_softmax(fp32)), session(pre_softmax(int8))
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
