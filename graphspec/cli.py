"""The ``graphspec`` command: validate, build, summarize, expand and draw specs; list ops and zoo.

``main(argv)`` returns the exit code instead of exiting, so tests can call it:

* 0  clean (warnings do not fail)
* 1  findings: the spec is readable but has errors (shape mismatch, unknown op, failed expect)
* 2  unusable input: YAML syntax, missing file, bad ``--set``, bad command line
* 3  internal error: a bug in graphspec (never bad input); ``GRAPHSPEC_DEBUG=1`` shows the traceback
* 130 interrupted

Every file written with ``-o`` is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted run never leaves a half-written file behind.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys
import tempfile
import traceback
import typing
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 3, 130, 141
PROG = "graphspec"
#: default ``--depth`` of ``summary`` and ``graph``: the model, its blocks, their sub-blocks
DEFAULT_DEPTH = 3
_YAML_SUFFIXES = (".yaml", ".yml")
_GLOB_CHARS = set("*?[")


class UsageError(Exception):
    """Bad command-line input that is not a spec problem (exit 2)."""


# ---------------------------------------------------------------------------------------------
# output helpers


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str = "") -> None:
    print(text, file=sys.stderr)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _human(n: int | float | None, unit: str = "") -> str:
    """``41918652416`` -> ``41.92G``; None (not countable) -> ``?``."""
    if n is None:
        return "?"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{suffix}{unit}"
    return f"{n:g}{unit}" if isinstance(n, float) else f"{n}{unit}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    rows = [list(map(str, r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _atomic_write(targets: Sequence[tuple[Path, Callable[[IO[bytes]], None]]]) -> None:
    """Write every target atomically: all go to temporary files in their own folders first and
    are moved into place only when all of them were written (nothing is left on failure)."""
    done: list[tuple[str, Path]] = []
    try:
        for path, writer in targets:
            folder = path.parent if str(path.parent) else Path(".")
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory", str(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
            except OSError as err:  # name the file the user asked for, not our temporary one
                raise OSError(err.errno, err.strerror, str(path)) from None
            done.append((tmp, path))
            try:
                with os.fdopen(fd, "wb") as f:
                    writer(f)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, _file_mode(path))
            except OSError as err:
                raise OSError(err.errno, err.strerror or str(err), str(path)) from None
        for tmp, path in done:
            try:
                os.replace(tmp, path)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
    except BaseException:
        for tmp, _ in done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _check_writable(output: str | Path | None) -> None:
    """Fail early (before any work) when ``-o`` cannot be written: no such folder, a folder."""
    if output is None or output == "-":
        return
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory; give a file name")
    if not folder.is_dir():
        raise UsageError(f"cannot write {output}: folder {str(folder)!r} does not exist")


def _write_text(path: str | Path, text: str) -> None:
    _atomic_write([(Path(path), lambda f: f.write(text.encode("utf-8")))])


def _emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it atomically to ``output`` (and say so on stderr)."""
    if output is None or output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        _write_text(output, text if text.endswith("\n") else text + "\n")
        _err(f"wrote {output}")


# ---------------------------------------------------------------------------------------------
# diagnostics


def _override_text(diag, overrides: Sequence[str]) -> str | None:
    """The ``--set`` override a finding is located in (its line is the override's number)."""
    from graphspec.spec.source import OVERRIDE_FILE

    loc = diag.location
    if loc is None or loc.file != OVERRIDE_FILE:
        return None
    return overrides[loc.line - 1] if 0 < loc.line <= len(overrides) else ""


def _override_note(diag, overrides: Sequence[str], spec: str | None) -> str:
    """`` [--set a.b=1, applied to FILE]`` for a finding located in an override, else ``""``."""
    text = _override_text(diag, overrides)
    if text is None:
        return ""
    return f" [--set {text}".rstrip() + (f", applied to {spec}]" if spec else "]")


