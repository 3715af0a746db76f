"""Squeeze-and-excitation layers (https://arxiv.org/abs/1709.01507)."""

from typing import Callable, Optional

import torch
import torch.nn as nn


class SqueezeAndExcitationLayer2D(nn.Module):
    """2D Squeeze and excitation layer, as per https://arxiv.org/pdf/1709.01507.pdf"""

    def __init__(
        self,
        in_planes: int,
        reduction_ratio: Optional[int] = 16,
        reduced_planes: Optional[int] = None,
    ):
        """
        Args:
            in_planes (int): input channel dimension.
            reduction_ratio (int): factor by which ``in_planes`` is reduced to get the
                bottleneck channel dimension.
            reduced_planes (int): bottleneck channel dimension. Only one of
                ``reduction_ratio`` or ``reduced_planes`` should be defined.
        """
        super().__init__()
        assert bool(reduction_ratio) != bool(
            reduced_planes
        ), "Only one of reduction_ratio or reduced_planes should be defined for SE layer"
        if reduced_planes is None:
            reduced_planes = in_planes // reduction_ratio
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.excitation = nn.Sequential(
            nn.Conv2d(in_planes, reduced_planes, kernel_size=1, stride=1, bias=True),
            nn.ReLU(),
            nn.Conv2d(reduced_planes, in_planes, kernel_size=1, stride=1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x (tensor): 2D image of format N x C x H x W (or C x H x W).
        """
        return x * self.excitation(self.avgpool(x))


def create_audio_2d_squeeze_excitation_block(
    dim_in: int,
    dim_out: int,
    use_se: bool = False,
    se_reduction_ratio: int = 16,
    branch_fusion: Callable = lambda x, y: x + y,
    # Conv configs.
    conv_a_kernel_size: int = 3,
    conv_a_stride: int = 1,
    conv_a_padding: int = 1,
    conv_b_kernel_size: int = 3,
    conv_b_stride: int = 1,
    conv_b_padding: int = 1,
    # Norm configs.
    norm: Callable = nn.BatchNorm3d,
    norm_eps: float = 1e-5,
    norm_momentum: float = 0.1,
    # Activation configs.
    activation: Callable = nn.ReLU,
) -> nn.Module:
    """
    2-D residual block with squeeze excitation (SE2D). Sums an identity shortcut
    (branch1) and a main block (branch2); when the input and output shapes differ,
    branch1 is a 1x1 convolution followed by a normalization::

        Input -> [Conv2d, Norm, Act, Conv2d, Norm, (SE)] -+-> Act
              -> [identity | Conv2d 1x1, Norm] -----------+

    Note: ``norm`` is called as ``norm(dim_out, norm_eps, norm_momentum)`` on 4-D
    tensors, so 2-D input needs e.g. ``norm=nn.BatchNorm2d``; the default
    ``nn.BatchNorm3d`` is kept as documented by PyTorchVideo.

    Returns:
        (nn.Module): a ``ResBlock``.
    """
    # Imported here: models build on layers, so a module-level import would be
    # circular.
    from graphspec.models.resnet import ResBlock

    branch2 = [
        nn.Conv2d(
            dim_in,
            dim_out,
            kernel_size=conv_a_kernel_size,
            stride=conv_a_stride,
            padding=conv_a_padding,
            bias=False,
        ),
        norm(dim_out, norm_eps, norm_momentum),
        activation() if activation else nn.Identity(),
        nn.Conv2d(
            dim_out,
            dim_out,
            kernel_size=conv_b_kernel_size,
            stride=conv_b_stride,
            padding=conv_b_padding,
            bias=False,
        ),
        norm(dim_out, norm_eps, norm_momentum),
    ]
    if use_se:
        branch2.append(SqueezeAndExcitationLayer2D(dim_out, se_reduction_ratio))

    branch1_conv, branch1_norm = None, None
    stride = conv_a_stride * conv_b_stride
    if stride != 1 or dim_in != dim_out:
        branch1_conv = nn.Conv2d(dim_in, dim_out, kernel_size=1, stride=stride, bias=False)
        branch1_norm = norm(dim_out, norm_eps, norm_momentum)

    return ResBlock(
        branch1_conv=branch1_conv,
        branch1_norm=branch1_norm,
        branch2=nn.Sequential(*branch2),
        activation=activation() if activation else None,
        branch_fusion=branch_fusion,
    )
