"""Every fenced code block of README.md runs as written (blocks other helpers add are picked up
by themselves):

* ``bash`` blocks: each line is a command, run from a scratch folder that links the repository's
  files (so outputs such as ``-o m.pt`` land there); ``graphspec`` commands must exit 0, or the
  code a trailing ``# exit N: ...`` comment documents.
* ``python`` blocks: executed, from the same kind of scratch folder. A ``print(...)`` line with a
  trailing comment states its output: ``print(x)  # 3794274`` must print that (``...`` stands for
  any text, whitespace runs compare as one space; a remark may follow after a second `` # ``); in a
  loop, one of the line's outputs must match.
* ``yaml`` blocks: a block naming a file (a first comment line ``# path/to/file.yaml``, or the
  sentence before it: "this is `path/to/file.yaml`") equals that file (as data; an "(abridged)"
  block is a part of it); any other spec block validates clean.
* ``bash no-test`` / ``python no-test`` blocks are not run, and must start with a comment saying why.
* The ``bash ci`` block (the README's first: install + main job, then the test command) is what
  ``.ci/run`` runs on a clean clone: it must equal that script's commands, line for line.
* Blocks with no language are prose (diagrams, sample output).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from graphspec.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUNNABLE = {"bash", "python", "yaml"}
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.M | re.S)
_EXIT = re.compile(r"#\s*exit (\d+):")
_CLAIM = re.compile(r"this is `([^`]+\.ya?ml)`")


def blocks() -> list[tuple[int, str, str, str]]:
    """(line, info string, body, the prose before it) of every fenced block."""
    text = README.read_text()
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip().rsplit("\n\n", 1)[-1]
        found.append((line, match.group(1).strip(), match.group(2), before))
    return found


BLOCKS = blocks()


def _id(block) -> str:
    return f"README.md:{block[0]}:{block[1] or 'text'}"


_COMPILED: dict = {}


def _cached_compile(path, overrides=()):
    """``graphspec.compile`` memoized over the README's blocks (they compile the same zoo specs;
    every result is only read, and each build lowers a new module from it)."""
    from graphspec import api

    key = (os.path.realpath(path) if isinstance(path, (str, os.PathLike)) else id(path),
           tuple(api.override_list(overrides)))
    if key not in _COMPILED:
        _COMPILED[key] = _ORIGINAL_COMPILE(path, overrides)
    return _COMPILED[key]


from graphspec import api as _api  # noqa: E402

_ORIGINAL_COMPILE = _api.compile


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A folder holding links to every top-level entry of the repository, as the working dir;
    ``graphspec.compile`` memoized."""
    import graphspec

    monkeypatch.setattr(_api, "compile", _cached_compile)
    monkeypatch.setattr(graphspec, "compile", _cached_compile)
    for entry in ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name not in ("README.md",):
            (tmp_path / entry.name).symlink_to(entry)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_runnable_blocks():
    kinds = {info.split()[0] for _, info, _, _ in BLOCKS if info}
    assert {"bash", "python", "yaml"} <= kinds
    unknown = [_id(b) for b in BLOCKS if b[1] and b[1].split()[0] not in RUNNABLE]
    assert unknown == [], f"fence languages this test cannot run: {unknown}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[1].endswith("no-test")], ids=_id)
def test_skipped_blocks_say_why(block):
    _, info, body, _ = block
    assert info.split() in (["bash", "no-test"], ["python", "no-test"]), info
    first = body.lstrip().splitlines()[0]
    assert first.startswith("#") and len(first.split()) >= 4, f"a no-test block starts with its reason: {first!r}"


