"""graphspec: a declarative model-graph compiler for video understanding.

Every model is a typed spec (YAML); the compiler checks it statically and lowers it to the same
``nn.Module`` tree PyTorchVideo builds. ``graphspec.<path>`` mirrors ``pytorchvideo.<path>``.
"""
from . import ops  # noqa: F401  (registers torch primitives and graph ops)
from . import models  # noqa: F401  (registers the builders)
from .api import build, check, compile, load_spec
from .registry import register
from .spec.errors import Diagnostic, SpecError

__version__ = "0.1.0"
__all__ = ["build", "check", "compile", "load_spec", "register", "Diagnostic", "SpecError"]
