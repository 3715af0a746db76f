"""Builders whose signature is another builder's with other defaults (``@builder(signature_of=...)``):
the merge rule on a toy family, its refusals, and the derived zoo builders' parameters in the order
and with the defaults PyTorchVideo's documentation gives them."""
from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Optional, Tuple

import pytest
import torch.nn as nn

from graphspec import registry
from graphspec.compiler.ir import Node
from graphspec.compiler.template import builder, expand_node
from graphspec.models.head import create_res_roi_pooling_head
from graphspec.models.resnet import create_res_stage, create_resnet_with_roi_head
from graphspec.models.slowfast import create_slowfast_with_roi_head
from graphspec.models.stem import create_acoustic_res_basic_stem
from graphspec.models.x3d import create_x3d_bottleneck_block, create_x3d_res_stage, create_x3d_stem
from graphspec.spec.errors import SpecError


def _toy_family():
    """A base conv builder and one derived from it; the derived template records what it receives."""
    received: list[dict] = []

    @builder(name="toy_conv")
    def toy_conv(*, dim_in: int, dim_out: int, kernel: Tuple[int, int, int] = (3, 3, 3),
                 norm: Optional[Callable] = nn.BatchNorm3d, activation: Optional[Callable] = nn.ReLU) -> Node:
        return Node("Conv3d", dict(in_channels=dim_in, out_channels=dim_out, kernel_size=kernel))

    @builder(name="toy_stage", signature_of=toy_conv, defaults={"kernel": (1, 1, 1)}, drop=("activation",))
    def toy_stage(*, depth: int, dim_in, dim_out, scale: float = 2.0, **rest: Any) -> Node:
        received.append(dict(rest, depth=depth, dim_in=dim_in, dim_out=dim_out, scale=scale))
        return Node("Conv3d", dict(in_channels=dim_in, out_channels=dim_out, kernel_size=rest["kernel"]))

    return toy_stage, received


def _written_out(*, depth: int, dim_in: int, dim_out: int, scale: float = 2.0, kernel: Tuple[int, int, int] = (1, 1, 1),
                 norm: Optional[Callable] = nn.BatchNorm3d) -> None:
    """The toy derived builder's signature as the merge rule says it is, written by hand."""


def test_the_template_merges_into_the_base_signature():
    with registry.scoped():
        toy_stage, _ = _toy_family()
        ours, expected = inspect.signature(toy_stage), inspect.signature(_written_out)
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
               [(p.name, p.kind, p.default) for p in expected.parameters.values()]
        hints = typing.get_type_hints(_written_out)
        assert {n: p.annotation for n, p in ours.parameters.items()} == {n: hints[n] for n in ours.parameters}
        assert list(registry.get("toy_stage").args) == list(expected.parameters)


def test_the_template_receives_every_argument_and_the_derived_types_validate():
    with registry.scoped():
        _, received = _toy_family()
        node = expand_node("toy_stage", dict(depth=2, dim_in=3, dim_out=4))
        assert node.args["kernel_size"] == (1, 1, 1)  # the derived default, not the base's
        (call,) = received
        assert set(call) == {"depth", "dim_in", "dim_out", "scale", "kernel", "norm"}
        assert call["norm"].op == "BatchNorm3d"
        with pytest.raises(SpecError, match="kernel"):
            expand_node("toy_stage", dict(depth=2, dim_in=3, dim_out=4, kernel=(1, 1)))
        with pytest.raises(SpecError, match="activation"):  # dropped: no such argument
            expand_node("toy_stage", dict(depth=2, dim_in=3, dim_out=4, activation=nn.ReLU))


def _base(*, dim_in: int, kernel: int = 3) -> Node:
    raise AssertionError("never built")


@pytest.mark.parametrize("options, template, message", [
    (dict(defaults={"kernal": 1}), lambda **rest: None, r"\['kernal'\] are no parameters of _base"),
    (dict(drop=("bias",)), lambda **rest: None, r"\['bias'\] are no parameters of _base"),
    (dict(), lambda *, dim_in, stride: None, "'stride' has no type and _base no such parameter"),
    (dict(), lambda *, dim_in: None, r"takes neither \['kernel'\] nor \*\*arguments"),
])
def test_a_template_that_does_not_fit_its_base_is_refused_at_import(options, template, message):
    with registry.scoped(), pytest.raises(TypeError, match=message):
        builder(name="misfit", signature_of=_base, **options)(template)


