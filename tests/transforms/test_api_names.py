"""Every transforms name of the reference index exists at graphspec.<path>, with PyTorchVideo's
documented signature where the reference gives one."""
import importlib
import inspect

import pytest

from conftest import REFERENCE


def _names():
    path = REFERENCE / "api-names.txt"
    if not path.is_file():
        return []
    return [n.strip() for n in path.read_text().splitlines() if n.strip().startswith("transforms.")]


def test_the_index_lists_transforms():
    assert len(_names()) > 30


@pytest.mark.parametrize("name", _names())
def test_transforms_name_exists(name):
    module, attr = name.rsplit(".", 1)
    assert getattr(importlib.import_module(f"graphspec.{module}"), attr) is not None


#: documented signatures (reference, TRANSFORMS API): name -> (parameter, default) in order
DOCUMENTED = {
    "CutMix": [("alpha", 1.0), ("label_smoothing", 0.0), ("num_classes", 400)],
    "MixUp": [("alpha", 1.0), ("label_smoothing", 0.0), ("num_classes", 400)],
    "RandAugment": [("magnitude", 9), ("num_layers", 2), ("prob", 0.5), ("sampling_type", "gaussian"),
                    ("sampling_hparas", None)],
    "create_video_transform": [("mode", inspect.Parameter.empty), ("video_key", None), ("remove_key", None),
                               ("num_samples", 8), ("convert_to_float", True), ("video_mean", (0.45, 0.45, 0.45)),
                               ("video_std", (0.225, 0.225, 0.225)), ("min_size", 256), ("max_size", 320),
                               ("crop_size", 224), ("horizontal_flip_prob", 0.5)],
    "OpSampler": [("transforms_list", inspect.Parameter.empty), ("transforms_prob", None), ("num_sample_op", 1),
                  ("replacement", False)],
    "UniformCropVideo": [("size", inspect.Parameter.empty), ("video_key", "video"), ("aug_index_key", "aug_index")],
    "Normalize": [("mean", inspect.Parameter.empty), ("std", inspect.Parameter.empty), ("inplace", False)],
    "ApplyTransformToKey": [("key", inspect.Parameter.empty), ("transform", inspect.Parameter.empty)],
    "RemoveKey": [("key", inspect.Parameter.empty)],
    "ShortSideScale": [("size", inspect.Parameter.empty)],
    "RandomShortSideScale": [("min_size", inspect.Parameter.empty), ("max_size", inspect.Parameter.empty)],
    "UniformTemporalSubsample": [("num_samples", inspect.Parameter.empty)],
    "UniformTemporalSubsampleRepeated": [("frame_ratios", inspect.Parameter.empty)],
}
_REQUIRED = inspect.Parameter.empty
#: documented signatures of ``transforms.functional`` (reference, 8.2)
DOCUMENTED_FUNCTIONAL = {
    "uniform_temporal_subsample": [("x", _REQUIRED), ("num_samples", _REQUIRED), ("temporal_dim", -3)],
    "short_side_scale": [("x", _REQUIRED), ("size", _REQUIRED), ("interpolation", "bilinear"),
                         ("backend", "pytorch")],
    "uniform_temporal_subsample_repeated": [("frames", _REQUIRED), ("frame_ratios", _REQUIRED),
                                            ("temporal_dim", -3)],
    "convert_to_one_hot": [("targets", _REQUIRED), ("num_class", _REQUIRED), ("label_smooth", 0.0)],
    "short_side_scale_with_boxes": [("images", _REQUIRED), ("boxes", _REQUIRED), ("size", _REQUIRED),
                                    ("interpolation", "bilinear"), ("backend", "pytorch")],
    "random_short_side_scale_with_boxes": [("images", _REQUIRED), ("boxes", _REQUIRED), ("min_size", _REQUIRED),
                                           ("max_size", _REQUIRED), ("interpolation", "bilinear"),
                                           ("backend", "pytorch")],
    "random_crop_with_boxes": [("images", _REQUIRED), ("size", _REQUIRED), ("boxes", _REQUIRED)],
    "uniform_crop": [("images", _REQUIRED), ("size", _REQUIRED), ("spatial_idx", _REQUIRED)],
    "uniform_crop_with_boxes": [("images", _REQUIRED), ("size", _REQUIRED), ("spatial_idx", _REQUIRED),
                                ("boxes", _REQUIRED)],
    "horizontal_flip_with_boxes": [("prob", _REQUIRED), ("images", _REQUIRED), ("boxes", _REQUIRED)],
    "clip_boxes_to_image": [("boxes", _REQUIRED), ("height", _REQUIRED), ("width", _REQUIRED)],
    "crop_boxes": [("boxes", _REQUIRED), ("x_offset", _REQUIRED), ("y_offset", _REQUIRED)],
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_signature_prefix(name):
    import graphspec.transforms as T

    params = list(inspect.signature(getattr(T, name)).parameters.values())
    got = [(p.name, p.default) for p in params[:len(DOCUMENTED[name])]]
    assert got == DOCUMENTED[name]


@pytest.mark.parametrize("name", sorted(DOCUMENTED_FUNCTIONAL))
def test_documented_functional_signature(name):
    from graphspec.transforms import functional

    params = list(inspect.signature(getattr(functional, name)).parameters.values())
    assert [(p.name, p.default) for p in params] == DOCUMENTED_FUNCTIONAL[name]
