"""``graphspec export SPEC --to onnx|mobile|executorch [--weights CKPT] [--int8 --calibrate DATA_SPEC
--calib-clips N] -o OUT``: export a model spec and verify it against the torch model."""
from __future__ import annotations

import argparse

from . import guard, specs
from .output import EXIT_FINDINGS, EXIT_OK, UsageError, err, out

HELP = "export to ONNX, mobile ONNX (XNNPACK-friendly, int8) or ExecuTorch, verified against torch"
DESCRIPTION = ("Export a model spec with static input shapes (the spec's inputs; symbols bound to 1 unless "
               "--set) and verify it: onnx.checker, onnxruntime vs torch (fp32 max abs error <= 1e-4 x "
               "max(1, |output|)), op histogram, latency. --to mobile runs the mobile lowering passes and "
               "refuses a graph XNNPACK cannot run. --int8 (any target) is judged by the cosine and "
               "top-1 agreement of its pre-softmax outputs against fp32 on held-out clips, and refused below "
               "--min-cosine. The file is "
               "written only after every check passed. "
               "Exit codes: 0 written, 1 a check failed (nothing written), 2 unusable input.")


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("--to", choices=("onnx", "mobile", "executorch"), default="onnx", help="target (default onnx)")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write (.onnx or .pte)")
    parser.add_argument("--weights", metavar="CKPT", help="state_dict to load (ours or PyTorchVideo's; strict)")
    parser.add_argument("--int8", action="store_true", help="static int8 quantization, per-channel weights (QDQ for "
                        "onnxruntime, PT2E for ExecuTorch), judged against fp32 on held-out clips")
    parser.add_argument("--calibrate", metavar="DATA_SPEC", help="data spec whose clips calibrate --int8")
    parser.add_argument("--calib-clips", type=int, default=8, metavar="N", help="calibration clips (default 8)")
    parser.add_argument("--min-cosine", type=float, metavar="C", help="refuse (exit 1, nothing written) an --int8 "
                        "model whose mean cosine to fp32 on the held-out clips is below C (default 0.99)")
    parser.add_argument("--latency-runs", type=int, default=10, metavar="N", help="timed runs (default 10; 0: skip)")
    parser.add_argument("--verify-passes", action="store_true", help="check the graph after every mobile lowering "
                        "pass (shapes, IR lint, a strict load of its state); a broken pass is an internal error")


def run(args: argparse.Namespace) -> int:
    import warnings

    from graphspec.export import ExportError, WeightsError, export_spec
    from graphspec.export.int8 import DEFAULT_MIN_COSINE, check_min_cosine
    from graphspec.export.spec_export import UnusableArgument

    if args.calibrate and not args.int8:
        raise UsageError("--calibrate calibrates --int8; add --int8")
    if args.calib_clips < 1:
        raise UsageError("--calib-clips must be at least 1")
    if args.verify_passes and args.to == "onnx":
        raise UsageError("--verify-passes checks the mobile lowering passes; --to onnx runs none (use --to mobile "
                         "or executorch)")
    if args.min_cosine is not None and not args.int8:
        raise UsageError("--min-cosine judges --int8; add --int8")
    min_cosine = DEFAULT_MIN_COSINE if args.min_cosine is None else args.min_cosine
    try:
        check_min_cosine(min_cosine)
    except ValueError as exc:
        raise UsageError(f"--min-cosine: {exc}") from None
    guard.check_outputs(args, [("-o", args.output)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the report repeats what matters (random weights, calibration)
            report = export_spec(args.spec, args.output, to=args.to, weights=args.weights, int8=args.int8,
                                 calibrate=args.calibrate, calib_clips=args.calib_clips, overrides=args.set,
                                 latency_runs=args.latency_runs, min_cosine=min_cosine,
                                 verify_passes=args.verify_passes)
    except (WeightsError, UnusableArgument) as exc:
        raise UsageError(str(exc)) from None
    except ExportError as exc:
        err(f"graphspec export: {exc}")
        return EXIT_FINDINGS
    except ImportError as exc:  # the executorch extra is not installed
        raise UsageError(f"{exc}; install it with: pip install 'graphspec[executorch]'") from None
    out(str(report))
    return EXIT_OK
