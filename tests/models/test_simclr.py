"""SimCLR: the NT-Xent loss against an explicit loop and closed forms, the spec against the
reference figures of its backbone, and the two-process (gloo) behaviour of the self-supervised
models (SimCLR, BYOL, MemoryBank share one spawn to pay the start-up once)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from graphspec.compiler.pipeline import compile_spec
from graphspec.models.byol import BYOL
from graphspec.layers.batch_norm import NaiveSyncBatchNorm1d
from graphspec.models.memory_bank import MemoryBank
from graphspec.models.simclr import SimCLR, nt_xent_loss

from conftest import SPECS, meta_tensor, reference_zoo_table

WORLD_SIZE = 2


def nt_xent_by_loop(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """The SimCLR paper's definition, one anchor at a time."""
    z = [v / v.norm() for v in torch.cat([z1, z2]).double()]
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        denominator = sum(math.exp(float(z[i] @ z[k]) / temperature) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[positive]) / temperature) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_loss_equals_the_explicit_definition(temperature):
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 7), torch.randn(5, 7)
    model = SimCLR(mlp=nn.Identity(), temperature=temperature)
    assert model(z1, z2).item() == pytest.approx(nt_xent_by_loop(z1, z2, temperature), rel=1e-5)


def test_loss_on_known_inputs():
    t = 0.5
    # one pair: the positive is the only other embedding, so the loss is -log(1) = 0
    assert nt_xent_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]]), t).item() == pytest.approx(0.0, abs=1e-7)
    # two orthogonal samples seen identically in both views: each anchor has similarity 1 to its
    # positive and 0 to the two negatives, so the loss is log(1 + 2 exp(-1 / t))
    eye = torch.eye(2)
    assert nt_xent_loss(eye, 2 * eye, t).item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / t)), rel=1e-6)


def test_backbone_and_mlp_are_applied_and_trained():
    torch.manual_seed(0)
    backbone, mlp = nn.Linear(6, 5), nn.Linear(5, 3)
    x1, x2 = torch.randn(4, 6), torch.randn(4, 6)
    loss = SimCLR(mlp=mlp, backbone=backbone, temperature=0.3)(x1, x2)
    with torch.no_grad():
        expected = nt_xent_by_loop(mlp(backbone(x1)), mlp(backbone(x2)), 0.3)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert backbone.weight.grad is not None and backbone.weight.grad.abs().sum() > 0


def test_temperature_must_be_positive():
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(mlp=nn.Identity(), temperature=0.0)


def r50_with_embedding_head(out: int) -> tuple[int, float]:
    """Params and MACs (8x224x224 clips) of Slow R50 with its 400-class head swapped for an
    ``out``-d one, from the reference table (the head is a 2048 -> classes linear layer)."""
    row = next(r for r in reference_zoo_table()["slow_r50"] if r["thw"] == (8, 224, 224))
    return row["params"] - (2048 * 400 + 400) + (2048 * out + out), row["gmacs"] * 1e9 + 2048 * (out - 400)


def test_spec_figures_follow_from_the_backbone_reference():
    compiled = compile_spec(SPECS / "models" / "ssl" / "simclr_r50.yaml")
    assert compiled.diagnostics == []
    backbone_params, backbone_macs = r50_with_embedding_head(2048)
    mlp_params = (2048 * 2048 + 2048) + 2 * 2048 + (2048 * 128 + 128)
    mlp_macs = 2048 * 2048 + 2 * 2048 + 2048 * 128
    assert compiled.params == backbone_params + mlp_params
    assert compiled.macs == pytest.approx(2 * (backbone_macs + mlp_macs), rel=1e-3)  # two views per sample
    assert compiled.outputs == {"loss": compiled.outputs["loss"]} and compiled.outputs["loss"].shape == ()
    with torch.device("meta"):
        module = compiled.lower()
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [(k, s) for k, _, s, _ in compiled.state]
    assert module(*[meta_tensor(v) for v in compiled.inputs.values()]).shape == ()


