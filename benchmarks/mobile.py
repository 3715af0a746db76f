"""Mobile speed against eager torch and against the machine's fp32 ceiling, measured side by side
in one run, 2 threads everywhere, random weights (the same for every variant of a model).

X3D-XS, X3D-S and X3D-M, at their specs' input shapes (1x3x4x182², 1x3x13x182², 1x3x16x256²): eager
torch, a plain ``torch.onnx.export`` of the unmodified model in onnxruntime, our mobile lowering in
onnxruntime (fp32, and static int8 QDQ), and our ExecuTorch/XNNPACK programs (fp32, and PT2E int8;
with the ``executorch`` extra). In the same rounds a 2048x2048x2048 fp32 ``torch.mm`` on 2 threads
measures the machine's sgemm rate; each variant's share of the fp32 ceiling is the time the
model's FLOPs (2 x the compiler's MACs) take at that rate over the variant's time.

``--zoo`` (the default) adds a table for every other zoo model (``specs/models/*.yaml``) at its
spec's own input shape (symbolic dims 1): eager torch, the mobile lowering fp32 in onnxruntime and
in ExecuTorch/XNNPACK, int8 too with ``--zoo-int8``. A model whose one round would take long runs
fewer rounds (at least 3; ``--zoo-budget`` seconds per model), stated in its row.

Targets (issue #19): mobile fp32 >= 3.5x eager on both runtimes; int8 faster than fp32 on both,
>= 4.5x eager on onnxruntime and >= 5x on ExecuTorch, with cosine >= 0.99 to fp32 (pre-softmax, on
held-out clips); no zoo model's mobile export slower than eager on either runtime. Asserts nothing.

Timing: a model's variants run interleaved (A, B, C, A, B, C, ..., ``--runs`` rounds after one
warm-up call each), and each figure is the median of its rounds, so load from other work on the
machine falls on every variant alike: compare the ratios, within one run. Each call is followed by
an untimed ``--gap`` (50 ms): after a run onnxruntime's pool spins ~20-30 ms of CPU and torch's
OpenMP threads ~5 ms, which without the gap fell on the next variant's call (eager X3D-XS ran up to
6x slower right after an onnxruntime call on this 2-core machine). Other work on the machine still
hurts eager torch far more than the runtimes (its OpenMP threads wait for each other at every op:
X3D-XS eager took 0.93 s at load average 4.5, ~37 ms quiet), so every ratio of a loaded run is too
high; each model's line prints the load average after its rounds.

    python benchmarks/mobile.py [--runs N] [--models x3d_xs ...|SPEC.yaml] [--no-zoo] [--zoo-int8]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import torch

from graphspec.export import int8 as int8_mod
from graphspec.export.onnx_export import THREADS, feeds, flatten, parity, session, to_onnx
from graphspec.export.spec_export import compile_static, example_inputs, fresh, input_names, mobile_model

ROOT = Path(__file__).resolve().parents[1]
ZOO_DIR = ROOT / "specs" / "models"
#: the models measured against the fp32 ceiling, at their specs' input shapes
CEILING_MODELS = ("x3d_xs", "x3d_s", "x3d_m")
SGEMM_SIZE = 2048
#: untimed seconds after each call: longer than a runtime's threads spin once it returns
GAP_S = 0.05
CALIBRATION_CLIPS, HELD_OUT_CLIPS = 8, 4
TARGETS = {"fp32": 3.5, "int8 ORT": 4.5, "int8 ExecuTorch": 5.0, "cosine": 0.99}

EAGER, PLAIN, FP32_ORT, INT8_ORT = "eager torch", "plain ONNX export, ORT", "mobile fp32, ORT", "mobile int8, ORT"
FP32_ET, INT8_ET = "mobile fp32, ExecuTorch/XNNPACK", "mobile int8, ExecuTorch/XNNPACK"
SGEMM = "sgemm"


# ---- timing ---------------------------------------------------------------------------------------
def race(variants: dict[str, Callable[[], object]], runs: int, gap_s: float = 0.0) -> dict[str, float]:
    """Median ms of each variant over ``runs`` interleaved rounds (A, B, A, B, ...), after one
    warm-up call each; ``gap_s`` untimed seconds of sleep after each call."""
    for fn in variants.values():
        fn()
    times: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(runs):
        for label, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
            time.sleep(gap_s)
    return {label: statistics.median(t) * 1000 for label, t in times.items()}


def warm_ms(fn: Callable[[], object]) -> float:
    """One call's ms (the call also warms ``fn`` up)."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def sgemm(size: int) -> tuple[Callable[[], object], float]:
    """A fp32 ``size``^3 matrix product into a preallocated output, and its FLOPs."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=gen), torch.randn(size, size, generator=gen)
    out = torch.empty(size, size)
    return (lambda: torch.mm(a, b, out=out)), 2.0 * size ** 3


# ---- the variants of one model -----------------------------------------------------------------
@dataclass
class Model:
    name: str
    shapes: list[list[int]]
    flops: float | None  # 2 x the compiler's MACs
    variants: dict[str, Callable[[], object]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # variant -> why it could not be measured
    notes: list[str] = field(default_factory=list)


def model_flops(compiled) -> float | None:
    """FLOPs of one forward pass: 2 per multiply-accumulate the compiler counts (None: unknown)."""
    return None if compiled.macs is None else 2.0 * compiled.macs


def spec_path(name: str) -> Path:
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else ZOO_DIR / f"{name}.yaml"


def _executorch_forward(module_and_buffer) -> Callable:
    buffer, module, inputs = module_and_buffer
    return lambda: (buffer, module.forward(inputs))  # the module reads `buffer` in place: keep it alive


def _check(model: Model, label: str, got, reference) -> None:
    error, bound = parity(got, reference, label)
    if not error <= bound:
        model.notes.append(f"{label}: max abs error {error:.3g} > {bound:.3g} vs eager (NOT equal)")


def _quality_note(model: Model, label: str, quality) -> None:
    model.notes.append(f"{label} vs fp32: cosine {quality.cosine:.4f}, top-1 agreement {quality.top1_agreement:.0%} "
                       f"on {quality.clips} held-out random clips (target cosine >= {TARGETS['cosine']})")


def prepare(name: str, overrides: list[str], *, plain: bool, int8: bool) -> Model:
    """Compile ``name`` at its static shape, lower it, export it to each runtime; a variant whose
    export fails is recorded with its reason, not raised."""
    compiled, _ = compile_static(spec_path(name), overrides)
    torch.manual_seed(0)
    eager = compiled.lower().eval()
    args = example_inputs(compiled, 0)
    shapes = [list(t.shape) for t in flatten(args)]
    model = Model(Path(name).stem, shapes, model_flops(compiled))
    with torch.no_grad():
        reference = flatten(eager(*fresh(args)))

    def run_eager():
        with torch.no_grad():
            return eager(*fresh(args))

    model.variants[EAGER] = run_eager
    names, outputs = input_names(compiled), list(compiled.outputs)
    mobile, _, _ = mobile_model(compiled, eager, fresh(args))

    def attempt(label: str, make: Callable[[], Callable]) -> None:
        try:
            model.variants[label] = make()
        except Exception as exc:  # a benchmark reports what it cannot run and goes on
            model.failed[label] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"

    def ort(data: bytes, label: str, check: bool = True) -> Callable:
        sess = session(data)
        feed = feeds(sess, args)
        if check:
            _check(model, label, sess.run(None, feed), reference)
        return lambda: sess.run(None, feed)

    fp32_bytes: list[bytes] = []
    if plain:
        attempt(PLAIN, lambda: ort(to_onnx(eager, fresh(args), names, outputs), PLAIN))

    def fp32_ort() -> Callable:
        fp32_bytes.append(to_onnx(mobile, fresh(args), names, outputs))
        return ort(fp32_bytes[0], FP32_ORT)

    attempt(FP32_ORT, fp32_ort)
    gen = torch.Generator().manual_seed(1)
    clips = [tuple(torch.randn(*s, generator=gen) for s in shapes) for _ in range(CALIBRATION_CLIPS + HELD_OUT_CLIPS)]
    calibration, held_out = clips[:CALIBRATION_CLIPS], clips[CALIBRATION_CLIPS:]
    if int8 and fp32_bytes:
        def int8_ort() -> Callable:  # the lowering --to mobile --int8 quantizes (int8's channel multiple)
            wide, _, _ = mobile_model(compiled, eager, fresh(args), channel_multiple=int8_mod.CHANNEL_MULTIPLE)
            fp32 = to_onnx(wide, fresh(args), names, outputs)
            sess = session(fp32)
            data = int8_mod.quantize(fp32, [feeds(sess, c) for c in calibration])
            _quality_note(model, INT8_ORT, int8_mod.judge(fp32, data, [feeds(sess, c) for c in held_out],
                                                          f"{CALIBRATION_CLIPS} random clips"))
            return ort(data, INT8_ORT, check=False)

        attempt(INT8_ORT, int8_ort)
    try:
        from graphspec.export import executorch_export as et
        import executorch  # noqa: F401  (the extra)
    except ImportError:
        model.notes.append("ExecuTorch not installed (pip install 'graphspec[executorch]'): no ExecuTorch rows")
        return model
    inputs = tuple(flatten(args))

    def fp32_et() -> Callable:
        manager, _, _ = et.lower_to_xnnpack(mobile, fresh(args))
        buffer = manager.buffer
        got, module = et.run_program(buffer, args)
        _check(model, FP32_ET, got, reference)
        return _executorch_forward((buffer, module, inputs))

    attempt(FP32_ET, fp32_et)
    if int8:
        def int8_et() -> Callable:
            program, quality = et.to_executorch_int8(mobile, eager, fresh(args), calibration, held_out,
                                                     f"{CALIBRATION_CLIPS} random clips", 0)
            _quality_note(model, INT8_ET, quality)
            _, module = et.run_program(program.buffer, args)
            return _executorch_forward((program.buffer, module, inputs))

        attempt(INT8_ET, int8_et)
    return model


# ---- the two reports ---------------------------------------------------------------------------
def shape_text(shapes: list[list[int]]) -> str:
    return " + ".join("x".join(map(str, s)) for s in shapes)


def ceiling_block(model: Model, runs: int, sgemm_size: int, gap_s: float) -> list[str]:
    """X3D rows: ms, x eager, share of the fp32 ceiling (sgemm measured in the same rounds)."""
    mm, mm_flops = sgemm(sgemm_size)
    times = race({**model.variants, SGEMM: mm}, runs, gap_s)
    rate = mm_flops / (times.pop(SGEMM) / 1000)  # FLOP/s
    ceiling_ms = model.flops / rate * 1000 if model.flops else None
    eager = times[EAGER]
    head = f"{model.name} {shape_text(model.shapes)}"
    if model.flops:
        head += f": {model.flops / 2e9:.3f} GMACs = {model.flops / 1e9:.2f} GFLOP"
    head += f" (load average {load_average()} after its rounds)"
    lines = [head, f"  sgemm {sgemm_size}^3 fp32, {THREADS} threads: {rate / 1e9:.1f} GFLOP/s, so the fp32 ceiling is "
             + (f"{ceiling_ms:.1f} ms ({eager / ceiling_ms:.2f}x eager)" if ceiling_ms else "unknown (no MACs)")]
    for label, ms in times.items():
        share = f"  {ceiling_ms / ms:4.0%} of the fp32 ceiling" if ceiling_ms else ""
        lines.append(f"  {label:34s} {ms:8.1f} ms  {eager / ms:5.2f}x eager{share}")
    lines += [f"  {label}: not measured ({why})" for label, why in model.failed.items()]
    if PLAIN in times and FP32_ORT in times:
        lines.append(f"  mobile fp32 vs plain export (ORT): {times[PLAIN] / times[FP32_ORT]:.2f}x")
    for fp32, int8 in ((FP32_ORT, INT8_ORT), (FP32_ET, INT8_ET)):
        if fp32 in times and int8 in times:
            lines.append(f"  {int8} vs its fp32: {times[fp32] / times[int8]:.2f}x (target > 1)")
    lines += [f"  {n}" for n in model.notes]
    return lines


def zoo_row(model: Model, runs: int, budget_s: float, gap_s: float, columns: list[str]) -> tuple[str, list[str]]:
    """A zoo table row (x eager per runtime column) and the notes below the table."""
    round_s = sum(warm_ms(fn) for fn in model.variants.values()) / 1000
    rounds = max(3, min(runs, int(budget_s / max(round_s, 1e-9))))
    times = race(model.variants, rounds, gap_s)
    eager = times[EAGER]
    cells, slower = [], []
    for label in columns:
        if label in times:
            ratio = eager / times[label]
            cells.append(f"{ratio:.2f}x" + (" SLOWER" if ratio < 1 else ""))
            if ratio < 1:
                slower.append(label)
        else:
            cells.append("failed" if label in model.failed else "-")
    gmacs = f"{model.flops / 2e9:.2f}" if model.flops else "?"
    row = (f"| {model.name} | {shape_text(model.shapes)} | {gmacs} | {eager:.1f} | " + " | ".join(cells)
           + f" | {rounds} | {load_average()} |")
    notes = [f"{model.name}: {label} not measured ({why})" for label, why in model.failed.items()]
    notes += [f"{model.name}: {n}" for n in model.notes]
    notes += [f"{model.name}: {label} is SLOWER than eager" for label in slower]
    return row, notes


# ---- the run -------------------------------------------------------------------------------------
def load_average() -> str:
    """The 1-minute load average: eager torch's OpenMP threads lose far more to other work on the
    machine than onnxruntime's or XNNPACK's pools do, so a loaded run overstates every ratio."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_vnni", "amx_tile")
    return ", ".join(f for f in wanted if f in flags) or "none of avx2/avx512"


