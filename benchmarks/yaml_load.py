"""Spec YAML loading: our position-keeping loader vs plain PyYAML on a large expanded spec.

    python benchmarks/yaml_load.py [SPEC]      (default: the expanded slowfast_r101 zoo spec)

Prints the best of several runs of ``graphspec.spec.source.load_text`` (values + a location for
every key, every rejection check) beside ``yaml.load`` with libyaml's ``CSafeLoader`` and
``yaml.safe_load`` (pure Python), and the ratios. Target: a 5,000-line spec in under 0.3 s.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

from timing import run_times

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, runs: int = 5) -> float:
    return min(run_times(fn, runs))


def expanded_text(spec: Path) -> str:
    import graphspec
    from graphspec.cli.expand import expanded_yaml

    return expanded_yaml(graphspec.compile(spec), str(spec))


def main(argv: list[str]) -> None:
    from graphspec.spec.source import load_text

    spec = Path(argv[0]) if argv else ROOT / "specs" / "models" / "slowfast_r101.yaml"
    text = expanded_text(spec)
    ours = best_of(lambda: load_text(text, "expanded.yaml"))
    c_loader = best_of(lambda: yaml.load(text, Loader=yaml.CSafeLoader)) if hasattr(yaml, "CSafeLoader") else None
    python = best_of(lambda: yaml.safe_load(text), runs=2)
    print(f"expanded {spec.name}: {text.count(chr(10))} lines, {len(text) / 1e3:.0f} kB")
    print(f"graphspec load_text (locations, checks)  {ours * 1e3:8.1f} ms   target < 300 ms")
    if c_loader is not None:
        print(f"yaml.load CSafeLoader (values only)       {c_loader * 1e3:8.1f} ms   ours / C = {ours / c_loader:.2f}x")
    print(f"yaml.safe_load pure Python (values only)  {python * 1e3:8.1f} ms   ours / Python = {ours / python:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
