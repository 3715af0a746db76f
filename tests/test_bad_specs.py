"""The bad-input corpus through the command line: ``graphspec validate`` on every
``tests/bad_specs/spec_*.yaml`` must exit with the expected code and report the expected finding
at the expected place, never with a traceback.

Each file starts with comment lines:

    # expect: [FILE:]LINE:COL words      (FILE relative to bad_specs/, or <--set>)
    # exit: N                            (0 only for warnings, 1 findings, 2 unusable input)
    # set: PATH=VALUE                    (optional, repeatable: passed as --set)
    # xfail: reason                      (optional: a known gap in the core, strict)

``words`` must appear on the output line that carries the location: the dotted key path and
the message (with its did-you-mean hint where there is one).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from graphspec.cli import main

BAD_SPECS = Path(__file__).parent / "bad_specs"
SPEC_FILES = sorted(BAD_SPECS.glob("spec_*.yaml"))

_EXPECT = re.compile(r"# expect: (?:(?P<file>\S+):)?(?P<line>\d+):(?P<col>\d+) (?P<words>.+)")


def header(path: Path) -> dict:
    """The leading ``# key: value`` comment lines of a corpus file."""
    found: dict = {"set": []}
    for line in path.read_text().splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        if key == "set":
            found["set"].append(value)
        elif key in ("expect", "exit", "xfail"):
            found[key] = value
    return found


def test_corpus_is_populated_and_well_formed():
    assert len(SPEC_FILES) >= 20
    for path in SPEC_FILES:
        info = header(path)
        assert _EXPECT.fullmatch("# expect: " + info.get("expect", "")), f"{path.name}: bad '# expect:' line"
        assert info.get("exit") in ("0", "1", "2"), f"{path.name}: needs '# exit: 0|1|2'"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_bad_spec(path: Path, capsys):
    info = header(path)
    expect = _EXPECT.fullmatch("# expect: " + info["expect"])
    argv = ["validate", str(path)]
    for override in info["set"]:
        argv += ["--set", override]

    code = main(argv)
    captured = capsys.readouterr()
    output = captured.out + captured.err

    file = expect["file"]
    if file is None:
        file = str(path)
    elif not file.startswith("<"):
        file = os.path.normpath(BAD_SPECS / file)
    where = f"{file}:{expect['line']}:{expect['col']}:"
    assert "Traceback" not in output and "internal error" not in output, output
    try:
        assert code == int(info["exit"]), output
        lines = [line for line in output.splitlines() if line.startswith(where)]
        assert lines, f"no finding at {where}\n{output}"
        assert any(expect["words"] in line for line in lines), f"expected {expect['words']!r} at {where}\n{output}"
    except AssertionError:
        if "xfail" in info:
            pytest.xfail(info["xfail"])
        raise
    if "xfail" in info:
        pytest.fail(f"fixed in the core? remove the '# xfail:' line of {path.name}: {info['xfail']}")
