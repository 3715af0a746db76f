"""RoIAlign (Mask R-CNN, https://arxiv.org/abs/1703.06870) in plain torch, with
the semantics of ``torchvision.ops.roi_align`` and export to ONNX ``RoiAlign``."""

from typing import List, Tuple, Union

import torch
import torch.nn as nn

from graphspec.compiler.infer import Inference, ShapeError, TensorType
from graphspec.compiler.ir import Node
from graphspec.registry import register

_Size2 = Union[int, Tuple[int, int], List[int]]


def roi_align(
    input: torch.Tensor,
    boxes: Union[torch.Tensor, List[torch.Tensor]],
    output_size: _Size2,
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """
    Average-pool each region of interest into a fixed ``output_size`` grid of
    bins, each bin being the mean of a regular grid of bilinearly interpolated
    samples.

    Args:
        input (Tensor[N, C, H, W]): feature map.
        boxes (Tensor[K, 5] or List[Tensor[L, 4]]): boxes as (x1, y1, x2, y2) in
            input-image coordinates; a Tensor[K, 5] holds the batch index first, a
            list holds one tensor per batch element.
        output_size (int or Tuple[int, int]): (height, width) of the output bins.
        spatial_scale (float): factor mapping box coordinates to the feature map,
            e.g. 1/16 for a stride-16 feature.
        sampling_ratio (int): samples per bin along each axis; <= 0 means
            ``ceil(roi_size / output_size)`` per RoI.
        aligned (bool): shift box coordinates by -0.5 pixel so that pixel centers
            align; without it RoIs are also forced to be at least 1x1.

    Returns:
        Tensor[K, C, output_size[0], output_size[1]].
    """
    rois = _convert_boxes_to_rois(boxes)
    pooled_h, pooled_w = _pair(output_size)
    if input.is_meta:  # no box values to read on the meta device: only the output's shape
        return input.new_empty((rois.shape[0], input.shape[1], pooled_h, pooled_w))
    batch_index = rois[:, 0].long()
    coords = rois[:, 1:5]
    args = (float(spatial_scale), pooled_h, pooled_w, int(sampling_ratio), bool(aligned))
    if torch.onnx.is_in_onnx_export():
        return _RoIAlignFunction.apply(input, coords, batch_index, *args)
    return _roi_align(input, coords, batch_index, *args)


def _roi_align_infer(node: Node, ctx: Inference, input: TensorType, boxes: TensorType) -> TensorType:
    """Static rule: (N, C, H, W) features and (K, 5) boxes give (K, C, *output_size)."""
    if not isinstance(input, TensorType) or input.rank != 4:
        raise ShapeError(f"RoIAlign expects a 4-D (N, C, H, W) feature map, got {input}")
    if not isinstance(boxes, TensorType) or boxes.rank != 2 or boxes.shape[1] != 5:
        raise ShapeError(f"boxes must be a (K, 5) tensor (batch index, x1, y1, x2, y2), got {boxes}")
    return input.with_shape((boxes.shape[0], input.shape[1], *_pair(node.args["output_size"])))


@register(infer=_roi_align_infer)
class RoIAlign(nn.Module):
    """Module wrapper of ``roi_align``."""

    def __init__(
        self,
        output_size: _Size2,
        spatial_scale: float,
        sampling_ratio: int,
        aligned: bool = False,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(
        self, input: torch.Tensor, rois: Union[torch.Tensor, List[torch.Tensor]]
    ) -> torch.Tensor:
        return roi_align(
            input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned
        )

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(output_size={self.output_size}, "
            f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
            f"aligned={self.aligned})"
        )


class _RoIAlignFunction(torch.autograd.Function):
    """Used only while exporting to ONNX, where ``symbolic`` turns the call into a
    single ``RoiAlign`` node."""

    @staticmethod
    def forward(ctx, input, coords, batch_index, spatial_scale, pooled_h, pooled_w,
                sampling_ratio, aligned):
        # Only the output's shape and type matter to the exporter, which replaces
        # this call by ``symbolic``; pausing the tracer keeps the (box-dependent)
        # computation out of the traced graph.
        tracing_state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            return _roi_align(input, coords, batch_index, spatial_scale, pooled_h,
                              pooled_w, sampling_ratio, aligned)
        finally:
            torch._C._set_tracing_state(tracing_state)

    @staticmethod
    def symbolic(g, input, coords, batch_index, spatial_scale, pooled_h, pooled_w,
                 sampling_ratio, aligned):
        attributes = {
            "mode_s": "avg",
            "output_height_i": pooled_h,
            "output_width_i": pooled_w,
            # ONNX reads 0 as the adaptive sampling grid.
            "sampling_ratio_i": max(sampling_ratio, 0),
            "spatial_scale_f": spatial_scale,
        }
        if g.opset >= 16:
            # half_pixel subtracts 0.5 and does not force RoIs to be 1x1 or larger.
            attributes["coordinate_transformation_mode_s"] = (
                "half_pixel" if aligned else "output_half_pixel"
            )
        elif aligned:
            raise RuntimeError("RoIAlign with aligned=True needs ONNX opset 16 or newer")
        return g.op("RoiAlign", input, coords, batch_index, **attributes)


def _pair(size: _Size2) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    assert len(size) == 2, "output_size must be an int or a pair of ints"
    return int(size[0]), int(size[1])


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _convert_boxes_to_rois(boxes: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
    if isinstance(boxes, torch.Tensor):
        assert boxes.dim() == 2 and boxes.size(1) == 5, "boxes must be a Tensor[K, 5]"
        return boxes
    assert isinstance(boxes, (list, tuple)), "boxes must be a Tensor[K, 5] or a list"
    assert all(b.dim() == 2 and b.size(1) == 4 for b in boxes), "expected Tensor[L, 4]"
    coords = torch.cat(list(boxes), dim=0)
    batch_index = torch.cat(
        [torch.full_like(b[:, :1], index) for index, b in enumerate(boxes)], dim=0
    )
    return torch.cat([batch_index, coords], dim=1)


def _axis_samples(
    start: torch.Tensor,
    bin_size: torch.Tensor,
    grid: torch.Tensor,
    sample_index: int,
    num_bins: int,
    length: int,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    Sample ``sample_index`` of every bin along one axis, for every RoI, and its
    linear interpolation on a ``length``-pixel axis.

    Returns the low and high pixel indices and their weights, each [K, num_bins];
    the weights are 0 for samples outside [-1, length] and for bins whose RoI has
    fewer than ``sample_index + 1`` samples.
    """
    bins = torch.arange(num_bins, device=start.device, dtype=start.dtype)
    pos = (
        start[:, None]
        + bins[None, :] * bin_size[:, None]
        + (sample_index + 0.5) * bin_size[:, None] / grid[:, None].to(start.dtype)
    )
    valid = (pos >= -1.0) & (pos <= length) & (grid[:, None] > sample_index)
    pos = pos.clamp(min=0)
    low = pos.floor().long()
    # At the last pixel both neighbours are that pixel.
    at_end = low >= length - 1
    low = torch.where(at_end, torch.full_like(low, length - 1), low)
    high = torch.where(at_end, low, low + 1)
    pos = torch.where(at_end, low.to(pos.dtype), pos)
    frac = pos - low.to(pos.dtype)
    valid = valid.to(pos.dtype)
    return low, high, (1 - frac) * valid, frac * valid


def _roi_align(
    input: torch.Tensor,
    coords: torch.Tensor,
    batch_index: torch.Tensor,
    spatial_scale: float,
    pooled_h: int,
    pooled_w: int,
    sampling_ratio: int,
    aligned: bool,
) -> torch.Tensor:
    num_images, channels, height, width = input.shape
    num_rois = coords.shape[0]
    coords = coords.to(input.dtype) * spatial_scale - (0.5 if aligned else 0.0)
    x1, y1, x2, y2 = coords.unbind(dim=1)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / pooled_h, roi_w / pooled_w
    if sampling_ratio > 0:
        grid_h = torch.full_like(batch_index, sampling_ratio)
        grid_w = torch.full_like(batch_index, sampling_ratio)
    else:
        grid_h = torch.ceil(roi_h / pooled_h).long()
        grid_w = torch.ceil(roi_w / pooled_w).long()
    count = (grid_h * grid_w).clamp(min=1).to(input.dtype)
    if sampling_ratio > 0:
        max_grid_h = max_grid_w = sampling_ratio
    elif torch.compiler.is_compiling():
        # A traced graph cannot take its loop bounds from box values: loop over the
        # grid of the largest RoI that fits in the feature map (the -0.5 shift of
        # ``aligned`` moves both corners, and clamping to 1 pixel stays within any map).
        # Samples past a RoI's own grid have weight 0, so smaller RoIs stay exact.
        max_grid_h, max_grid_w = _ceil_div(height, pooled_h), _ceil_div(width, pooled_w)
        fits = (grid_h <= max_grid_h) & (grid_w <= max_grid_w)
        torch._assert_async(
            fits.all(),
            f"RoIAlign with adaptive sampling (sampling_ratio <= 0) was traced for RoIs up "
            f"to the {height}x{width} feature map's size (at most {max_grid_h}x{max_grid_w} "
            f"samples per bin); a larger box would be pooled from too few samples",
        )
        # ExecuTorch strips assert ops from its programs: NaN rows make larger RoIs
        # visibly wrong there instead.
        count = torch.where(fits, count, torch.full_like(count, float("nan")))
    else:
        max_grid_h = int(grid_h.max()) if num_rois else 0
        max_grid_w = int(grid_w.max()) if num_rois else 0

    # Pixels as rows of a [N*H*W, C] table, so each sample is one row lookup.
    table = input.permute(0, 2, 3, 1).reshape(num_images * height * width, channels)
    image_offset = (batch_index * (height * width))[:, None, None]
    output = input.new_zeros(num_rois, pooled_h, pooled_w, channels)
    # Loop over the sample offsets within a bin; all RoIs and bins at once.
    for iy in range(max_grid_h):
        y_low, y_high, wy_low, wy_high = _axis_samples(y1, bin_h, grid_h, iy, pooled_h, height)
        for ix in range(max_grid_w):
            x_low, x_high, wx_low, wx_high = _axis_samples(
                x1, bin_w, grid_w, ix, pooled_w, width
            )
            for y_index, wy in ((y_low, wy_low), (y_high, wy_high)):
                for x_index, wx in ((x_low, wx_low), (x_high, wx_high)):
                    rows = image_offset + y_index[:, :, None] * width + x_index[:, None, :]
                    weight = wy[:, :, None] * wx[:, None, :]
                    output = output + table[rows] * weight[..., None]
    output = output / count[:, None, None, None]
    return output.permute(0, 3, 1, 2).contiguous()
