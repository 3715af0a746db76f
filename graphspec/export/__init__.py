"""Export a model spec to ONNX, mobile ONNX (XNNPACK-friendly, optionally int8) or an ExecuTorch
program, verified against the torch model: ``export_spec(spec, output, to=...)``."""
from graphspec.checkpoints import WeightsError, load_weights

from .onnx_export import ExportError
from .spec_export import TARGETS, ExportReport, export_spec

export = export_spec

__all__ = ["export", "export_spec", "ExportReport", "ExportError", "WeightsError", "load_weights", "TARGETS"]
