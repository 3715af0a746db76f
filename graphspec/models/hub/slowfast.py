"""SlowFast zoo models (PyTorchVideo's ``hub.slowfast``).
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

(CHECKPOINT_PATHS,
 slowfast_r50, slowfast_r101, slowfast_16x8_r101_50_50, slowfast_r50_detection) = zoo_functions(__name__)
