import torch.nn as nn

from graphspec.layers.utils import round_repeats, round_width, set_attributes


def test_set_attributes_sets_everything_but_self():
    class Block(nn.Module):
        def __init__(self, conv, width=3):
            super().__init__()
            set_attributes(self, locals())

    class SubBlock(Block):
        pass

    conv = nn.Conv2d(1, 1, 1)
    block = SubBlock(conv)
    assert block.conv is conv and block.width == 3
    assert "conv.weight" in block.state_dict()
    # locals() also holds __class__ (because of super()); it must not re-class.
    assert type(block) is SubBlock
    set_attributes(block, None)  # no-op


def test_round_width():
    # X3D-style widths: multiply, round to the nearest multiple of 8.
    assert round_width(24, 2.0) == 48
    assert round_width(75, 1.0) == 72  # nearest multiple of 8
    assert round_width(77, 1.0) == 80
    assert round_width(10, 1.0) == 16  # 8 would lose more than 10%: bump by 8
    assert round_width(3, 1.0) == 8  # min_width
    assert round_width(3, 1.0, min_width=None, divisor=4) == 4  # min_width defaults to divisor
    assert round_width(17, 1.0, ceil=True) == 24
    assert round_width(16, 1.0, ceil=True) == 16
    assert round_width(54, 2.25) == 120  # 121.5 -> 120
    assert round_width(30, None) == 30 and round_width(30, 0) == 30
    assert isinstance(round_width(10, 1.5), int)


def test_round_repeats():
    assert round_repeats(3, 2.2) == 7  # ceil(6.6)
    assert round_repeats(5, 2.2) == 11
    assert round_repeats(4, 1.0) == 4
    assert round_repeats(4, None) == 4 and round_repeats(4, 0) == 4
