"""BYOL: the loss and the momentum update against plain-torch computations, the momentum
schedule against the paper's formula, and the specs' static layout against the lowered module."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.compiler.pipeline import compile_spec
from graphspec.models.byol import BYOL, cosine_momentum
from graphspec.spec.errors import SpecError

from conftest import ROOT, SPECS, meta_tensor
from test_simclr import r50_with_embedding_head


def _model(mmt: float = 0.9) -> BYOL:
    torch.manual_seed(0)
    return BYOL(backbone=nn.Linear(6, 5), projector=nn.Linear(5, 4), feature_dim=4, predictor_inner=8, mmt=mmt,
                norm=nn.BatchNorm1d)


def test_sim_loss_is_minus_the_mean_dot_product_as_pytorchvideos():
    """PyTorchVideo's BYOL.sim_loss is ``-mean(q . k)`` of its inputs as given (einsum nc,nc->n)."""
    torch.manual_seed(0)
    q, k = torch.randn(5, 3), torch.randn(5, 3)
    expected = -sum(float(q[i] @ k[i]) for i in range(5)) / 5
    assert _model().sim_loss(q, k).item() == pytest.approx(expected, rel=1e-6)
    unit = F.normalize(q, dim=1)
    assert _model().sim_loss(unit, unit).item() == pytest.approx(-1.0, rel=1e-6)  # same direction
    assert _model().sim_loss(unit, -unit).item() == pytest.approx(1.0, rel=1e-6)  # opposite


def test_forward_is_the_symmetric_loss_of_prediction_and_target():
    model = _model().eval()  # no momentum step in eval mode
    x1, x2 = torch.randn(4, 6), torch.randn(4, 6)
    online = nn.Sequential(model.backbone, model.predictor)
    with torch.no_grad():
        def pair(a, b):  # the normalized prediction against the normalized target: -cos
            return -F.cosine_similarity(online(a), model.backbone_mmt(b), dim=1).mean()

        expected = pair(x1, x2) + pair(x2, x1)
    assert model(x1, x2).item() == pytest.approx(expected.item(), rel=1e-5)


def test_training_forward_makes_one_momentum_step_and_no_target_gradient():
    model = _model(mmt=0.75).train()
    with torch.no_grad():  # move the online weights away from the target's
        for p in model.backbone.parameters():
            p.add_(1.0)
    online = [p.detach().clone() for p in model.backbone.parameters()]
    target = [p.detach().clone() for p in model.backbone_mmt.parameters()]
    loss = model(torch.randn(4, 6), torch.randn(4, 6))
    for new, t, o in zip(model.backbone_mmt.parameters(), target, online):
        torch.testing.assert_close(new.detach(), 0.75 * t + 0.25 * o)
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in model.backbone_mmt.parameters())
    assert all(p.grad is not None for p in model.backbone.parameters())


def test_target_starts_as_a_copy_and_eval_leaves_it():
    model = _model()
    for a, b in zip(model.backbone.parameters(), model.backbone_mmt.parameters()):
        assert torch.equal(a, b) and a is not b
    with torch.no_grad():
        next(model.backbone.parameters()).add_(1.0)
    before = [p.clone() for p in model.backbone_mmt.parameters()]
    model.eval()(torch.randn(2, 6), torch.randn(2, 6))
    assert all(torch.equal(a, b) for a, b in zip(before, model.backbone_mmt.parameters()))


def test_momentum_accessors_and_cosine_schedule():
    model = _model()
    model.update_mmt(0.5)
    assert model.get_mmt() == 0.5
    with pytest.raises(ValueError):
        model.update_mmt(1.5)
    assert cosine_momentum(0.99, 0, 100) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 100, 100) == pytest.approx(1.0)
    assert cosine_momentum(0.99, 50, 100) == pytest.approx(0.995)
    assert cosine_momentum(0.9, 25, 100) == pytest.approx(1 - 0.1 * (math.cos(math.pi / 4) + 1) / 2)


def test_default_predictor_is_linear_norm_relu_linear():
    model = BYOL(backbone=nn.Identity(), feature_dim=4, predictor_inner=8, norm=nn.BatchNorm1d)
    kinds = [type(m) for m in model.predictor]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert model.predictor[0].bias is None and model.predictor[0].weight.shape == (8, 4)
    assert model.predictor[3].weight.shape == (4, 8)
    assert isinstance(BYOL(backbone=nn.Identity(), feature_dim=4, predictor_inner=8).predictor[1], nn.SyncBatchNorm)


def _static_matches_lowered(path: Path, overrides=()):
    compiled = compile_spec(path, overrides)
    assert compiled.diagnostics == []
    with torch.device("meta"):
        module = compiled.lower()
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in compiled.state]
    assert sum(p.numel() for p in module.parameters()) == compiled.params
    assert module(*[meta_tensor(v) for v in compiled.inputs.values()]).shape == ()
    return compiled


