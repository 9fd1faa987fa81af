"""The code's shape, checked from its source (``ast``, nothing imported but the contract):

- the results contract (:mod:`conformance.contract`) is standard library only, and each of its names is defined
  there and nowhere else in ``conformance/``, ``backends/`` or ``docs/_ext/``;
- the JSON Schema's enumerations are the contract's;
- the report's Sphinx extension (``docs/_ext``) imports neither the catalog nor the function table: it reads the
  table from the results (``run.function_table``);
- no import cycle among the modules of ``conformance/`` and ``backends/``;
- no module there is longer than :data:`MAX_LINES`, but the few listed with their reason.

Each list of known exceptions below is strict both ways: a new problem fails, and so does an entry that no longer
matches anything (remove it), so the lists only shrink.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from conformance import contract

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("conformance", "backends", "docs/_ext")
"""Where a contract name may not be defined again."""
PACKAGES = ("conformance", "backends")
"""Whose modules make the import graph and are held to the size limit."""


def python_files(*tops: str) -> Iterator[Path]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ---------------------------------------------------------------------------------------------- the contract

def test_the_contract_imports_only_the_standard_library() -> None:
    """The report's Sphinx extension and outside tools import it: no torch, jax, numpy, pytest, not even our own."""
    tree = ast.parse((ROOT / "conformance" / "contract.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported - set(sys.stdlib_module_names)
    probe = ("import json, sys; before = set(sys.modules); import conformance.contract; "
             "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before}"
             " - set(sys.stdlib_module_names))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["conformance"], f"importing the contract loaded {out.strip()}"


def _contract_values() -> dict[str, Any]:
    """The contract's public constants (upper-case names), by name."""
    return {name: value for name, value in vars(contract).items() if name.isupper() and not name.startswith("_")}


CONTRACT = _contract_values()
GUARDED = {*CONTRACT, "LogKind", "ENV_VAR", "BUILTIN", "PROBLEM_STATUSES"}
"""Names that may be assigned at module level only in the contract: its own, and the older names of the same
things (``ENV_VAR`` for an environment variable of the contract, ``BUILTIN`` for the shipped backends,
``PROBLEM_STATUSES`` for :data:`~conformance.contract.UNEXPECTED`).  ``TRANSFORMS`` is not among them: specs name
their own subsets so; a copy of the whole order is found by its value."""

SAME_NAME_OTHER_MEANING = {
    ("conformance/claims/article/sandbox.py", "STATUSES"):
        "a snippet run's outcome (ok, exception, timeout, killed, error, cancelled), not a check's status; "
        "better renamed RUN_STATUSES",
}
"""Module-level names that coincide with a contract name but hold another vocabulary (checked by value too)."""

KNOWN_DUPLICATES: dict[tuple[str, str], str] = {}
"""Definitions of contract names still made in files this change could not edit, each with the line that replaces
it (``(file, name)`` so the entry survives edits above it).  The Sphinx extension can import the contract: it is
standard library only, and ``conformance/__init__.py`` imports nothing until an attribute is asked for."""


def _module_level_assignments(tree: ast.Module) -> Iterator[tuple[str, ast.expr | None, int]]:
    """``(name, value, line)`` of every name bound at module level (inside ``if``/``try``/``with`` too): by an
    assignment (the value is None where it cannot be told apart, ``a, b = f()``) or by a class statement."""
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.value, node.lineno
                elif isinstance(target, ast.Tuple | ast.List):
                    pairs = (zip(target.elts, node.value.elts, strict=True)
                             if isinstance(node.value, ast.Tuple) and len(node.value.elts) == len(target.elts)
                             else ((elt, None) for elt in target.elts))
                    yield from ((elt.id, value, node.lineno) for elt, value in pairs if isinstance(elt, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            yield node.target.id, node.value, node.lineno
        elif isinstance(node, ast.ClassDef):
            yield node.name, None, node.lineno
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, block, []):
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])


def _value(node: ast.expr | None) -> Any:
    """The value of a literal, or of ``Path("a") / "b"``-style path arithmetic; ``...`` when it is anything else."""
    if node is None:
        return ...
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute) and not node.keywords:
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        args = [_value(a) for a in node.args]
        if name in ("Path", "PurePath", "PurePosixPath") and args and all(isinstance(a, str) for a in args):
            return PurePosixPath(*args)
        return ...
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _value(node.left), _value(node.right)
        if isinstance(left, PurePosixPath) and isinstance(right, str | PurePosixPath):
            return left / right
        return ...
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ...


def _same(value: Any, contract_value: Any) -> bool:
    """Whether ``value`` repeats ``contract_value`` (a list for a tuple, a pure path for a path); the same words in
    another order are another thing (a ranking of statuses by severity, say)."""
    if isinstance(contract_value, Path):
        return isinstance(value, PurePosixPath) and value == PurePosixPath(contract_value.as_posix())
    if isinstance(contract_value, tuple):
        return isinstance(value, tuple | list) and tuple(value) == contract_value
    return type(value) is type(contract_value) and value == contract_value


def contract_definitions() -> dict[tuple[str, str], str]:
    """``(file, name) -> why`` for each module-level definition of a contract name or value outside the contract."""
    found: dict[tuple[str, str], str] = {}
    for path in python_files(*SCANNED):
        if path == ROOT / "conformance" / "contract.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, node, line in _module_level_assignments(tree):
            value = _value(node)
            copies = [c for c, v in CONTRACT.items() if value is not ... and _same(value, v)]
            if name in GUARDED and (rel(path), name) not in SAME_NAME_OTHER_MEANING:
                found[(rel(path), name)] = f"{rel(path)}:{line}: {name} is defined here, not only in the contract"
            elif copies:
                found[(rel(path), name)] = (f"{rel(path)}:{line}: {name} repeats conformance.contract."
                                            f"{copies[0]} (import it instead)")
    return found


def test_contract_names_are_defined_in_the_contract_only() -> None:
    found = contract_definitions()
    new = [why for key, why in sorted(found.items()) if key not in KNOWN_DUPLICATES]
    stale = [f"{file}: {name}" for file, name in sorted(set(KNOWN_DUPLICATES) - set(found))]
    assert not new, "import these from conformance.contract:\n" + "\n".join(new)
    assert not stale, "fixed, so remove them from KNOWN_DUPLICATES:\n" + "\n".join(stale)


def test_known_duplicates_still_agree_with_the_contract() -> None:
    """Until each copy is replaced by an import, it must at least hold the contract's value."""
    from backends.base import BUILTIN

    assert BUILTIN == contract.BUILTIN_BACKENDS
    assert contract.DEFAULT_BACKENDS == tuple(contract.BUILTIN_BACKENDS)
    for (file, name), _fix in KNOWN_DUPLICATES.items():
        tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
        values = [_value(node) for n, node, _ in _module_level_assignments(tree) if n == name]
        wanted = {"ENV_VAR": (contract.FALSE_ALARMS_ENV_VAR if "false_alarms" in file else contract.RESULTS_ENV_VAR),
                  "BUILTIN": contract.BUILTIN_BACKENDS, "PROBLEM_STATUSES": contract.UNEXPECTED,
                  "TRANSFORMS": contract.TRANSFORM_ORDER}.get(name, CONTRACT.get(name))
        assert all(v is ... or _same(v, wanted) for v in values), f"{file}: {name} = {values} differs from the contract"


def test_a_copy_under_another_name_is_found() -> None:
    source = ('from pathlib import Path\nOUT = Path("reports") / "results"\nWORDS = ["fail", "error", "xpass"]\n'
              'RANK = ("fail", "error", "xpass", "xfail", "pass", "skip")\n'
              'VAR = "CONFORMANCE_RESULTS"\nclass LogKind:\n    pass\nSTATUSES = ("ok",)\n')
    tree = ast.parse(source)
    hits = {name: [c for c, v in CONTRACT.items() if _same(_value(node), v)]
            for name, node, _ in _module_level_assignments(tree)}
    assert hits["OUT"] == ["RESULTS_DIR"] and hits["WORDS"] == ["UNEXPECTED"] and hits["VAR"] == ["RESULTS_ENV_VAR"]
    assert hits["RANK"] == []  # the statuses ranked by severity: another order is another thing
    assert {"LogKind", "STATUSES"} <= GUARDED & set(hits)


def test_the_json_schema_enumerations_are_the_contracts() -> None:
    schema = json.loads((ROOT / "docs" / "results-schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert defs["check"]["properties"]["status"]["enum"] == list(contract.STATUSES)
    assert defs["claim"]["properties"]["verdict"]["enum"] == list(contract.VERDICTS)
    # one vocabulary for both claim checkers: a document's claims carry the article's words, never booleans
    assert defs["document"]["properties"]["claims"]["items"]["properties"]["verdict"]["enum"] == list(contract.VERDICTS)
    assert set(contract.UNEXPECTED) <= set(contract.STATUSES)


def test_every_log_kind_has_a_shape() -> None:
    from conformance.store import schema

    assert set(schema.LOG_SCHEMAS) | {contract.LogKind.BACKEND, contract.LogKind.CHECK} == set(contract.LOG_KINDS)
    assert set(contract.LOG_KINDS) == {v for k, v in vars(contract.LogKind).items() if k.isupper()}


# ---------------------------------------------------------------------------------------------- the report

REPORT_MAY_NOT_IMPORT = ("conformance.battery",)
"""The battery stage (its tables above all), which imports NumPy and the battery's machinery: the report reads what it needs of them from
the results (the function table travels in ``run.function_table``), so it builds from results files alone and
shows the table the run had, not the one of the code that builds the report."""


def _forbidden(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in REPORT_MAY_NOT_IMPORT)


def report_imports_of_the_catalog() -> list[str]:
    """``file:line: name`` for each import of :data:`REPORT_MAY_NOT_IMPORT` under ``docs/_ext``: an ``import`` or
    ``from ... import`` statement (``from conformance.battery import functions`` included), at any depth, or the module's
    name as a string (``importlib.import_module("conformance.battery.functions")``)."""
    found = []
    for path in python_files("docs/_ext"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            found += [f"{rel(path)}:{node.lineno}: {name}" for name in names if _forbidden(name)]
    return found


def test_the_report_imports_no_catalog() -> None:
    found = report_imports_of_the_catalog()
    assert not found, "read it from the results (run.function_table) instead:\n" + "\n".join(found)


def test_an_import_of_the_catalog_is_found() -> None:
    assert [n for n in ("conformance.battery.functions", "conformance.battery.catalog.Entry", "conformance.functionsx",
                        "conformance.contract") if _forbidden(n)] == ["conformance.battery.functions",
                                                                       "conformance.battery.catalog.Entry"]


# ---------------------------------------------------------------------------------------------- import cycles

KNOWN_CYCLES: set[tuple[str, ...]] = set()
"""Cycles that exist today in files this change could not edit, each written from its smallest module."""


def our_modules() -> dict[str, Path]:
    modules = {}
    for path in python_files(*PACKAGES):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, from every ``import`` and ``from ... import`` statement in it.

    Counted: module-level imports and those inside functions, methods, classes, ``try`` and ``if`` blocks
    (``if TYPE_CHECKING:`` ones too).  Not counted: imports made by calling ``importlib.import_module`` or
    ``__import__`` (a name in a string).  ``import a.b.c`` and ``from a.b import c`` (``c`` a module) are an edge
    to ``a.b.c`` alone, not to the packages above it whose ``__init__`` Python also runs: otherwise every package
    that re-exports its submodules would be in a cycle with each of them.  ``from a.b import name`` (``name`` not
    a module) is an edge to ``a.b``.
    """
    modules = our_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        edges.add(f"{source}.{alias.name}")
                    elif source in modules:
                        edges.add(source)
        graph[name] = edges - {name}
    return graph


def simple_cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every elementary cycle (Johnson's algorithm), each written from its smallest module."""
    nodes = sorted(graph)
    found: set[tuple[str, ...]] = set()
    for i, start in enumerate(nodes):
        allowed = set(nodes[i:])
        _Circuits(start, {n: sorted(w for w in graph[n] if w in allowed) for n in allowed}, found).walk(start)
    return found


class _Circuits:
    """Johnson's search for the cycles through ``start`` in ``graph`` (whose nodes all sort after it)."""

    def __init__(self, start: str, graph: dict[str, list[str]], found: set[tuple[str, ...]]) -> None:
        self.start, self.graph, self.found = start, graph, found
        self.blocked: set[str] = set()
        self.blocks: dict[str, set[str]] = {n: set() for n in graph}
        self.path: list[str] = []

    def unblock(self, node: str) -> None:
        todo = [node]
        while todo:
            n = todo.pop()
            if n in self.blocked:
                self.blocked.discard(n)
                todo.extend(self.blocks[n])
                self.blocks[n].clear()

    def walk(self, node: str) -> bool:
        closed = False
        self.path.append(node)
        self.blocked.add(node)
        for nxt in self.graph[node]:
            if nxt == self.start:
                self.found.add(tuple(self.path))
                closed = True
            elif nxt not in self.blocked and self.walk(nxt):
                closed = True
        if closed:
            self.unblock(node)
        else:
            for nxt in self.graph[node]:
                self.blocks[nxt].add(node)
        self.path.pop()
        return closed


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c", "a"}, "c": {"a"}, "d": {"a"}}
    assert simple_cycles(graph) == {("a", "b"), ("a", "b", "c")}
    assert simple_cycles({"a": {"b"}, "b": set()}) == set()


def test_no_import_cycles() -> None:
    cycles = simple_cycles(import_graph())
    new = sorted(cycles - KNOWN_CYCLES)
    stale = sorted(KNOWN_CYCLES - cycles)
    assert not new, "import cycles:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in new)
    assert not stale, "gone, so remove them from KNOWN_CYCLES:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in stale)


# ---------------------------------------------------------------------------------------------- module sizes

MAX_LINES = 400

LONG_MODULES = {
    "conformance/battery/functions.py": "one table: a row per function of the array API standard (76) and per calling "
                                "form of its reductions (40: keepdims, axes, masks), each a few lines",
}
"""Modules allowed past :data:`MAX_LINES`, each with its reason; one that shrinks under the limit must leave."""


def test_modules_stay_small() -> None:
    sizes = {rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in python_files(*PACKAGES)}
    long = {f: n for f, n in sizes.items() if n > MAX_LINES}
    new = [f"{f}: {n} lines" for f, n in sorted(long.items()) if f not in LONG_MODULES]
    stale = [f"{f}: {sizes.get(f, 'gone')}" for f in sorted(set(LONG_MODULES) - set(long))]
    assert not new, f"over {MAX_LINES} lines (split by job, or list with its reason in LONG_MODULES):\n" + "\n".join(new)
    assert not stale, "no longer over the limit, so remove them from LONG_MODULES:\n" + "\n".join(stale)


STAGES = {"battery", "inputs", "run", "store", "claims", "commands"}
"""The package's folders, one per stage of the data flow (README, "What runs"), and the command line."""
SHARED_TOP_LEVEL = {"__init__.py", "__main__.py", "contract.py", "report.py", "arguments.py", "dotted.py", "links.py",
                    "provision.py"}
"""The modules every stage shares (the contract, argparse types, the dotted-name resolver, the link rule, the
machine's provisioning), the entry point and the report's command: nothing else lives at the top level."""


def test_the_package_is_laid_out_by_stage() -> None:
    top = ROOT / "conformance"
    folders = {p.name for p in top.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.name for p in top.glob("*.py")}
    assert folders == STAGES, f"stage folders changed: {sorted(folders ^ STAGES)} (update README and STAGES)"
    assert modules <= SHARED_TOP_LEVEL, (f"{sorted(modules - SHARED_TOP_LEVEL)} at conformance/'s top level: "
                                         "move each into the folder of its stage")
