"""numpy scalars (``np.int64``, ``np.float32``, what ``np.prod`` returns) and tuples of them are the
Python numbers they are, wherever a Python number is taken: builders, hub functions, overrides
from Python, transform specs and transforms built in Python. Bools and strings stay refused.
Sizes are held against model-zoo.md; transform outputs against plain torch computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import graphspec
import graphspec.transforms as T
from graphspec.models import create_x3d
from graphspec.models.hub import x3d_xs
from graphspec.spec.errors import SpecError

from conftest import SPECS, reference_zoo_table

X3D_XS_PARAMS = reference_zoo_table()["x3d_xs"][0]["params"]


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_builder_takes_numpy_scalars_and_tuples_of_them():
    # model-zoo.md: x3d_xs is create_x3d with input_clip_length 4, input_crop_size 160 (depth_factor 2.2
    # is its default; np.float32(2.2) is another number, 2.2000000477, and gives other depths)
    with torch.device("meta"):
        model = create_x3d(input_clip_length=np.int64(4), input_crop_size=np.prod([16, 10]),
                           depth_factor=np.float64(2.2), stem_conv_kernel_size=(np.int64(5), np.int32(3), 3))
    assert _params(model) == X3D_XS_PARAMS


def test_hub_function_takes_numpy_scalars():
    with torch.device("meta"):
        model = x3d_xs(pretrained=False, model_num_class=np.int64(400), dropout_rate=np.float32(0.5))
    assert _params(model) == X3D_XS_PARAMS


def test_python_overrides_take_numpy_scalars():
    with torch.device("meta"):
        model = graphspec.build(SPECS / "models" / "x3d_xs.yaml", {"model.model_num_class": np.int64(400)})
    assert _params(model) == X3D_XS_PARAMS


@pytest.mark.parametrize("value", [np.bool_(True), np.str_("4"), True, "4"])
def test_bools_and_strings_are_still_no_numbers(value):
    with pytest.raises(SpecError, match="input_clip_length"):
        create_x3d(input_clip_length=value)


def test_transforms_built_in_python_take_numpy_scalars():
    torch.manual_seed(0)
    video = torch.rand(3, 8, 40, 50)
    crop = T.CenterCrop(np.int64(20))(video)
    torch.testing.assert_close(crop, video[:, :, 10:30, 15:35])
    mean, std = (np.float32(0.5),) * 3, (np.float64(0.25),) * 3
    torch.testing.assert_close(T.Normalize(mean, std)(video), (video - 0.5) / 0.25)
    mixed, labels = T.MixUp(alpha=np.float32(1.0), num_classes=np.int64(5))(torch.rand(2, 3, 4, 8, 8),
                                                                             torch.tensor([1, 2]))
    assert labels.shape == (2, 5)
    transform = T.create_video_transform("val", num_samples=np.int64(4), min_size=np.int64(24),
                                         crop_size=np.int64(20))
    assert transform((video * 255).to(torch.uint8)).shape == (3, 4, 20, 20)


def test_image_ops_take_numpy_sizes_and_angles():
    from graphspec.transforms import image_ops

    image = torch.rand(3, 10, 14)
    assert image_ops.resize(image, np.int64(8)).shape == (3, 8, 11)  # short side 8, long int(14 * 8 / 10)
    sheared = image_ops.affine(image, angle=np.float32(0.0), translate=[np.int64(0), 0], scale=np.float64(1.0),
                               shear=np.float32(0.0))
    torch.testing.assert_close(sheared, image)  # the identity transform


def test_transform_spec_arguments_take_numpy_scalars():
    from graphspec.registry import get

    size = get("ShortSideScale").args["size"]
    assert size.validate(np.int64(20)) == 20 and type(size.validate(np.int64(20))) is int
    with pytest.raises(ValueError):
        size.validate(np.bool_(True))
