"""Positional encodings: the fixed 1D sin-cos encoding of "Attention Is All You
Need", learned spatio-temporal embeddings with a class token, and numpy sin-cos
tables for 1D/2D/3D grids (as used by MAE)."""

import math
from typing import Tuple

import numpy as np
import torch
import torch.nn as nn


class PositionalEncoding(nn.Module):
    """
    Adds a fixed positional encoding to a tensor of shape
    (batch_size x seq_len x embed_dim)::

        PE(pos, 2i)   = sin(pos / 10000^(2i / embed_dim))
        PE(pos, 2i+1) = cos(pos / 10000^(2i / embed_dim))

    for pos in [0, seq_len). ``embed_dim`` must be even.
    """

    def __init__(self, embed_dim: int, seq_len: int = 1024) -> None:
        super().__init__()
        position = torch.arange(seq_len, dtype=torch.float).unsqueeze(1)
        inv_freq = torch.exp(
            torch.arange(0, embed_dim, 2).float() * (-math.log(10000.0) / embed_dim)
        )
        pe = torch.zeros(seq_len, embed_dim, dtype=torch.float)
        pe[:, 0::2] = torch.sin(position * inv_freq)
        pe[:, 1::2] = torch.cos(position * inv_freq)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.pe.size(1) >= x.size(1), (
            f"Cannot apply position encoding of size {x.size()} when Tensor has "
            f"size {self.pe.size()}"
        )
        return x + self.pe[:, : x.size(1), :]


