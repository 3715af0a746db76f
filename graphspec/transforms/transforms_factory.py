"""``create_video_transform`` (``pytorchvideo.transforms.transforms_factory``)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch

from graphspec.registry import python_scalar_args

from .augmix import AugMix
from .layout import TransformError
from .rand_augment import RandAugment
from .transforms import (ApplyTransformToKey, ConvertUint8ToFloat, Normalize, Permute, RandomResizedCrop,
                         RandomShortSideScale, RemoveKey, ShortSideScale, UniformTemporalSubsample)
from .vision import CenterCrop, Compose, RandomCrop, RandomHorizontalFlip

_RANDOM_RESIZED_CROP_DEFAULTS = {"scale": (0.08, 1.0), "aspect_ratio": (3.0 / 4.0, 4.0 / 3.0)}


class UnknownAugmentation(TransformError, NotImplementedError):
    """An ``aug_type`` create_video_transform does not know (PyTorchVideo raises NotImplementedError)."""


def _crop_pair(crop_size: Any) -> Tuple[int, int]:
    """``crop_size`` as (height, width): an int or a pair of ints, else ``TypeError`` as PyTorchVideo's."""
    if isinstance(crop_size, int) and not isinstance(crop_size, bool):
        return crop_size, crop_size
    if (isinstance(crop_size, (tuple, list)) and len(crop_size) == 2
            and all(isinstance(c, int) and not isinstance(c, bool) for c in crop_size)):
        return crop_size[0], crop_size[1]
    raise TypeError(f"create_video_transform: crop_size must be an int or (height, width), got {crop_size!r}")


@python_scalar_args
def create_video_transform(
    mode: str,
    video_key: Optional[str] = None,
    remove_key: Optional[List[str]] = None,
    num_samples: Optional[int] = 8,
    convert_to_float: bool = True,
    video_mean: Tuple[float, float, float] = (0.45, 0.45, 0.45),
    video_std: Tuple[float, float, float] = (0.225, 0.225, 0.225),
    min_size: int = 256,
    max_size: int = 320,
    crop_size: Union[int, Tuple[int, int]] = 224,
    horizontal_flip_prob: float = 0.5,
    aug_type: str = "default",
    aug_paras: Optional[Dict[str, Any]] = None,
    random_resized_crop_paras: Optional[Dict[str, Any]] = None,
) -> Union[Callable[[torch.Tensor], torch.Tensor], Callable[[Dict[str, torch.Tensor]], Dict[str, torch.Tensor]]]:
    """The factory-default video transform.

    "train": (UniformTemporalSubsample) -> (ConvertUint8ToFloat) -> Normalize ->
    RandomShortSideScale(min_size, max_size) -> RandomCrop(crop_size) -> RandomHorizontalFlip.
    "val": (UniformTemporalSubsample) -> (ConvertUint8ToFloat) -> Normalize ->
    ShortSideScale(min_size) -> CenterCrop(crop_size). Bracketed steps are left out when
    ``num_samples`` is None / ``convert_to_float`` is False. With ``video_key`` the chain applies
    to that key of a dict clip and the ``remove_key`` keys are removed; without, it takes a video.

    As in PyTorchVideo's later releases, ``aug_type`` "randaug" / "augmix" adds RandAugment /
    AugMix (``aug_paras``) on the uint8 frames in "train" mode, and ``random_resized_crop_paras``
    replaces the train scale + crop by a ``RandomResizedCrop`` to ``crop_size``.
    """
    if mode not in ("train", "val"):
        raise TransformError(f"create_video_transform: mode {mode!r} must be 'train' or 'val'")
    if aug_type not in ("default", "randaug", "augmix"):
        raise UnknownAugmentation(f"create_video_transform: aug_type {aug_type!r} must be 'default', 'randaug' "
                                  f"or 'augmix'")
    if aug_type == "default" and aug_paras is not None:
        raise TransformError("create_video_transform: aug_paras is only used with aug_type 'randaug' or 'augmix'")
    if remove_key is not None and video_key is None:
        raise TransformError("create_video_transform: remove_key needs a dict input (set video_key)")
    if min_size > max_size and mode == "train":
        raise TransformError(f"create_video_transform: min_size {min_size} > max_size {max_size}")
    crop = _crop_pair(crop_size)
    if max(crop) > min_size:
        raise TransformError(f"create_video_transform: crop_size {crop_size} is larger than min_size {min_size}, "
                             f"the short side the video is scaled to")
    steps: List[Callable] = []
    if num_samples is not None:
        steps.append(UniformTemporalSubsample(num_samples))
    if mode == "train" and aug_type != "default":
        augment = (RandAugment if aug_type == "randaug" else AugMix)(**(aug_paras or {}))
        steps += [Permute((1, 0, 2, 3)), augment, Permute((1, 0, 2, 3))]  # the augmentations take TCHW
    if convert_to_float:
        steps.append(ConvertUint8ToFloat())
    steps.append(Normalize(video_mean, video_std))
    if mode == "train":
        if random_resized_crop_paras is not None:
            paras = {**_RANDOM_RESIZED_CROP_DEFAULTS, **random_resized_crop_paras}
            steps.append(RandomResizedCrop(target_height=crop[0], target_width=crop[1], **paras))
        else:
            steps += [RandomShortSideScale(min_size=min_size, max_size=max_size), RandomCrop(list(crop))]
        steps.append(RandomHorizontalFlip(p=horizontal_flip_prob))
    else:
        steps += [ShortSideScale(min_size), CenterCrop(list(crop))]
    transform = Compose(steps)
    if video_key is None:
        return transform
    return Compose([ApplyTransformToKey(key=video_key, transform=transform)]
                   + [RemoveKey(key) for key in (remove_key or [])])