def test_r50_spec_figures_follow_from_the_backbone_reference():
    compiled = _static_matches_lowered(SPECS / "models" / "ssl" / "byol_r50.yaml")
    backbone_params, backbone_macs = r50_with_embedding_head(2048)
    projector = (2048 * 4096 + 4096) + 2 * 4096 + (4096 * 256 + 256)
    predictor = 256 * 4096 + 2 * 4096 + (4096 * 256 + 256)
    assert compiled.params == 2 * (backbone_params + projector) + predictor  # online + target + predictor
    projector_macs = 2048 * 4096 + 2 * 4096 + 4096 * 256
    predictor_macs = 256 * 4096 + 2 * 4096 + 4096 * 256
    # two views, each through online network, predictor and target network
    assert compiled.macs == pytest.approx(2 * (2 * (backbone_macs + projector_macs) + predictor_macs), rel=1e-3)
    keys = [k for k, *_ in compiled.state]
    assert "backbone.0.blocks.0.conv.weight" in keys and "backbone_mmt.1.3.weight" in keys
    assert "predictor.0.weight" in keys and "predictor.0.bias" not in keys


def _tiny_spec(tmp_path: Path) -> Path:
    """BYOL over a Linear(6, 4) backbone: no projector, no norm given (the default SyncBatchNorm)."""
    spec = tmp_path / "byol.yaml"
    spec.write_text("""
graphspec: 1
kind: model
name: tiny_byol
inputs: {view1: [B, 6], view2: [B, 6]}
outputs: [loss]
model:
  op: BYOL
  backbone: {op: Linear, in_features: 6, out_features: 4}
  feature_dim: 4
  predictor_inner: 8
""")
    return spec


def test_default_predictor_with_a_python_norm_and_without_projector(tmp_path):
    # no projector (backbone named `backbone`), no norm given: the default SyncBatchNorm
    compiled = _static_matches_lowered(_tiny_spec(tmp_path))
    assert [k for k, *_ in compiled.state][:4] == ["backbone.weight", "backbone.bias", "backbone_mmt.weight",
                                                   "backbone_mmt.bias"]


def test_default_predictor_macs_follow_each_compiled_predictor(tmp_path):
    """Two views, each through the online Linear(6, 4), its target copy and the predictor
    Linear(4, inner) -> norm (2 per channel) -> ReLU -> Linear(inner, 4): recounted for each
    predictor, not carried over from the one counted before."""
    spec = _tiny_spec(tmp_path)
    for inner, norm in ((8, "BatchNorm1d"), (16, "BatchNorm1d"), (8, "{op: BatchNorm1d, eps: 0.001}"),
                        (8, "BatchNorm1d")):
        compiled = compile_spec(spec, [f"model.predictor_inner={inner}", f"model.norm={norm}"])
        assert compiled.diagnostics == []
        assert compiled.macs == 2 * (2 * 6 * 4 + (4 * inner + 2 * inner + inner * 4)), (inner, norm)


def test_feature_dim_mismatch_is_reported_at_its_key(tmp_path):
    compiled = compile_spec(SPECS / "models" / "ssl" / "byol_r50.yaml", ["model.feature_dim=128"])
    [finding] = compiled.diagnostics
    assert finding.code == "shape" and finding.path == ("model", "feature_dim")


def test_x3d_example_swaps_the_backbone():
    compiled = _static_matches_lowered(ROOT / "examples" / "byol_x3d.yaml")
    assert "ProjectedPool" in {n.op for n in compiled.nodes}  # X3D's head
    assert any(k.startswith("backbone_mmt.0.blocks.5.") for k, *_ in compiled.state)  # X3D head


def test_norm_component_builds_the_default_predictor_and_bad_names_point_at_it(tmp_path):
    spec = SPECS / "models" / "ssl" / "byol_r50.yaml"
    tiny = ["inputs.view1=[B, 6]", "inputs.view2=[B, 6]", "model.projector=null", "expect=null",
            "model.backbone={op: Linear, in_features: 6, out_features: 256}"]
    model = compile_spec(spec, tiny + ["model.norm={op: BatchNorm1d, eps: 0.001}"]).lower()
    assert isinstance(model.predictor[1], nn.BatchNorm1d) and model.predictor[1].eps == 0.001
    assert model.predictor[1].num_features == 4096
    with pytest.raises(SpecError) as err:
        compile_spec(spec, tiny + ["model.norm=BatchNorm1x"])
    [finding] = err.value.diagnostics
    assert finding.path == ("model", "norm") and "BatchNorm1d" in finding.hint