def test_first_block_is_what_ci_runs():
    """The README starts with exactly two commands, install + main job and the tests, and CI
    runs exactly those."""
    first = BLOCKS[0]
    assert first[1] == "bash ci", "the README's first block is the set-up: ```bash ci"
    commands = [line for line in first[2].splitlines() if line.strip()]
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    ci_commands = [line for line in script if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert len(commands) == 2 and commands == ci_commands
    assert commands[0].startswith("pip install torch==2.13.0 && ") and " && graphspec " in commands[0]
    assert commands[1].startswith("pytest ")


def _commands(body: str) -> list[str]:
    lines, pending = [], ""
    for raw in body.splitlines():
        pending += raw.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            lines.append(pending.strip())
        pending = ""
    return lines


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[1] == "bash"], ids=_id)
def test_bash_block_runs(block, scratch, capsys):
    for command in _commands(block[2]):
        words = shlex.split(command, comments=True)
        assert words and words[0] == "graphspec", f"only graphspec commands can be run here: {command}"
        documented = _EXIT.search(command)
        code = main(words[1:])  # in-process: the entry point itself is tested in test_cli.py
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code == (int(documented.group(1)) if documented else 0), f"{command}\n{out}\n{err}"


_STATED = re.compile(r"^\s*print\(.*?\)\s+#\s?(?P<stated>.+)$")


def stated_outputs(body: str) -> dict[int, str]:
    """Line (1-based in the block) -> the output its trailing comment states, of every
    ``print(...)  # OUTPUT`` line (the remark after a second `` # `` left out)."""
    found = {}
    for number, text in enumerate(body.splitlines(), 1):
        match = _STATED.match(text)
        if match:
            found[number] = match.group("stated").split(" # ")[0].strip()
    return found


def output_matches(stated: str, printed: str) -> bool:
    """``printed`` is what ``stated`` says: ``...`` is any text, whitespace runs are one space."""
    squash = lambda text: " ".join(text.split())  # noqa: E731
    pattern = ".*?".join(re.escape(squash(part)) for part in stated.split("..."))
    return re.fullmatch(r"\s*".join(pattern.split(r"\ ")), squash(printed), re.S) is not None


def test_output_matches_reads_stated_outputs():
    assert stated_outputs("x = 1\nprint(x)   # 1 # the answer (one)\nprint(x)\n") == {2: "1"}
    assert output_matches("3794274", "3794274") and not output_matches("3794322", "3794274")
    assert output_matches("3794274 ... {'logits': [B, 400]}", "3794274 2105  {'logits': [B, 400]}")
    assert not output_matches("prepared 1, skipped 0", "prepared 1, skipped 0 in 0.1 s")


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[1] == "python"], ids=_id)
def test_python_block_runs(block, scratch):
    line, _, body, _ = block
    filename = f"README.md:{line}"
    code = compile(body, filename, "exec")
    printed: dict[int, list[str]] = {}

    def recording_print(*args, sep=" ", end="\n", file=None, flush=False):
        caller = sys._getframe(1)
        if file is None and caller.f_code.co_filename == filename:
            printed.setdefault(caller.f_lineno, []).append(sep.join(map(str, args)))
        print(*args, sep=sep, end=end, file=file, flush=flush)

    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, {"__name__": "__readme__", "print": recording_print})  # noqa: S102 (our own documentation)
    for number, stated in stated_outputs(body).items():
        outputs = printed.get(number, [])
        assert any(output_matches(stated, out) for out in outputs), \
            f"README.md:{line + number}: the comment states {stated!r}; the line printed {outputs}"


def _part_of(part, whole) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _part_of(v, whole[k]) for k, v in part.items())
    return part == whole


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[1] == "yaml"], ids=_id)
def test_yaml_block_is_the_file_it_names(block, scratch, capsys):
    _, _, body, before = block
    first = body.splitlines()[0]
    named = re.match(r"#\s*(\S+\.ya?ml)\b(.*)", first)
    claim = named.group(1) if named else (_CLAIM.search(before).group(1) if _CLAIM.search(before) else None)
    data = yaml.safe_load(body)
    if claim is None:
        assert "graphspec" in data, "a yaml block names its file or is a complete spec"
        path = scratch / "readme_block.yaml"
        path.write_text(body)
        assert main(["validate", str(path)]) == 0, capsys.readouterr().out
        return
    target = ROOT / claim
    assert target.is_file(), f"the block names {claim}, which does not exist"
    whole = yaml.safe_load(target.read_text())
    if named and "abridged" in named.group(2):
        assert _part_of(data, whole), f"the block is not a part of {claim}"
    else:
        assert data == whole, f"the block differs from {claim}"
