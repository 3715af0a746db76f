import torch

from graphspec.mobile.passes import FoldBatchNorm
from graphspec.mobile.passes.fold_batch_norm import batch_norm_affine

from passes_support import ops, run_and_compare, spec_file


def test_every_batch_norm_folds_into_its_convolution():
    graph = run_and_compare(FoldBatchNorm(), atol=1e-4)
    assert not any(op.startswith("BatchNorm") for op in ops(graph))
    assert "ChannelAffine" not in ops(graph)  # in X3D every batch norm follows a convolution
    biased = [n for n in graph.walk() if n.op == "Conv3d" and n.args.get("bias")]
    assert biased and all(f"{n.path}.bias" in graph.state for n in biased)


def test_affine_matches_torch_eval_batch_norm():
    bn = torch.nn.BatchNorm3d(5, eps=1e-3).eval()
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(0.5, 2)
    scale, shift = batch_norm_affine({k: v for k, v in bn.state_dict().items()}, {"eps": 1e-3})
    x = torch.randn(2, 5, 3, 4, 4)
    torch.testing.assert_close(x * scale.view(1, -1, 1, 1, 1) + shift.view(1, -1, 1, 1, 1), bn(x))


def test_a_batch_norm_after_no_convolution_becomes_a_channel_affine(tmp_path):
    graph = run_and_compare(FoldBatchNorm(), spec_file(tmp_path), [])
    assert "ChannelAffine" in ops(graph) and not any(op.startswith("BatchNorm") for op in ops(graph))