def format_diagnostic(diag, spec: str | None = None, overrides: Sequence[str] = ()) -> str:
    """``file:line:col: [warning:] dotted.path: message (hint)``. A finding with no location is
    shown at the spec file; one located in a ``--set`` override also names that override."""
    if diag.location is not None or spec is None:
        return diag.format() + _override_note(diag, overrides, spec)
    sev = "" if diag.severity == "error" else f" {diag.severity}:"
    key = f" {diag.dotted}:" if diag.path else ""
    hint = f" ({diag.hint})" if diag.hint else ""
    return f"{spec}:{sev}{key} {diag.message}{hint}"


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def format_github(diag, spec: str | None = None, overrides: Sequence[str] = ()) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=L,col=C,title=graphspec::msg``."""
    from graphspec.spec.source import OVERRIDE_FILE

    loc = diag.location
    if loc is None or loc.file == OVERRIDE_FILE:  # annotate the spec file itself
        file, line, col = spec or (loc.file if loc else "<spec>"), 1, 1
    else:
        file, line, col = loc.file, loc.line, loc.col
    level = "warning" if diag.severity == "warning" else "error"
    message = (f"{diag.dotted}: " if diag.path else "") + diag.message
    if diag.hint:
        message += f" ({diag.hint})"
    message += _override_note(diag, overrides, None)
    props = f"file={_github_escape(str(file), True)},line={line},col={col},title=graphspec"
    return f"::{level} {props}::{_github_escape(message)}"


def diagnostic_json(diag, spec: str | None = None, overrides: Sequence[str] = ()) -> dict:
    loc = diag.location
    out = {
        "file": loc.file if loc else spec,
        "line": loc.line if loc else None,
        "col": loc.col if loc else None,
        "path": diag.dotted,
        "severity": diag.severity,
        "code": diag.code,
        "message": diag.message,
        "hint": diag.hint,
        "spec": spec,
    }
    override = _override_text(diag, overrides)
    if override is not None:
        out["override"] = override
    return out


def _report(diagnostics, spec: str | None, overrides: Sequence[str], as_warnings: bool = False) -> None:
    """Print findings of a non-``validate`` command to stderr."""
    from dataclasses import replace

    for diag in diagnostics:
        if as_warnings and diag.severity == "error":
            diag = replace(diag, severity="warning")
        _err(format_diagnostic(diag, spec, overrides))


def _errors(diagnostics) -> list:
    return [d for d in diagnostics if d.severity == "error"]


# ---------------------------------------------------------------------------------------------
# spec arguments


def expand_spec_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Spec files named by ``args``: files, folders (their ``*.yaml``, recursively) and glob
    patterns (``*``, ``?``, ``[...]``, ``**``), expanded here for shells that don't. Non-YAML
    files and ``__init__.py`` are skipped. Returns (files, patterns that matched nothing)."""
    files: list[str] = []
    unmatched: list[str] = []

    def add_dir(folder: str) -> None:
        found = sorted(str(p) for p in Path(folder).rglob("*") if p.is_file() and _is_spec_name(p.name))
        files.extend(found)

    for arg in args:
        if os.path.isdir(arg):
            add_dir(arg)
        elif _GLOB_CHARS & set(arg) and not os.path.exists(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                unmatched.append(arg)
            for match in matches:
                if os.path.isdir(match):
                    add_dir(match)
                elif _is_spec_name(os.path.basename(match)):
                    files.append(match)
        elif _is_spec_name(os.path.basename(arg)) or not os.path.exists(arg):
            files.append(arg)  # a missing file is reported by the loader, located
    seen: set[str] = set()
    unique = []
    for f in files:
        key = os.path.normpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, unmatched


def _is_spec_name(name: str) -> bool:
    return name.endswith(_YAML_SUFFIXES) and name != "__init__.py"


def _compile(spec: str, overrides: Sequence[str]):
    from graphspec.compiler.pipeline import compile_spec

    return compile_spec(spec, list(overrides))


# ---------------------------------------------------------------------------------------------
# validate


def cmd_validate(args: argparse.Namespace) -> int:
    from graphspec.spec.errors import Diagnostic, SpecError

    files, unmatched = expand_spec_args(args.specs)
    results: list[tuple[str, list, int]] = []  # (spec, diagnostics, exit code)
    for pattern in unmatched:
        results.append((pattern, [Diagnostic("no files match this pattern", code="io", unusable=True)],
                        EXIT_UNUSABLE))
    if not files and not unmatched:
        raise UsageError("no YAML spec files among the arguments (non-YAML files and __init__.py are skipped)")
    for spec in files:
        try:
            compiled = _compile(spec, args.set)
            diags, code = compiled.diagnostics, EXIT_FINDINGS if _errors(compiled.diagnostics) else EXIT_OK
        except SpecError as err:
            diags, code = err.diagnostics, err.exit_code
        except Exception as exc:  # a bug: report it for this file, go on with the others
            _internal_error(exc, f"while validating {spec}")
            diags, code = [], EXIT_INTERNAL
        results.append((spec, diags, code))

    if args.format == "json":
        items = [diagnostic_json(d, spec, args.set) for spec, diags, _ in results for d in diags]
        _out(json.dumps(items, indent=2))
    else:
        fmt = format_github if args.format == "github" else format_diagnostic
        for spec, diags, _ in results:
            for d in diags:
                _out(fmt(d, spec, args.set))
        if args.format == "text":
            _out(_validate_summary(results, len(unmatched)))
    return max((code for _, _, code in results), default=EXIT_OK)


def _validate_summary(results, unmatched: int) -> str:
    checked = results[unmatched:]
    clean = sum(1 for _, _, code in checked if code == EXIT_OK)
    findings = sum(1 for _, _, code in checked if code == EXIT_FINDINGS)
    unusable = sum(1 for _, _, code in checked if code == EXIT_UNUSABLE)
    crashed = sum(1 for _, _, code in checked if code == EXIT_INTERNAL)
    parts = [f"{clean} clean"]
    if findings:
        parts.append(f"{findings} with findings")
    if unusable:
        parts.append(f"{unusable} unusable")
    if crashed:
        parts.append(f"{crashed} internal error" + ("s" if crashed > 1 else ""))
    errors = sum(len(_errors(d)) for _, d, _ in results)
    warnings = sum(1 for _, ds, _ in results for d in ds if d.severity == "warning")
    counts = [_plural(errors, "error")] if errors else []
    counts += [_plural(warnings, "warning")] if warnings else []
    text = f"{_plural(len(checked), 'file')}: {', '.join(parts)}"
    if unmatched:
        text += f"; {_plural(unmatched, 'pattern')} matched nothing"
    return text + (f" ({', '.join(counts)})" if counts else "")


# ---------------------------------------------------------------------------------------------
# summary


def _level(path: str, graph_form: bool) -> int:
    """Nesting level shown by ``--depth``: the model (or each graph node) is 1, ``blocks.1`` 2,
    ``blocks.1.res_blocks.0`` 3. A list item (``blocks.1``) is one level with its list."""
    if not path:
        return 1
    parts = path.split(".")
    steps = sum(1 for p in parts if not p.isdigit())
    return steps + (0 if graph_form else 1)


def _shape_data(value: Any) -> Any:
    from graphspec.compiler.infer import TensorType

    if isinstance(value, TensorType):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [_shape_data(v) for v in value]
    return None


def _shape_text(value: Any) -> str:
    from graphspec.compiler.infer import TensorType

    if value is None:
        return "?"
    if isinstance(value, TensorType):
        return str(value)
    return "(" + ", ".join(_shape_text(v) for v in value) + ")"


def _node_rows(compiled, depth: int) -> list[tuple[int, Any]]:
    graph_form = compiled.root is None
    rows = []
    for node in compiled.nodes:
        level = _level(node.path, graph_form)
        if depth < 0 or level <= depth:
            rows.append((level, node))
    return rows


def summary_data(compiled, depth: int = -1) -> dict:
    """The ``summary --json`` object: totals, inputs, outputs and one entry per node."""
    spec = compiled.spec
    return {
        "name": spec.name,
        "params": compiled.params,
        "macs": compiled.macs,
        "inputs": {name: _plain_decl(decl) for name, decl in spec.inputs.items()},
        "outputs": {name: _shape_data(value) for name, value in compiled.outputs.items()},
        "nodes": [
            {
                "path": node.path,
                "op": node.op,
                "output": _shape_data(node.meta.get("output")),
                "params": node.meta.get("params"),
                "macs": node.meta.get("macs"),
            }
            for _, node in _node_rows(compiled, depth)
        ],
    }


def _plain_decl(decl: Any) -> Any:
    if isinstance(decl, dict):
        return {k: list(v) for k, v in decl.items()}
    return list(decl)


def _decl_text(decl: Any) -> str:
    if isinstance(decl, dict):
        return "{" + ", ".join(f"{k}: {_decl_text(v)}" for k, v in decl.items()) + "}"
    return "[" + ", ".join(str(d) for d in decl) + "]"


def summary_lines(compiled, depth: int = DEFAULT_DEPTH) -> list[str]:
    graph_form = compiled.root is None
    rows = []
    for level, node in _node_rows(compiled, depth):
        if not graph_form and node is compiled.root:
            continue  # the model itself is the total row
        indent = "  " * (level - (1 if graph_form else 2))
        rows.append([indent + node.path, node.op, _shape_text(node.meta.get("output")),
                     f"{node.meta.get('params', 0):,}", _human(node.meta.get("macs"))])
    outputs = ", ".join(f"{k} {_shape_text(v)}" for k, v in compiled.outputs.items()) or "?"
    total_op = compiled.root.op if compiled.root is not None else "graph"
    rows.append([f"total ({compiled.spec.name})", total_op, outputs, f"{compiled.params:,}",
                 _human(compiled.macs)])
    lines = _table(["path", "op", "output", "params", "MACs"], rows, right=(3, 4))
    lines.insert(-1, lines[1])  # a rule above the total
    inputs = ", ".join(f"{k} {_decl_text(decl)}" for k, decl in compiled.spec.inputs.items())
    note = "MACs per clip (batch dim excluded)" + ("" if depth < 0 else f"; nodes to depth {depth} (--depth -1: all)")
    return [f"inputs: {inputs}"] + lines + [note]


def cmd_summary(args: argparse.Namespace) -> int:
    compiled, code = _compile_for_report(args.spec, args.set)
    if compiled.root is None and compiled.graph is None:
        return max(code, EXIT_FINDINGS)  # the graph could not be built; its findings were printed
    if args.json:
        depth = -1 if args.depth is None else args.depth
        _emit(json.dumps(summary_data(compiled, depth), indent=2), None)
    else:
        _out("\n".join(summary_lines(compiled, DEFAULT_DEPTH if args.depth is None else args.depth)))
    return code


def _compile_for_report(spec: str, overrides: Sequence[str]):
    """Compile for ``summary``/``graph``: errors are printed (the partial result is still
    shown, to help find them); failed ``expect`` assertions are only warnings here."""
    compiled = _compile(spec, overrides)
    hard, soft = _split_findings(compiled.diagnostics)
    _report(hard, spec, overrides)
    _report(soft, spec, overrides, as_warnings=True)
    return compiled, EXIT_FINDINGS if hard else EXIT_OK


def _compile_for_build(spec: str, overrides: Sequence[str]):
    """Compile for ``build``/``expand``: any error but a failed ``expect`` stops the command."""
    from graphspec.spec.errors import SpecError

    compiled = _compile(spec, overrides)
    hard, soft = _split_findings(compiled.diagnostics)
    _report(soft, spec, overrides, as_warnings=True)
    if hard:
        raise SpecError(hard)
    return compiled


def _split_findings(diagnostics) -> tuple[list, list]:
    """(errors that stop build/expand, the rest: warnings and failed ``expect`` assertions)."""
    hard, soft = [], []
    for d in diagnostics:
        (hard if d.severity == "error" and d.code != "expect" else soft).append(d)
    return hard, soft


# ---------------------------------------------------------------------------------------------
# expand and build


def expanded_yaml(compiled, source: str | None = None) -> str:
    from graphspec.compiler.expand import expand_document
    from graphspec.spec.source import yaml_dump

    text = yaml_dump(expand_document(compiled))
    head = f"# expanded by `graphspec expand` from {source}\n" if source else ""
    return head + text


def cmd_expand(args: argparse.Namespace) -> int:
    _check_writable(args.output)
    compiled = _compile_for_build(args.spec, args.set)
    _emit(expanded_yaml(compiled, args.spec), args.output)
    return EXIT_OK


def sidecar_path(output: str | Path) -> Path:
    """``model.pt`` -> ``model.spec.yaml`` beside it."""
    output = Path(output)
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return output.with_name(f"{stem}.spec.yaml")


def cmd_build(args: argparse.Namespace) -> int:
    import torch

    _check_writable(args.output)
    compiled = _compile_for_build(args.spec, args.set)
    spec_text = expanded_yaml(compiled, args.spec) if args.output else None  # fails before writing
    if args.seed is not None:
        torch.manual_seed(args.seed)
    try:
        model = compiled.lower()
    except (ValueError, TypeError, RuntimeError, AssertionError) as exc:  # torch rejected an argument value
        from graphspec.spec.errors import Diagnostic, SpecError

        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError([Diagnostic(
            f"torch rejected the model while building it: {detail}", code="lower",
            hint="the static checks should have caught this; please report it")]) from None
    _out("\n".join(summary_lines(compiled, args.depth)))
    if args.output:
        output = Path(args.output)
        sidecar = sidecar_path(output)
        state = model.state_dict()
        _atomic_write([
            (output, lambda f: torch.save(state, f)),
            (sidecar, lambda f: f.write(spec_text.encode("utf-8"))),
        ])
        _err(f"wrote {output} ({len(state)} state_dict entries) and {sidecar} (the expanded spec that "
             "rebuilds the model)")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# graph drawing


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _mermaid_quote(text: str) -> str:
    escaped = (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
               .replace("\n", "<br/>"))
    return f'"{escaped}"'


class _Drawing:
    """Nodes (id, label, kind) and edges (a, b, style) of a drawing, rendered as DOT or Mermaid."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.nodes: list[tuple[str, str, str]] = []
        self.edges: list[tuple[str, str, str]] = []

    def node(self, label: str, kind: str = "op") -> str:
        ident = f"n{len(self.nodes)}"
        self.nodes.append((ident, label, kind))
        return ident

    def edge(self, a: str, b: str, style: str = "data") -> None:
        self.edges.append((a, b, style))

    def dot(self) -> str:
        shapes = {"op": "box", "input": "ellipse", "output": "ellipse"}
        lines = [f"digraph {_dot_quote(self.title)} {{", "  rankdir=TB;",
                 '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];']
        for ident, label, kind in self.nodes:
            extra = ', style="filled", fillcolor="#e8f0fe"' if kind != "op" else ""
            lines.append(f"  {ident} [label={_dot_quote(label)}, shape={shapes[kind]}{extra}];")
        for a, b, style in self.edges:
            lines.append(f"  {a} -> {b}" + (" [style=dashed, arrowhead=none]" if style == "tree" else "") + ";")
        lines.append("}")
        return "\n".join(lines)

    def mermaid(self) -> str:
        lines = ["flowchart TB"]
        for ident, label, kind in self.nodes:
            quoted = _mermaid_quote(label)
            lines.append(f"  {ident}([{quoted}])" if kind != "op" else f"  {ident}[{quoted}]")
        for a, b, style in self.edges:
            lines.append(f"  {a} {'-.-' if style == 'tree' else '-->'} {b}")
        return "\n".join(lines)


def _node_label(node, name: str | None = None) -> str:
    head = name if name is not None else (node.path.rsplit(".", 1)[-1] if node.path else "model")
    if node.path and name is None and node.path.split(".")[-1].isdigit():
        head = ".".join(node.path.split(".")[-2:])
    return f"{head}\n{node.op}\n{_shape_text(node.meta.get('output'))}"


def _draw_tree(drawing: _Drawing, node, parent_id: str | None, depth: int, graph_form: bool,
               name: str | None = None) -> str:
    ident = drawing.node(_node_label(node, name))
    if parent_id is not None:
        drawing.edge(parent_id, ident, "tree")
    for _, child in node.children():
        if depth < 0 or _level(child.path, graph_form) <= depth:
            _draw_tree(drawing, child, ident, depth, graph_form)
    return ident


def draw(compiled, depth: int = DEFAULT_DEPTH) -> _Drawing:
    """Model form: the node tree (parent -- child, op and output shape in each label).
    Graph form: the dataflow from inputs through nodes to outputs; with ``depth`` > 1 each
    node's sub-tree hangs below it (dashed)."""
    drawing = _Drawing(compiled.spec.name)
    if compiled.root is not None:
        ins = [drawing.node(f"{k}\n{_shape_text(v)}", "input") for k, v in compiled.inputs.items()]
        top = _draw_tree(drawing, compiled.root, None, depth, False)
        for i in ins:
            drawing.edge(i, top)
        for k, v in compiled.outputs.items():
            drawing.edge(top, drawing.node(f"{k}\n{_shape_text(v)}", "output"))
        return drawing
    graph = compiled.graph
    ids = {k: drawing.node(f"{k}\n{_shape_text(v)}", "input") for k, v in compiled.inputs.items()}
    for name, node in graph.nodes.items():
        ids[name] = _draw_tree(drawing, node, None, depth, True, name=name)
    for name, sources in graph.wiring.items():
        for src in sources:
            if src in ids and name in ids:
                drawing.edge(ids[src], ids[name])
    for out_name, src in graph.outputs.items():
        value = compiled.outputs.get(out_name)
        oid = drawing.node(f"{out_name}\n{_shape_text(value)}", "output")
        if src in ids:
            drawing.edge(ids[src], oid)
    return drawing


def cmd_graph(args: argparse.Namespace) -> int:
    _check_writable(args.output)
    compiled, code = _compile_for_report(args.spec, args.set)
    if compiled.root is None and compiled.graph is None:
        return max(code, EXIT_FINDINGS)  # nothing to draw; the findings were printed
    drawing = draw(compiled, DEFAULT_DEPTH if args.depth is None else args.depth)
    _emit(drawing.mermaid() if args.format == "mermaid" else drawing.dot(), args.output)
    return code


# ---------------------------------------------------------------------------------------------
# ops


def type_name(spec) -> str:
    """Readable type of an op argument: ``int | tuple[int, int, int]``, ``component | None``."""
    optional = _allows_none(spec.annotation) or spec.default is None
    if spec.component and spec.component_list:
        text = "component | list[component]"
    elif spec.component_list:
        text = "list[component]"
    elif spec.component:
        text = "component"
    else:
        return _annotation_name(spec.annotation)
    return text + (" | None" if optional else "")


def _allows_none(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _annotation_name(annotation: Any) -> str:
    import types

    if annotation is Any:
        return "any"
    if annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_annotation_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        inner = ", ".join("..." if a is Ellipsis else _annotation_name(a) for a in args)
        return f"{name}[{inner}]" if inner else name
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def default_data(spec) -> Any:
    """An argument's default as spec data (components by op name); raises ValueError if none."""
    from graphspec.registry import as_spec_data

    return as_spec_data(spec.default)


def _default_text(spec) -> str:
    if spec.required:
        return "(required)"
    try:
        value = default_data(spec)
    except ValueError:
        return repr(spec.default)
    return "null" if value is None else json.dumps(value) if not isinstance(value, str) else value


def _first_line(doc: str, limit: int = 100) -> str:
    """The first sentence of a docstring's first paragraph, at most ``limit`` characters."""
    text = " ".join(doc.strip().split("\n\n", 1)[0].split()).replace("``", "`") if doc else ""
    end = text.find(". ")
    text = text[: end + 1] if end >= 0 else text
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _first_paragraph(doc: str, limit: int = 400) -> str:
    text = " ".join(doc.strip().split("\n\n", 1)[0].split()).replace("``", "`") if doc else ""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _op_args(opdef) -> list[dict]:
    items = []
    for spec in opdef.args.values():
        try:
            default = None if spec.required else default_data(spec)
        except ValueError:
            default = repr(spec.default)
        items.append({"name": spec.name, "type": type_name(spec), "required": spec.required,
                      "default": default})
    return items


def cmd_ops(args: argparse.Namespace) -> int:
    from graphspec import registry
    from graphspec.spec.errors import did_you_mean

    if args.name:
        if args.name not in registry.names():
            hint = did_you_mean(args.name, registry.names())
            raise UsageError(f"unknown op {args.name!r}" + (f" ({hint})" if hint else "")
                             + "; `graphspec ops` lists them")
        opdef = registry.get(args.name)
        if args.json:
            _out(json.dumps({"name": opdef.name, "kind": opdef.kind, "doc": opdef.doc,
                             "args": _op_args(opdef)}, indent=2))
            return EXIT_OK
        _out(f"{opdef.name} ({opdef.kind})")
        if opdef.doc:
            _out(f"  {_first_paragraph(opdef.doc)}")
        if not opdef.args:
            _out("no arguments")
            return EXIT_OK
        rows = [[s.name, type_name(s), _default_text(s)] for s in opdef.args.values()]
        _out("")
        _out("\n".join(_table(["argument", "type", "default"], rows)))
        return EXIT_OK
    ops = [op for op in registry.ops() if args.kind is None or op.kind == args.kind]
    if args.json:
        _out(json.dumps([{"name": op.name, "kind": op.kind, "doc": _first_line(op.doc)} for op in ops], indent=2))
        return EXIT_OK
    rows = [[op.name, op.kind, _first_line(op.doc)] for op in ops]
    _out("\n".join(_table(["op", "kind", "description"], rows)))
    _out(f"{_plural(len(ops), 'op')}; `graphspec ops NAME` shows an op's arguments")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# zoo


def _zoo_entries() -> list[dict]:
    from graphspec.compiler.pipeline import load_spec
    from graphspec.models.hub.utils import zoo_dir
    from graphspec.spec.errors import SpecError

    entries = []
    for path in sorted(zoo_dir().glob("*.yaml")):
        entry: dict[str, Any] = {"name": path.stem, "file": str(path)}
        try:
            spec = load_spec(path)[0]
        except SpecError as err:
            entry["error"] = format_diagnostic(err.diagnostics[0], str(path)) if err.diagnostics else "unreadable"
            entries.append(entry)
            continue
        expect = spec.expect
        macs = expect.macs_expect if expect else None
        entry.update(name=spec.name, params=expect.params if expect else None,
                     macs=macs.value if macs else None, description=" ".join(spec.description.split()))
        entries.append(entry)
    return entries


def cmd_zoo(args: argparse.Namespace) -> int:
    entries = _zoo_entries()
    if args.json:
        _out(json.dumps(entries, indent=2))
    else:
        from graphspec.models.hub.utils import zoo_dir

        rows = [[e["name"], "?" if e.get("params") is None else _human(e["params"]),
                 "?" if e.get("macs") is None else _human(e["macs"]),
                 _first_line(e.get("description") or "", 90)] for e in entries if "error" not in e]
        _out("\n".join(_table(["model", "params", "MACs", "description"], rows, right=(1, 2))))
        _out(f"{_plural(len(rows), 'zoo spec')} in {zoo_dir()} (params and MACs per clip from each spec's expect); "
             "`graphspec summary FILE` shows one in detail")
        for e in entries:
            if "error" in e:
                _err(e["error"])
    return EXIT_FINDINGS if any("error" in e for e in entries) else EXIT_OK


# ---------------------------------------------------------------------------------------------
# schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _arg_schema(spec, defs: dict) -> dict:
    from pydantic import TypeAdapter

    nullable = _allows_none(spec.annotation) or spec.default is None
    component = _ref("Component")
    item = {"anyOf": [component, {"type": "null"}]}
    if spec.component and spec.component_list:
        schema: dict = {"anyOf": [component, {"type": "array", "items": item}]}
    elif spec.component_list:
        schema = {"type": "array", "items": item}
    elif spec.component:
        schema = dict(component)
    else:
        try:
            schema = TypeAdapter(spec.annotation).json_schema()
        except Exception:  # an annotation pydantic cannot describe: any value
            schema = {}
        for name, sub in schema.pop("$defs", {}).items():
            defs.setdefault(name, sub)
    if (spec.component or spec.component_list) and nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema["description"] = type_name(spec)
    if not spec.required:
        with contextlib.suppress(ValueError):
            schema["default"] = default_data(spec)
    return schema


def spec_schema() -> dict:
    """JSON Schema of spec files for editors: the document schema, with ``model`` and every
    ``nodes`` value a union over all registered ops discriminated by ``op`` (each op's arguments
    typed from its registry entry; sub-components ``$ref`` ``Component``). Files with
    ``extends`` may be partial: required keys and ops then come from the parent."""
    from graphspec import registry
    from graphspec.spec.document import json_schema

    schema = json_schema()
    defs = schema.setdefault("$defs", {})
    ops = registry.ops()
    names = [op.name for op in ops]
    defs["OpName"] = {"type": "string", "enum": names, "description": "a registered op (graphspec ops)"}
    for op in ops:
        props: dict[str, Any] = {"op": {"const": op.name, "description": _first_line(op.doc) or op.name}}
        for spec in op.args.values():
            props[spec.name] = _arg_schema(spec, defs)
        required = ["op"] + [s.name for s in op.args.values() if s.required]
        base = {"type": "object", "title": op.name, "description": f"{op.kind} op",
                "properties": props, "required": ["op"], "additionalProperties": False}
        defs[f"op.{op.name}"] = base
        node_props = dict(props)
        node_props["in"] = _ref("NodeInputs")
        defs[f"node.{op.name}"] = {**base, "properties": node_props}
        defs[f"model.{op.name}"] = {"allOf": [_ref(f"op.{op.name}")], "required": required}
        defs[f"graphnode.{op.name}"] = {"allOf": [_ref(f"node.{op.name}")], "required": required + ["in"]}

    def union(prefix: str) -> dict:
        # oneOf over the ops, each branch guarded by its `op` value: a branch of another op fails
        # at once (else: false) instead of validating the whole sub-tree against the wrong op
        branches = [{"if": {"properties": {"op": {"const": n}}}, "then": _ref(f"{prefix}.{n}"), "else": False}
                    for n in names]
        return {"type": "object", "required": ["op"], "properties": {"op": _ref("OpName")}, "oneOf": branches,
                "discriminator": {"propertyName": "op", "mapping": {n: f"#/$defs/{prefix}.{n}" for n in names}}}

    defs["NodeInputs"] = {"description": "the values a node reads: an input name or node name, or a list of them",
                          "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
    defs["Component"] = {"description": "a component: an op name, or {op: NAME, ...args}",
                         "anyOf": [_ref("OpName"), union("op")]}
    defs["Model"] = {"description": "the model: one component, every required argument given",
                     "anyOf": [_ref("OpName"), union("model")]}
    defs["GraphNode"] = {"description": "a graph node: {op: NAME, in: INPUTS, ...args}", **union("graphnode")}
    no_op = {"type": "object", "not": {"required": ["op"]}}
    defs["PartialModel"] = {"description": "model overrides merged over the parent's (extends)",
                            "anyOf": [_ref("Component"), no_op, {"type": "null"}]}
    defs["PartialGraphNode"] = {"description": "node overrides merged over the parent's (extends)",
                                "anyOf": [union("node"), no_op, {"type": "null"}]}

    model_spec = defs["ModelSpec"]
    props = model_spec["properties"]
    props["model"] = {"description": props["model"].get("description", "")}
    props["nodes"] = {"description": props["nodes"].get("description", ""), "type": "object"}
    props["extends"] = {"description": "parent spec(s) to inherit from, relative to this file; this file's keys "
                                       "are merged over them",
                        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    required = model_spec.pop("required", [])
    model_spec["not"] = {"required": ["model", "nodes"]}
    model_spec["if"] = {"required": ["extends"]}
    model_spec["then"] = {"properties": {
        "model": _ref("PartialModel"),
        "nodes": {"type": "object", "additionalProperties": _ref("PartialGraphNode")}}}
    model_spec["else"] = {
        "required": required,
        "properties": {"model": _ref("Model"), "nodes": {"type": "object", "additionalProperties": _ref("GraphNode")}},
        "anyOf": [{"required": ["model"]}, {"required": ["nodes", "outputs"]}],
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "graphspec spec",
            **{k: v for k, v in schema.items() if k != "$defs"}, "$defs": defs}


def cmd_schema(args: argparse.Namespace) -> int:
    _check_writable(args.output)
    _emit(json.dumps(spec_schema(), indent=2), args.output)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# command line


def _depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer (-1 for all levels), got {text!r}") from None
    if value < -1 or value == 0:
        raise argparse.ArgumentTypeError(f"expected a depth of 1 or more, or -1 for all levels; got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:  # usage errors: exit 2, short hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNUSABLE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from graphspec import __version__

    parser = _Parser(prog=PROG, description="graphspec: check, build and inspect declarative video-model specs.",
                     epilog="exit codes: 0 clean, 1 findings, 2 unusable input, 3 internal error")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def with_spec(p: argparse.ArgumentParser, many: bool = False) -> None:
        if many:
            p.add_argument("specs", nargs="+", metavar="SPEC",
                           help="spec files, folders (their *.yaml, recursively) or glob patterns (** allowed)")
        else:
            p.add_argument("spec", metavar="SPEC", help="spec file (.yaml)")
        p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                       help="override a value by dotted key path, e.g. --set model.model_num_class=174 "
                            "(repeatable; the value is YAML)")

    p = sub.add_parser("validate", help="check specs: load, compile, evaluate expect",
                       description="Load, compile and check specs, evaluating their expect: blocks. "
                                   "Exit 0 clean (warnings allowed), 1 findings, 2 unusable input.")
    with_spec(p, many=True)
    p.add_argument("--format", choices=("text", "github", "json"), default="text",
                   help="text (default), github (workflow annotations) or json (a list of findings)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="compile to an nn.Module, print the summary, optionally save it",
                       description="Compile and lower a spec to an nn.Module and print its summary. With -o, save "
                                   "the state_dict (torch.save) and beside it NAME.spec.yaml, the expanded spec "
                                   "that rebuilds the model. expect: is not enforced (failures are warnings).")
    with_spec(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the state_dict here (e.g. model.pt)")
    p.add_argument("--seed", type=int, help="torch seed for the weight initialization")
    p.add_argument("--depth", type=_depth, default=DEFAULT_DEPTH, help="summary depth (-1: all)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("summary", help="per-node table: output shape, params, MACs",
                       description="Per-node table of output shapes, parameters and MACs (per clip), with totals.")
    with_spec(p)
    p.add_argument("--json", action="store_true", help="machine-readable output (all nodes unless --depth)")
    p.add_argument("--depth", type=_depth, default=None,
                   help=f"levels of nodes to show: the model is 1, blocks.1 is 2, blocks.1.res_blocks.0 is 3 "
                        f"(default {DEFAULT_DEPTH}; -1: all)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("expand", help="print the full IR as a spec that rebuilds the identical model",
                       description="Print the spec with its model replaced by the full IR as explicit nested "
                                   "components; compiling it rebuilds the identical model.")
    with_spec(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the YAML here instead of printing it")
    p.set_defaults(func=cmd_expand)

    p = sub.add_parser("graph", help="draw the model as Graphviz DOT or Mermaid",
                       description="Draw the node tree (model specs) or the dataflow (graph specs).")
    with_spec(p)
    p.add_argument("--format", choices=("dot", "mermaid"), default="dot", help="dot (default) or mermaid")
    p.add_argument("--depth", type=_depth, default=None, help=f"levels of nodes to draw (default {DEFAULT_DEPTH}; -1: all)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the drawing here instead of printing it")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("ops", help="list registered ops, or show one op's arguments")
    p.add_argument("name", nargs="?", metavar="NAME", help="an op to describe")
    p.add_argument("--kind", choices=("module", "builder", "graph"), help="only ops of this kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_ops)

    p = sub.add_parser("zoo", help="list the zoo specs with their params and MACs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("schema", help="JSON Schema of the spec format, for editors")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema here instead of printing it")
    p.set_defaults(func=cmd_schema)
    return parser


def _internal_error(exc: BaseException, context: str = "") -> None:
    where = f" {context}" if context else ""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    _err(f"{PROG}: internal error{where}: {type(exc).__name__}" + (f": {detail}" if detail else ""))
    if os.environ.get("GRAPHSPEC_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        _err(f"{PROG}: this is a bug in graphspec, not in your spec; please report it with the command line "
             "and the spec (GRAPHSPEC_DEBUG=1 shows the traceback)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``graphspec`` command line; returns the exit code."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help, --version, usage errors
            return stop.code if isinstance(stop.code, int) else EXIT_UNUSABLE
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_UNUSABLE
        return _run(args)
    except KeyboardInterrupt:
        _err(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `graphspec ops | head`: the reader is gone; stay quiet
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    from graphspec.spec.errors import SpecError

    spec = getattr(args, "spec", None)
    overrides = getattr(args, "set", [])
    try:
        return args.func(args)
    except SpecError as err:
        for diag in err.diagnostics:
            _err(format_diagnostic(diag, spec, overrides))
        return err.exit_code or EXIT_FINDINGS
    except UsageError as err:
        _err(f"{PROG} {args.command}: error: {err}")
        return EXIT_UNUSABLE
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except OSError as err:  # files we read (outside the spec loader) or write
        name = f" {err.filename}" if getattr(err, "filename", None) else ""
        reason = err.strerror or str(err)
        _err(f"{PROG} {args.command}: error: cannot write{name}: {reason}" if name else
             f"{PROG} {args.command}: error: {reason}")
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001  (anything else is our bug)
        _internal_error(exc, f"in `{PROG} {args.command}`")
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
