"""Every kind of spec is checked as strictly as a model spec: ``--set`` on transform and data
specs, labels that are no class indices, the wrong kind of spec at the spec level, missing data
and referenced files, and findings located where the user wrote them (issue 16)."""
from __future__ import annotations

from pathlib import Path

import pytest

from graphspec.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output and "internal error" not in output, output
    return code, output


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- --set

def test_set_reaches_a_prepare_mapping_the_spec_leaves_out():
    """The README's ``--set prepare.output.crf=18`` on a data spec without ``prepare:``."""
    from graphspec.data.prepare import plan_from_spec

    _, plan = plan_from_spec(ROOT / "specs" / "data" / "kinetics400_train.yaml", ["prepare.output.crf=18"])
    assert plan.output.crf == 18


def test_set_typo_in_a_prepare_key_is_located_at_the_set(capsys):
    code, out = run(capsys, "validate", ROOT / "specs" / "data" / "kinetics400_train.yaml",
                     "--set", "prepare.output.crff=18")
    assert code == 1, out
    assert out.startswith("<--set>:1:1: prepare.output.crff: unknown key 'crff'"), out
