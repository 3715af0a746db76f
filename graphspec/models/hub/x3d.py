"""X3D zoo models (PyTorchVideo's ``hub.x3d``), Kinetics-400.
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

CHECKPOINT_PATHS, x3d_xs, x3d_s, x3d_m, x3d_l = zoo_functions(__name__)
