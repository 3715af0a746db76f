"""``graphspec build SPEC [-o FILE]``: compile and lower a spec, print its summary, optionally save
the state_dict with the expanded spec beside it."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import guard, specs
from .expand import expanded_yaml
from .output import DEFAULT_DEPTH, EXIT_OK, UsageError, atomic_write, depth_arg, err, out

HELP = "compile to an nn.Module, print the summary, optionally save it"
DESCRIPTION = ("Compile and lower a spec to an nn.Module and print its summary. With -o, save the state_dict "
               "(torch.save) and beside it NAME.spec.yaml, the expanded spec that rebuilds the model. "
               "expect: is not enforced (failures are warnings).")


def configure(parser: argparse.ArgumentParser) -> None:
    specs.add_spec_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write the state_dict here (e.g. model.pt)")
    parser.add_argument("--seed", type=int, help="torch seed for the weight initialization")
    parser.add_argument("--weights", metavar="CKPT", help="load this state_dict (ours or PyTorchVideo's; strict, "
                                                          "weights_only) into the model")
    parser.add_argument("--depth", type=depth_arg, default=DEFAULT_DEPTH, help="summary depth (-1: all)")


def sidecar_path(output: str | Path) -> Path:
    """``model.pt`` -> ``model.spec.yaml`` beside it."""
    output = Path(output)
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return output.with_name(f"{stem}.spec.yaml")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, an ``-o`` whose state_dict or expanded spec beside it would
    overwrite one of the build's inputs, or that cannot be written."""
    if args.output:
        guard.check_outputs(args, [("-o", args.output),
                                   (f"-o {args.output}: the expanded spec", sidecar_path(args.output))])


def run(args: argparse.Namespace) -> int:
    import torch

    check_outputs(args)
    compiled = specs.compile_for_build(args.spec, args.set)
    if not specs.is_model(compiled):
        return _build_other(compiled, args)
    spec_text = expanded_yaml(compiled, args.spec) if args.output else None  # fails before writing
    if args.seed is not None:
        torch.manual_seed(args.seed)
    try:
        model = compiled.lower()
    except (ValueError, TypeError, RuntimeError, AssertionError) as exc:  # torch rejected an argument value
        from graphspec.spec.errors import Diagnostic, SpecError

        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError([Diagnostic(
            f"torch rejected the model while building it: {detail}", code="lower",
            hint="the static checks should have caught this; please report it")]) from None
    if args.weights:
        from graphspec.checkpoints import WeightsError, load_weights

        notes: list[str] = []
        try:
            load_weights(model, args.weights, notes)
        except WeightsError as exc:
            raise UsageError(str(exc)) from None
        for note in notes:
            err(f"note: {note}")
    from .summary import summary_lines

    out("\n".join(summary_lines(compiled, args.depth)))
    if args.output:
        output = Path(args.output)
        sidecar = sidecar_path(output)
        state = model.state_dict()
        atomic_write([
            (output, lambda f: torch.save(state, f)),
            (sidecar, lambda f: f.write(spec_text.encode("utf-8"))),
        ])
        err(f"wrote {output} ({len(state)} state_dict entries) and {sidecar} (the expanded spec that "
            "rebuilds the model)")
    return EXIT_OK


def _build_other(compiled, args: argparse.Namespace) -> int:
    """A transform or data spec: build its object (checking it can be built) and describe it."""
    from graphspec import api

    if args.output:
        raise UsageError(f"-o saves a model's state_dict; {args.spec} is a {compiled.spec.kind} spec, which has none")
    built = api.build(compiled)
    out(f"{compiled.spec.kind} {compiled.spec.name}: {describe(built)}")
    return EXIT_OK


def describe(built) -> str:
    """A short text for a built transform (its repr) or DataLoader (batch size, dataset, workers)."""
    from torch.utils.data import DataLoader

    if isinstance(built, DataLoader):
        return (f"DataLoader(dataset={type(built.dataset).__name__}, batch_size={built.batch_size}, "
                f"num_workers={built.num_workers})")
    return repr(built)
