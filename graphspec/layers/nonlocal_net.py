"""Non-local block (Wang et al., "Non-local neural networks", CVPR 2018)."""

from typing import Callable, Iterable, Optional, Tuple

import torch
import torch.nn as nn

from graphspec.layers.utils import set_attributes


class NonLocal(nn.Module):
    """
    Non-local block: the response at each position is a weighted sum of the
    features at all (optionally pooled) positions, added back to the input::

        theta = conv_theta(x); phi = conv_phi(pool(x)); g = conv_g(pool(x))
        A = theta^T phi, normalized by ``instantiation``
        out = x + norm(conv_out(A g))

    "softmax" scales A by dim_inner**-0.5 and applies softmax over the pooled
    positions; "dot_product" divides A by the number of pooled positions.
    """

    def __init__(
        self,
        *,
        conv_theta: nn.Module,
        conv_phi: nn.Module,
        conv_g: nn.Module,
        conv_out: nn.Module,
        pool: Optional[nn.Module] = None,
        norm: Optional[nn.Module] = None,
        instantiation: str = "dot_product",
    ) -> None:
        super().__init__()
        set_attributes(self, locals())
        assert None not in (conv_theta, conv_phi, conv_g, conv_out)
        assert instantiation in (
            "dot_product",
            "softmax",
        ), f"Unknown norm type {instantiation}"
        assert (
            len(
                {
                    self.conv_theta.out_channels,
                    self.conv_phi.out_channels,
                    self.conv_g.out_channels,
                    self.conv_out.in_channels,
                }
            )
            == 1
        ), "Nonlocal convolution's input/ output dimension mismatch."
        self.dim_inner = self.conv_theta.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        dim_inner = self.dim_inner

        theta = self.conv_theta(x).reshape(n, dim_inner, -1)
        pooled = self.pool(x) if self.pool is not None else x
        phi = self.conv_phi(pooled).reshape(n, dim_inner, -1)
        g = self.conv_g(pooled).reshape(n, dim_inner, -1)

        # (N, C, THW) x (N, C, P) -> (N, THW, P) affinity between positions.
        affinity = torch.einsum("nct,ncp->ntp", theta, phi)
        if self.instantiation == "softmax":
            affinity = nn.functional.softmax(affinity * (dim_inner**-0.5), dim=2)
        else:
            affinity = affinity / affinity.shape[2]

        # (N, THW, P) x (N, C, P) -> (N, C, THW)
        response = torch.einsum("ntp,ncp->nct", affinity, g)
        p = self.conv_out(response.reshape(n, dim_inner, t, h, w))
        if self.norm is not None:
            p = self.norm(p)
        return x + p


def create_nonlocal(
    *,
    # Nonlocal configs.
    dim_in: int,
    dim_inner: int,
    pool_size: Optional[Tuple[int]] = (1, 1, 1),
    instantiation: str = "softmax",
    # Norm configs.
    norm: Optional[Callable] = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
) -> nn.Module:
    """
    Builds a ``NonLocal`` block with 1x1x1 convolutions.

    Args:
        dim_in (int): number of dimension for the input.
        dim_inner (int): number of dimension inside of the Non-local block.
        pool_size (tuple[int]): temporal, spatial, spatial max-pool kernel (and
            stride) applied before phi and g; None or all ones means no pooling.
        instantiation (string): "dot_product" or "softmax" normalization of the
            affinity matrix.
        norm (nn.Module): normalization after ``conv_out``; None for none.
        norm_eps (float): normalization epsilon.
        norm_momentum (float): normalization momentum.
    """
    if pool_size is None:
        pool_size = (1, 1, 1)
    assert isinstance(pool_size, Iterable)

    def conv(channels_in: int, channels_out: int) -> nn.Conv3d:
        return nn.Conv3d(channels_in, channels_out, kernel_size=1, stride=1, padding=0)

    pool = None
    if any(size > 1 for size in pool_size):
        pool = nn.MaxPool3d(kernel_size=pool_size, stride=pool_size, padding=[0, 0, 0])
    return NonLocal(
        conv_theta=conv(dim_in, dim_inner),
        conv_phi=conv(dim_in, dim_inner),
        conv_g=conv(dim_in, dim_inner),
        conv_out=conv(dim_inner, dim_in),
        pool=pool,
        norm=None
        if norm is None
        else norm(num_features=dim_in, eps=norm_eps, momentum=norm_momentum),
        instantiation=instantiation,
    )
