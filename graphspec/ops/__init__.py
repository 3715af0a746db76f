"""Registered ops that are not PyTorchVideo builders: torch primitives and explicit-graph ops."""
from . import graph_ops, torch_ops  # noqa: F401  (importing registers the ops)
