"""The package's imports, read from the source with `ast`: layers without cycles, and no front
door's library below the service layer.

What counts:
- Module-level imports form a DAG. So do all imports together, those inside functions too: a
  function-level import may defer a costly library until a command needs it, but it may not
  close a cycle (an import that points back up is a dependency in the wrong direction, however
  late it runs). Imports under `if TYPE_CHECKING:` are left out: they never run.
- Below the service layer (everything but cli/, api/, defs/, definitions.py and service/) no
  module imports dagster (or a dagster_* library), typer or rich, at any level, not even for
  type checking: the engine, reports, evidence and the model are plain Python that every door
  shares.
"""

from __future__ import annotations

import ast
from pathlib import Path

import keeptrusts_pipelines

PACKAGE = Path(keeptrusts_pipelines.__file__).parent
NAME = PACKAGE.name
# The service layer and the doors above it; every other module is below it.
ABOVE_SERVICE = ("cli", "api", "defs", "definitions", "service")
FRONT_DOOR_LIBRARIES = ("dagster", "typer", "rich")


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its `__init__.py`)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = module_names()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(
    module: str, module_level_only: bool, type_checking_too: bool = False
) -> set[str]:
    """Dotted names `module` imports (`from a import b` gives `a.b`), relative ones resolved;
    those under `if TYPE_CHECKING:` only with `type_checking_too`."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not type_checking_too:
                for other in child.orelse:
                    visit(other)
                continue
            if module_level_only and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            ):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names.update(f"{base}.{alias.name}" for alias in child.names)
                names.add(base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return names


def _own_module(name: str) -> str | None:
    """The package's module a dotted name lies in (`a.b.function` → `a.b`), if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(module_level_only: bool) -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        targets = {_own_module(n) for n in imported_names(module, module_level_only)}
        # A package's `__init__` runs on the way to any of its modules: not an edge of its own.
        graph[module] = {t for t in targets if t and t != module and t != NAME}
    return graph


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as the path around it (first module repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def walk(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph[node]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = walk(target)
                if found:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = walk(start)
            if found:
                return found
    return None


def below_service(module: str) -> bool:
    """Whether `module` is below the service layer (the package's `__init__` is: it runs first)."""
    parts = module.split(".")
    return len(parts) == 1 or parts[1] not in ABOVE_SERVICE


def test_the_walk_sees_every_layer() -> None:
    graph = import_graph(module_level_only=False)
    assert "keeptrusts_pipelines.exports.engine" in graph
    assert "keeptrusts_pipelines.exports.formats" in graph["keeptrusts_pipelines.exports.engine"]
    assert "keeptrusts_pipelines.exports.engine" in graph["keeptrusts_pipelines.evidence.bundle"]
    assert len(graph) > 80
    # Imports inside functions are read too (settings reads redaction rules only when asked).
    settings, redaction = "keeptrusts_pipelines.settings", "keeptrusts_pipelines.exports.redaction"
    assert redaction in graph[settings]
    assert redaction not in import_graph(module_level_only=True)[settings]


def test_the_cycle_finder_names_the_path_around_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert a_cycle(graph) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set()}) is None


def test_module_level_imports_form_no_cycle() -> None:
    cycle = a_cycle(import_graph(module_level_only=True))
    assert cycle is None, "module-level import cycle: " + " → ".join(cycle or [])


def test_no_import_inside_a_function_closes_a_cycle() -> None:
    cycle = a_cycle(import_graph(module_level_only=False))
    assert cycle is None, "import cycle (through a function-level import): " + " → ".join(
        cycle or []
    )


def test_nothing_below_the_service_layer_imports_dagster_typer_or_rich() -> None:
    offending = []
    for module in MODULES:
        if not below_service(module):
            continue
        for name in imported_names(module, module_level_only=False, type_checking_too=True):
            root = name.split(".")[0]
            if root in FRONT_DOOR_LIBRARIES or root.startswith("dagster_"):
                offending.append(f"{module} imports {name}")
    assert not offending, "; ".join(sorted(offending))


# Dagster's storage classes, which dagster.yaml names, have no public import path.
PRIVATE_DAGSTER_ALLOWED = {f"{NAME}.defs.sqlite_storage"}


def test_only_the_instance_storage_imports_dagster_below_its_public_names() -> None:
    offending = []
    for module in MODULES:
        for name in imported_names(module, module_level_only=False, type_checking_too=True):
            if name.startswith("dagster._") and module not in PRIVATE_DAGSTER_ALLOWED:
                offending.append(f"{module} imports {name}")
    assert not offending, "; ".join(sorted(offending))


# --- the engine reads no environment variable ---------------------------------------------

# The engine: everything the front doors call with settings they read once
# (Settings.from_environment at the CLI's start, in the Dagster resources, in the API).
ENGINE_PACKAGES = (
    "exports",
    "lake",
    "reports",
    "evidence",
    "custody",
    "delivery",
    "sources",
    "model",
)
SETTINGS_MODULE = f"{NAME}.settings"
# weasyprint takes a PDF's dates only from SOURCE_DATE_EPOCH: reports.pdf sets it around a
# render (and restores it) so the same report gives the same bytes. A write, for a library.
EXEMPT = {(f"{NAME}.reports.pdf", "SOURCE_DATE_EPOCH")}


def environment_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) of every `os.environ`, `os.getenv`, `environ[...]` or `from os import
    environ/getenv` in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id == "environ":
                found.append((node.lineno, "environ[...]"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ("environ", "getenv", "environb"):
                    found.append((node.lineno, f"from os import {alias.name}"))
    return found


def engine_modules() -> list[str]:
    return [
        module
        for module in MODULES
        if module.split(".")[1:2] and module.split(".")[1] in ENGINE_PACKAGES
    ]


def test_the_environment_finder_sees_each_way_of_reading_it() -> None:
    source = (
        "import os\nfrom os import environ, getenv\n"
        "a = os.environ.get('A')\nb = os.getenv('B')\nc = environ['C']\nd = 'os.environ'\n"
    )
    assert sorted(environment_reads(source)) == [
        (2, "from os import environ"),
        (2, "from os import getenv"),
        (3, "os.environ"),
        (4, "os.getenv"),
        (5, "environ[...]"),
    ]


def test_the_engine_reads_no_environment_variable_nor_the_settings_module() -> None:
    assert {m.split(".")[1] for m in engine_modules()} == set(ENGINE_PACKAGES)
    offending = []
    for module in engine_modules():
        lines = MODULES[module].read_text(encoding="utf-8").splitlines()
        for line, what in environment_reads("\n".join(lines)):
            if not any(module == name and word in lines[line - 1] for name, word in EXEMPT):
                offending.append(f"{module}:{line} reads {what}")
        imported = imported_names(module, module_level_only=False, type_checking_too=True)
        if any(_own_module(name) == SETTINGS_MODULE for name in imported):
            offending.append(f"{module} imports {SETTINGS_MODULE}")
    assert not offending, "; ".join(sorted(offending))


def test_the_one_exemption_is_still_needed() -> None:
    # If reports.pdf stops setting SOURCE_DATE_EPOCH, the exemption goes too.
    for module, word in EXEMPT:
        lines = MODULES[module].read_text(encoding="utf-8").splitlines()
        reads = environment_reads("\n".join(lines))
        assert reads and all(word in lines[line - 1] for line, _ in reads)
