"""Detection: slow_r50_detection and slowfast_r50_detection match PyTorchVideo's checkpoint layouts
and parameter counts; the backbones match on the meta device; both run eagerly on boxes; RoI-head
shape errors name the IR path."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.layers.roi_align import RoIAlign
from graphspec.models.head import ResNetRoIHead, create_res_roi_pooling_head
from graphspec.models.net import DetectionBBoxNetwork
from graphspec.models.resnet import create_resnet_with_roi_head
from graphspec.models.slowfast import create_slowfast_with_roi_head

from conftest import meta_tensor, reference_rows

ROOT = Path(__file__).resolve().parents[2]
BOXES = TensorType(("N", 5))
SLOW_CLIP = TensorType(("B", 3, 4, 256, 256))
SLOWFAST_CLIP = [TensorType(("B", 3, 8, 256, 256)), TensorType(("B", 3, 32, 256, 256))]

ZOO = {
    "slow_r50_detection": ("create_resnet_with_roi_head", SLOW_CLIP, dict(params=31_798_416, entries=320)),
    "slowfast_r50_detection": ("create_slowfast_with_roi_head", SLOWFAST_CLIP,
                               dict(params=33_828_888, entries=662)),
}


def image_boxes(size: int) -> torch.Tensor:
    """Three boxes (batch index, x1, y1, x2, y2) in image pixels: two in clip 0, then one in clip 1."""
    s = size - 1
    return torch.tensor([[0, 0.0, 0.0, s, s], [0, s / 4, s / 8, s / 2, s], [1, 1.0, 2.0, s / 3, s / 3]])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_matches_reference(name):
    op, clip, want = ZOO[name]
    root = assign_paths(expand_node(op, {}))  # the hub builds both with the builder's defaults
    assert lint(root) == []
    assert infer(root, clip, BOXES) == TensorType(("N", 80))
    # stride-16 features (dilated res5) pooled to one frame for the RoI layer
    assert root.args["model"].meta["output"].shape[-2:] == (16, 16)
    assert root.args["detection_head"].meta["inputs"][0].shape[2] == (1 if name.startswith("slowfast") else 4)
    state = annotate_state(root)
    assert [(key, dtype, shape) for key, dtype, shape, _ in state] == reference_rows(name)
    assert root.meta["params"] == want["params"] and len(state) == want["entries"]
    with torch.device("meta"):
        module = lower(root)
    assert isinstance(module, DetectionBBoxNetwork) and isinstance(module.detection_head, ResNetRoIHead)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {k: s for k, _, s, _ in state}
    # RoIAlign reads box sizes, so only the backbone runs on the meta device
    features = module.model.eval()(meta_tensor(clip))
    assert tuple(features.shape) == tuple(2 if isinstance(d, str) else d
                                          for d in root.args["model"].meta["output"].shape)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_spec_meets_its_expectations(name):
    result = compile_spec(ROOT / "specs" / "models" / f"{name}.yaml")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.params == ZOO[name][2]["params"]
    assert result.outputs == {"scores": TensorType(("N", 80))}


def test_slowfast_detection_runs_eagerly_on_boxes():
    torch.manual_seed(0)
    model = create_slowfast_with_roi_head().eval()
    x = [torch.randn(1, 3, 8, 32, 32), torch.randn(1, 3, 32, 32, 32)]
    with torch.no_grad():
        scores = model(x, image_boxes(32)[:2])
    assert scores.shape == (2, 80)
    assert ((scores > 0) & (scores < 1)).all()  # sigmoid scores per box
    head = model.detection_head
    assert head.pool is None and head.output_pool is None
    assert (head.roi_layer.output_size, head.roi_layer.spatial_scale, head.roi_layer.sampling_ratio,
            head.roi_layer.aligned) == ((7, 7), 1 / 16, 0, False)
    assert head.pool_spatial.kernel_size == (7, 7) and head.pool_spatial.stride == 1


def test_slow_detection_runs_eagerly_and_boxes_select_their_clip():
    torch.manual_seed(0)
    model = create_resnet_with_roi_head(stem_dim_out=16, model_num_class=5).eval()  # narrow: 1/16 of the MACs
    clips = torch.randn(2, 3, 4, 32, 32)
    boxes = image_boxes(32)
    with torch.no_grad():
        scores = model(clips, boxes)
        alone = model(clips[1:], torch.cat([torch.zeros(1, 1), boxes[2:, 1:]], dim=1))
    assert scores.shape == (3, 5)
    assert torch.allclose(scores[2:], alone, atol=1e-5)  # box 2 reads clip 1 only
    conv_b = model.model.blocks[4].res_blocks[0].branch2.conv_b
    assert (conv_b.dilation, conv_b.padding, conv_b.stride) == ((1, 2, 2), (0, 2, 2), (1, 1, 1))


def test_roi_head_eagerly_matches_its_static_rule():
    kwargs = dict(in_features=16, out_features=5, resolution=(3, 3), spatial_scale=0.5, pool_kernel_size=(4, 1, 1),
                  activation=nn.Softmax)
    head = create_res_roi_pooling_head(**kwargs).eval()
    x, boxes = torch.randn(2, 16, 4, 8, 8), image_boxes(16)
    with torch.no_grad():
        y = head(x, boxes)
    root = assign_paths(expand_node("create_res_roi_pooling_head", kwargs))
    assert infer(root, TensorType(("B", 16, 4, 8, 8)), TensorType(("K", 5))) == TensorType(("K", 5))
    assert y.shape == (3, 5) and torch.allclose(y.sum(dim=1), torch.ones(3), atol=1e-5)
    assert isinstance(head.roi_layer, RoIAlign) and isinstance(head.output_pool, nn.AdaptiveAvgPool3d)


def test_roi_align_static_rule():
    root = assign_paths(expand_node("RoIAlign", dict(output_size=(7, 5), spatial_scale=0.25, sampling_ratio=2)))
    assert infer(root, TensorType(("B", 32, 14, 14)), TensorType(("K", 5))) == TensorType(("K", 32, 7, 5))
    with pytest.raises(InferenceFailed, match=r"boxes must be a \(K, 5\) tensor"):
        infer(root, TensorType(("B", 32, 14, 14)), TensorType(("K", 4)))
    with pytest.raises(InferenceFailed, match="4-D"):
        infer(root, TensorType(("B", 32, 1, 14, 14)), TensorType(("K", 5)))


def test_frames_left_before_the_roi_layer_name_the_head():
    # slow_r50_detection pools 4 frames; an 8-frame clip leaves 5 frames for the RoI layer
    root = assign_paths(expand_node("create_resnet_with_roi_head", {}))
    with pytest.raises(InferenceFailed, match=r"detection_head \(ResNetRoIHead\): the temporal dim must be 1 "
                                              r"before the RoI layer, got 5"):
        infer(root, TensorType(("B", 3, 8, 256, 256)), BOXES)


def test_wrong_box_layout_names_the_roi_layer():
    root = assign_paths(expand_node("create_slowfast_with_roi_head", {}))
    with pytest.raises(InferenceFailed, match=r"detection_head\.roi_layer \(RoIAlign\): boxes must be"):
        infer(root, SLOWFAST_CLIP, TensorType(("N", 4)))


def test_head_channels_disagreeing_with_the_backbone_name_the_projection():
    root = assign_paths(expand_node("create_slowfast_with_roi_head", dict(slowfast_channel_reduction_ratio=4,
                                                                          stem_dim_outs=(64, 16))))
    assert infer(root, SLOWFAST_CLIP, BOXES) == TensorType(("N", 80))  # a consistent beta-1/4 variant
    root = assign_paths(expand_node("create_slowfast_with_roi_head", dict(head_pool_kernel_sizes=((8, 1, 1),
                                                                                                  (16, 1, 1)))))
    with pytest.raises(InferenceFailed, match=r"model\.blocks\.5 \(PoolConcatPathway\)"):
        infer(root, SLOWFAST_CLIP, BOXES)


def test_hub_detection_model_builds():
    from graphspec.models.hub.slowfast import CHECKPOINT_PATHS, slowfast_r50_detection

    assert CHECKPOINT_PATHS["slowfast_r50_detection"].endswith("/ava/SLOWFAST_8x8_R50_DETECTION.pyth")
    model = slowfast_r50_detection(model_num_class=3)
    assert isinstance(model, DetectionBBoxNetwork) and model.detection_head.proj.out_features == 3
