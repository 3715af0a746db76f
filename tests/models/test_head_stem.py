"""Vision transformer head, patch embedding and the acoustic stem: static shapes, state and
params agree with the lowered modules on the meta device; the modules compute PyTorchVideo's
formulas (checked against plain torch); shape and argument errors are clear and located."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import graphspec  # noqa: F401  (registers the ops)
from graphspec.compiler.infer import InferenceFailed, TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.template import expand_node
from graphspec.layers.convolutions import ConvReduce3D
from graphspec.models.head import SequencePool, VisionTransformerBasicHead, create_vit_basic_head
from graphspec.models.stem import (
    PatchEmbed, ResNetBasicStem, create_acoustic_res_basic_stem, create_conv_patch_embed,
)
from graphspec.spec.errors import SpecError

BATCH = 2  # the value of the symbolic batch "B" on the meta device


def build_ir(op: str, kwargs: dict):
    root = assign_paths(expand_node(op, kwargs))
    assert lint(root) == []
    return root


def concrete(shape) -> tuple:
    return tuple(BATCH if d == "B" else d for d in shape)


def check_against_lowered(root, *inputs: TensorType):
    """Static inference of ``root`` agrees with its lowered module on the meta device: the output
    of every node, the state_dict layout and the parameter count. Returns (output type, module)."""
    out = infer(root, *inputs)
    state = annotate_state(root)
    with torch.device("meta"):
        module = lower(root)
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in state]
    assert sum(p.numel() for p in module.parameters()) == root.meta["params"]
    seen = {}

    def record(name: str):
        def hook(mod, inputs, output) -> None:  # returns None: the output is left as it is
            seen[name] = tuple(output.shape)
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in module.named_modules()]
    with torch.device("meta"):
        got = module(*[torch.empty(concrete(v.shape), device="meta") for v in inputs])
    for hook in hooks:
        hook.remove()
    for node in root.walk():
        if node.path in seen and isinstance(node.meta.get("output"), TensorType):
            assert seen[node.path] == concrete(node.meta["output"].shape), node.path
    assert tuple(got.shape) == concrete(out.shape)
    return out, module


# ---- SequencePool -----------------------------------------------------------------------------
def test_sequence_pool_cls_takes_token_zero_and_mean_averages_all_tokens():
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(SequencePool("cls")(x), x[:, 0, :])
    torch.testing.assert_close(SequencePool("mean")(x), x.sum(dim=1) / 5)  # PyTorchVideo: x.mean(1)


@pytest.mark.parametrize("mode", ["cls", "mean"])
def test_sequence_pool_static_shape_matches_meta_execution(mode):
    root = build_ir("SequencePool", dict(mode=mode))
    out, module = check_against_lowered(root, TensorType(("B", 197, 8)))
    assert out == TensorType(("B", 8)) and module.mode == mode and root.meta["macs"] == 0


def test_sequence_pool_rejects_other_modes_and_non_token_inputs():
    with pytest.raises(ValueError, match="'cls' or 'mean', got 'max'"):
        SequencePool("max")
    with pytest.raises(SpecError, match="mode"):
        expand_node("SequencePool", dict(mode="max"))
    with pytest.raises(InferenceFailed, match=r"SequencePool.*3-D \(batch, tokens, channels\).*4-D"):
        infer(build_ir("SequencePool", dict(mode="cls")), TensorType(("B", 8, 4, 4)))
    with pytest.raises(InferenceFailed, match="at least one token, got 0"):
        infer(build_ir("SequencePool", dict(mode="mean")), TensorType(("B", 0, 8)))
    assert infer(build_ir("SequencePool", dict(mode="mean")), TensorType(("B", 1, 8))) == TensorType(("B", 8))


# ---- VisionTransformerBasicHead / create_vit_basic_head ---------------------------------------
def test_vit_head_structure_follows_pytorchvideo():
    head = create_vit_basic_head(in_features=16, out_features=5)
    assert isinstance(head, VisionTransformerBasicHead)
    assert [name for name, _ in head.named_children()] == ["sequence_pool", "dropout", "proj"]
    assert head.sequence_pool.mode == "cls" and head.dropout.p == 0.5 and head.activation is None
    assert (head.proj.in_features, head.proj.out_features) == (16, 5)
    assert list(head.state_dict()) == ["proj.weight", "proj.bias"]
    bare = create_vit_basic_head(in_features=16, out_features=5, seq_pool_type="none", dropout_rate=0.0,
                                 activation=nn.Softmax)
    assert bare.sequence_pool is None and bare.dropout is None
    assert isinstance(bare.activation, nn.Softmax) and bare.activation.dim == 1


@pytest.mark.parametrize("seq_pool_type, pooled", [
    ("cls", lambda x: x[:, 0]),
    ("mean", lambda x: x.mean(dim=1)),  # all tokens, as PyTorchVideo's SequencePool
    ("none", lambda x: x),
])
def test_vit_head_is_a_linear_layer_on_the_pooled_tokens(seq_pool_type, pooled):
    torch.manual_seed(0)
    head = create_vit_basic_head(in_features=8, out_features=3, seq_pool_type=seq_pool_type).eval()
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(head(x), pooled(x) @ head.proj.weight.T + head.proj.bias)


def test_vit_head_activation_normalises_over_classes():
    torch.manual_seed(0)
    head = create_vit_basic_head(in_features=8, out_features=3, activation=nn.Softmax).eval()
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(head(x), torch.softmax(head.proj(x[:, 0]), dim=1))


@pytest.mark.parametrize("seq_pool_type, expected", [("cls", ("B", 10)), ("none", ("B", 50, 10))])
def test_vit_head_static_shape_params_and_macs(seq_pool_type, expected):
    root = build_ir("create_vit_basic_head", dict(in_features=32, out_features=10, seq_pool_type=seq_pool_type,
                                                  activation="Sigmoid"))
    out, _ = check_against_lowered(root, TensorType(("B", 50, 32)))
    assert out == TensorType(expected)
    assert root.meta["params"] == 32 * 10 + 10
    tokens = 1 if seq_pool_type == "cls" else 50
    assert root.meta["macs"] == tokens * 32 * 10


def test_vit_head_bad_seq_pool_type_is_a_clear_error():
    with pytest.raises(SpecError, match=r"seq_pool_type: Input should be 'cls', 'mean' or 'none', got 'max'"):
        create_vit_basic_head(in_features=8, out_features=3, seq_pool_type="max")


def test_vit_head_channel_mismatch_names_the_projection():
    root = build_ir("create_vit_basic_head", dict(in_features=32, out_features=10))
    with pytest.raises(InferenceFailed, match=r"proj \(Linear\): expects 32 input channels.*got 24"):
        infer(root, TensorType(("B", 50, 24)))


# ---- PatchEmbed / create_conv_patch_embed -----------------------------------------------------
def test_patch_embed_is_the_convolution_flattened_to_tokens():
    torch.manual_seed(0)
    embed = create_conv_patch_embed(in_channels=3, out_channels=8)
    assert isinstance(embed, PatchEmbed) and list(embed.state_dict()) == ["patch_model.weight", "patch_model.bias"]
    conv = embed.patch_model
    assert (conv.kernel_size, conv.stride, conv.padding) == ((1, 16, 16), (1, 4, 4), (1, 7, 7))
    x = torch.randn(2, 3, 2, 32, 32)
    y = F.conv3d(x, conv.weight, conv.bias, stride=(1, 4, 4), padding=(1, 7, 7))  # 2 x 8 x 4 x 8 x 8
    torch.testing.assert_close(embed(x), y.reshape(2, 8, 4 * 8 * 8).permute(0, 2, 1))


def test_patch_embed_static_shape_params_and_macs():
    root = build_ir("create_conv_patch_embed", dict(in_channels=3, out_channels=96, conv_kernel_size=(3, 7, 7),
                                                    conv_stride=(2, 4, 4), conv_padding=(1, 3, 3)))
    out, _ = check_against_lowered(root, TensorType(("B", 3, 16, 224, 224)))
    assert out == TensorType(("B", 8 * 56 * 56, 96))
    assert root.meta["params"] == 96 * 3 * 3 * 7 * 7 + 96
    assert root.meta["macs"] == 8 * 56 * 56 * 96 * 3 * 3 * 7 * 7


def test_patch_embed_with_a_2d_convolution_and_symbolic_sizes():
    root = build_ir("create_conv_patch_embed", dict(in_channels=3, out_channels=16, conv=nn.Conv2d,
                                                    conv_kernel_size=(4, 4), conv_stride=(4, 4), conv_padding=(0, 0)))
    out, module = check_against_lowered(root, TensorType(("B", 3, 32, 24)))
    assert out == TensorType(("B", 48, 16)) and isinstance(module.patch_model, nn.Conv2d)
    symbolic = infer(root, TensorType(("B", 3, "H", "W")))
    assert symbolic == TensorType(("B", "((H-4)//4+1)*((W-4)//4+1)", 16))


def test_patch_embed_channel_error_names_the_convolution():
    root = build_ir("create_conv_patch_embed", dict(in_channels=3, out_channels=8))
    with pytest.raises(InferenceFailed, match=r"patch_model \(Conv3d\): expects 3 input channels"):
        infer(root, TensorType(("B", 1, 4, 32, 32)))


# ---- ConvReduce3D and the acoustic stem -------------------------------------------------------
def reduce_kwargs(**overrides) -> dict:
    return {**dict(in_channels=3, out_channels=4, kernel_size=((3, 1, 1), (1, 3, 3)),
                   padding=((1, 0, 0), (0, 1, 1)), bias=(True, False)), **overrides}


@pytest.mark.parametrize("method, channels", [("sum", 4), ("cat", 8)])
def test_conv_reduce_static_rules_match_the_module(method, channels):
    root = build_ir("ConvReduce3D", reduce_kwargs(reduction_method=method, stride=((1, 2, 2), (1, 2, 2))))
    out, module = check_against_lowered(root, TensorType(("B", 3, 4, 9, 9)))
    assert out == TensorType(("B", channels, 4, 5, 5)) and isinstance(module, ConvReduce3D)
    assert [key for key, *_ in annotate_state(root)] == ["convs.0.weight", "convs.0.bias", "convs.1.weight"]
    assert root.meta["macs"] == 4 * 4 * 5 * 5 * (3 * 3 + 3 * 9)  # both convolutions; the reduction is free


def test_conv_reduce_errors_name_the_convolution_and_the_mismatch():
    with pytest.raises(InferenceFailed, match=r"\(ConvReduce3D\): the summed convolutions differ in shape"):
        infer(build_ir("ConvReduce3D", reduce_kwargs(padding=None)), TensorType(("B", 3, 4, 9, 9)))
    with pytest.raises(InferenceFailed, match=r"convs\.1: window 3 .* larger than padded input 1"):
        infer(build_ir("ConvReduce3D", reduce_kwargs(padding=((1, 0, 0), None))), TensorType(("B", 3, 4, 1, 1)))
    with pytest.raises(InferenceFailed, match="padding has 1 entries, kernel_size 2"):
        infer(build_ir("ConvReduce3D", reduce_kwargs(padding=((1, 0, 0),))), TensorType(("B", 3, 4, 9, 9)))


def test_acoustic_stem_sums_a_temporal_and_a_spatial_convolution():
    torch.manual_seed(0)
    stem = create_acoustic_res_basic_stem(in_channels=1, out_channels=4, conv_kernel_size=(9, 1, 9),
                                          conv_stride=(1, 1, 3), conv_padding=(4, 0, 4)).eval()
    assert isinstance(stem, ResNetBasicStem) and isinstance(stem.conv, ConvReduce3D)
    temporal, spatial = stem.conv.convs
    assert temporal.weight.shape == (4, 1, 9, 1, 1) and spatial.weight.shape == (4, 1, 1, 1, 9)
    assert temporal.bias is None and spatial.bias is None
    x = torch.randn(2, 1, 16, 1, 30)
    conv = (F.conv3d(x, temporal.weight, stride=(1, 1, 3), padding=(4, 0, 0))
            + F.conv3d(x, spatial.weight, stride=(1, 1, 3), padding=(0, 0, 4)))
    torch.testing.assert_close(stem.conv(x), conv)
    torch.testing.assert_close(stem(x), stem.pool(F.relu(stem.norm(conv))))


def test_acoustic_stem_static_shape_matches_meta_execution():
    root = build_ir("create_acoustic_res_basic_stem", dict(in_channels=1, out_channels=64))
    out, _ = check_against_lowered(root, TensorType(("B", 1, 20, 8, 40)))
    assert out == TensorType(("B", 64, 20, 4, 20))
    assert root.meta["macs"] == 64 * 20 * 8 * 40 * (3 + 7 * 7) + 2 * 64 * 20 * 8 * 40  # convs + batch norm


def test_acoustic_stem_channel_error_names_the_reduce_convolution():
    root = build_ir("create_acoustic_res_basic_stem", dict(in_channels=1, out_channels=64))
    with pytest.raises(InferenceFailed, match=r"^<spec>: conv \(ConvReduce3D\): convs\.0: expects 1 input channels"):
        infer(root, TensorType(("B", 2, 20, 8, 40)))
