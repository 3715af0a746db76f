"""Efficient X3D zoo models for mobile CPUs (PyTorchVideo's ``hub.efficient_x3d_mobile_cpu``),
Kinetics-400, built from ``specs/models/efficient_x3d_{xs,s}.yaml``. The checkpoints are of the
original (unconverted) form; ``convert_to_deployable_form`` makes the deployable one.
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

CHECKPOINT_PATHS, efficient_x3d_xs, efficient_x3d_s = zoo_functions(__name__)
