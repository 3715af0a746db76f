"""R(2+1)D zoo models (PyTorchVideo's ``hub.r2plus1d``).
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

CHECKPOINT_PATHS, r2plus1d_r50 = zoo_functions(__name__)