class SpatioTemporalClsPositionalEncoding(nn.Module):
    """
    Adds a class token and learned positional embeddings to a flattened
    spatio-temporal patch sequence of shape (batch_size, T*H*W, embed_dim).

    With ``sep_pos_embed`` the embedding is the sum of a spatial (H*W) and a
    temporal (T) table, plus a separate class-token embedding; otherwise it is one
    table over all positions (including the class token).
    """

    def __init__(
        self,
        embed_dim: int,
        patch_embed_shape: Tuple[int, int, int],
        sep_pos_embed: bool = False,
        has_cls: bool = True,
    ) -> None:
        """
        Args:
            embed_dim (int): embedding dimension of the input sequence.
            patch_embed_shape (Tuple[int, int, int]): number of patches along
                (T, H, W).
            sep_pos_embed (bool): separate spatial and temporal embeddings.
            has_cls (bool): prepend a learnable class token.
        """
        super().__init__()
        assert (
            len(patch_embed_shape) == 3
        ), "Patch_embed_shape should be in the form of (T, H, W)."
        self.cls_embed_on = has_cls
        self.sep_pos_embed = sep_pos_embed
        self._patch_embed_shape = tuple(patch_embed_shape)
        self.num_spatial_patch = patch_embed_shape[1] * patch_embed_shape[2]
        self.num_temporal_patch = patch_embed_shape[0]

        num_patches = self.num_spatial_patch * self.num_temporal_patch
        # Unused slots hold empty tensors (not None) so that every attribute keeps
        # the Tensor type TorchScript expects.
        if self.cls_embed_on:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            num_patches += 1
        else:
            self.cls_token = torch.tensor(0)

        if self.sep_pos_embed:
            self.pos_embed_spatial = nn.Parameter(
                torch.zeros(1, self.num_spatial_patch, embed_dim)
            )
            self.pos_embed_temporal = nn.Parameter(
                torch.zeros(1, self.num_temporal_patch, embed_dim)
            )
            if self.cls_embed_on:
                self.pos_embed_class = nn.Parameter(torch.zeros(1, 1, embed_dim))
            else:
                self.pos_embed_class = torch.tensor([])
            self.pos_embed = torch.tensor([])
        else:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, embed_dim))
            self.pos_embed_spatial = torch.tensor([])
            self.pos_embed_temporal = torch.tensor([])
            self.pos_embed_class = torch.tensor([])

    @property
    def patch_embed_shape(self) -> Tuple[int, int, int]:
        """Number of patches along (T, H, W)."""
        return self._patch_embed_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x (torch.Tensor): input of shape (B, T*H*W, embed_dim).
        """
        if self.cls_embed_on:
            cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)

        if not self.sep_pos_embed:
            return x + self.pos_embed
        # Sequence order is time-major: position t*H*W + s gets spatial[s] +
        # temporal[t].
        pos_embed = self.pos_embed_spatial.repeat(
            1, self.num_temporal_patch, 1
        ) + torch.repeat_interleave(
            self.pos_embed_temporal, self.num_spatial_patch, dim=1
        )
        if self.cls_embed_on:
            pos_embed = torch.cat([self.pos_embed_class, pos_embed], dim=1)
        return x + pos_embed


def get_3d_sincos_pos_embed(
    embed_dim: int, grid_size: int, t_size: int, cls_token: bool = False
) -> np.ndarray:
    """
    Sin-cos embedding of a (t_size, grid_size, grid_size) grid, time-major.

    The first quarter of ``embed_dim`` encodes time (1D), the remaining three
    quarters the spatial position (2D). With ``cls_token`` a zero row is
    prepended.

    Returns:
        np.ndarray: [t_size*grid_size*grid_size (+1), embed_dim].
    """
    assert embed_dim % 4 == 0
    embed_dim_spatial = embed_dim // 4 * 3
    embed_dim_temporal = embed_dim // 4

    pos_embed_spatial = get_2d_sincos_pos_embed_from_grid(
        embed_dim_spatial, _2d_grid(grid_size)
    )
    pos_embed_temporal = get_1d_sincos_pos_embed_from_grid(
        embed_dim_temporal, np.arange(t_size, dtype=np.float32)
    )
    # Broadcast to (T, H*W, D_t) and (T, H*W, D_s).
    pos_embed_temporal = np.repeat(pos_embed_temporal[:, np.newaxis, :], grid_size**2, axis=1)
    pos_embed_spatial = np.repeat(pos_embed_spatial[np.newaxis, :, :], t_size, axis=0)
    pos_embed = np.concatenate([pos_embed_temporal, pos_embed_spatial], axis=-1)
    return _maybe_prepend_cls(pos_embed.reshape([-1, embed_dim]), embed_dim, cls_token)


def get_2d_sincos_pos_embed(
    embed_dim: int, grid_size: int, cls_token: bool = False
) -> np.ndarray:
    """
    Sin-cos embedding of a (grid_size, grid_size) grid, row-major.

    Returns:
        np.ndarray: [grid_size*grid_size (+1 with cls_token), embed_dim].
    """
    pos_embed = get_2d_sincos_pos_embed_from_grid(embed_dim, _2d_grid(grid_size))
    return _maybe_prepend_cls(pos_embed, embed_dim, cls_token)


def get_2d_sincos_pos_embed_from_grid(embed_dim: int, grid: np.ndarray) -> np.ndarray:
    """
    Args:
        embed_dim (int): output dimension, must be even.
        grid (np.ndarray): [2, ...] coordinates; half of the channels encode
            grid[0], the other half grid[1].

    Returns:
        np.ndarray: [grid[0].size, embed_dim].
    """
    assert embed_dim % 2 == 0
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def get_1d_sincos_pos_embed_from_grid(embed_dim: int, pos: np.ndarray) -> np.ndarray:
    """
    Args:
        embed_dim (int): output dimension for each position, must be even.
        pos (np.ndarray): positions to be encoded, any shape (flattened to M).

    Returns:
        np.ndarray: [M, embed_dim], ``sin(pos * w_i)`` in the first half and
        ``cos(pos * w_i)`` in the second, with ``w_i = 10000^(-2i / embed_dim)``.
    """
    assert embed_dim % 2 == 0
    omega = np.arange(embed_dim // 2, dtype=np.float64) / (embed_dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", np.reshape(pos, -1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def _2d_grid(grid_size: int) -> np.ndarray:
    # [2, 1, H, W] coordinates; as in MAE, the w (column) coordinate comes first.
    coords = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(coords, coords), axis=0)
    return grid.reshape([2, 1, grid_size, grid_size])


def _maybe_prepend_cls(pos_embed: np.ndarray, embed_dim: int, cls_token: bool) -> np.ndarray:
    if cls_token:
        return np.concatenate([np.zeros([1, embed_dim]), pos_embed], axis=0)
    return pos_embed
