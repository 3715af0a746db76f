"""Shared fixtures and reference facts (read from ../shared/reference, never hard-coded)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
REFERENCE = Path(os.environ.get("GRAPHSPEC_REFERENCE", ROOT.parent / "shared" / "reference"))

torch.set_num_threads(min(2, torch.get_num_threads()))


def reference_layout(name: str) -> dict[str, tuple[str, tuple]]:
    """``key -> (dtype, shape)`` from checkpoint-layouts/NAME.txt."""
    out = {}
    for line in (REFERENCE / "checkpoint-layouts" / f"{name}.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, dtype, shape = line.split("\t")
        out[key] = (dtype, tuple(int(d) for d in re.findall(r"\d+", shape)))
    return out


def reference_zoo_table() -> dict[str, list[dict]]:
    """Rows of model-zoo.md's 'Sizes and cost' table: name -> [{params, entries, thw, gmacs}]."""
    rows: dict[str, list[dict]] = {}
    text = (REFERENCE / "model-zoo.md").read_text()
    table = text.split("## Sizes and cost", 1)[1]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[1].replace(",", "").isdigit():
            continue
        thw = tuple(int(x) for x in re.findall(r"\d+", cells[3])) if cells[3] else None
        rows.setdefault(cells[0], []).append(dict(
            params=int(cells[1].replace(",", "")), entries=int(cells[2]), thw=thw,
            gmacs=float(cells[4]) if cells[4] else None,
        ))
    return rows


def zoo_specs() -> list[Path]:
    return sorted(p for p in (SPECS / "models").glob("*.yaml"))


needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference not beside the checkout")
