"""The imports run down the pipeline, as docs/architecture.md ("The code, box by box") draws it.

Read from the source (every import, also those inside functions and under `if TYPE_CHECKING`):
the command line, the interface and the browser view on top; the teaching lab and demo, the views,
the selection, the judgement and the acts below them; then the sources, the model, and the
foundation. Nothing imports upward, no two modules import each other (even through others), and only
psxj/tui/ imports Textual; and the commands that print (`--print`, `--json`, `audit`, `events`) never
load it, which a child Python shows, as Harlequin checks its core. Each check also runs on a planted
violation, to show that it can fail.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest
from conftest import ROOT, linux_only

# Bottom to top; a module may import its own layer and those below. Every module of psxj has a layer.
LAYERS = (
    ("foundation", ("psxj", "psxj._launch", "psxj.i18n", "psxj.errors", "psxj.escape", "psxj.cells", "psxj.safefs",
                    "psxj.spawn")),
    ("snapshot", ("psxj.model",)),
    ("sources", ("psxj.sources",)),
    ("judgement and acts", ("psxj.judge", "psxj.act")),
    ("selection", ("psxj.select",)),
    ("views", ("psxj.render",)),
    ("teaching", ("psxj.demo", "psxj.lab")),
    ("interface", ("psxj.tui",)),
    ("browser", ("psxj.web",)),
    ("command line", ("psxj.commands", "psxj.__main__")),
)
# On top, the three views of a user meet: the command line starts the interface and the browser
# view; those never import the command line, and the browser view serves the interface as a program
# (psxj.tui.served), never as a module (checked below: the layers alone would let it).
TOP = ("psxj.tui", "psxj.web", "psxj.commands", "psxj.__main__")


def _in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".") and prefix != "psxj"


def layer_of(module: str) -> int:
    for rank, (_name, prefixes) in enumerate(LAYERS):
        if any(_in(module, prefix) for prefix in prefixes):
            return rank
    raise KeyError(f"{module} has no layer: give it one in LAYERS and in docs/architecture.md")


def modules_of(root: Path, package: str = "psxj") -> Dict[str, Path]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, module: str, known: Set[str]) -> Set[str]:
    """The modules of `known` that `path` imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def third_party_imports(path: Path) -> Set[str]:
    """The top-level names of every package `path` imports (textual, rich, psutil...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def import_graph(root: Path, package: str = "psxj") -> Dict[str, Set[str]]:
    modules = modules_of(root, package)
    return {module: imports_of(path, module, set(modules)) for module, path in modules.items()}


def upward(graph: Dict[str, Set[str]]) -> List[str]:
    """Every import that goes up the layers, or from one view on top into another."""
    found = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            if layer_of(target) > layer_of(module):
                found.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} "
                             f"({LAYERS[layer_of(target)][0]})")
    return found


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def textual_outside_the_interface(root: Path, package: str = "psxj") -> List[str]:
    return sorted(module for module, path in modules_of(root, package).items()
                  if not _in(module, "psxj.tui") and "textual" in third_party_imports(path))


# The real tree ---------------------------------------------------------------------------------------
GRAPH = import_graph(ROOT)


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer_of(module)


def test_no_import_goes_up_the_pipeline():
    assert upward(GRAPH) == []


def test_no_layer_below_the_top_imports_the_interface_the_browser_or_the_command_line():
    below = [(m, t) for m, targets in GRAPH.items() for t in targets
             if not any(_in(m, top) for top in TOP) and any(_in(t, top) for top in TOP)]
    assert below == []


def test_the_browser_view_never_imports_the_interface():
    assert across(GRAPH, "psxj.web", "psxj.tui") == []


def across(graph: Dict[str, Set[str]], source: str, target: str) -> List[str]:
    return sorted(f"{m} imports {t}" for m, targets in graph.items() for t in targets
                  if _in(m, source) and _in(t, target))


def test_no_circles():
    assert circles(GRAPH) == []


def test_only_the_interface_imports_textual():
    assert textual_outside_the_interface(ROOT) == []


def textual_loaded_by(argv: List[str], planted: str = "") -> bool:
    """Does `psxj ARGV` load Textual, run in a child Python (after `planted`, a line of code)?"""
    code = ("import sys\n"
            f"{planted}\n"
            "from psxj.commands.main import main\n"
            "sys.stdout = open('/dev/null', 'w')\n"
            f"main({argv!r})\n"
            "sys.stderr.write('TEXTUAL LOADED' if 'textual' in sys.modules else 'NO TEXTUAL')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    said = result.stderr.decode()
    assert said.endswith(("TEXTUAL LOADED", "NO TEXTUAL")), said[-2000:]
    return said.endswith("TEXTUAL LOADED")


@linux_only
@pytest.mark.parametrize("argv", [["--print"], ["--json"], ["--csv", "-p", "1"], ["audit", "1"],
                                  ["events", "--duration", "0.2"]])
def test_the_commands_that_print_never_load_textual(argv):
    assert not textual_loaded_by(argv)


@linux_only
def test_a_command_that_loads_textual_is_found():
    assert textual_loaded_by(["--print"], planted="import psxj.tui.app")


# Planted violations: each check catches them -----------------------------------------------------------
@pytest.mark.parametrize("graph, expected", [
    ({"psxj.model": {"psxj.judge.kinds"}, "psxj.judge.kinds": {"psxj.model"}}, ["psxj.model (snapshot)"]),
    ({"psxj.sources.proc": {"psxj.tui.app"}, "psxj.tui.app": set()}, ["psxj.sources.proc (sources)"]),
    ({"psxj.tui.app": {"psxj.commands.main"}, "psxj.commands.main": set()}, ["psxj.tui.app (interface)"]),
    ({"psxj.escape": {"psxj.render.psformat"}, "psxj.render.psformat": set()}, ["psxj.escape (foundation)"]),
    ({"psxj.commands.main": {"psxj.tui.app", "psxj.model"}, "psxj.tui.app": {"psxj.model"}, "psxj.model": set()},
     []),
])
def test_an_upward_import_is_found(graph, expected):
    assert [violation.split(" imports ")[0] for violation in upward(graph)] == expected


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
])
def test_a_circle_is_found(graph, expected):
    assert sorted(circles(graph)) == expected


def test_planted_violations_in_source_files_are_found(tmp_path):
    """A package written here: an import inside a function, a relative one, Textual in a source."""
    package = tmp_path / "psxj"
    for folder in ("", "sources", "tui", "judge"):
        (package / folder).mkdir(exist_ok=True)
        (package / folder / "__init__.py").write_text("")
    (package / "model.py").write_text("def kind():\n    from psxj.judge import kinds\n    return kinds\n")
    (package / "judge" / "kinds.py").write_text("from ..model import kind\n")
    (package / "sources" / "proc.py").write_text("import textual.app\n\n\ndef show():\n    import psxj.tui.app\n")
    (package / "tui" / "app.py").write_text("from textual.app import App\n")
    graph = import_graph(tmp_path)
    assert graph["psxj.model"] == {"psxj.judge.kinds"} and graph["psxj.judge.kinds"] == {"psxj.model"}
    assert circles(graph) == [["psxj.judge.kinds", "psxj.model"]]
    assert [v.split(" imports ")[0] for v in upward(graph)] == ["psxj.model (snapshot)",
                                                                "psxj.sources.proc (sources)"]
    assert textual_outside_the_interface(tmp_path) == ["psxj.sources.proc"]


def test_the_browser_view_importing_the_interface_is_found():
    assert across({"psxj.web.server": {"psxj.tui.app"}}, "psxj.web", "psxj.tui") == \
        ["psxj.web.server imports psxj.tui.app"]


def test_a_module_without_a_layer_is_refused():
    with pytest.raises(KeyError, match="has no layer"):
        layer_of("psxj_elsewhere.thing")
