import torch

from graphspec.mobile.passes import SqueezeExcitationToGemm
from graphspec.models.x3d import SqueezeExcitation

from passes_support import ops, run_and_compare


def test_se_convs_become_gemm():
    graph = run_and_compare(SqueezeExcitationToGemm())
    assert "SqueezeExcitation" not in ops(graph) and "SqueezeExcitationGemm" in ops(graph)
    se = next(n for n in graph.walk() if n.op == "SqueezeExcitationGemm")
    assert graph.state[f"{se.path}.block.0.weight"].dim() == 2  # a Linear weight now, same key


def test_gemm_form_matches_fvcore_se_on_a_folded_tensor():
    from graphspec.mobile.modules import SqueezeExcitationGemm

    se = SqueezeExcitation(6, 3, is_3d=True).eval()
    gemm = SqueezeExcitationGemm(6, 3, frames=4)
    gemm.load_state_dict({k: v.flatten(1) if v.dim() > 1 else v for k, v in se.state_dict().items()})
    x = torch.randn(2, 6, 4, 5, 5)
    folded = x.transpose(1, 2).reshape(8, 6, 5, 5)
    torch.testing.assert_close(gemm(folded), se(x).transpose(1, 2).reshape(8, 6, 5, 5))
    torch.testing.assert_close(gemm(x), se(x))
