"""Masked multistream layers: each against the plain computation on the unpadded sequences
(padded entries hold large random values and must not change the result), the containers against
composing the layers by hand, static layouts against the lowered modules, and the two-modality
spec end to end."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from graphspec.compiler.infer import TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.lower_torch import lower
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.layers.fusion import ConcatFusion
from graphspec.models.masked_multistream import (
    LSTM, MASK_MODULES, LearnMaskedDefault, MaskedMultiPathWay, MaskedSequential, MaskedTemporalPooling,
    TransposeMultiheadAttention, TransposeTransformerEncoder,
)

from conftest import SPECS

LENGTHS = [5, 2, 3]  # valid entries per row; the rest of the 5 positions is padding


def padded(dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(LENGTHS), max(LENGTHS), dim, generator=g)
    mask = torch.arange(max(LENGTHS))[None, :] < torch.tensor(LENGTHS)[:, None]
    return x, mask


def with_other_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask[..., None], x, 1e3 * torch.randn_like(x))


@pytest.mark.parametrize("method, reduce", [
    ("max", lambda v: v.max(dim=0).values), ("avg", lambda v: v.mean(dim=0)), ("sum", lambda v: v.sum(dim=0)),
])
def test_temporal_pooling_reduces_only_the_valid_entries(method, reduce):
    x, mask = padded(4)
    pool = MaskedTemporalPooling(method)
    expected = torch.stack([reduce(x[b, :n]) for b, n in enumerate(LENGTHS)])
    torch.testing.assert_close(pool(x, mask), expected)
    torch.testing.assert_close(pool(with_other_padding(x, mask), mask), expected)
    torch.testing.assert_close(pool(x), reduce(x.transpose(0, 1)))  # no mask: everything is valid
    empty = torch.zeros_like(mask)
    assert torch.equal(pool(x, empty), torch.zeros(3, 4))  # rows with nothing valid pool to 0


def test_attention_over_valid_entries_equals_attention_on_the_unpadded_rows():
    x, mask = padded(8)
    layer = TransposeMultiheadAttention(feature_dim=8, num_heads=2).eval()
    out = layer(with_other_padding(x, mask), mask)
    for b, n in enumerate(LENGTHS):
        row = x[b, :n].unsqueeze(1)  # (seq, batch=1, dim)
        alone, _ = layer._attention(row, row, row)
        torch.testing.assert_close(out[b, :n], alone[:, 0])
        assert torch.equal(out[b, n:], torch.zeros(5 - n, 8))
    assert layer.attention_weights.shape == (3, 5, 5)
    assert torch.equal(layer(x, torch.zeros_like(mask)), torch.zeros_like(x))  # nothing valid: zeros, no NaN


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_runs_each_sequence_over_its_valid_length(bidirectional):
    x, mask = padded(4)
    layer = LSTM(dim_in=4, hidden_dim=3, bidirectional=bidirectional).eval()
    out = layer(with_other_padding(x, mask), mask)
    assert out.shape == (3, 6 if bidirectional else 3) and layer.output_dim == out.shape[1]
    for b, n in enumerate(LENGTHS):
        _, (hidden, _) = layer.lstm(x[b : b + 1, :n])  # the plain nn.LSTM on the unpadded row
        torch.testing.assert_close(out[b], hidden[:, 0].reshape(-1))


def test_transformer_encoder_ignores_the_padding():
    x, mask = padded(8)
    layer = TransposeTransformerEncoder(dim_in=8, num_heads=2, num_layers=2).eval()
    out = layer(with_other_padding(x, mask), mask)
    for b, n in enumerate(LENGTHS):
        alone = layer.encoder(x[b, :n].unsqueeze(1))  # (seq, batch=1, dim), nothing padded
        torch.testing.assert_close(out[b], alone[0, 0], rtol=1e-4, atol=1e-5)


def test_transformer_encoder_reads_a_row_with_nothing_valid_as_its_first_entry():
    x, _ = padded(8)
    mask = torch.tensor([[True] * 5, [False] * 5, [True, True, False, False, False]])
    layer = TransposeTransformerEncoder(dim_in=8, num_heads=2).eval()
    out = layer(x, mask)
    alone = layer.encoder(x[1, :1].unsqueeze(1))  # the first entry, nothing else
    torch.testing.assert_close(out[1], alone[0, 0], rtol=1e-4, atol=1e-5)
    later = x.clone()
    later[1, 1:] = 1e3 * torch.randn(4, 8)  # the other padded entries of that row do not count
    torch.testing.assert_close(layer(later, mask), out)


def test_learned_default_replaces_rows_with_nothing_valid():
    layer = LearnMaskedDefault(feature_dim=4, init_method="zeros")
    assert torch.equal(layer._learned_defaults, torch.zeros(4))
    with torch.no_grad():
        layer._learned_defaults.copy_(torch.arange(4.0))
    x = torch.randn(3, 4)
    mask = torch.tensor([[True, False], [False, False], [False, True]])
    out = layer(x, mask)
    assert torch.equal(out[0], x[0]) and torch.equal(out[2], x[2]) and torch.equal(out[1], torch.arange(4.0))
    assert not LearnMaskedDefault(feature_dim=4, freeze=True)._learned_defaults.requires_grad


def test_nested_masked_sequential_gets_the_mask():
    x, mask = padded(8)
    inner = MaskedSequential(TransposeMultiheadAttention(8), MaskedTemporalPooling("max"))
    outer = MaskedSequential(inner, nn.Linear(8, 3), LearnMaskedDefault(3))
    by_hand = outer[2](outer[1](inner[1](inner[0](x, mask=mask), mask=mask)), mask=mask)
    torch.testing.assert_close(outer(with_other_padding(x, mask), mask), by_hand)


def test_containers_equal_composing_the_layers_by_hand():
    torch.manual_seed(0)
    xv, mv = padded(8, seed=1)
    xa, ma = padded(4, seed=2)
    video = MaskedSequential(TransposeMultiheadAttention(8), MaskedTemporalPooling("avg"), nn.Linear(8, 6))
    audio = MaskedSequential(LSTM(4, 5), LearnMaskedDefault(5))
    model = MaskedMultiPathWay(multipathway_blocks=nn.ModuleList([video, audio]),
                               multipathway_fusion=ConcatFusion([6, 5])).eval()
    by_hand = torch.cat([
        video[2](video[1](video[0](xv, mask=mv), mask=mv)),
        audio[1](audio[0](xa, mask=ma), mask=ma),
    ], dim=-1)
    torch.testing.assert_close(model([(xv, mv), (xa, ma)]), by_hand)
    padded_again = model([(with_other_padding(xv, mv), mv), (with_other_padding(xa, ma), ma)])
    torch.testing.assert_close(padded_again, by_hand)


LAYERS = {
    "MaskedTemporalPooling": ({"method": "max"}, (2, 5, 8)),
    "TransposeMultiheadAttention": ({"feature_dim": 8, "num_heads": 2}, (2, 5, 8)),
    "LSTM": ({"dim_in": 8, "hidden_dim": 3, "bidirectional": True}, (2, 5, 8)),
    "TransposeTransformerEncoder": ({"dim_in": 8, "num_heads": 4, "num_layers": 2}, (2, 5, 8)),
    "LearnMaskedDefault": ({"feature_dim": 8}, (2, 8)),
}


def test_masked_sequential_drops_a_none_and_numbers_the_modules_left():
    """Unlike ``nn.Sequential`` (which keeps a None in its place), the lowered module holds only the
    modules: static keys and paths count from 0 over those, as plain torch names them."""
    root = assign_paths(expand_node("MaskedSequential", {"modules": [None, {"op": "Linear", "in_features": 4,
                                                                             "out_features": 3}]}))
    infer(root, TensorType((2, 5, 4)), TensorType((2, 5)))
    expected = list(nn.Sequential(nn.Linear(4, 3)).state_dict())
    assert [key for key, *_ in annotate_state(root)] == expected == list(lower(root).state_dict())


def test_every_mask_taking_layer_is_covered():
    assert set(LAYERS) | {"MaskedSequential"} == {cls.__name__ for cls in MASK_MODULES}


@pytest.mark.parametrize("op", sorted(LAYERS))
def test_static_layout_and_shape_equal_the_lowered_layer(op):
    kwargs, shape = LAYERS[op]
    root = assign_paths(expand_node(op, kwargs))
    assert lint(root) == []
    out = infer(root, TensorType(shape), TensorType((2, 5)))
    state = annotate_state(root)
    module = lower(root).eval()
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in state]
    assert sum(p.numel() for p in module.parameters()) == root.meta["params"]
    got = module(torch.randn(shape), torch.ones(2, 5, dtype=torch.bool))
    assert tuple(got.shape) == out.shape


def test_two_modality_spec_runs_with_masks():
    compiled = compile_spec(SPECS / "models" / "multimodal" / "masked_av_fusion.yaml")
    assert compiled.diagnostics == []
    model = compiled.lower().eval()
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == [(k, s) for k, _, s, _ in compiled.state]
    torch.manual_seed(0)
    video, audio = torch.randn(2, 16, 512), torch.randn(2, 40, 128)
    video_mask = torch.arange(16)[None] < torch.tensor([16, 9])[:, None]
    audio_mask = torch.arange(40)[None] < torch.tensor([0, 25])[:, None]  # sample 0 has no audio
    logits = model(video=[video, video_mask], audio=[audio, audio_mask])
    assert tuple(logits.shape) == (2, 400) == tuple(2 if d == "B" else d for d in compiled.outputs["logits"].shape)
    again = model(video=[with_other_padding(video, video_mask), video_mask],
                  audio=[with_other_padding(audio, audio_mask), audio_mask])
    torch.testing.assert_close(again, logits)


def test_mask_of_the_wrong_length_is_a_shape_error(tmp_path):
    compiled = compile_spec(SPECS / "models" / "multimodal" / "masked_av_fusion.yaml",
                            ["inputs.audio.mask=[B, 39]"])
    [finding] = compiled.diagnostics
    assert finding.code == "shape" and "mask" in finding.message
