"""The package's architecture, checked statically: no import cycle among srkit modules (counting
imports inside functions too), layers that point one way (the networks never import inference or
evaluation; no library module imports the notebook support)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "srkit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module → srkit modules it imports anywhere in its body (``from a import b`` counts ``a.b``
    when that is a module, else ``a``)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[mod].update(t for t in targets if t in files and t != mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports():
    graph = import_graph()
    assert "srkit.checkpoint" in graph["srkit.inference.pipeline"] or "srkit.models.ikc" in graph["srkit.inference.pipeline"]
    assert "srkit.notebook.env" in graph["srkit.notebook.artifacts"]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_library_never_imports_notebook_code():
    graph = import_graph()
    bad = [(m, t) for m, ts in graph.items() if not m.startswith("srkit.notebook")
           for t in ts if t.startswith("srkit.notebook")]
    assert not bad, f"library modules importing srkit.notebook: {bad}"


def layer_violations(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(module, imported) pairs that point the wrong way: srkit.models.* importing srkit.inference.*
    or srkit.evaluation.*, and any module outside srkit.notebook importing srkit.notebook.*."""
    def under(m: str, pkg: str) -> bool:
        return m == pkg or m.startswith(pkg + ".")
    bad = []
    for m, ts in graph.items():
        for t in ts:
            if under(m, "srkit.models") and (under(t, "srkit.inference") or under(t, "srkit.evaluation")):
                bad.append((m, t))
            elif not under(m, "srkit.notebook") and under(t, "srkit.notebook"):
                bad.append((m, t))
    return sorted(bad)


def test_models_never_import_inference_or_evaluation():
    assert layer_violations(import_graph()) == []


def test_the_layer_check_flags_each_wrong_direction():
    """Fed a graph with one import of each forbidden kind (and allowed ones), it names exactly those."""
    graph = {"srkit.models.ikc": {"srkit.inference.guard", "srkit.kernels"},
             "srkit.models.sft": {"srkit.evaluation.bench"},
             "srkit.inference.pipeline": {"srkit.models.ikc", "srkit.notebook.env"},
             "srkit.notebook.models": {"srkit.inference.pipeline"}}
    assert layer_violations(graph) == [("srkit.inference.pipeline", "srkit.notebook.env"),
                                       ("srkit.models.ikc", "srkit.inference.guard"),
                                       ("srkit.models.sft", "srkit.evaluation.bench")]


def test_the_graph_sees_the_guarded_loop_in_inference():
    graph = import_graph()
    assert "srkit.inference.guard" in graph["srkit.inference.guarded_ikc"]
    assert "srkit.models.ikc" in graph["srkit.inference.guarded_ikc"]


MAX_LINES = 500  # the code rule: no module over ~500 lines (split it by concern instead)


def test_no_module_is_over_the_line_limit():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_split_packages_import_their_parts_directly():
    """srkit.imageio and srkit.commands.upscaling are split by concern: their modules import one
    another, never the package's ``__init__`` (which re-exports them), so no cycle runs through it."""
    graph = import_graph()
    assert {"srkit.imageio.read", "srkit.imageio.write", "srkit.imageio.atomic"} <= graph["srkit.imageio"]
    assert "srkit.imageio.deepread" in graph["srkit.imageio.read"]
    assert "srkit.commands.upscaling.checks" in graph["srkit.commands.upscale"]
    for package in ("srkit.imageio", "srkit.commands.upscaling"):
        parts = [m for m in graph if m.startswith(package + ".")]
        assert parts and not [m for m in parts if package in graph[m]], package
