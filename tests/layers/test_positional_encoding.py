import math

import numpy as np
import pytest
import torch

from graphspec.layers.positional_encoding import (
    PositionalEncoding,
    SpatioTemporalClsPositionalEncoding,
    get_1d_sincos_pos_embed_from_grid,
    get_2d_sincos_pos_embed,
    get_2d_sincos_pos_embed_from_grid,
    get_3d_sincos_pos_embed,
)


def _sincos(dim, pos):
    """Closed form: sin(pos * w_i) for i < dim/2, then cos(pos * w_i), w_i = 10000^(-2i/dim)."""
    half = dim // 2
    return [math.sin(pos * 10000 ** (-2 * i / dim)) for i in range(half)] + [
        math.cos(pos * 10000 ** (-2 * i / dim)) for i in range(half)
    ]


def test_positional_encoding_matches_formula():
    dim, seq_len = 6, 10
    layer = PositionalEncoding(dim, seq_len=seq_len)
    assert list(layer.state_dict()) == ["pe"] and layer.pe.shape == (1, seq_len, dim)
    x = torch.randn(2, 7, dim)
    want = torch.empty(7, dim)
    for pos in range(7):
        for i in range(0, dim, 2):
            angle = pos / 10000 ** (i / dim)
            want[pos, i], want[pos, i + 1] = math.sin(angle), math.cos(angle)
    torch.testing.assert_close(layer(x), x + want)
    with pytest.raises(AssertionError):
        layer(torch.randn(1, seq_len + 1, dim))


def test_1d_sincos_matches_formula():
    pos = np.array([[0.0, 1.0], [2.5, 7.0]])
    got = get_1d_sincos_pos_embed_from_grid(8, pos)
    assert got.shape == (4, 8)
    np.testing.assert_allclose(got, [_sincos(8, p) for p in pos.reshape(-1)], rtol=1e-12, atol=1e-12)


def test_2d_sincos_matches_formula():
    dim, size = 8, 3
    got = get_2d_sincos_pos_embed(dim, size)
    # Row-major grid; the first half encodes the column (w), the second the row (h).
    want = [_sincos(dim // 2, w) + _sincos(dim // 2, h) for h in range(size) for w in range(size)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    with_cls = get_2d_sincos_pos_embed(dim, size, cls_token=True)
    assert with_cls.shape == (size * size + 1, dim)
    np.testing.assert_array_equal(with_cls[0], np.zeros(dim))
    np.testing.assert_array_equal(with_cls[1:], got)

    grid = np.array([[1.0, 2.0], [3.0, 4.0]])  # two points: (1, 3) and (2, 4)
    np.testing.assert_allclose(
        get_2d_sincos_pos_embed_from_grid(4, grid),
        [_sincos(2, 1) + _sincos(2, 3), _sincos(2, 2) + _sincos(2, 4)],
        rtol=1e-12,
    )


def test_3d_sincos_matches_formula():
    dim, size, t_size = 16, 2, 3
    got = get_3d_sincos_pos_embed(dim, size, t_size, cls_token=True)
    assert got.shape == (t_size * size * size + 1, dim)
    np.testing.assert_array_equal(got[0], np.zeros(dim))
    spatial = dim // 4 * 3
    want = [
        _sincos(dim // 4, t) + _sincos(spatial // 2, w) + _sincos(spatial // 2, h)
        for t in range(t_size) for h in range(size) for w in range(size)
    ]
    np.testing.assert_allclose(got[1:], want, rtol=1e-6, atol=1e-7)
    with pytest.raises(AssertionError):
        get_3d_sincos_pos_embed(6, 2, 2)


def test_spatio_temporal_joint_embedding_with_cls():
    layer = SpatioTemporalClsPositionalEncoding(4, (2, 3, 2))
    assert layer.patch_embed_shape == (2, 3, 2)
    assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == [
        ("cls_token", (1, 1, 4)), ("pos_embed", (1, 13, 4)),
    ]
    torch.nn.init.normal_(layer.cls_token)
    torch.nn.init.normal_(layer.pos_embed)
    x = torch.randn(2, 12, 4)
    want = torch.cat([layer.cls_token.expand(2, 1, 4), x], dim=1) + layer.pos_embed
    torch.testing.assert_close(layer(x), want)


def test_spatio_temporal_separate_embedding():
    t, h, w, dim = 3, 2, 2, 4
    layer = SpatioTemporalClsPositionalEncoding(dim, (t, h, w), sep_pos_embed=True)
    assert [(k, tuple(v.shape)) for k, v in layer.state_dict().items()] == [
        ("cls_token", (1, 1, dim)), ("pos_embed_spatial", (1, h * w, dim)),
        ("pos_embed_temporal", (1, t, dim)), ("pos_embed_class", (1, 1, dim)),
    ]
    for p in layer.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, t * h * w, dim)
    out = layer(x)
    assert out.shape == (2, 1 + t * h * w, dim)
    torch.testing.assert_close(out[:, 0], (layer.cls_token + layer.pos_embed_class)[:, 0].expand(2, dim))
    for ti in range(t):
        for s in range(h * w):
            want = x[:, ti * h * w + s] + layer.pos_embed_spatial[0, s] + layer.pos_embed_temporal[0, ti]
            torch.testing.assert_close(out[:, 1 + ti * h * w + s], want)


def test_spatio_temporal_without_cls_and_torchscript():
    layer = SpatioTemporalClsPositionalEncoding(4, (1, 2, 2), sep_pos_embed=True, has_cls=False)
    assert sorted(layer.state_dict()) == ["pos_embed_spatial", "pos_embed_temporal"]
    x = torch.randn(1, 4, 4)
    assert layer(x).shape == (1, 4, 4)
    joint = SpatioTemporalClsPositionalEncoding(4, (1, 2, 2), has_cls=False)
    assert list(joint.state_dict()) == ["pos_embed"]
    torch.nn.init.normal_(joint.pos_embed)
    scripted = torch.jit.script(joint)
    torch.testing.assert_close(scripted(x), x + joint.pos_embed)
    with pytest.raises(AssertionError):
        SpatioTemporalClsPositionalEncoding(4, (2, 2))
