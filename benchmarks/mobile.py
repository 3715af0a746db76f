"""Mobile speed, measured side by side in one run, 2 threads everywhere: X3D-XS (1x3x4x182x182)
and X3D-S (1x3x13x182x182) as eager torch, as a plain ``torch.onnx.export`` of the unmodified
model in onnxruntime, as our mobile lowering (fp32, and static int8 QDQ) in onnxruntime, and as
our ExecuTorch/XNNPACK programs, fp32 and PT2E int8 (with the ``executorch`` extra). Prints
times and ratios; asserts nothing. Targets: mobile fp32 >= 2.0x eager and >= 1.3x the plain export; int8 >= 3.0x eager
with cosine >= 0.99 to fp32 (pre-softmax outputs). Weights are random (same for every variant).

    python benchmarks/mobile.py [--runs N] [--models x3d_xs x3d_s]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import torch

from graphspec.export import int8 as int8_mod
from graphspec.export.onnx_export import THREADS, session, to_onnx
from graphspec.export.spec_export import compile_static, mobile_model

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {"x3d_xs": [1, 3, 4, 182, 182], "x3d_s": [1, 3, 13, 182, 182]}


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def executorch_ms(model, x, runs: int) -> float | None:
    try:
        from graphspec.export.executorch_export import lower_to_xnnpack, run_program
    except ImportError:
        return None
    try:
        manager, _, _ = lower_to_xnnpack(model, (x,))
    except ImportError:
        return None
    buffer = manager.buffer
    _, program = run_program(buffer, (x,))  # keeps `buffer` alive beside the program
    return median_ms(lambda: program.forward((x,)), runs)


def executorch_int8_ms(mobile, eager, x, calibration: list, held_out: list, runs: int):
    """``(median ms, Int8Quality)`` of the PT2E int8 program, or None without the extra."""
    try:
        from graphspec.export.executorch_export import run_program, to_executorch_int8

        program, quality = to_executorch_int8(mobile, eager, (x,), calibration, held_out, "8 random clips", 0)
    except ImportError:
        return None
    _, module = run_program(program.buffer, (x,))  # keeps `program.buffer` alive beside the module
    return median_ms(lambda: module.forward((x,)), runs), quality


def bench(name: str, runs: int) -> list[str]:
    shape = SHAPES[name]
    compiled, _ = compile_static(ROOT / "specs" / "models" / f"{name}.yaml", [f"inputs.video={shape}"])
    torch.manual_seed(0)
    eager = compiled.lower().eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=gen)
    mobile, _, _ = mobile_model(compiled, eager, (x,))
    plain_bytes = to_onnx(eager, (x,), ["video"], ["logits"])
    mobile_bytes = to_onnx(mobile, (x,), ["video"], ["logits"])
    feed = {"video": x.numpy()}
    calibration = [{"video": torch.randn(*shape, generator=gen).numpy()} for _ in range(8)]
    held_out = [{"video": torch.randn(*shape, generator=gen).numpy()} for _ in range(4)]
    int8_bytes = int8_mod.quantize(mobile_bytes, calibration)
    quality = int8_mod.judge(mobile_bytes, int8_bytes, held_out, "8 random clips")
    with torch.no_grad():
        t_eager = median_ms(lambda: eager(x), runs)
    times = {"eager torch": t_eager}
    for label, data in (("plain ONNX export, ORT", plain_bytes), ("mobile fp32, ORT", mobile_bytes),
                        ("mobile int8, ORT", int8_bytes)):
        sess = session(data)
        times[label] = median_ms(lambda: sess.run(None, feed), runs)
    t_et = executorch_ms(mobile, x, runs)
    if t_et is not None:
        times["mobile fp32, ExecuTorch/XNNPACK"] = t_et
    clips = [[(torch.from_numpy(f["video"]),) for f in feeds] for feeds in (calibration, held_out)]
    et_int8 = executorch_int8_ms(mobile, eager, x, *clips, runs)
    if et_int8 is not None:
        times["mobile int8, ExecuTorch/XNNPACK"] = et_int8[0]
    lines = [f"{name} {shape}"]
    for label, ms in times.items():
        lines.append(f"  {label:34s} {ms:8.1f} ms  {t_eager / ms:5.2f}x eager")
    plain = times["plain ONNX export, ORT"]
    lines.append(f"  mobile fp32 vs plain export: {plain / times['mobile fp32, ORT']:.2f}x (target >= 1.3x)")
    lines.append(f"  int8 vs fp32: cosine {quality.cosine:.4f}, top-1 agreement {quality.top1_agreement:.0%} "
                 f"(target cosine >= 0.99)")
    if et_int8 is not None:
        lines.append(f"  ExecuTorch int8 vs fp32 eager: cosine {et_int8[1].cosine:.4f}, "
                     f"top-1 agreement {et_int8[1].top1_agreement:.0%} (target cosine >= 0.99)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    warnings.simplefilter("ignore")
    for name in args.models:
        print("\n".join(bench(name, args.runs)), flush=True)


if __name__ == "__main__":
    main()
