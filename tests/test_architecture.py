"""The shape of the code: imports run one way, segcore never imports Streamlit, and every
module and function stays small enough to read in one sitting.

Read from the source with `ast`, so a function-level (lazy) import counts as much as one at the
top: a circle hidden inside a function is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("segcore", "ui")
# Counted as `ruff format` lays the code out (one argument per line once a call is long): about
# 40 % more lines than the hand-packed layout these limits (400 and 60) were first set for.
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 90
# A longer function must say why in its docstring, with this phrase.
LONG_REASON = "Long because"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports, anywhere in it."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from segcore import team` imports the module segcore.team.team
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(path, name, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first repeated last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package importing its own submodules (to register them) is not a circle
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_finds_a_circle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_segcore_never_imports_streamlit():
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("segcore"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(name)
    assert offenders == []


def test_every_fragment_checks_the_login_first():
    """A fragment's own rerun skips the entry point's login gate: each goes through
    `ui.app.login.checked_fragment`, never `st.fragment` alone (a removed user's open tab went on
    drawing the Dashboard's per-person chart through its search box)."""
    pages = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in pages
        if path != ROOT / "ui" / "app" / "login.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "fragment"
    ]
    assert offenders == []


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_and_functions_are_short(name):
    path = _modules()[name]
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path} has {source.count(chr(10))} lines"
    too_long = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                too_long.append(f"{node.name} ({length} lines)")
    assert too_long == [], f"{path}: {', '.join(too_long)}"


def test_the_readme_layout_names_every_module():
    """The README's layout table is how a newcomer finds where a feature lives: it must name
    every module (a folder row such as `segcore/cli/` covers the modules in it)."""
    layout = (ROOT / "README.md").read_text().split("## Project layout", 1)[1]
    missing = []
    for path in _modules().values():
        relative = path.relative_to(ROOT).as_posix()
        folder = relative.rsplit("/", 1)[0] + "/"
        if f"`{relative}`" not in layout and f"`{folder}`" not in layout:
            missing.append(relative)
    assert missing == [], "not in the README's layout table: " + ", ".join(missing)


# segcore's domain packages, lowest first: a package imports only packages before it (or its
# own modules). The top-level modules come after every package, the command line last.
PACKAGE_ORDER = [
    "core",
    "settings",
    "store",
    "team",
    "work",
    "uploads",
    "images",
    "archives",
    "content",
    "masks",
    "sync",
    "report",
    "views",
    "backups",
    "notify",
    "<top>",
    "cli",
]


def package_of(module: str) -> str:
    """`segcore.sync.index.sync_plan` -> "sync"; a top-level module such as `segcore.prepare` -> "<top>"."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (ROOT / "segcore" / parts[1]).is_dir()):
        return parts[1]
    return "<top>"


def test_every_package_has_a_place_in_the_order():
    packages = {
        p.name for p in (ROOT / "segcore").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    assert packages <= set(PACKAGE_ORDER), f"place {packages - set(PACKAGE_ORDER)} in PACKAGE_ORDER"


def test_packages_import_only_downward():
    rank = {name: i for i, name in enumerate(PACKAGE_ORDER)}
    upward = []
    for module, imported in import_graph().items():
        if not module.startswith("segcore.") or module == "segcore.__main__":
            continue
        for target in imported:
            if not target.startswith("segcore."):
                continue
            if rank[package_of(target)] > rank[package_of(module)]:
                upward.append(f"{module} -> {target}")
    assert upward == [], "imports up the package order: " + ", ".join(sorted(upward))


@pytest.mark.parametrize("package", [p for p in PACKAGE_ORDER if p not in ("<top>", "cli")])
def test_each_package_says_what_it_offers_and_loads_nothing(package):
    """A package's `__init__.py` names its modules in a docstring and imports nothing, so
    `import segcore.sync` costs nothing and a newcomer reads the room's contents in one place."""
    init = ROOT / "segcore" / package / "__init__.py"
    tree = ast.parse(init.read_text())
    assert ast.get_docstring(tree), f"{init} has no docstring"
    assert not [
        n
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
    ], f"{init} imports at load time"


def test_every_select_box_says_its_hint_in_the_pages_language():
    """Streamlit's own hints ("Choose an option", "No options to select") are English: every
    select box and multiselect passes its own, worded by `ui.app.i18n.choice_hint` (a Spanish
    Batches page showed "Choose options" in its review box)."""
    pages = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in pages
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("selectbox", "multiselect")
        and not any(k.arg == "placeholder" for k in node.keywords)
    ]
    assert offenders == []