def versions() -> str:
    found = []
    for package in ("torch", "onnxruntime", "executorch"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


def conditions() -> list[str]:
    return [f"machine: {cpu_model()} ({cpu_flags()}), {os.cpu_count()} logical CPUs; {THREADS} threads in torch, "
            f"onnxruntime and XNNPACK; {versions()}",
            "weights random (seed 0); medians of interleaved rounds; ratios are the figures to compare, from a "
            f"quiet machine only (other work slows eager torch most); load average {load_average()} at start"]


def zoo_names() -> list[str]:
    return [p.stem for p in sorted(ZOO_DIR.glob("*.yaml")) if p.stem not in CEILING_MODELS]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="interleaved rounds per model (default 10)")
    parser.add_argument("--models", nargs="+", default=None, metavar="NAME",
                        help=f"zoo names or spec files; default {' '.join(CEILING_MODELS)} (and the zoo with --zoo)")
    parser.add_argument("--zoo", action=argparse.BooleanOptionalAction, default=True,
                        help="the table of every other zoo model (default on; ignored with --models)")
    parser.add_argument("--zoo-int8", action="store_true", help="int8 columns in the zoo table too")
    parser.add_argument("--zoo-budget", type=float, default=60.0, metavar="S",
                        help="seconds of timed rounds per zoo model before it runs fewer rounds (at least 3)")
    parser.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True,
                        help="the int8 variants of the X3D rows (default on)")
    parser.add_argument("--gap", type=float, default=GAP_S, metavar="S",
                        help=f"untimed seconds after each call (default {GAP_S:g}: a runtime's threads stop spinning)")
    parser.add_argument("--sgemm-size", type=int, default=SGEMM_SIZE, metavar="N")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="spec overrides for every model measured (e.g. a tiny X3D for a smoke run)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(THREADS)
    with warnings.catch_warnings():  # the exporters' warnings about tracing: not this report's business
        warnings.simplefilter("ignore")
        run(args)


