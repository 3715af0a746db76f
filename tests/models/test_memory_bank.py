"""MemoryBank: the instance-discrimination loss and the bank update against plain-torch
computations, negative sampling, and the spec's static layout against the lowered module."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from graphspec.compiler.pipeline import compile_spec
from graphspec.models.memory_bank import MemoryBank

from conftest import SPECS, meta_tensor
from test_simclr import r50_with_embedding_head


def _bank(**kwargs) -> MemoryBank:
    torch.manual_seed(0)
    args = dict(backbone=nn.Linear(6, 5), mlp=nn.Linear(5, 4), neg_size=3, temperature=0.2, bank_size=10, dim=4,
                mmt=0.8)
    return MemoryBank(**{**args, **kwargs})


def test_bank_starts_uniform_in_the_documented_range():
    bank = _bank(bank_size=2000, dim=12).memory
    bound = 1 / math.sqrt(12 / 3)
    assert bank.shape == (2000, 12) and bank.abs().max() <= bound
    assert bank.min() < -0.9 * bound and bank.max() > 0.9 * bound


def test_sampled_rows_start_with_the_sample_itself():
    x_ind = torch.tensor([3, 7])
    rows = _bank(neg_size=6).sample_indices(x_ind)
    assert rows.shape == (2, 7) and rows[:, 0].tolist() == [3, 7]
    assert rows.min() >= 0 and rows.max() < 10


def test_negatives_are_drawn_uniformly_with_replacement_so_neg_size_may_exceed_the_bank():
    """PyTorchVideo draws the negatives with replacement (randint over the bank): more negatives
    than bank rows is a valid configuration; every row is equally likely."""
    model = _bank(neg_size=25, bank_size=10)
    torch.manual_seed(1)
    rows = model.sample_indices(torch.arange(400) % 10)
    assert rows.shape == (400, 26) and rows.min() >= 0 and rows.max() < 10
    counts = torch.bincount(rows[:, 1:].flatten(), minlength=10).float()
    assert (counts - 1000).abs().max() < 120  # 10000 draws over 10 rows
    loss = model.train()(torch.randn(3, 6), torch.tensor([0, 4, 9]))
    assert loss.isfinite() and loss > 0


def test_loss_and_update_equal_the_plain_computation():
    model = _bank()
    x, x_ind = torch.randn(2, 6), torch.tensor([4, 1])
    rows = torch.tensor([[4, 0, 9, 1], [1, 1, 5, 8]])
    model.sample_indices = lambda ind: rows  # fixed negatives: the loss is then deterministic
    memory = model.memory.clone()
    with torch.no_grad():
        embedding = F.normalize(model.mlp(model.backbone(x)), dim=1)
    loss = model.train()(x, x_ind)
    expected = 0.0
    for b in range(2):
        scores = torch.stack([memory[r] @ embedding[b] for r in rows[b]]) / 0.2
        expected += -(scores[0] - torch.logsumexp(scores, dim=0))
    assert loss.item() == pytest.approx(expected.item() / 2, rel=1e-5)
    for b, row in enumerate(x_ind.tolist()):
        moved = 0.8 * memory[row] + 0.2 * embedding[b]
        torch.testing.assert_close(model.memory[row], moved / moved.norm())
    untouched = [r for r in range(10) if r not in x_ind.tolist()]
    assert torch.equal(model.memory[untouched], memory[untouched])


def test_eval_mode_leaves_the_bank_and_gradients_reach_the_backbone():
    model = _bank()
    memory = model.memory.clone()
    model.eval()(torch.randn(3, 6), torch.tensor([0, 1, 2]))
    assert torch.equal(model.memory, memory)
    loss = model.train()(torch.randn(3, 6), torch.tensor([0, 1, 2]))
    loss.backward()
    assert model.backbone.weight.grad.abs().sum() > 0


def test_spec_figures_follow_from_the_backbone_reference():
    compiled = compile_spec(SPECS / "models" / "ssl" / "memory_bank_r50.yaml")
    assert compiled.diagnostics == []
    backbone_params, backbone_macs = r50_with_embedding_head(2048)
    assert compiled.params == backbone_params + 2048 * 128 + 128
    assert ("memory", "float32", (240436, 128), False) in compiled.state
    assert compiled.macs == pytest.approx(backbone_macs + 2048 * 128 + 4097 * 128, rel=1e-3)
    with torch.device("meta"):
        module = compiled.lower()
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in compiled.state]
    video, index = [meta_tensor(v) for v in compiled.inputs.values()]
    assert module.eval()(video, index.long()).shape == ()


def test_embedding_dim_must_match_the_bank(tmp_path):
    [finding] = compile_spec(SPECS / "models" / "ssl" / "memory_bank_r50.yaml", ["model.dim=64"]).diagnostics
    assert finding.code == "shape" and finding.path == ("model", "dim")
