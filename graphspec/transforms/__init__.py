"""Video transforms and augmentations (``pytorchvideo.transforms``), without TorchVision.

Videos are ``(C, T, H, W)`` tensors, uint8 or float (``layout.py``); the TorchVision transforms
PyTorchVideo pipelines use (``Compose``, ``CenterCrop``, ``RandomCrop``, ``RandomHorizontalFlip``,
``Resize``, ``Lambda``) are ours (``vision.py``), and so are the image ops the augmentations use
(``image_ops.py``). Importing this package registers the transform ops for ``kind: transform``
specs (``spec.py``).
"""
from . import ops  # noqa: F401  (registers the transform ops)
from .augmix import AugMix  # noqa: F401
from .mix import CutMix, MixUp, MixVideo  # noqa: F401
from .rand_augment import RandAugment  # noqa: F401
from .transforms import (  # noqa: F401
    ApplyTransformToKey, Callable, ConvertFloatToUint8, ConvertUint8ToFloat, Dict, Div255, List, MoveChannelFront,
    MoveChannelRear, Normalize, OpSampler, Permute, RandomResizedCrop, RandomShortSideScale, RemoveKey,
    ShortSideScale, Tuple, UniformCropVideo, UniformTemporalSubsample, UniformTemporalSubsampleRepeated,
)
from .vision import CenterCrop, Compose, Lambda, MultiView, RandomCrop, RandomHorizontalFlip, Resize  # noqa: F401
from .transforms_factory import create_video_transform  # noqa: F401
