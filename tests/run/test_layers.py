"""The package's one-way dependencies (docs/architecture.md):
core <- rlinfo.envs <- rlinfo.agents <- rlinfo.run (the run layer).

Every import statement of every module is read from its source (module level and inside functions),
so a lazy import cannot hide an edge that points up.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"core": 0, "envs": 1, "agents": 2, "run": 3}  # a module may import its own layer and lower ones
ALLOWED_UP = {("rlinfo/__init__.py", "rlinfo.run.load")}  # rlinfo.load: the public entry point, lazy


def layer_of_module(name: str) -> str:
    parts = name.split(".")
    if parts[0] != "rlinfo":
        return "external"
    return parts[1] if len(parts) > 1 and parts[1] in ("envs", "agents", "run") else "core"


def layer_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] in ("envs", "agents"):
        return rel[0]
    return "run" if rel[:2] == ("rlinfo", "run") else "core"


def imports(path: Path) -> list[str]:
    package = "rlinfo." + path.parent.name if path.parent.name in ("envs", "agents") else None
    return imported_names(path.read_text(encoding="utf-8"), package)


def imported_names(source: str, package: str | None) -> list[str]:
    """Every module named by an import in ``source``; relative imports resolved inside ``package``."""
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:  # relative import inside envs/ or agents/
                out.append(f"{package}.{node.module}" if node.module else package)
            elif node.module:
                out.append(node.module)
    return out


def sources() -> list[Path]:
    return [p for d in ("rlinfo", "envs", "agents") for p in sorted((ROOT / d).rglob("*.py"))]


def test_dependencies_point_one_way():
    upward = []
    for path in sources():
        here = layer_of_file(path)
        for name in imports(path):
            there = layer_of_module(name)
            rel = str(path.relative_to(ROOT))
            if there != "external" and LAYERS[there] > LAYERS[here] and (rel, name) not in ALLOWED_UP:
                upward.append(f"{rel} ({here}) imports {name} ({there})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_lazy_and_relative_imports():
    source = "def f():\n    from rlinfo.run.loop import Trainer\n    from .maze import MazeEnv\n"
    assert imported_names(source, "rlinfo.envs") == ["rlinfo.run.loop", "rlinfo.envs.maze"]
    assert layer_of_file(ROOT / "envs" / "maze.py") == "envs" and layer_of_module("rlinfo.run.loop") == "run"
    assert layer_of_file(ROOT / "rlinfo" / "run" / "loop.py") == "run"
    assert layer_of_file(ROOT / "rlinfo" / "buffers.py") == "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = ["rlinfo", *parts] if parts[0] in ("envs", "agents") else parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:`` (imports a type checker
    reads are not dependencies at run time)."""
    out = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for sub in child.orelse:
                out += [sub, *runtime_nodes(sub)]
            continue
        out += [child, *runtime_nodes(child)]
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from a import b`` counts ``a.b`` when b is a module)."""
    modules = {module_name(p): p for p in sources()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = "rlinfo." + path.parent.name if path.parent.name in ("envs", "agents") else None
        targets: set[str] = set()
        for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = f"{package}.{node.module}" if node.level and package else node.module
                base = base or package or ""
                targets |= {base} | {f"{base}.{a.name}" for a in node.names}
        edges = set()
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name:
                edges.add(t)
        graph[name] = edges
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
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    """No two modules import each other, directly or through others (lazy imports included)."""
    graph = import_graph()
    assert "rlinfo.run.sweep" in graph["rlinfo.run.cli"]  # `from a import b` edges are seen
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the check works


def test_the_loop_holds_the_loop_and_never_asks_the_learner_kind():
    """Persistence lives in run/persistence.py; the loop talks to the learner through one interface."""
    loop = (ROOT / "rlinfo" / "run" / "loop.py").read_text(encoding="utf-8")
    for kind in ("OffPolicy", "OnPolicy", "on_policy"):
        assert kind not in loop, kind
    tree = ast.parse(loop)
    trainer = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Trainer")
    for method in ("state_dict", "load_networks", "load_state_dict", "resume", "save", "check_finite"):
        node = next(n for n in trainer.body if isinstance(n, ast.FunctionDef) and n.name == method)
        assert len(node.body) <= 2, f"Trainer.{method} should delegate to rlinfo.run.persistence"
