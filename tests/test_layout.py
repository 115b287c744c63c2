"""The package's shape: only the app layer imports Streamlit, no import cycles, small files, thin pages."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "indoor"
MAX_LINES = 400  # a module a reader can hold in mind
MAX_PAGE_LINES = 200  # a page is layout, widgets and calls
DATA_TABLE_MODULES = {"indoor/data/synthetic/classes.py"}  # mostly data tables (class lists, palettes)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at any depth (a lazy import in a function still makes a cycle)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, name) if m in modules and m != name} for name, path in modules.items()}


def test_only_the_app_layer_imports_streamlit():
    offenders = []
    for name, path in _modules().items():
        if name == "indoor.app" or name.startswith("indoor.app."):
            continue
        streamlit = sorted(m for m in _imports(path, name) if m == "streamlit" or m.startswith("streamlit."))
        if streamlit:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(streamlit)}")
    assert not offenders, "\n".join(offenders)


def test_the_package_has_no_import_cycle():
    graph = _graph()
    # a package's __init__ importing its own submodules is how re-exports work; a cycle through it is still one
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_imports_in_every_form(tmp_path):
    """The checks above are only as good as the import parser: it must see absolute, relative, lazy and
    `from package import module` imports."""
    path = tmp_path / "probe_module.py"
    path.write_text("import streamlit\nfrom . import sibling\nfrom ..cache import format\n"
                    "def f():\n    from indoor.data import images\n")
    found = _imports(path, "indoor.model.probe_module")
    assert {"streamlit", "indoor.model.sibling", "indoor.cache.format", "indoor.data.images"} <= found


def test_modules_stay_small_and_pages_thin():
    long_modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and relative not in DATA_TABLE_MODULES:
            long_modules.append(f"{relative}: {n} lines")
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_PAGE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {n} lines (a page)")
    assert not long_modules, "\n".join(long_modules)