def test_views_of_different_shapes_are_a_located_shape_error(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text((SPECS / "models" / "ssl" / "simclr_r50.yaml").read_text()
                    .replace("view2: [B, 3, 8, 224, 224]", "view2: [B, 3, 8, 112, 112]"))
    found = compile_spec(spec).diagnostics
    assert [d.code for d in found] == ["shape"] and "same shape" in found[0].message


# ---- two processes, gloo ------------------------------------------------------------------
def _views(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)


def _simclr():
    torch.manual_seed(1)
    return SimCLR(mlp=nn.Linear(5, 4), backbone=nn.Sequential(nn.Linear(6, 5), nn.ReLU()), temperature=0.2)


def _byol():
    torch.manual_seed(2)
    return BYOL(backbone=nn.Linear(6, 5), projector=nn.Linear(5, 4), feature_dim=4, predictor_inner=8,
                mmt=0.9, norm=NaiveSyncBatchNorm1d)


def _bank():
    torch.manual_seed(3)
    return MemoryBank(backbone=nn.Linear(6, 4), neg_size=3, bank_size=20, dim=4, mmt=0.5)


def _single_process_reference() -> dict:
    x1, x2 = _views()
    out = {}
    x = x1.clone().requires_grad_(True)
    out["simclr_loss"] = _simclr()(x, x2)
    out["simclr_loss"].backward()
    out["simclr_grad"] = x.grad
    byol = _byol()
    out["byol_loss"] = byol(x1, x2).detach()
    out["byol_target"] = [p.detach().clone() for p in byol.backbone_mmt.parameters()]
    bank = _bank()
    bank(x1, torch.arange(8) * 2)
    out["memory"] = bank.memory.clone()
    return out


def _worker(rank: int, init_file: str, results: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD_SIZE)
    try:
        x1, x2 = _views()
        rows = slice(rank * 4, (rank + 1) * 4)
        x = x1[rows].clone().requires_grad_(True)
        loss = _simclr()(x, x2[rows])
        loss.backward()
        byol = _byol()
        byol_loss = byol(x1[rows], x2[rows]).detach()
        bank = _bank()
        bank(x1[rows], (torch.arange(8) * 2)[rows])
        torch.save({"simclr_loss": loss.detach(), "simclr_grad": x.grad, "byol_loss": byol_loss,
                    "byol_target": [p.detach().clone() for p in byol.backbone_mmt.parameters()],
                    "memory": bank.memory.clone()}, f"{results}.{rank}")
    finally:
        dist.destroy_process_group()


def test_two_processes_train_as_one_process_on_the_whole_batch(tmp_path):
    """Each of two gloo processes holds half the batch. SimCLR's loss averaged over the processes
    is the one-process loss (negatives come from both halves), and each process's input gradient
    is the whole loss's gradient times the world size (DDP then averages); BYOL (with a synced
    batch norm) matches likewise and both target networks equal the one-process one; both
    memory-bank replicas hold the updates of the whole batch."""
    results = str(tmp_path / "out")
    mp.spawn(_worker, args=(str(tmp_path / "store"), results), nprocs=WORLD_SIZE, join=True)
    got = [torch.load(f"{results}.{r}", weights_only=True) for r in range(WORLD_SIZE)]
    want = _single_process_reference()
    torch.testing.assert_close((got[0]["simclr_loss"] + got[1]["simclr_loss"]) / 2, want["simclr_loss"].detach())
    torch.testing.assert_close(torch.cat([g["simclr_grad"] for g in got]) / WORLD_SIZE, want["simclr_grad"])
    torch.testing.assert_close((got[0]["byol_loss"] + got[1]["byol_loss"]) / 2, want["byol_loss"])
    for g in got:
        for p, q in zip(g["byol_target"], want["byol_target"]):
            torch.testing.assert_close(p, q)
        torch.testing.assert_close(g["memory"], want["memory"])
