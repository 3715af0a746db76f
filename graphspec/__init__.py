"""graphspec: a declarative model-graph compiler for video understanding."""
from . import ops  # noqa: F401  (registers torch primitives and graph ops)
from . import models  # noqa: F401
from .registry import register

__version__ = "0.1.0"
__all__ = ["register"]
