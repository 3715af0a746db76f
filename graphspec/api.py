"""The Python API: ``load_spec``, ``compile``, ``build`` and ``check``."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch.nn as nn

from graphspec.compiler.pipeline import Compiled, build as _build, compile_spec, load_spec as _load_spec
from graphspec.spec.document import ModelSpec
from graphspec.spec.errors import Diagnostic, SpecError


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> ModelSpec:
    """Read a spec file (``extends`` resolved, ``overrides`` applied) into a typed ``ModelSpec``."""
    return _load_spec(path, overrides)[0]


def compile(path: str | Path, overrides: Sequence[str] = ()) -> Compiled:  # noqa: A001 (mirrors the CLI verb)
    """Expand and statically check a spec: IR, per-node shapes, params, MACs, findings."""
    return compile_spec(path, overrides)


def build(spec: str | Path | Compiled, overrides: Sequence[str] = ()) -> nn.Module:
    """Compile a spec and lower it to the ``nn.Module`` PyTorchVideo's builder would build."""
    return _build(spec, overrides)


def check(path: str | Path, overrides: Sequence[str] = ()) -> list[Diagnostic]:
    """Every finding of a spec (located), as ``graphspec validate`` reports them; [] when clean."""
    try:
        return compile_spec(path, overrides).diagnostics
    except SpecError as err:
        return err.diagnostics
