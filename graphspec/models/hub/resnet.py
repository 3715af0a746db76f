"""ResNet zoo models (PyTorchVideo's ``hub.resnet``).
The checkpoints and descriptions are in ``utils.ZOO``."""
from .utils import zoo_functions

CHECKPOINT_PATHS, slow_r50, slow_r50_detection, c2d_r50, i3d_r50 = zoo_functions(__name__)