#: the documented parameter order of the derived zoo builders (pytorchvideo-api.txt)
DOCUMENTED_ORDER = {
    create_res_stage: "depth dim_in dim_inner dim_out bottleneck conv_a_kernel_size conv_a_stride conv_a_padding "
                      "conv_a conv_b_kernel_size conv_b_stride conv_b_padding conv_b_num_groups conv_b_dilation "
                      "conv_b conv_c norm norm_eps norm_momentum activation",
    create_acoustic_res_basic_stem: "in_channels out_channels conv_kernel_size conv_stride conv_padding conv_bias "
                                    "pool pool_kernel_size pool_stride pool_padding norm norm_eps norm_momentum "
                                    "activation",
    create_x3d_res_stage: "depth dim_in dim_inner dim_out bottleneck conv_kernel_size conv_stride norm norm_eps "
                          "norm_momentum se_ratio activation inner_act",
    create_resnet_with_roi_head: "input_channel model_depth model_num_class dropout_rate norm activation "
                                 "stem_dim_out stem_conv_kernel_size stem_conv_stride stem_pool stem_pool_kernel_size "
                                 "stem_pool_stride stem stage1_pool stage1_pool_kernel_size stage_conv_a_kernel_size "
                                 "stage_conv_b_kernel_size stage_conv_b_num_groups stage_conv_b_dilation "
                                 "stage_spatial_h_stride stage_spatial_w_stride stage_temporal_stride bottleneck "
                                 "head head_pool head_pool_kernel_size head_output_size head_activation "
                                 "head_output_with_global_average head_spatial_resolution head_spatial_scale "
                                 "head_sampling_ratio",
}


@pytest.mark.parametrize("fn", DOCUMENTED_ORDER, ids=lambda fn: fn.__name__)
def test_derived_builders_keep_the_documented_parameter_order(fn):
    params = inspect.signature(fn).parameters
    assert list(params) == DOCUMENTED_ORDER[fn].split()
    assert all(p.kind is p.KEYWORD_ONLY for p in params.values())


def test_detection_builders_keep_the_documented_head_defaults():
    for fn in (create_resnet_with_roi_head, create_slowfast_with_roi_head):
        defaults = {name: p.default for name, p in inspect.signature(fn).parameters.items()}
        assert defaults["model_num_class"] == 80 and defaults["head"] is create_res_roi_pooling_head
        assert defaults["head_activation"] is nn.Sigmoid and defaults["head_output_with_global_average"] is False
        assert (defaults["head_spatial_resolution"], defaults["head_spatial_scale"], defaults["head_sampling_ratio"]) \
               == ((7, 7), 0.0625, 0)
        assert list(defaults)[-3:] == ["head_spatial_resolution", "head_spatial_scale", "head_sampling_ratio"]
    assert inspect.signature(create_resnet_with_roi_head).parameters["head_pool_kernel_size"].default == (4, 1, 1)
    slowfast = inspect.signature(create_slowfast_with_roi_head).parameters
    assert slowfast["stage_spatial_strides"].default == ((1, 2, 2, 1), (1, 2, 2, 1))
    assert slowfast["stage_conv_b_dilations"].default[0][3] == (1, 2, 2)


def test_x3d_stem_keeps_the_documented_signature():
    defaults = {name: p.default for name, p in inspect.signature(create_x3d_stem).parameters.items()}
    assert defaults == dict(in_channels=inspect.Parameter.empty, out_channels=inspect.Parameter.empty,
                            conv_kernel_size=(5, 3, 3), conv_stride=(1, 2, 2), conv_padding=(2, 1, 1),
                            norm=nn.BatchNorm3d, norm_eps=1e-05, norm_momentum=0.1, activation=nn.ReLU)


def test_x3d_res_stage_keeps_the_documented_defaults():
    stage = inspect.signature(create_x3d_res_stage).parameters
    assert stage["bottleneck"].default is create_x3d_bottleneck_block
    assert (stage["conv_kernel_size"].default, stage["conv_stride"].default, stage["se_ratio"].default) == \
           ((3, 3, 3), (1, 2, 2), 0.0625)