def run(args: argparse.Namespace) -> None:
    if args.models:
        ceiling = [m for m in args.models if Path(m).stem in CEILING_MODELS]
        zoo = [m for m in args.models if Path(m).stem not in CEILING_MODELS]
    else:
        ceiling, zoo = list(CEILING_MODELS), zoo_names() if args.zoo else []
    print("\n".join(conditions()), flush=True)
    print(f"targets: mobile fp32 >= {TARGETS['fp32']}x eager on both runtimes; int8 faster than fp32 on both, "
          f">= {TARGETS['int8 ORT']}x on ORT, >= {TARGETS['int8 ExecuTorch']}x on ExecuTorch, cosine >= "
          f"{TARGETS['cosine']}; no zoo model slower than eager", flush=True)
    for name in ceiling:
        model = prepare(name, args.overrides, plain=True, int8=args.int8)
        print("\n".join(ceiling_block(model, args.runs, args.sgemm_size, args.gap)), flush=True)
    if not zoo:
        return
    columns = [FP32_ORT, FP32_ET] + ([INT8_ORT, INT8_ET] if args.zoo_int8 else [])
    print(f"\nzoo, mobile export vs eager (x eager; at most {args.runs} rounds, fewer where "
          f"{args.zoo_budget:g} s of rounds would not hold them)", flush=True)
    print("| model | input | GMACs | eager ms | " + " | ".join(columns) + " | rounds | load |")
    print("|---" * (len(columns) + 6) + "|", flush=True)
    notes = []
    for name in zoo:
        try:
            model = prepare(name, args.overrides, plain=False, int8=args.zoo_int8)
        except Exception as exc:  # e.g. a spec that cannot take these overrides: report it, go on
            notes.append(f"{Path(name).stem}: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
            continue
        row, found = zoo_row(model, args.runs, args.zoo_budget, args.gap, columns)
        print(row, flush=True)
        notes += found
        del model
    print("\n".join(notes))
    print(f"load average {load_average()} at the end")


if __name__ == "__main__":
    sys.exit(main())
