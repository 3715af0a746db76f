"""benchmarks/mobile.py: its interleaved timing, the report's arithmetic (x eager, share of the fp32
ceiling from the sgemm rate, int8 vs fp32, the slower-than-eager flag) on given times, its FLOPs
against the reference zoo figure, and smoke runs on a tiny X3D and a tiny zoo-table model (which
check what is reported, never how fast)."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT, zoo_reference
from export_support import TINY_X3D
from tiny_specs import stem_model

from graphspec.export.spec_export import compile_static


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("mobile_benchmark", ROOT / "benchmarks" / "mobile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


def _executorch_installed() -> bool:
    return importlib.util.find_spec("executorch") is not None


def test_race_interleaves_the_variants_after_one_warm_up_each_with_the_gap_after_every_timed_call(monkeypatch):
    calls, sleeps = [], []
    monkeypatch.setattr(bench.time, "sleep", sleeps.append)
    times = bench.race({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, gap_s=0.05)
    assert calls == ["a", "b"] * 4  # one warm-up round, then 3 rounds A, B
    assert sleeps == [0.05] * 6
    assert set(times) == {"a", "b"} and all(ms >= 0 for ms in times.values())


def test_ceiling_block_puts_each_variant_against_eager_and_the_sgemm_ceiling(monkeypatch):
    # a 1000^3 sgemm is 2e9 FLOP: in 20 ms that is 100 GFLOP/s, so a 1 GFLOP model's ceiling is 10 ms
    fake = {bench.EAGER: 40.0, bench.FP32_ORT: 20.0, bench.INT8_ORT: 25.0, bench.SGEMM: 20.0}
    seen = {}

    def race(variants, runs, gap_s):
        seen.update(variants=set(variants), runs=runs, gap=gap_s)
        return dict(fake)

    monkeypatch.setattr(bench, "race", race)
    model = bench.Model("m", [[1, 3, 4, 8, 8]], 1e9, variants={k: None for k in fake if k != bench.SGEMM})
    lines = bench.ceiling_block(model, 7, 1000, 0.01)
    assert seen == {"variants": set(fake), "runs": 7, "gap": 0.01}  # sgemm timed in the same rounds
    text = "\n".join(lines)
    assert "100.0 GFLOP/s" in text and "ceiling is 10.0 ms (4.00x eager)" in text
    row = {label: next(" ".join(line.split()) for line in lines if line.strip().startswith(label))
           for label in (bench.EAGER, bench.FP32_ORT, bench.INT8_ORT)}
    assert row[bench.FP32_ORT] == f"{bench.FP32_ORT} 20.0 ms 2.00x eager 50% of the fp32 ceiling"
    assert row[bench.INT8_ORT] == f"{bench.INT8_ORT} 25.0 ms 1.60x eager 40% of the fp32 ceiling"
    assert row[bench.EAGER] == f"{bench.EAGER} 40.0 ms 1.00x eager 25% of the fp32 ceiling"
    assert f"{bench.INT8_ORT} vs its fp32: 0.80x" in text  # int8 slower than its fp32: shown as < 1


def test_zoo_row_flags_a_runtime_slower_than_eager_and_runs_fewer_rounds_for_a_slow_model(monkeypatch):
    rounds = []
    monkeypatch.setattr(bench, "race", lambda variants, runs, gap_s: rounds.append(runs) or
                        {bench.EAGER: 100.0, bench.FP32_ORT: 50.0, bench.FP32_ET: 200.0})
    monkeypatch.setattr(bench, "warm_ms", lambda fn: 1000.0)  # 3 variants: a round takes 3 s
    model = bench.Model("big", [[1, 3, 8, 64, 64]], 2e9, variants=dict.fromkeys([bench.EAGER, bench.FP32_ORT, bench.FP32_ET]),
                        failed={bench.INT8_ORT: "ExportError: no"})
    columns = [bench.FP32_ORT, bench.FP32_ET, bench.INT8_ORT, bench.INT8_ET]
    row, notes = bench.zoo_row(model, 20, 30.0, 0.0, columns)
    assert rounds == [10]  # 30 s of budget holds 10 rounds of 3 s
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:-1] == ["big", "1x3x8x64x64", "1.00", "100.0", "2.00x", "0.50x SLOWER", "failed", "-", "10"]
    assert f"big: {bench.FP32_ET} is SLOWER than eager" in notes
    assert any("ExportError: no" in n for n in notes)
    bench.zoo_row(model, 20, 1.0, 0.0, columns)
    assert rounds[-1] == 3  # never fewer than 3


def test_flops_are_twice_the_reference_macs_of_x3d_xs():
    compiled, _ = compile_static(bench.spec_path("x3d_xs"), [])
    assert bench.model_flops(compiled) == pytest.approx(2 * zoo_reference("x3d_xs")["gmacs"] * 1e9, rel=0.01)


def _cpu_model_name() -> str | None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return None
    return next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")), None)


def test_smoke_run_on_a_tiny_x3d_reports_every_runtime_and_its_share_of_the_ceiling(capsys):
    bench.main(["--runs", "1", "--models", "x3d_xs", "--no-int8", "--gap", "0", "--sgemm-size", "64",
                "--set", *TINY_X3D])
    out = capsys.readouterr().out
    name = _cpu_model_name()
    assert out.startswith(f"machine: {name}" if name else "machine: ")
    assert "2 threads in torch, onnxruntime and XNNPACK" in out and "load average" in out
    assert "x3d_xs 1x3x4x32x32" in out and "sgemm 64^3 fp32, 2 threads" in out
    labels = [bench.EAGER, bench.PLAIN, bench.FP32_ORT] + ([bench.FP32_ET] if _executorch_installed() else [])
    for label in labels:
        assert re.search(rf"^  {re.escape(label)} +[\d.]+ ms +[\d.]+x eager +\d+% of the fp32 ceiling$", out, re.M), label
    assert "not measured" not in out and "NOT equal" not in out  # every export ran and matched eager
    assert bench.INT8_ORT not in out and "zoo, mobile export" not in out


def test_smoke_zoo_table_on_a_tiny_spec_with_int8(tmp_path, capsys):
    spec = tmp_path / "stem.yaml"
    spec.write_text(stem_model(16))
    bench.main(["--runs", "1", "--models", str(spec), "--zoo-int8", "--gap", "0"])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| model |"))
    assert bench.FP32_ORT in header and bench.INT8_ORT in header
    row = next(line for line in out.splitlines() if line.startswith("| stem |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1x3x4x16x16" and cells[-2] == "3"  # at least 3 rounds
    assert re.fullmatch(r"[\d.]+x( SLOWER)?", cells[4]) and re.fullmatch(r"[\d.]+x( SLOWER)?", cells[6])
    assert f"stem: {bench.INT8_ORT} vs fp32: cosine" in out
    assert "NOT equal" not in out
