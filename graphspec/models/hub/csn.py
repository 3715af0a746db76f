"""CSN zoo models (PyTorchVideo's ``hub.csn``).
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

CHECKPOINT_PATHS, csn_r101 = zoo_functions(__name__)
